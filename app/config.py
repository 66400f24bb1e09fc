"""The todo app's own settings: where its database lives and the token that allows writes.

Server settings (PORT, WEB_CONCURRENCY, timeouts, limits) belong to the kit's launcher, which
serves this app in its image. Each value here may also come as ``<NAME>_FILE`` (a Kubernetes
Secret file), read by the launcher's own helper so both behave the same. A bad value raises
``ConfigError`` (a ValueError, which the launcher reports as one line and exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_kit_launcher.settings import ConfigError, raw, show

__all__ = ["ConfigError", "Settings", "load_settings"]

_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Settings:
    """Validated settings of the app."""

    database_path: Path = Path("/tmp/app/todos.db")
    # repr=False keeps the secret out of logs and tracebacks that print the settings.
    api_token: str | None = field(default=None, repr=False)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build ``Settings`` from ``environ`` (normally ``os.environ``); raise ``ConfigError``."""
    return Settings(database_path=_database_path(environ), api_token=_api_token(environ))


def _database_path(environ: Mapping[str, str]) -> Path:
    value = raw(environ, "DATABASE_PATH")
    if value is None:
        return Settings.database_path
    # ":memory:" would give every connection (one per request) its own empty database.
    if not value or value == ":memory:" or "\x00" in value or value.endswith("/"):
        raise ConfigError(f"DATABASE_PATH: must be a file path, got {show(value)}")
    return Path(value)


def _api_token(environ: Mapping[str, str]) -> str | None:
    value = raw(environ, "API_TOKEN")
    if value is None:
        return None
    # The value is a secret: messages describe it but never quote it.
    if not value:
        raise ConfigError("API_TOKEN: must not be empty (unset it to disable writes)")
    if _TOKEN_CHARS.fullmatch(value) is None:
        raise ConfigError(
            "API_TOKEN: must be printable ASCII without spaces (it is sent as a Bearer token)"
        )
    return value
