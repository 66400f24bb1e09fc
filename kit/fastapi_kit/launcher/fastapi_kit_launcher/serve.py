"""`python -m fastapi_kit_launcher [--factory] MODULE:ATTR`: check the settings, then serve.

The order matters: settings are checked before anything heavy is imported and before any socket
is bound (exit 2 with one line naming the variable); then the app is imported and, for a
factory, built (a ValueError there is the app's own bad setting: its message, exit 2; any
other failure is one line too, exit 1); then uvicorn serves it behind the guard, as PID 1.

uvicorn drains in-flight requests on SIGTERM and then re-raises the signal, so the process would
die "by" it; a container that stops cleanly on request should exit 0, so `main` installs its own
handler, which uvicorn restores and calls after the shutdown.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import resource
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from fastapi_kit_launcher import protocols, settings
from fastapi_kit_launcher.guard import Guard

EXIT_OK = 0
EXIT_APP = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

TARGET_ENV = "FASTAPI_KIT_APP"
"""Where the parent hands `MODULE:ATTR` (and `--factory`) to worker processes."""

_TARGET = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


class AppLoadError(Exception):
    """The app could not be imported or built; `str()` is one line, `code` the exit status."""

    def __init__(self, message: str, code: int = EXIT_APP) -> None:
        super().__init__(message)
        self.code = code


class _StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def load_app(target: str, factory: bool) -> Any:
    """Import `MODULE:ATTR` (calling it when `factory`), with one-line errors.

    The cyclic garbage collector is off meanwhile (`__main__` turns it off before the
    launcher's own imports), and what loading built is then frozen: moved where collections
    never scan it, as CPython's `gc.freeze` docs advise before a server forks. Loading a
    FastAPI app makes tens of thousands of objects that live as long as the process (79,000
    for the demo app) and little garbage (475 objects): collecting while it runs is wasted
    work (38 collections, about 6% of its time), and every full collection while serving
    would scan them all again. The garbage made while loading stays. The collector is on
    again afterwards, whatever happened: the server runs with it, as it would without us.
    """
    gc.disable()
    try:
        app = _load(target, factory)
        gc.freeze()
        return app
    finally:
        gc.enable()


def _load(target: str, factory: bool) -> Any:
    """The import (and the factory's call) and its checks; load_app runs it with no collector."""
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        if factory:
            obj = obj()
    except Exception as exc:  # the app's own error, shown as one line
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        if isinstance(exc, ValueError):
            # A bad setting of the app's own (pydantic-settings' ValidationError is one too):
            # the app's message names it; like a bad launcher setting, exit 2.
            raise AppLoadError(detail or type(exc).__name__, EXIT_USAGE) from exc
        raise AppLoadError(f"cannot load {target}: {type(exc).__name__}: {detail}") from exc
    if not callable(obj):
        raise AppLoadError(f"cannot load {target}: {type(obj).__name__} is not an ASGI app")
    return obj


def guarded(app: Any, config: settings.Settings) -> Guard:
    protocols.configure(protocols.Limits(config.max_header_size, float(config.timeout_request)))
    return Guard(app, config.max_body_size)


def worker_app() -> Guard:
    """The factory each worker process (WEB_CONCURRENCY > 1) calls: same env, same checks."""
    target, _, flag = os.environ[TARGET_ENV].partition(" ")
    config = settings.load(os.environ)
    return guarded(load_app(target, flag == "--factory"), config)


def uvicorn_options(config: settings.Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run: production settings, nothing from the app's side."""
    return {
        "host": config.host,
        "port": config.port,
        "workers": config.workers,
        "log_level": config.log_level,
        "access_log": config.access_log,
        "reload": False,
        "proxy_headers": True,
        "forwarded_allow_ips": config.forwarded_allow_ips,
        "timeout_keep_alive": config.timeout_keep_alive,
        "timeout_graceful_shutdown": config.timeout_graceful_shutdown,
        "limit_concurrency": config.limit_concurrency,
        "loop": config.loop,
        "http": protocols.protocol_class(config.http),
        # A backstop above the guard's own head limit (which answers 431 first).
        "h11_max_incomplete_event_size": config.max_header_size + (1 << 20),
        "lifespan": "auto",
        # Do not advertise the server software and version.
        "server_header": False,
    }


def raise_open_files_limit() -> None:
    """Lift the soft RLIMIT_NOFILE to the hard one: 1,024 connections is too few for a server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fastapi_kit_launcher",
        description="Serve an ASGI app with production settings from the environment.",
    )
    parser.add_argument("target", help="the app as MODULE:ATTR, e.g. app.main:app")
    parser.add_argument(
        "--factory", action="store_true", help="ATTR is a function returning the app"
    )
    parser.add_argument(
        "--check-config", action="store_true", help="check settings and load the app, then exit"
    )
    args = parser.parse_args(argv)
    if _TARGET.fullmatch(args.target) is None:
        print(
            f"error: target must be MODULE:ATTR, got {settings.show(args.target)}", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        config = settings.load(os.environ)
    except settings.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.environ[TARGET_ENV] = args.target + (" --factory" if args.factory else "")
    try:
        app = guarded(load_app(args.target, args.factory), config)
    except AppLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    try:
        options = uvicorn_options(config)
    except RuntimeError as exc:  # HTTP=httptools without httptools
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check_config:
        return EXIT_OK
    raise_open_files_limit()
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _serve(app, config, options)
    except _StopRequested as stop:
        return EXIT_INTERRUPTED if stop.signum == signal.SIGINT else EXIT_OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(app: Guard, config: settings.Settings, options: dict[str, Any]) -> int:
    import uvicorn

    # Worker processes are spawned fresh and build the app themselves.
    target: Any = "fastapi_kit_launcher.serve:worker_app" if config.workers > 1 else app
    try:
        uvicorn.run(target, factory=config.workers > 1, **options)
    except SystemExit as exc:
        # uvicorn exits 3 when it cannot bind or the app's start-up (lifespan) failed.
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_APP
    return EXIT_OK


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signum)
