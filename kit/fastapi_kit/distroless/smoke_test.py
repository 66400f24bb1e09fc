"""Smoke test of base.tar: run its python3.13 as uid 65532 in a chroot, with no shell around.

Needs root (chroot) and is tagged manual: `./bazelw test @fastapi_kit//distroless:smoke_test`,
or on any Linux host `BASE_TAR=path/to/base.tar.gz python3 smoke_test.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

IMPORTS = "import ssl, sqlite3, zoneinfo, lzma, bz2, ctypes, uuid, json"
SCRIPT = f"""
{IMPORTS}
import os, pathlib, socket, urllib.request, mimetypes, decimal, asyncio, hashlib
print(ssl.OPENSSL_VERSION)
print(os.getuid(), os.getgid())
ctx = ssl.create_default_context()
print("cas", ctx.cert_store_stats()["x509_ca"])
print(zoneinfo.ZoneInfo("Europe/Paris").key)
print(socket.getservbyname("https"), mimetypes.guess_type("a.json")[0])
pathlib.Path("/home/nonroot/ok").write_text("ok")
try:
    open("/usr/lib/python3.13/x", "w")
    print("usr writable")
except PermissionError:
    print("usr read-only")
sqlite3.connect(":memory:").execute("select 1")
print(uuid.uuid4().version, hashlib.sha256(b"").hexdigest()[:8], ctypes.sizeof(ctypes.c_void_p))
"""


def chroot_tool() -> str:
    """Return the chroot program; Bazel's strict PATH leaves out the sbin folders."""
    found = shutil.which("chroot", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        pytest.fail("chroot not found (coreutils)")
    return found


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    # Run by hand on purpose: failing here, rather than skipping, keeps a green result honest.
    if os.geteuid() != 0:
        pytest.fail("the smoke test needs root (it uses chroot)")
    tar = Path(os.environ.get("BASE_TAR", "base.tar.gz"))
    out = tmp_path_factory.mktemp("root")
    out.chmod(0o755)  # the image's / as a container runtime makes it; mktemp's is 0700
    with tarfile.open(tar) as t:
        t.extractall(out, numeric_owner=True, filter="fully_trusted")
    return out


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chroot_tool(), "--userspec=65532:65532", str(root), *argv],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": "/home/nonroot"},
        timeout=60,
    )


def test_brief_command(root):
    result = run(root, "/usr/bin/python3.13", "-c", f"{IMPORTS}; print(ssl.OPENSSL_VERSION)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OpenSSL 3.")


def test_runtime_as_nonroot(root):
    result = run(root, "/usr/bin/python3", "-c", SCRIPT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "65532 65532"
    assert int(lines[2].split()[1]) > 100
    assert lines[3:6] == ["Europe/Paris", "443 application/json", "usr read-only"]
    assert lines[6] == "4 e3b0c442 8"


def test_no_shell(root):
    for path in ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/env", "usr/bin/dpkg"):
        assert not (root / path).exists(), path
    assert run(root, "/bin/sh", "-c", "true").returncode != 0


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
