"""A small todo service: FastAPI on uvicorn, SQLite storage, configured from the environment.

Kept free of imports so that ``python -m app`` can validate its configuration before loading
FastAPI.
"""

__version__ = "0.1.0"
"""Reported by ``GET /version`` when the build is not stamped."""

APP_NAME = "todo-api"
"""Service name reported by ``GET /version`` and used as the OpenAPI title."""
