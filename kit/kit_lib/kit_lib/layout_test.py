"""Tests for layout.py: layer scanning, layout reading with its integrity checks, staging."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from kit_lib import layout, tarball, zstd
from kit_lib.layout import ImageError


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def tar_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "t.tar"
    tarball.write_tar([tarball.Entry("/etc/motd", data=b"hello\n" * 1000)], path)
    return path.read_bytes()


def test_scan_plain_tar(tmp_path: Path, tar_bytes: bytes) -> None:
    path = tmp_path / "l.tar"
    path.write_bytes(tar_bytes)
    scan = layout.scan_layer(path, "layer")
    assert scan == layout.LayerScan(
        "", sha(tar_bytes), len(tar_bytes), sha(tar_bytes), len(tar_bytes)
    )


def test_scan_gzip_and_multi_member_gzip(tmp_path: Path, tar_bytes: bytes) -> None:
    one = gzip.compress(tar_bytes, mtime=0)
    half = len(tar_bytes) // 2
    two = gzip.compress(tar_bytes[:half], mtime=0) + gzip.compress(tar_bytes[half:], mtime=0)
    for name, data in [("one.tgz", one), ("two.tgz", two)]:
        path = tmp_path / name
        path.write_bytes(data)
        scan = layout.scan_layer(path, "layer")
        assert scan.compression == "gzip"
        assert (scan.digest, scan.size) == (sha(data), len(data))
        assert (scan.diff_id, scan.uncompressed_size) == (sha(tar_bytes), len(tar_bytes))


def test_scan_zstd_through_the_zstd_program(tmp_path: Path, tar_bytes: bytes) -> None:
    plain = tmp_path / "l.tar"
    plain.write_bytes(tar_bytes)
    packed = tmp_path / "l.tar.zst"
    zstd.compress_file(plain, packed, os.environ["KIT_ZSTD"])
    again = tmp_path / "again.tar.zst"
    zstd.compress_file(plain, again, os.environ["KIT_ZSTD"])
    assert packed.read_bytes() == again.read_bytes()  # reproducible
    assert packed.read_bytes().startswith(zstd.MAGIC)
    scan = layout.scan_layer(packed, "layer")  # the program from $KIT_ZSTD
    assert scan.compression == "zstd"
    assert (scan.digest, scan.size) == (sha(packed.read_bytes()), packed.stat().st_size)
    assert (scan.diff_id, scan.uncompressed_size) == (sha(tar_bytes), len(tar_bytes))
    staging = tmp_path / "staging"
    descriptor, _ = layout.add_layer(staging, packed)
    assert descriptor["mediaType"] == layout.LAYER_ZSTD


def test_scan_zstd_without_the_program_or_corrupt(
    tmp_path: Path, tar_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.tar.zst"
    path.write_bytes(zstd.MAGIC + b"\0" * 64)
    with pytest.raises(ImageError, match="zstd could not read"):
        layout.scan_layer(path, "layer")
    monkeypatch.delenv("KIT_ZSTD")
    with pytest.raises(ImageError, match="a zstd layer needs the zstd program: none given"):
        layout.scan_layer(path, "layer")


def test_scan_empty_tar_is_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    tarball.write_tar([], path)
    assert layout.scan_layer(path, "layer").diff_id == sha(path.read_bytes())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a tar archive"),
        (b"x" * 2048, "not a tar archive"),
        (gzip.compress(b"not a tar" * 100, mtime=0), "not a tar archive"),
        (gzip.compress(b"\0" * 2048, mtime=0)[:-12], "truncated gzip"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 64, "corrupt gzip"),
    ],
)
def test_scan_rejects(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.tar"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=message):
        layout.scan_layer(path, "layer")


def test_scan_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        layout.scan_layer(tmp_path / "nope.tar", "layer")


def make_image(tmp_path: Path, tar_bytes: bytes) -> Path:
    (tmp_path / "l.tar").write_bytes(tar_bytes)
    out = tmp_path / "img"
    layout.write_image(out, [tmp_path / "l.tar"])
    return out


def test_read_image_round_trip(tmp_path: Path, tar_bytes: bytes) -> None:
    out = make_image(tmp_path, tar_bytes)
    img = layout.read_image(out)
    index = json.loads((out / "index.json").read_text())
    assert img.manifest_digest == index["manifests"][0]["digest"]
    assert img.config_digest == img.manifest["config"]["digest"]
    assert len(img.layers) == 1


def test_read_image_rejects_tampering(tmp_path: Path, tar_bytes: bytes) -> None:
    out = make_image(tmp_path, tar_bytes)
    layer = layout.read_image(out).layers[0]
    blob = layout.blob_path(out, layer["digest"])
    blob.write_bytes(blob.read_bytes() + b"\0")
    with pytest.raises(ImageError, match=r"layer 1: blob .* has size"):
        layout.read_image(out)
    # Without layer verification the (cheap) manifest and config checks still pass.
    layout.read_image(out, verify_layers=False)


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "gzip"])
def test_open_layer_reads_in_any_order(tmp_path: Path, compress: bool) -> None:
    entries = [tarball.Entry(f"/d/f{i}", data=bytes([i]) * 5000) for i in range(3)]
    tarball.write_tar(entries, tmp_path / "l.tar")
    layer = tmp_path / "l.tar"
    if compress:
        layer.write_bytes(gzip.compress(layer.read_bytes(), mtime=0))
    img = layout.read_image(make_image(tmp_path, layer.read_bytes()))
    with layout.open_layer(img, img.layers[0]) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        # Backwards: the last file first, as extractall after getmembers reads them.
        data = {m.name: tar.extractfile(m).read() for m in reversed(members)}  # type: ignore[union-attr]
    assert data == {f"d/f{i}": bytes([i]) * 5000 for i in range(3)}


def test_open_layer_rejects_a_gzip_layer_that_does_not_inflate(
    tmp_path: Path, tar_bytes: bytes
) -> None:
    out = make_image(tmp_path, gzip.compress(tar_bytes, mtime=0))
    img = layout.read_image(out)
    blob = layout.blob_path(out, img.layers[0]["digest"])
    blob.write_bytes(blob.read_bytes()[:-40])  # truncated: no end of stream, no trailer
    with pytest.raises(tarfile.ReadError, match="not a valid gzip stream"):
        with layout.open_layer(img, img.layers[0]):
            pass


def test_read_image_rejects_bad_layouts(tmp_path: Path, tar_bytes: bytes) -> None:
    out = make_image(tmp_path, tar_bytes)
    index_path = out / "index.json"
    index = json.loads(index_path.read_text())
    index_path.write_text(json.dumps({**index, "manifests": index["manifests"] * 2}))
    with pytest.raises(ImageError, match="exactly one manifest, found 2"):
        layout.read_image(out)
    bad = dict(index["manifests"][0], digest="sha256:../../etc/passwd")
    index_path.write_text(json.dumps({**index, "manifests": [bad]}))
    with pytest.raises(ImageError, match="not a sha256 digest"):
        layout.read_image(out)
    (out / "oci-layout").write_text("{}")
    with pytest.raises(ImageError, match="imageLayoutVersion"):
        layout.read_image(out)
    with pytest.raises(ImageError, match="not a directory"):
        layout.read_image(tmp_path / "missing")


def test_staged_dir_leaves_nothing_on_error(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), layout.staged_dir(final) as staging:
        (staging / "half").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_staged_dir_modes(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with layout.staged_dir(final) as staging:
        (staging / "sub").mkdir()
        (staging / "sub" / "f").write_text("x")
    assert final.stat().st_mode & 0o777 == 0o755
    assert (final / "sub" / "f").stat().st_mode & 0o777 == 0o644


def test_canonical_json_is_stable() -> None:
    assert layout.canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
