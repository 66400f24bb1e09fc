"""Print an image layout's digest and per-layer sizes (a fastapi_image's `<name>_info`).

`bazel build` shows the same summary only when the image action actually runs; this prints it
from the built layout at any time.
"""

from __future__ import annotations

import sys

from kit_lib import layout
from kit_lib.summary import LayerInfo, Result, summary


def describe(root: str) -> str:
    """The summary `image.py` prints, rebuilt from the layout (layers by number, not file)."""
    img = layout.read_image(root)
    diff_ids = img.config["rootfs"]["diff_ids"]
    layers = []
    for i, (descriptor, diff_id) in enumerate(zip(img.layers, diff_ids, strict=True), 1):
        scan = layout.scan_layer(img.blob(descriptor["digest"]), f"layer {i}")
        layers.append(LayerInfo(descriptor, diff_id, scan.uncompressed_size, f"layer {i}"))
    platform = {k: img.config[k] for k in ("os", "architecture", "variant") if img.config.get(k)}
    return summary(Result(img.manifest_digest, platform, layers))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: describe.py IMAGE_LAYOUT_DIR", file=sys.stderr)
        return 2
    try:
        print(describe(argv[0]))
    except layout.ImageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
