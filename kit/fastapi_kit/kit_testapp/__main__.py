"""`python -m kit_testapp`: serve on $HOST:$PORT; SIGTERM stops it with exit status 0."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import uvicorn

from kit_testapp.main import app


def _stopped(signum: int, frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM, then raises it again: exit 0, the stop was asked.
    raise SystemExit(0)


def main() -> int:
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ["PORT"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
