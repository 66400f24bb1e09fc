"""The lock files and wheels that give each package in the image its hash.

The image holds installed files, not the archives they came from, so the SHA-256 a scanner or an
auditor can check (of the .deb, of the wheel) comes from the locks the build fetched with:
distroless/packages.lock.json for Debian, requirements_lock.txt for Python. The wheels rules_python
downloaded are hashed too, to say which of a version's locked files (one per platform, plus the
sdist) is the one installed.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kit_lib import tarball

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")
_HASH = re.compile(r"--hash[=\s]sha256:([0-9a-f]{64})")


class LockError(ValueError):
    """A lock file or wheel is unreadable or inconsistent; the message is one line."""


@dataclass(frozen=True)
class DebLock:
    """One entry of packages.lock.json."""

    name: str
    version: str
    arch: str
    sha256: str


@dataclass(frozen=True)
class PyLock:
    """One pinned requirement: its version and the hashes of every file allowed for it."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Wheel:
    """A wheel file: the distribution it holds, its SHA-256 and its METADATA bytes."""

    path: Path
    name: str
    version: str
    sha256: str
    metadata: bytes


def normalize(name: str) -> str:
    """PEP 503 name: `Typing_Extensions` and `typing.extensions` are `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_debian_lock(path: Path) -> dict[str, DebLock]:
    """Read packages.lock.json (a list of {name, version, arch, sha256, ...}) by package name."""
    try:
        entries = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise LockError(f"{path}: cannot read the Debian lock: {err}") from None
    if not isinstance(entries, list):
        raise LockError(f"{path}: the Debian lock must be a JSON list")
    out: dict[str, DebLock] = {}
    for i, entry in enumerate(entries):
        fields = entry if isinstance(entry, dict) else {}
        values = [fields.get(k) for k in ("name", "version", "arch", "sha256")]
        if not all(isinstance(v, str) and v for v in values):
            raise LockError(f"{path}: entry {i} needs string name, version, arch and sha256")
        lock = DebLock(*values)
        if not _SHA256.match(lock.sha256):
            raise LockError(f"{path}: {lock.name} has a malformed sha256 {lock.sha256!r}")
        if lock.name in out:
            raise LockError(f"{path}: {lock.name} is listed twice")
        out[lock.name] = lock
    return out


def read_requirements_lock(path: Path) -> dict[str, PyLock]:
    """Read a pip-compile/uv lock (`name==version \\` + `--hash=sha256:...` lines) by name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LockError(f"{path}: cannot read the requirements lock: {err}") from None
    out: dict[str, PyLock] = {}
    # Join continuation lines into one logical requirement each; drop comments.
    logical = re.sub(r"\\\n", " ", text)
    for n, line in enumerate(logical.splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _REQUIREMENT.match(line)
        if not match:
            raise LockError(f"{path}: requirement {n} is not pinned with ==: {line[:60]!r}")
        name, version = normalize(match.group(1)), match.group(2)
        hashes = tuple(sorted(set(_HASH.findall(line))))
        if not hashes:
            raise LockError(f"{path}: {name}=={version} has no --hash=sha256: lines")
        if name in out:
            raise LockError(f"{path}: {name} is pinned twice")
        out[name] = PyLock(name, version, hashes)
    return out


def wheel_name_version(path: Path) -> tuple[str, str]:
    """Distribution and version from a wheel's file name (PEP 427), name normalized."""
    parts = path.name.removesuffix(".whl").split("-")
    if not path.name.endswith(".whl") or len(parts) not in (5, 6):
        raise LockError(f"{path.name}: not a wheel file name (name-version-[build-]py-abi-plat)")
    return normalize(parts[0]), parts[1]


def read_wheel(path: Path) -> Wheel:
    """Hash a wheel and read its `*.dist-info/METADATA`."""
    name, version = wheel_name_version(path)
    try:
        with zipfile.ZipFile(path) as whl:
            metadata = [n for n in whl.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            if len(metadata) != 1:
                raise LockError(f"{path.name}: expected one .dist-info/METADATA, found {metadata}")
            data = whl.read(metadata[0])
    except (OSError, zipfile.BadZipFile) as err:
        raise LockError(f"{path.name}: cannot read the wheel: {err}") from None
    return Wheel(path, name, version, tarball.sha256_file(path), data)
