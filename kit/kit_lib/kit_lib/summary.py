"""The one-screen summary of an image: digest, platform, and each layer's sizes.

`oci_image` prints it when it builds, and `<name>_info` targets print it from a built layout,
so both say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the result, for the manifest and the summary."""

    descriptor: dict[str, Any]
    diff_id: str
    uncompressed_size: int | None
    source: str


@dataclass(frozen=True)
class Result:
    """What was built: the manifest digest, platform and every layer (base ones first)."""

    digest: str
    platform: dict[str, str]
    layers: list[LayerInfo]


def human_size(size: int | None) -> str:
    """Format a byte count for people: "512 B", "14.2 MiB"; None (unknown) is "?"."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def summary(result: Result) -> str:
    """The lines `bazel build` shows for the image: digest, then each layer's sizes."""
    platform = "/".join(
        result.platform[k] for k in ("os", "architecture", "variant") if k in result.platform
    )
    total = sum(layer.descriptor["size"] for layer in result.layers)
    unknown = any(layer.uncompressed_size is None for layer in result.layers)
    total_raw = None if unknown else sum(layer.uncompressed_size or 0 for layer in result.layers)
    lines = [
        f"oci_image: {result.digest} {platform}, {len(result.layers)} layer(s), "
        f"{human_size(total_raw)} uncompressed, {human_size(total)} compressed"
    ]
    for i, layer in enumerate(result.layers, 1):
        lines.append(
            f"  layer {i}: {layer.descriptor['digest'][:19]}  "
            f"{human_size(layer.uncompressed_size):>10} -> "
            f"{human_size(layer.descriptor['size']):>10}  {layer.source}"
        )
    return "\n".join(lines)
