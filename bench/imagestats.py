"""Sizes and file counts of an image's layers, and which layers two builds of it changed.

A layer's name comes from the config history that `oci_image` writes ("oci_image: layer
venv_layer.tar" -> "venv"), so a table says "app" rather than "layer 3" and stays right if
layers are added or reordered.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kit_lib import layout

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerStats:
    """One layer: gzip size is what a registry stores and a node pulls."""

    name: str
    digest: str
    uncompressed: int
    compressed: int
    files: int
    entries: int


def layer_names(config: dict[str, Any], count: int) -> list[str]:
    """Short names from the history ("base", "venv", "app"), or "layer N" where there is none."""
    created_by = [
        str(h.get("created_by", ""))
        for h in config.get("history") or []
        if not h.get("empty_layer")
    ]
    names = []
    for i in range(count):
        text = created_by[i] if i < len(created_by) else ""
        name = text.rsplit(" ", 1)[-1] if text.startswith("oci_image: layer ") else ""
        name = name.removesuffix(".gz").removesuffix(".tar").removesuffix("_layer")
        names.append(name or f"layer {i + 1}")
    return names


def _gzip_size(path: Path) -> int:
    """Bytes of `path` once gzip-compressed (level 6, as most tools push)."""
    size = 0
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            size += len(compressor.compress(chunk))
    return size + len(compressor.flush())


def _count(path: Path) -> tuple[int, int, int]:
    """(uncompressed bytes, regular files, all entries) of a plain or gzipped tar."""
    files = entries = 0
    with tarfile.open(path, mode="r:*") as tar:
        for member in tar:
            entries += 1
            files += member.isreg()
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    size = 0
    with (gzip.open if gzipped else open)(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            size += len(chunk)
    return size, files, entries


def image_stats(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Digest, per-layer stats and totals of the one image in the OCI layout at `root`."""
    image = layout.read_image(root)
    names = layer_names(image.config, len(image.layers))
    layers = []
    for name, descriptor in zip(names, image.layers, strict=True):
        blob = image.blob(descriptor["digest"])
        uncompressed, files, entries = _count(blob)
        gzipped = descriptor["mediaType"] == layout.LAYER_GZIP
        compressed = int(descriptor["size"]) if gzipped else _gzip_size(blob)
        layers.append(
            LayerStats(name, descriptor["digest"], uncompressed, compressed, files, entries)
        )
    return {
        "digest": image.manifest_digest,
        "layers": [asdict(layer) for layer in layers],
        "total": {
            "uncompressed": sum(layer.uncompressed for layer in layers),
            "compressed": sum(layer.compressed for layer in layers),
            "files": sum(layer.files for layer in layers),
            "entries": sum(layer.entries for layer in layers),
        },
    }


def layer_digests(root: str | os.PathLike[str]) -> dict[str, str]:
    """Layer name -> digest, read without hashing the layers again (fast, for diffs)."""
    image = layout.read_image(root, verify_layers=False)
    names = layer_names(image.config, len(image.layers))
    return {name: d["digest"] for name, d in zip(names, image.layers, strict=True)}


def changed_layers(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Names of layers whose digest differs, or that only one of the two images has."""
    names = list(before) + [name for name in after if name not in before]
    return [name for name in names if before.get(name) != after.get(name)]
