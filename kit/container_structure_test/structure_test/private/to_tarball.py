"""Docker-save tarball of an OCI layout: `to_tarball.py [--zstd=PROGRAM] LAYOUT OUT [CONFIG ...]`.

The tar driver of container-structure-test reads only docker-save tarballs, so a layout given as
`image` is converted here, with kit_lib's writer (the one oci_load uses). Given the test's
configs, the tarball holds only what their tests look at (see reduce.py): the tar driver unpacks
its image once per test, and a cut image unpacks in milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from kit_lib import imagetar, layout
from kit_lib.layout import ImageError

from structure_test.private import reduce


def main(argv: list[str]) -> int:
    """Convert; one error line and exit 1 on a bad layout or config, 2 on bad arguments."""
    zstd = None
    if argv and argv[0].startswith("--zstd="):
        zstd, argv = argv[0][len("--zstd=") :], argv[1:]
    if len(argv) < 2:
        print(
            "to_tarball: error: usage: to_tarball.py [--zstd=PROGRAM] LAYOUT OUT [CONFIG ...]",
            file=sys.stderr,
        )
        return 2
    image_dir, output, config_files = argv[0], argv[1], argv[2:]
    try:
        configs = []
        for name in config_files:
            try:
                configs.append(yaml.safe_load(Path(name).read_text()))
            except (OSError, yaml.YAMLError) as err:
                raise ImageError(
                    f"{name}: not a readable config: {str(err).splitlines()[0]}"
                ) from None
        paths = reduce.tested_paths(configs) if configs else None
        if layout.is_index(image_dir) or paths is None:
            imagetar.build_tarball(image_dir, output, [])
        else:
            reduce.write_reduced_tarball(image_dir, output, paths, reduce.read_paths(configs), zstd)
    except ImageError as err:
        print(f"to_tarball: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
