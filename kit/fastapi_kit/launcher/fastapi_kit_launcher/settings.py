"""The launcher's settings, from environment variables or `<NAME>_FILE` (Kubernetes Secret files).

Standard library only, so a bad value is reported in milliseconds and before uvicorn or the app
is imported. Every value is bounded: an absurd number is a typo, not a wish, and is refused
with one line that starts with the variable's name.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LOOPS = ("auto", "asyncio", "uvloop")
HTTP_PARSERS = ("auto", "h11", "httptools")
WORKERS_PER_CPU = 4
"""WEB_CONCURRENCY may be at most this many times the CPUs the container may use."""

_DIGITS = re.compile(r"[0-9]{1,12}")
_SHOWN_MAX = 40
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEANS.update({"0": False, "false": False, "no": False, "off": False})


class ConfigError(ValueError):
    """A bad setting; `str(error)` is one line that starts with the variable's name."""


@dataclass(frozen=True)
class Settings:
    """The server's settings; defaults are those of the image (HOST is set to 0.0.0.0 there)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    access_log: bool = True
    forwarded_allow_ips: str = "127.0.0.1"
    timeout_keep_alive: int = 5
    timeout_graceful_shutdown: int = 10
    timeout_request: int = 15
    limit_concurrency: int | None = None
    max_body_size: int = 1024 * 1024
    max_header_size: int = 32 * 1024
    loop: str = "auto"
    http: str = "auto"


CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")


def _quota(cgroup_v2: Path, cgroup_v1: Path) -> tuple[int, int] | None:
    """(quota, period) in microseconds from cgroup v2's cpu.max or v1's cfs files; None: none."""
    try:
        quota, period = cgroup_v2.read_text().split()[:2]
        return None if quota == "max" else (int(quota), int(period))
    except (OSError, ValueError):
        pass
    try:
        quota = int((cgroup_v1 / "cpu.cfs_quota_us").read_text())
        period = int((cgroup_v1 / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else (quota, period)
    except (OSError, ValueError):
        return None


def cpu_limit(cgroup_v2: Path = CGROUP_V2, cgroup_v1: Path = CGROUP_V1) -> int:
    """CPUs this process may use: its affinity, lowered by a cgroup quota (a pod's CPU limit)."""
    cpus = len(os.sched_getaffinity(0))
    quota = _quota(cgroup_v2, cgroup_v1)
    if quota is not None and quota[1] > 0:
        cpus = min(cpus, max(1, math.ceil(quota[0] / quota[1])))
    return max(1, cpus)


def load(environ: Mapping[str, str], cpus: int | None = None) -> Settings:
    """Settings from `environ` (normally os.environ); raises ConfigError on the first bad one."""
    cpus = cpu_limit() if cpus is None else cpus
    d = Settings()
    raw_limit = raw(environ, "LIMIT_CONCURRENCY")
    return Settings(
        host=_host(environ, d.host),
        port=_int(environ, "PORT", d.port, 1, 65535),
        workers=_int(environ, "WEB_CONCURRENCY", d.workers, 1, WORKERS_PER_CPU * cpus),
        log_level=_choice(environ, "LOG_LEVEL", LOG_LEVELS, d.log_level),
        access_log=_bool(environ, "ACCESS_LOG", d.access_log),
        forwarded_allow_ips=_text(environ, "FORWARDED_ALLOW_IPS", d.forwarded_allow_ips),
        timeout_keep_alive=_int(environ, "TIMEOUT_KEEP_ALIVE", d.timeout_keep_alive, 1, 3600),
        timeout_graceful_shutdown=_int(
            environ, "TIMEOUT_GRACEFUL_SHUTDOWN", d.timeout_graceful_shutdown, 1, 3600
        ),
        timeout_request=_int(environ, "TIMEOUT_REQUEST", d.timeout_request, 1, 3600),
        limit_concurrency=None
        if raw_limit is None
        else _parse_int("LIMIT_CONCURRENCY", raw_limit, 1, 1_000_000),
        max_body_size=_int(environ, "MAX_BODY_SIZE", d.max_body_size, 0, 1 << 34),
        max_header_size=_int(environ, "MAX_HEADER_SIZE", d.max_header_size, 1024, 1 << 20),
        loop=_choice(environ, "LOOP", LOOPS, d.loop),
        http=_choice(environ, "HTTP", HTTP_PARSERS, d.http),
    )


def raw(environ: Mapping[str, str], name: str) -> str | None:
    """The value of `name`, or the content of the file `<name>_FILE` names; None when unset."""
    file_name = f"{name}_FILE"
    if name in environ and file_name in environ:
        raise ConfigError(f"{name}: set either {name} or {file_name}, not both")
    if file_name not in environ:
        return environ.get(name)
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


def show(value: str) -> str:
    """A bad value quoted for a one-line message, cut when long."""
    return repr(value[:_SHOWN_MAX] + "..." if len(value) > _SHOWN_MAX else value)


def _parse_int(name: str, value: str, low: int, high: int) -> int:
    # Strict: int() would also take " 80", "+80", "8_0" and non-ASCII digits.
    if _DIGITS.fullmatch(value) is None or not low <= int(value) <= high:
        raise ConfigError(f"{name}: must be an integer from {low} to {high}, got {show(value)}")
    return int(value)


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = raw(environ, name)
    return default if value is None else _parse_int(name, value, low, high)


def _text(environ: Mapping[str, str], name: str, default: str) -> str:
    value = raw(environ, name)
    if value is None:
        return default
    if not value or value != value.strip() or any(c in value for c in "\r\n\x00"):
        raise ConfigError(
            f"{name}: must be non-empty without surrounding whitespace, got {show(value)}"
        )
    return value


def _host(environ: Mapping[str, str], default: str) -> str:
    value = _text(environ, "HOST", default)
    if " " in value or "/" in value:
        raise ConfigError(f"HOST: must be an address or host name, got {show(value)}")
    return value


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = raw(environ, name)
    if value is None:
        return default
    if value.lower() not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {show(value)}")
    return value.lower()


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = raw(environ, name)
    if value is None:
        return default
    if value.lower() not in _BOOLEANS:
        raise ConfigError(f"{name}: must be true or false (1/0, yes/no), got {show(value)}")
    return _BOOLEANS[value.lower()]
