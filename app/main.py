"""The application factory and the probe endpoints.

``/health`` (liveness) only says that the process answers, so that a slow database never gets
a healthy container restarted. ``/ready`` (readiness) says whether this instance should get
traffic: start-up has finished and the database answers. ``/version`` tells which build runs.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app import APP_NAME
from app.build_info import load_build_info
from app.config import Settings, load_settings
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

    app.include_router(todos_router)
    return app


def create_app_from_environ() -> FastAPI:
    """Factory for ``uvicorn --factory``: each worker process reads the same environment."""
    return create_app(load_settings(os.environ))


def _unavailable(reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "detail": reason},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
