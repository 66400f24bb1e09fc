"""Tests for locks.py: reading the Debian and requirements locks, and wheels."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

from sbom.private import locks

H1 = "1" * 64
H2 = "2" * 64
H3 = "a" * 64

REQUIREMENTS = f"""\
# Locked with some tool. Do not edit by hand.
--index-url https://mirror.invalid/simple
-r other.txt
Typing_Extensions==4.16.0 \\
    --hash=sha256:{H2} \\
    --hash=sha256:{H1}
    # via
    #   pydantic
uvicorn[standard]==0.54.0 ; python_version >= "3.9" \\
    --hash=sha256:{H3}
zope.interface==7.0 --hash=sha256:{H1}  # one line, trailing comment
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_requirements_lock_names_versions_and_hashes(tmp_path: Path) -> None:
    pins = locks.read_requirements_lock(write(tmp_path, "req.txt", REQUIREMENTS))
    assert sorted(pins) == ["typing-extensions", "uvicorn", "zope-interface"]
    assert pins["typing-extensions"] == locks.PyLock("typing-extensions", "4.16.0", (H1, H2))
    assert pins["uvicorn"].version == "0.54.0"
    assert pins["uvicorn"].hashes == (H3,)
    assert pins["zope-interface"].hashes == (H1,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"fastapi>=1.0 --hash=sha256:{H1}\n", "not pinned with =="),
        ("fastapi==1.0\n", "no --hash=sha256:"),
        (f"a==1 --hash=sha256:{H1}\nA==2 --hash=sha256:{H2}\n", "a is pinned twice"),
    ],
)
def test_requirements_lock_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(locks.LockError, match=re.escape(message)):
        locks.read_requirements_lock(write(tmp_path, "req.txt", text))


def test_requirements_lock_missing_file(tmp_path: Path) -> None:
    with pytest.raises(locks.LockError, match="cannot read the requirements lock"):
        locks.read_requirements_lock(tmp_path / "nope.txt")


def deb(name: str, **fields: str) -> dict[str, str]:
    entry = {"name": name, "version": "1.0-1", "arch": "amd64", "sha256": H1, "depends": []}
    entry.update(fields)
    return entry


def test_debian_lock_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, "l.json", json.dumps([deb("libc6"), deb("tzdata", arch="all")]))
    lock = locks.read_debian_lock(path)
    assert lock["libc6"] == locks.DebLock("libc6", "1.0-1", "amd64", H1)
    assert lock["tzdata"].arch == "all"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "x"}, "must be a JSON list"),
        ([deb("x", version="")], "entry 0 needs string name, version, arch and sha256"),
        ([{"name": "x", "version": "1", "arch": "amd64"}], "entry 0 needs"),
        ([deb("x", sha256="XYZ")], "x has a malformed sha256"),
        ([deb("x"), deb("x")], "x is listed twice"),
    ],
)
def test_debian_lock_errors(tmp_path: Path, value: object, message: str) -> None:
    with pytest.raises(locks.LockError, match=re.escape(message)):
        locks.read_debian_lock(write(tmp_path, "l.json", json.dumps(value)))


def test_debian_lock_not_json(tmp_path: Path) -> None:
    with pytest.raises(locks.LockError, match="cannot read the Debian lock"):
        locks.read_debian_lock(write(tmp_path, "l.json", "{"))


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("fastapi-0.165.0-py3-none-any.whl", ("fastapi", "0.165.0")),
        ("Typing_Extensions-4.16.0-py3-none-any.whl", ("typing-extensions", "4.16.0")),
        ("uvloop-0.23.0-1-cp313-cp313-manylinux_2_28_x86_64.whl", ("uvloop", "0.23.0")),
    ],
)
def test_wheel_name_version(filename: str, expected: tuple[str, str]) -> None:
    assert locks.wheel_name_version(Path(filename)) == expected


@pytest.mark.parametrize("filename", ["fastapi-0.165.0.tar.gz", "fastapi-0.165.0-any.whl"])
def test_wheel_name_version_rejects(filename: str) -> None:
    with pytest.raises(locks.LockError, match="not a wheel file name"):
        locks.wheel_name_version(Path(filename))


def make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as whl:
        for name, data in files.items():
            whl.writestr(name, data)
    return path


def test_read_wheel_hash_and_metadata(tmp_path: Path) -> None:
    metadata = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n"
    path = make_wheel(
        tmp_path / "demo-1.0-py3-none-any.whl",
        {"demo/__init__.py": b"", "demo-1.0.dist-info/METADATA": metadata},
    )
    wheel = locks.read_wheel(path)
    assert (wheel.name, wheel.version) == ("demo", "1.0")
    assert wheel.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert wheel.metadata == metadata


def test_read_wheel_without_metadata(tmp_path: Path) -> None:
    path = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo/__init__.py": b""})
    with pytest.raises(locks.LockError, match=r"expected one \.dist-info/METADATA"):
        locks.read_wheel(path)


def test_read_wheel_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(b"not a zip")
    with pytest.raises(locks.LockError, match="cannot read the wheel"):
        locks.read_wheel(path)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
