"""Write the app's build_info.json from Bazel's workspace status (stamped builds only).

Unstamped builds get `{}`, so the app reports its own defaults and the image stays reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys

from image_extras.private import extras
from kit_lib import layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--value", action="append", default=[], help="KEY={STAMP_KEY} template")
    parser.add_argument("--stamp-file", action="append", default=[])
    args = parser.parse_args(argv)
    data: dict[str, str] = {}
    if args.stamp_file:
        values = extras.read_stamp_files(args.stamp_file)
        for item in args.value:
            key, sep, template = item.partition("=")
            if not sep or not key:
                parser.error(f"--value {item!r}: expected KEY=TEMPLATE")
            data[key] = extras.stamp(template, values)
    layout.write_file_atomic(args.output, json.dumps(data, indent=2, sort_keys=True).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
