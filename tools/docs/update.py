"""`./bazelw run //docs:update`: copy the generated reference pages into docs/ (atomically).

Also the staleness check: `update.py --check` exits 1, naming the command, when a committed page
differs from what the .bzl files generate now.

    update.py [--check] --workspace-dir DIR GENERATED.md...
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

from kit_lib import cli, layout

COMMAND = "./bazelw run //docs:update"


def main(argv: list[str] | None = None) -> int:
    """Copy (or compare) every generated page; the names are kept."""
    p = cli.Parser(prog="docs", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    p.add_argument("--docs", help="the committed docs folder (default: the workspace's docs/)")
    p.add_argument("pages", nargs="+", help="generated pages")
    args = p.parse_args(argv)
    docs = Path(args.docs or Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", ".")) / "docs")
    stale = []
    for page in map(Path, args.pages):
        new = page.read_text(encoding="utf-8")
        target = docs / page.name
        old = target.read_text(encoding="utf-8") if target.is_file() else ""
        if args.check:
            if new != old:
                diff = difflib.unified_diff(
                    old.splitlines(),
                    new.splitlines(),
                    f"docs/{page.name}",
                    "generated",
                    lineterm="",
                )
                print("\n".join(list(diff)[:40]), file=sys.stderr)
                stale.append(page.name)
        elif new != old:
            layout.write_file_atomic(target, new.encode())
            print(f"wrote {target}")
    if stale:
        print(f"docs: error: stale {', '.join(stale)}; run {COMMAND}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
