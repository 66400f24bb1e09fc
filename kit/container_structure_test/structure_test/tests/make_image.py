"""Test helper: `make_image.py OUT` writes a small OCI layout for the rule's own tests.

One layer with /etc/motd, user 65532:65532 and an env entry: enough for metadata, existence and
content tests, with no other rule set involved.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kit_lib import layout, tarball


def main(argv: list[str]) -> int:
    """Write the layout; exit 2 on bad arguments."""
    if len(argv) != 1:
        print("make_image: error: usage: make_image.py OUT", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "layer.tar"
        tarball.write_tar([tarball.Entry("/etc/motd", data=b"structure tests\n", mode=0o644)], tar)
        config = {"Env": ["PATH=/usr/bin"], "User": "65532:65532"}
        layout.write_image(argv[0], [tar], config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
