"""Version and source revision of the running build, for ``GET /version``.

A stamped Bazel build writes ``build_info.json`` next to this module (keys ``"version"`` and
``"revision"``). Unstamped builds, tests and source checkouts have no such file and report the
package's ``__version__`` with revision ``"unknown"``, so an unstamped image is easy to spot.
A file that exists but is malformed is an error: it means the build is broken, and hiding that
behind defaults would make a wrong version look right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app import __version__

BUILD_INFO_PATH: Path = Path(__file__).with_name("build_info.json")
"""Where the stamped build puts the file; tests point this elsewhere."""

UNKNOWN_REVISION = "unknown"


class BuildInfoError(ValueError):
    """``build_info.json`` exists but cannot be used; the message is one line."""


@dataclass(frozen=True)
class BuildInfo:
    """What ``GET /version`` reports besides the service name."""

    version: str
    revision: str


def load_build_info(path: Path | None = None) -> BuildInfo:
    """Read ``path`` (default ``BUILD_INFO_PATH``); fall back to defaults when it is absent."""
    path = BUILD_INFO_PATH if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return BuildInfo(version=__version__, revision=UNKNOWN_REVISION)
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildInfoError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BuildInfoError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BuildInfoError(f"{path}: must hold a JSON object")
    return BuildInfo(
        version=_field(path, data, "version", __version__),
        revision=_field(path, data, "revision", UNKNOWN_REVISION),
    )


def _field(path: Path, data: dict[str, object], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        raise BuildInfoError(f"{path}: {key!r} must be a non-empty one-line string")
    return value
