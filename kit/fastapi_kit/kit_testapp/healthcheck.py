"""`python -m kit_testapp.healthcheck`: exit 0 when GET /health on $PORT answers 2xx."""

from __future__ import annotations

import os
import urllib.request

urllib.request.urlopen(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health", timeout=3)
