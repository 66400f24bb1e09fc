"""The application factory and the probe endpoints.

``/health`` (liveness) only says that the process answers, so that a slow database never gets
a healthy container restarted. ``/ready`` (readiness) says whether this instance should get
traffic: start-up has finished and the database answers. ``/version`` tells which build runs.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app import APP_NAME
from app.build_info import BuildInfoError, load_build_info
from app.config import ConfigError, Settings, load_settings
from app.storage import TodoStore
from app.todos import router as todos_router

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the lifespan creates the database schema and then marks it ready."""
    build = load_build_info()
    store = TodoStore(settings.database_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(store.initialize)
        app.state.ready = True
        try:
            yield
        finally:
            # Shutting down: stop advertising readiness while in-flight requests finish.
            app.state.ready = False

    app = FastAPI(title=APP_NAME, version=build.version, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.ready = False

    @app.get("/health", tags=["probes"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and its event loop answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["probes"], responses={503: {"description": "Not ready."}})
    def ready(request: Request) -> JSONResponse:
        """Readiness: start-up has finished and the database answers ``SELECT 1``."""
        if not request.app.state.ready:
            return _unavailable("starting up or shutting down")
        try:
            store.ping()
        except sqlite3.Error as exc:
            logger.warning("readiness check failed: database: %s", exc)
            return _unavailable("database unavailable")
        return JSONResponse({"status": "ready"})

    @app.get("/version", tags=["probes"])
    async def version() -> dict[str, str]:
        """Name, version and source revision of the running build."""
        return {"name": APP_NAME, "version": build.version, "revision": build.revision}

    @app.exception_handler(sqlite3.OperationalError)
    async def database_unavailable(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        # Locked, missing or unwritable database: a condition that may pass, not a bug (500).
        logger.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "database unavailable"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input and fails (500) on what JSON cannot encode:
        # NaN and Infinity (Python's json parser accepts them) and lone surrogates.
        detail = _encodable(jsonable_encoder(exc.errors()))
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    app.include_router(todos_router)
    return app


def create_app_from_environ() -> FastAPI:
    """The image's app (`asgi = "app.main:create_app_from_environ"`, a factory).

    Each worker process calls it with the same environment. Bad settings, an unreadable build
    info file or a database that cannot be created raise ConfigError (a ValueError): the kit's
    launcher reports it as one line and exits 2, before any socket is bound.
    """
    settings = load_settings(os.environ)
    try:
        load_build_info()
    except BuildInfoError as exc:
        raise ConfigError(str(exc)) from None
    try:
        TodoStore(settings.database_path).initialize()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(
            f"DATABASE_PATH: cannot create the database at {settings.database_path}: {exc}"
        ) from None
    return create_app(settings)


def _encodable(value: Any) -> Any:
    """`value` with non-finite floats as strings and lone surrogates escaped: valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    return value


def _unavailable(reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "detail": reason},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
