"""Write the app's build_info.json from Bazel's workspace status (stamped builds only).

Unstamped builds get `{}`, so the app reports its own defaults and the image stays reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys

from kit_lib import layout

from oci.private import imageconfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--value", action="append", default=[], help="KEY={STAMP_KEY} template")
    parser.add_argument("--stamp-file", action="append", default=[])
    args = parser.parse_args(argv)
    data: dict[str, str] = {}
    if args.stamp_file:
        values = imageconfig.read_stamp_files(args.stamp_file)
        for item in args.value:
            key, template = imageconfig.parse_assignment(item, "--value")
            data[key] = imageconfig.stamp(template, values)
    layout.write_file_atomic(args.output, json.dumps(data, indent=2, sort_keys=True).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
