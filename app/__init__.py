"""A small todo service: FastAPI, SQLite storage, configured from the environment.

Served in its image by the kit's launcher (`app.main:create_app_from_environ`, a factory).
"""

__version__ = "0.1.0"
"""Reported by ``GET /version`` when the build is not stamped."""

APP_NAME = "todo-api"
"""Service name reported by ``GET /version`` and used as the OpenAPI title."""
