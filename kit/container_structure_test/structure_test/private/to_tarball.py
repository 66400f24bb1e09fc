"""Write the docker-save tarball of an OCI layout: `to_tarball.py LAYOUT OUT`.

The tar driver of container-structure-test reads only docker-save tarballs, so a layout given as
`image` is converted here, with kit_lib's writer (the one oci_load uses).
"""

from __future__ import annotations

import sys

from kit_lib import imagetar
from kit_lib.layout import ImageError


def main(argv: list[str]) -> int:
    """Convert; one error line and exit 1 on a bad layout, 2 on bad arguments."""
    if len(argv) != 2:
        print("to_tarball: error: usage: to_tarball.py LAYOUT OUT", file=sys.stderr)
        return 2
    try:
        imagetar.build_tarball(argv[0], argv[1], [])
    except ImageError as err:
        print(f"to_tarball: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
