"""Compare two builds of an image or index byte for byte; name the layer and files that differ.

Usage: compare.py LAYOUT_A LAYOUT_B. Exit 0 when the manifests are identical, 1 otherwise. For
an index, each platform's image is compared the same way.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
from pathlib import Path

from kit_lib import layout


def _members(path: Path) -> dict[str, tuple[object, ...]]:
    """Each member's metadata and content hash: everything that can make bytes differ."""
    out: dict[str, tuple[object, ...]] = {}
    with tarfile.open(path, mode="r:*") as tar:
        for m in tar:
            data = tar.extractfile(m).read() if m.isfile() else b""  # type: ignore[union-attr]
            digest = hashlib.sha256(data).hexdigest()
            out[m.name] = (m.type, m.mode, m.uid, m.gid, m.mtime, m.linkname, m.size, digest)
    return out


def differences(a: layout.Image, b: layout.Image) -> list[str]:
    """Human-readable lines naming what differs, most specific first; [] when identical."""
    if a.manifest_digest == b.manifest_digest:
        return []
    lines: list[str] = []
    if a.config_digest != b.config_digest:
        keys = sorted(set(a.config) | set(b.config))
        changed = [k for k in keys if a.config.get(k) != b.config.get(k)]
        lines.append(f"config differs in: {', '.join(changed)}")
    if len(a.layers) != len(b.layers):
        lines.append(f"layer count differs: {len(a.layers)} vs {len(b.layers)}")
    for i, (la, lb) in enumerate(zip(a.layers, b.layers, strict=False), 1):
        if la["digest"] == lb["digest"]:
            continue
        ma, mb = _members(a.blob(la["digest"])), _members(b.blob(lb["digest"]))
        names = sorted(n for n in set(ma) | set(mb) if ma.get(n) != mb.get(n))
        where = ", ".join(names[:10]) + (f" (+{len(names) - 10} more)" if len(names) > 10 else "")
        what = where or "same files, different compression bytes"
        lines.append(f"layer {i} differs ({la['digest'][:19]} vs {lb['digest'][:19]}): {what}")
    if not lines:
        lines.append("manifests differ (annotations or media types)")
    return lines


def index_differences(a: layout.Index, b: layout.Index) -> list[str]:
    """differences() of each platform's image, named by platform; [] when the indexes match."""
    if a.digest == b.digest:
        return []
    images_a = {layout.platform_name(d["platform"]): img for d, img in a.images}
    images_b = {layout.platform_name(d["platform"]): img for d, img in b.images}
    if sorted(images_a) != sorted(images_b):
        return [f"platforms differ: {sorted(images_a)} vs {sorted(images_b)}"]
    lines = [
        f"{name}: {line}"
        for name in sorted(images_a)
        for line in differences(images_a[name], images_b[name])
    ]
    return lines or ["indexes differ (annotations or order)"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: compare.py LAYOUT_A LAYOUT_B", file=sys.stderr)
        return 2
    if all(layout.is_index(p) for p in argv):
        ia, ib = (layout.read_index(p) for p in argv)
        digests, diff = (ia.digest, ib.digest), index_differences(ia, ib)
    else:
        a, b = (layout.read_image(p) for p in argv)
        digests, diff = (a.manifest_digest, b.manifest_digest), differences(a, b)
    if not diff:
        print(f"identical: {digests[0]}")
        return 0
    print(f"DIFFERENT: {digests[0]} vs {digests[1]}")
    for line in diff:
        print(f"  {line}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
