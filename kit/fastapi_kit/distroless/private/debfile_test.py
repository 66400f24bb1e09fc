"""Tests for debfile.py: the ar container and the compressed tars of a .deb."""

from __future__ import annotations

import io
import tarfile

import pytest

from distroless.private.debfile import DebError, decompress, read_ar, read_deb
from distroless.private.fakedeb import F, make_ar, make_deb


def test_ar_members_and_odd_padding():
    blob = make_ar([("a", b"x"), ("bb", b"yz"), ("c/", b"odd")])
    assert [(m.name, m.data) for m in read_ar(blob)] == [("a", b"x"), ("bb", b"yz"), ("c", b"odd")]


def test_ar_errors():
    with pytest.raises(DebError, match=r"t.deb: not an ar archive"):
        list(read_ar(b"PK\x03\x04", "t.deb"))
    blob = make_ar([("a", b"12345678")])
    with pytest.raises(DebError, match="runs past the end"):
        list(read_ar(blob[:-3]))
    with pytest.raises(DebError, match="corrupt ar header"):
        list(read_ar(blob[:20]))


@pytest.mark.parametrize("compression", ["xz", "gz", "none"])
def test_read_deb(compression):
    blob = make_deb("pkg", [F("usr/bin/tool", b"#!x\n", 0o755)], compression=compression)
    deb = read_deb(blob, "pkg.deb")
    assert b"Package: pkg\n" in deb.control["control"]
    with tarfile.open(fileobj=io.BytesIO(deb.data_tar)) as tar:
        member = tar.getmember("./usr/bin/tool")
        assert member.mode == 0o755
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == b"#!x\n"


def test_not_a_deb():
    with pytest.raises(DebError, match="debian-binary"):
        read_deb(make_ar([("foo", b"bar")]), "x.deb")
    with pytest.raises(DebError, match=r"data.tar member missing"):
        read_deb(make_ar([("debian-binary", b"2.0\n"), ("control.tar", b"")]), "x.deb")


def test_corrupt_xz_names_the_member():
    with pytest.raises(DebError, match=r"x.deb: data.tar.xz: corrupt xz"):
        decompress("data.tar.xz", b"not xz", "x.deb")


def test_unknown_compression():
    with pytest.raises(DebError, match="unsupported member compression"):
        decompress("data.tar.bz2", b"", "x.deb")


def test_zstd_needs_python_support():
    try:
        from compression import zstd  # noqa: F401
    except ImportError:
        with pytest.raises(DebError, match="zstd-compressed, which this Python cannot read"):
            decompress("data.tar.zst", b"\x28\xb5\x2f\xfd", "x.deb")
    else:
        pytest.skip("this Python reads zstd")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
