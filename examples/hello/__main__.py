"""`python -m examples.hello`: serve the app with uvicorn on $HOST:$PORT (the image sets both).

The import is absolute because Bazel may run this file as a script, not as part of the package.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType

import uvicorn

from examples.hello.main import app

DEFAULT_PORT = 8000


def port_from(environ: Mapping[str, str]) -> int:
    """PORT as a number; a bad value is an error, not a silent fallback to the default."""
    raw = environ.get("PORT", str(DEFAULT_PORT))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 65535):
        raise ValueError(f"PORT must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _stopped(signum: int, frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises it again: exit 0, the stop was asked.
    raise SystemExit(0)


def main() -> int:
    try:
        port = port_from(os.environ)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=port, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
