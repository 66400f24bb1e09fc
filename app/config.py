"""Service configuration read from environment variables.

Every variable may instead be given as ``<NAME>_FILE``: the path of a file whose content is the
value. This is how Kubernetes Secret volumes and Docker secrets hand over credentials without
putting them in the process environment (where ``/proc/<pid>/environ`` and crash reports could
leak them). Parsing is strict and fails early with a one-line message naming the variable, so a
typo stops the container at start-up instead of surfacing later as odd behaviour.

This module imports only the standard library: the server loads it before anything heavy, so a
bad configuration is reported fast and before any socket is bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LOG_LEVELS: tuple[str, ...] = ("critical", "error", "warning", "info", "debug", "trace")
"""Uvicorn's log level names, most to least severe."""

LOOPS: tuple[str, ...] = ("auto", "asyncio", "uvloop")
"""Event loops uvicorn can run on; "auto" takes uvloop when it is installed."""

HTTP_PARSERS: tuple[str, ...] = ("auto", "h11", "httptools")
"""HTTP/1.1 implementations uvicorn can use; "auto" takes httptools when it is installed."""

_DIGITS = re.compile(r"[0-9]+")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
_SHOWN_VALUE_MAX = 40


class ConfigError(ValueError):
    """Invalid configuration; ``str(error)`` is one line that starts with the variable's name."""


@dataclass(frozen=True)
class Settings:
    """Validated settings; the defaults are those of a single-process, loopback-only server."""

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    workers: int = 1
    forwarded_allow_ips: str = "127.0.0.1"
    timeout_graceful_shutdown: int = 10
    timeout_keep_alive: int = 5
    limit_concurrency: int | None = None
    # "auto" (the C implementations when installed); the pure-Python ones are for comparison
    # (bench/) and for debugging a suspected bug in uvloop or httptools.
    loop: str = "auto"
    http: str = "auto"
    database_path: Path = Path("/tmp/app/todos.db")
    # repr=False keeps the secret out of logs and tracebacks that print the settings.
    api_token: str | None = field(default=None, repr=False)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build ``Settings`` from ``environ`` (normally ``os.environ``); raise ``ConfigError``."""
    defaults = Settings()
    port = _int_in_range(environ, "PORT", defaults.port, 1, 65535)
    host = _non_blank(environ, "HOST", defaults.host)
    log_level = _log_level(environ, defaults.log_level)
    workers = _int_at_least(environ, "WEB_CONCURRENCY", defaults.workers, 1)
    forwarded = _non_blank(environ, "FORWARDED_ALLOW_IPS", defaults.forwarded_allow_ips)
    graceful = _int_at_least(
        environ, "TIMEOUT_GRACEFUL_SHUTDOWN", defaults.timeout_graceful_shutdown, 1
    )
    keep_alive = _int_at_least(environ, "TIMEOUT_KEEP_ALIVE", defaults.timeout_keep_alive, 1)
    raw_limit = _raw(environ, "LIMIT_CONCURRENCY")
    limit = None if raw_limit is None else _parse_int_at_least("LIMIT_CONCURRENCY", raw_limit, 1)
    loop = _choice(environ, "LOOP", LOOPS, defaults.loop)
    http = _choice(environ, "HTTP", HTTP_PARSERS, defaults.http)
    database_path = _database_path(environ, defaults.database_path)
    api_token = _api_token(environ)
    return Settings(
        host=host,
        port=port,
        log_level=log_level,
        workers=workers,
        forwarded_allow_ips=forwarded,
        timeout_graceful_shutdown=graceful,
        timeout_keep_alive=keep_alive,
        limit_concurrency=limit,
        loop=loop,
        http=http,
        database_path=database_path,
        api_token=api_token,
    )


def _raw(environ: Mapping[str, str], name: str) -> str | None:
    """Return the value of ``name`` or of the file named by ``<name>_FILE``; None when unset."""
    file_name = f"{name}_FILE"
    if name in environ and file_name in environ:
        raise ConfigError(f"{name}: set either {name} or {file_name}, not both")
    if file_name in environ:
        path = environ[file_name]
        if not path:
            raise ConfigError(f"{file_name}: must be a file path, got ''")
        try:
            content = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"{file_name}: cannot read {path!r}: {reason}") from None
        # Files written by editors and `echo` end with a newline that is not part of the value.
        return content.removesuffix("\n").removesuffix("\r")
    return environ.get(name)


def _show(value: str) -> str:
    """Quote a bad value for an error message: one line, and not too long."""
    if len(value) > _SHOWN_VALUE_MAX:
        value = value[:_SHOWN_VALUE_MAX] + "..."
    return repr(value)


def _parse_int_at_least(name: str, raw: str, low: int) -> int:
    if _DIGITS.fullmatch(raw) is None or int(raw) < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ConfigError(f"{name}: must be {what}, got {_show(raw)}")
    return int(raw)


def _int_at_least(environ: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = _raw(environ, name)
    return default if raw is None else _parse_int_at_least(name, raw, low)


def _int_in_range(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _raw(environ, name)
    if raw is None:
        return default
    # A strict digit check: int() would also take " 80", "+80", "8_0" and non-ASCII digits.
    if _DIGITS.fullmatch(raw) is None or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: must be an integer from {low} to {high}, got {_show(raw)}")
    return int(raw)


def _non_blank(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = _raw(environ, name)
    if raw is None:
        return default
    if not raw or raw != raw.strip() or "\n" in raw:
        raise ConfigError(
            f"{name}: must be non-empty without surrounding whitespace, got {_show(raw)}"
        )
    return raw


def _log_level(environ: Mapping[str, str], default: str) -> str:
    return _choice(environ, "LOG_LEVEL", LOG_LEVELS, default)


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices``, matched case-insensitively and returned in lower case."""
    raw = _raw(environ, name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {_show(raw)}")
    return raw.lower()


def _database_path(environ: Mapping[str, str], default: Path) -> Path:
    raw = _raw(environ, "DATABASE_PATH")
    if raw is None:
        return default
    # ":memory:" would give every connection (one per request) its own empty database.
    if not raw or raw == ":memory:" or "\x00" in raw or raw.endswith("/"):
        raise ConfigError(f"DATABASE_PATH: must be a file path, got {_show(raw)}")
    return Path(raw)


def _api_token(environ: Mapping[str, str]) -> str | None:
    raw = _raw(environ, "API_TOKEN")
    if raw is None:
        return None
    # The value is a secret: messages describe it but never quote it.
    if not raw:
        raise ConfigError("API_TOKEN: must not be empty (unset it to disable writes)")
    if _TOKEN_CHARS.fullmatch(raw) is None:
        raise ConfigError(
            "API_TOKEN: must be printable ASCII without spaces (it is sent as a Bearer token)"
        )
    return raw
