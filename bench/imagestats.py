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


# What an image's regular files are, by what decides their size: ELF files (the interpreter,
# shared libraries, extension modules), Python bytecode, Python sources, and the rest (data,
# licenses, package metadata, certificates, time zones).
KINDS = ("native code", "bytecode", "Python sources", "other files")
FRAMING = "tar framing"


def kind_of(name: str, head: bytes) -> str:
    """The kind of a file from its name and first bytes."""
    if head.startswith(b"\x7fELF"):
        return "native code"
    if name.endswith(".pyc"):
        return "bytecode"
    if name.endswith(".py"):
        return "Python sources"
    return "other files"


def bytes_by_kind(root: str | os.PathLike[str], uncompressed: int) -> dict[str, dict[str, Any]]:
    """Files, bytes and gzip bytes of each kind of regular file over the image's layers.

    Each kind's files are deflated together in layer order (level 6, as the layers are), so
    the kinds' gzip bytes add up to about the layers' own. FRAMING is what the tars hold
    besides file data (headers, padding, directories, links): `uncompressed`, the layers'
    uncompressed total, less the files' bytes.
    """
    image = layout.read_image(root, verify_layers=False)
    totals = {kind: {"files": 0, "bytes": 0, "compressed": 0} for kind in KINDS}
    deflate = {kind: zlib.compressobj(6, zlib.DEFLATED, -15) for kind in KINDS}
    for descriptor in image.layers:
        with tarfile.open(image.blob(descriptor["digest"]), mode="r:*") as tar:
            for member in tar:
                source = tar.extractfile(member) if member.isreg() else None
                if source is None:
                    continue
                data = source.read()
                kind = kind_of(member.name, data[:4])
                totals[kind]["files"] += 1
                totals[kind]["bytes"] += len(data)
                totals[kind]["compressed"] += len(deflate[kind].compress(data))
    for kind in KINDS:
        totals[kind]["compressed"] += len(deflate[kind].flush())
    data_bytes = sum(t["bytes"] for t in totals.values())
    return {**totals, FRAMING: {"files": 0, "bytes": uncompressed - data_bytes, "compressed": None}}


def layer_digests(root: str | os.PathLike[str]) -> dict[str, str]:
    """Layer name -> digest, read without hashing the layers again (fast, for diffs)."""
    image = layout.read_image(root, verify_layers=False)
    names = layer_names(image.config, len(image.layers))
    return {name: d["digest"] for name, d in zip(names, image.layers, strict=True)}


def changed_layers(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Names of layers whose digest differs, or that only one of the two images has."""
    names = list(before) + [name for name in after if name not in before]
    return [name for name in names if before.get(name) != after.get(name)]
