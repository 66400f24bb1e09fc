"""Command-line entry point: validate the configuration, then run uvicorn.

Configuration is checked before FastAPI or uvicorn is even imported, so a bad setting costs
milliseconds and no socket is ever bound with it. Uvicorn then runs with production settings:
no reload, proxy headers trusted only from ``FORWARDED_ALLOW_IPS``, access log on, and
``loop``/``http`` from ``LOOP``/``HTTP`` ("auto" by default, so that uvloop and httptools are
used when installed).

Uvicorn shuts down gracefully on SIGTERM and then re-raises the signal so that the process
dies "by" it. A container's PID 1 that stops cleanly on request should exit 0 instead, so
``main`` installs its own handler, which uvicorn restores and calls after the shutdown; before
uvicorn takes over, that handler stops the start-up at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from app.build_info import BuildInfoError, load_build_info
from app.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
"""Bad configuration or command line (also argparse's code)."""
EXIT_INTERRUPTED = 130

APP_FACTORY = "app.main:create_app_from_environ"
"""Import string of the factory that each worker process calls when ``WEB_CONCURRENCY`` > 1."""


class _StopRequested(Exception):
    """Raised by our signal handler: a shutdown was asked for before or after uvicorn ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` (without the app) derived from ``settings``."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level,
        "access_log": True,
        "reload": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": settings.timeout_graceful_shutdown,
        "timeout_keep_alive": settings.timeout_keep_alive,
        "limit_concurrency": settings.limit_concurrency,
        "loop": settings.loop,
        "http": settings.http,
        "lifespan": "on",
        # Do not advertise the server software and version to every client.
        "server_header": False,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until it is stopped; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="app",
        description="Serve the todo API. Configured by environment variables (see app.config).",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate the configuration and build info, then exit without serving",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(os.environ)
        load_build_info()
        preflight(settings)
    except (ConfigError, BuildInfoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check_config:
        return EXIT_OK

    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _serve(settings)
    except _StopRequested as stop:
        return EXIT_INTERRUPTED if stop.signum == signal.SIGINT else EXIT_OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def preflight(settings: Settings) -> None:
    """Check what well-formed settings can still get wrong on this machine, before binding.

    An address that does not resolve or a database that cannot be created would otherwise fail
    inside uvicorn's start-up with a traceback that does not name the variable.
    """
    try:
        socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"HOST: cannot resolve {settings.host!r}: {exc}") from None
    from app.storage import TodoStore

    try:
        TodoStore(settings.database_path).initialize()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"DATABASE_PATH: cannot create the database at {settings.database_path}: {exc}"
        ) from None


def _serve(settings: Settings) -> int:
    # Imported here, after validation, so that a configuration error stays cheap.
    import uvicorn

    target: Any
    if settings.workers > 1:
        # Worker processes are spawned fresh and must import the app themselves.
        target, factory = APP_FACTORY, True
    else:
        from app.main import create_app

        target, factory = create_app(settings), False
    try:
        uvicorn.run(target, factory=factory, **uvicorn_options(settings))
    except SystemExit as exc:
        # uvicorn exits with 3 (STARTUP_FAILURE) when it cannot bind or the app's start-up
        # (the lifespan) failed; pass its code on.
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_FAILURE
    return EXIT_OK


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signum)
