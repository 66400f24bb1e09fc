"""`python -m app.healthcheck`: exit 0 when the local server answers GET /health with 200.

The image has no shell and no curl, so the Docker/podman HEALTHCHECK runs this with the venv's
Python. Kubernetes ignores image healthchecks and probes /health and /ready itself.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe the port the server was configured with (PORT, default 8000)."""
    port = os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError) as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
