"""Test helper: `make_layer.py [--gzip | --zstd=ZSTD] OUT IMAGE_PATH=SOURCE...` writes a layer.

The contract tests need layers built inside Bazel; this goes through tarball.write_tar, the same
code the real layers use, so the test images are as reproducible as the real ones.
"""

from __future__ import annotations

import sys

from kit_lib.tarball import Entry, LayerError, write_layer


def main(argv: list[str]) -> int:
    """Write the tar; one error line and exit 2 on bad arguments."""
    if len(argv) < 1:
        print("make_layer: error: usage: make_layer.py OUT [IMAGE_PATH=SOURCE]...", file=sys.stderr)
        return 2
    compress = argv[0] == "--gzip"
    zstd_program = argv[0].removeprefix("--zstd=") if argv[0].startswith("--zstd=") else None
    if compress or zstd_program:
        argv = argv[1:]
    entries = []
    for spec in argv[1:]:
        path, sep, source = spec.partition("=")
        if not sep or not path or not source:
            print(f"make_layer: error: expected IMAGE_PATH=SOURCE, got {spec!r}", file=sys.stderr)
            return 2
        entries.append(Entry(path, source=source, mode=0o644))
    try:
        compression = "zstd" if zstd_program else "gzip" if compress else ""
        write_layer(entries, argv[0], compression, zstd_program)
    except (LayerError, OSError) as err:
        print(f"make_layer: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
