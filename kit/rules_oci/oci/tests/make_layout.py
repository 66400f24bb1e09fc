"""Test helper: `make_layout.py OUT LAYER.tar` writes an OCI layout without any oci_* rule.

It stands for an image made by another tool (crane, skopeo, an oci_pull): oci_image must take it
as `base` with no provider, inheriting its config and its manifest's annotations.
"""

from __future__ import annotations

import sys

from kit_lib import layout


def main(argv: list[str]) -> int:
    """Write the layout; one error line and exit 2 on bad arguments."""
    if len(argv) != 2:
        print("make_layout: error: usage: make_layout.py OUT LAYER", file=sys.stderr)
        return 2
    config = {
        "Cmd": ["--serve"],
        "Env": ["PATH=/usr/bin", "TZ=UTC"],
        "Labels": {"from": "foreign", "kept": "yes"},
    }
    annotations = {"org.example.origin": "foreign-tool"}
    layout.write_image(
        argv[0], [argv[1]], config, {"architecture": "arm64", "os": "linux"}, annotations
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
