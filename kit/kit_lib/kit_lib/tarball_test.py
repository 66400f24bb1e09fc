"""Tests for tarball.py: the same entries always give the same layer bytes."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from kit_lib import tarball
from kit_lib.tarball import DIR, FILE, HARDLINK, SYMLINK, Entry, LayerError


def test_same_entries_in_any_order_give_same_bytes(tmp_path: Path) -> None:
    entries = [
        Entry("/usr/bin/tool", FILE, 0o755, data=b"#!x\n"),
        Entry("/etc/motd", data=b"hi\n"),
        Entry("/usr/bin/alias", SYMLINK, 0o777, target="tool"),
        Entry("/home/nonroot", DIR, 0o700, uid=65532, gid=65532),
    ]
    tarball.write_tar(entries, tmp_path / "one.tar")
    tarball.write_tar(list(reversed(entries)), tmp_path / "two.tar")
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    tarball.write_tar([*entries[:1], Entry("/etc/motd", data=b"HI\n")], tmp_path / "three.tar")
    assert (tmp_path / "three.tar").read_bytes() != (tmp_path / "one.tar").read_bytes()


def test_members_are_normalized(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    os.utime(src, (1_700_000_000, 1_700_000_000))
    tarball.write_tar(
        [
            Entry("/opt/app/data.bin", source=str(src), uid=1000, gid=1000, mode=0o100640),
            Entry("/opt/app/link", HARDLINK, target="/opt/app/data.bin"),
            Entry("/home/nonroot", DIR, 0o700, uid=65532, gid=65532),
        ],
        tmp_path / "l.tar",
    )
    with tarfile.open(tmp_path / "l.tar") as tar:
        infos = {m.name: m for m in tar.getmembers()}
        assert list(infos) == sorted(infos)
        # Missing parents are added as root-owned 0755 directories.
        assert {"opt", "opt/app", "home"} <= set(infos)
        assert infos["opt"].isdir() and infos["opt"].mode == 0o755 and infos["opt"].uid == 0
        data = infos["opt/app/data.bin"]
        assert (data.mode, data.uid, data.gid, data.mtime) == (0o640, 1000, 1000, 0)
        assert data.uname == "" and data.gname == ""
        assert tar.extractfile(data).read() == b"payload"  # type: ignore[union-attr]
        assert (
            infos["opt/app/link"].islnk() and infos["opt/app/link"].linkname == "opt/app/data.bin"
        )
        home = infos["home/nonroot"]
        assert (home.mode, home.uid, home.gid) == (0o700, 65532, 65532)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([Entry("/a", data=b"1"), Entry("a", data=b"2")], "path given twice"),
        ([Entry("/../etc/passwd", data=b"")], "invalid path"),
        ([Entry("/", DIR)], "invalid path"),
        ([Entry("/a", SYMLINK)], "needs a target"),
        ([Entry("/a", "socket")], "unknown entry kind"),
        ([Entry("/a")], "needs data or a source"),
    ],
)
def test_bad_entries(tmp_path: Path, entries: list[Entry], message: str) -> None:
    out = tmp_path / "l.tar"
    with pytest.raises(LayerError, match=message):
        tarball.write_tar(entries, out)
    assert list(tmp_path.iterdir()) == []


def test_gzip_is_reproducible(tmp_path: Path) -> None:
    src = tmp_path / "l.tar"
    tarball.write_tar([Entry("/a", data=b"a" * 10000)], src)
    tarball.gzip_file(src, tmp_path / "one.gz")
    os.utime(src, (1_700_000_000, 1_700_000_000))
    tarball.gzip_file(src, tmp_path / "two.gz")
    one = (tmp_path / "one.gz").read_bytes()
    assert one == (tmp_path / "two.gz").read_bytes()
    assert one[4:8] == b"\0\0\0\0"  # header mtime
    assert not one[3] & 0x08  # no FNAME field
    assert gzip.decompress(one) == src.read_bytes()


@pytest.mark.parametrize(
    "size", [0, 1, tarball.GZIP_BLOCK - 1, tarball.GZIP_BLOCK, 3 * tarball.GZIP_BLOCK + 7]
)
def test_block_gzip_is_one_stream_whatever_the_threads(size: int) -> None:
    # Repetitive across block boundaries (back-references into the previous block) and random
    # enough that a block boundary bug would show in the decompressed bytes.
    seed = os.urandom(4096)
    data = (seed * (size // len(seed) + 1))[:size]
    one = tarball.gzip_bytes(data, workers=1)
    assert tarball.gzip_bytes(data, workers=3) == one
    assert gzip.decompress(one) == data
    with gzip.GzipFile(fileobj=io.BytesIO(one)) as gz:  # one member, read as a stream too
        assert gz.read() == data
    assert one[3] == 0 and one[4:8] == b"\0\0\0\0"  # no name, mtime 0
    if size > tarball.GZIP_BLOCK:
        # The priming window carries matches across blocks: far smaller than the input.
        assert len(one) < size // 50


def test_normalize() -> None:
    assert tarball.normalize("/usr//bin/./python3") == "usr/bin/python3"
    with pytest.raises(LayerError):
        tarball.normalize("a/../b")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
