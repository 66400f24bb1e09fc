"""Tests for resolve.py: the dependency closure and its exclusion rules."""

from __future__ import annotations

import pytest

from distroless.private.control import parse_paragraphs
from distroless.private.resolve import ResolveError, archive_of, index_records, resolve

INDEX = """\
Package: app
Version: 1.0
Architecture: amd64
Depends: libc (>= 2.0), debconf (>= 0.5) | debconf-2.0, mime | mime-old, tool
Filename: pool/main/a/app/app_1.0_amd64.deb
SHA256: aa

Package: libc
Version: 2.1
Architecture: amd64
Depends: libgcc
Filename: pool/main/g/glibc/libc_2.1_amd64.deb
SHA256: bb

Package: libc
Version: 1.9
Architecture: amd64
Filename: pool/main/g/glibc/libc_1.9_amd64.deb
SHA256: old

Package: libgcc
Version: 1
Architecture: amd64
Pre-Depends: libc
Filename: pool/main/g/gcc/libgcc_1_amd64.deb
SHA256: cc

Package: debconf
Version: 1.5
Architecture: all
Provides: debconf-2.0
Filename: pool/main/d/debconf/debconf_1.5_all.deb
SHA256: dd

Package: cdebconf
Version: 0.1
Architecture: amd64
Provides: debconf-2.0
Filename: pool/main/c/cdebconf/cdebconf_0.1_amd64.deb
SHA256: ee

Package: mime-old
Version: 1
Architecture: all
Filename: pool/main/m/mime/mime-old_1_all.deb
SHA256: ff

Package: tool
Version: 1
Architecture: amd64
Depends: awk
Filename: pool/main/t/tool/tool_1_amd64.deb
SHA256: 11

Package: mawk
Version: 1
Architecture: amd64
Provides: awk
Filename: pool/main/m/mawk/mawk_1_amd64.deb
SHA256: 22

Package: gawk
Version: 1
Architecture: amd64
Provides: awk
Filename: pool/main/g/gawk/gawk_1_amd64.deb
SHA256: 33

Package: armonly
Version: 1
Architecture: arm64
Filename: pool/main/a/armonly/armonly_1_arm64.deb
SHA256: 44
"""


@pytest.fixture
def records():
    return index_records(parse_paragraphs(INDEX), "amd64")


def test_index_keeps_highest_version_and_arch(records):
    assert records["libc"]["Version"] == "2.1"
    assert "armonly" not in records


def test_closure_with_exclusions(records):
    locked = resolve(records, ["app", "mawk"], {"debconf"})
    by_name = {p.name: p for p in locked}
    # debconf group dropped (excluded), mime missing so mime-old chosen, awk met by wanted mawk.
    assert sorted(by_name) == ["app", "libc", "libgcc", "mawk", "mime-old", "tool"]
    assert by_name["app"].depends == ["libc", "mime-old", "tool"]
    assert by_name["tool"].depends == ["mawk"]
    assert by_name["libgcc"].depends == ["libc"]
    assert by_name["libc"].filename == "pool/main/g/glibc/libc_2.1_amd64.deb"
    assert by_name["libc"].sha256 == "bb"
    assert [p.name for p in locked] == sorted(by_name)


def test_virtual_with_several_providers_is_an_error(records):
    with pytest.raises(ResolveError, match="awk, provided by gawk, mawk"):
        resolve(records, ["tool"], set())


def test_excluding_a_provider_leaves_one(records):
    locked = resolve(records, ["tool"], {"gawk"})
    assert [p.name for p in locked] == ["mawk", "tool"]


def test_version_constraint_is_checked(records):
    records["libc"] = dict(records["libc"], Version="1.5")
    with pytest.raises(ResolveError, match=r"app depends on libc \(>= 2.0\)"):
        resolve(records, ["app"], {"debconf", "awk"})


def test_wanted_errors(records):
    with pytest.raises(ResolveError, match="not in the archive"):
        resolve(records, ["nosuch"], set())
    with pytest.raises(ResolveError, match="both wanted and excluded"):
        resolve(records, ["app"], {"app"})


def test_json_shape(records):
    entry = resolve(records, ["libgcc"], set())[0].to_json()
    assert list(entry) == ["name", "version", "arch", "sha256", "archive", "filename", "depends"]
    assert entry["archive"] == "debian"


def test_security_pool_paths_belong_to_the_security_archive():
    assert archive_of("pool/updates/main/z/zstd/libzstd1_1.5.7+dfsg-1+deb13u1_amd64.deb") == (
        "debian-security"
    )
    assert archive_of("pool/main/z/zstd/libzstd1_1.5.7+dfsg-1_amd64.deb") == "debian"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
