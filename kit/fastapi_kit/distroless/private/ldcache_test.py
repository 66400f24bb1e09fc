"""The bases' /etc/ld.so.cache as glibc's own ldconfig (the one the base ships) prints it."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from distroless.private import ldcache

TRIPLETS = {"BASE": "x86_64-linux-gnu", "BASE_ARM64": "aarch64-linux-gnu"}
ABI = {"BASE": "libc6,x86-64", "BASE_ARM64": "libc6,AArch64"}


def _layer(var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[var]


def _extract(var: str, member: str, out: Path) -> Path:
    with tarfile.open(_layer(var)) as tar:
        data = tar.extractfile(member)
        assert data is not None, f"{member} is not a file in {var}"
        out.write_bytes(data.read())
    return out


@pytest.fixture(scope="module")
def ldconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The amd64 base's own ldconfig: glibc builds it static, so it runs here as it is.
    path = _extract("BASE", "usr/sbin/ldconfig", tmp_path_factory.mktemp("bin") / "ldconfig")
    path.chmod(0o755)
    return path


def test_libcmp_orders_like_glibc():
    # Runs of digits compare as numbers, and after any other character.
    assert ldcache.libcmp("libc.so.6", "libc.so.10") < 0
    assert ldcache.libcmp("libz.so.1", "libz.so.1") == 0
    assert ldcache.libcmp("lib1", "liba") > 0
    assert ldcache.libcmp("libssl.so", "libssl.so.3") < 0
    assert ldcache.libcmp("libffi.so.8", "libexpat.so.1") > 0


PAIRS = [
    ("ld-linux-x86-64.so.2", "/usr/lib64/ld-linux-x86-64.so.2"),
    ("ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
    ("libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
    ("libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"),
]


def test_the_same_libraries_give_the_same_bytes_in_any_order_and_any_process():
    # A soname in two folders must not be ordered by a set's iteration, which changes with
    # the interpreter's hash seed from one build to the next.
    want = ldcache.write_cache(PAIRS, "amd64")
    assert ldcache.write_cache(reversed(PAIRS), "amd64") == want
    code = (
        "import sys; from distroless.private import ldcache, ldcache_test as t; "
        "sys.stdout.buffer.write(ldcache.write_cache(t.PAIRS, 'amd64'))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for seed in range(8):
        run = subprocess.run(
            [sys.executable, "-c", code],
            env=dict(env, PYTHONHASHSEED=str(seed)),
            capture_output=True,
            check=True,
        )
        assert run.stdout == want, f"PYTHONHASHSEED={seed}"


@pytest.mark.parametrize("var", sorted(TRIPLETS))
def test_ldconfig_prints_every_library_under_its_soname(var: str, ldconfig: Path, tmp_path: Path):
    cache = _extract(var, "etc/ld.so.cache", tmp_path / "ld.so.cache")
    out = subprocess.run(
        [str(ldconfig), "-p", "-C", str(cache)], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    entries = ldcache.read_cache(cache.read_bytes())
    assert lines[0].startswith(f"{len(entries)} libs found in cache"), lines[0]
    printed = [re.match(r"\t(\S+) \((.+)\) => (\S+)$", line).groups() for line in lines[1:]]
    assert printed == [(soname, ABI[var], path) for _, soname, path in entries]
    lib = f"/usr/lib/{TRIPLETS[var]}"
    for soname in ("libc.so.6", "libssl.so.3", "libffi.so.8", "libsqlite3.so.0", "libz.so.1"):
        assert (soname, ABI[var], f"{lib}/{soname}") in printed
    # The order the loader binary-searches: descending by glibc's comparison.
    names = [soname for _, soname, _ in entries]
    by_libcmp = functools.cmp_to_key(lambda a, b: ldcache.libcmp(b, a))
    assert names == sorted(names, key=by_libcmp)


def test_what_ctypes_util_reads_finds_a_library(ldconfig: Path, tmp_path: Path):
    # ctypes.util._findSoname_ldconfig's pattern, for libuuid on x86-64.
    cache = _extract("BASE", "etc/ld.so.cache", tmp_path / "ld.so.cache")
    out = subprocess.run(
        [str(ldconfig), "-p", "-C", str(cache)], capture_output=True, check=True
    ).stdout
    found = re.search(rb"\s+(libuuid\.[^\s]+)\s+\(libc6,x86-64", out)
    assert found and found.group(1) == b"libuuid.so.1"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
