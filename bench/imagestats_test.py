"""Tests for bench.imagestats: a hand-made layout with known content, and the real //:image."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import zlib
from pathlib import Path

import pytest
from kit_lib import layout

from bench import imagestats


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo("dir")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _layout(root: Path, layers: list[tuple[str, bytes, bool]]) -> None:
    """A one-image layout; each layer is (history name, tar bytes, gzip it)."""
    descriptors, diff_ids, history = [], [], []
    for name, data, gzipped in layers:
        blob = gzip.compress(data, mtime=0) if gzipped else data
        media = layout.LAYER_GZIP if gzipped else layout.LAYER_TAR
        descriptors.append({"mediaType": media, **layout.write_blob(root, blob)})
        diff_ids.append(layout.sha256_bytes(data))
        history.append({"created_by": f"oci_image: layer {name}"})
    config = {"rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
    config_desc = layout.write_blob(root, layout.canonical_json(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": layout.MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": layout.CONFIG_MEDIA_TYPE, **config_desc},
        "layers": descriptors,
    }
    manifest_desc = layout.write_blob(root, layout.canonical_json(manifest))
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": layout.MANIFEST_MEDIA_TYPE, **manifest_desc}],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


def test_sizes_and_counts_of_gzip_and_plain_layers(tmp_path: Path) -> None:
    base = _tar({"dir/a": b"a" * 5000, "dir/b": b"b" * 3})
    app = _tar({"app/main.py": b"print('hi')\n"})
    _layout(tmp_path, [("base.tar", base, True), ("app_layer.tar", app, False)])
    stats = imagestats.image_stats(tmp_path)
    first, second = stats["layers"]
    assert (first["name"], second["name"]) == ("base", "app")
    assert first["uncompressed"] == len(base)
    assert first["compressed"] == len(gzip.compress(base, mtime=0))
    assert (first["files"], first["entries"]) == (2, 3)
    assert second["uncompressed"] == len(app)
    # A plain tar is gzipped to tell what it would weigh in a registry.
    assert 0 < second["compressed"] < len(app)
    assert stats["total"]["files"] == 3
    assert stats["total"]["uncompressed"] == len(base) + len(app)
    assert stats["digest"].startswith("sha256:")


def test_bytes_by_kind(tmp_path: Path) -> None:
    elf = b"\x7fELF" + bytes(3000)
    base = _tar({"usr/lib/libx.so.1": elf, "usr/lib/python3/os.py": b"import sys\n" * 50})
    venv = _tar({"venv/pkg/mod.pyc": b"\xf3\r\r\n" + b"c" * 900, "venv/pkg/METADATA": b"M" * 99})
    app = _tar({"app/main.py": b"print('hi')\n", "app/tool": elf[:100]})
    _layout(tmp_path, [("base.tar", base, True), ("venv.tar", venv, False), ("app.tar", app, True)])
    total = len(base) + len(venv) + len(app)
    kinds = imagestats.bytes_by_kind(tmp_path, total)
    assert kinds["native code"]["files"] == 2
    assert kinds["native code"]["bytes"] == len(elf) + 100
    assert (kinds["bytecode"]["files"], kinds["bytecode"]["bytes"]) == (1, 904)
    assert (kinds["Python sources"]["files"], kinds["Python sources"]["bytes"]) == (2, 562)
    assert (kinds["other files"]["files"], kinds["other files"]["bytes"]) == (1, 99)
    # Each kind is deflated as one stream of its files, in layer order.
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    sources = deflate.compress(b"import sys\n" * 50 + b"print('hi')\n") + deflate.flush()
    assert kinds["Python sources"]["compressed"] == len(sources)
    framing = kinds[imagestats.FRAMING]
    assert framing["bytes"] == total - (len(elf) + 100 + 904 + 562 + 99)
    assert framing["compressed"] is None
    # The tars' headers and padding: at least one 512-byte header per entry.
    assert framing["bytes"] >= 512 * 9


def test_layer_names_fall_back_to_positions() -> None:
    config = {"history": [{"created_by": "oci_image: layer venv_layer.tar"}, {"created_by": "x"}]}
    assert imagestats.layer_names(config, 3) == ["venv", "layer 2", "layer 3"]
    empty = {"history": [{"empty_layer": True, "created_by": "ENV"}]}
    assert imagestats.layer_names(empty, 1) == ["layer 1"]


def test_changed_layers() -> None:
    before = {"base": "sha256:1", "venv": "sha256:2", "app": "sha256:3"}
    assert imagestats.changed_layers(before, dict(before)) == []
    assert imagestats.changed_layers(before, {**before, "app": "sha256:4"}) == ["app"]
    assert imagestats.changed_layers(before, {"base": "sha256:1", "extra": "sha256:9"}) == [
        "venv",
        "app",
        "extra",
    ]


def test_real_image() -> None:
    root = Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"]
    stats = imagestats.image_stats(root)
    image = layout.read_image(root)
    assert [layer["name"] for layer in stats["layers"]] == ["base", "venv", "app"]
    assert stats["digest"] == image.manifest_digest
    for layer, descriptor in zip(stats["layers"], image.layers, strict=True):
        scan = layout.scan_layer(image.blob(descriptor["digest"]), "layer")
        assert layer["compressed"] == descriptor["size"] == scan.size
        assert layer["uncompressed"] == scan.uncompressed_size
        assert 0 < layer["files"] <= layer["entries"]
    kinds = imagestats.bytes_by_kind(root, stats["total"]["uncompressed"])
    assert sum(kind["files"] for kind in kinds.values()) == stats["total"]["files"]
    assert kinds["native code"]["files"] > 0 and kinds["bytecode"]["files"] > 0
    assert sum(kind["bytes"] for kind in kinds.values()) == stats["total"]["uncompressed"]
    assert kinds[imagestats.FRAMING]["bytes"] > 0
    assert imagestats.layer_digests(root) == {
        layer["name"]: layer["digest"] for layer in stats["layers"]
    }


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
