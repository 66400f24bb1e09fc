"""Finding files and tools in the runfiles tree of a `bazel run` or `bazel test` program.

Shared by the kit's lock tool and the product's lint, lock and deploy tools.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path


def runfile(rlocationpath: str) -> Path:
    """Resolve a `$(rlocationpath ...)` value against this process's runfiles tree.

    An absolute path (as tests pass) is kept as it is.
    """
    if os.path.isabs(rlocationpath):
        return Path(rlocationpath)
    base = os.environ.get("RUNFILES_DIR") or os.environ.get("TEST_SRCDIR")
    if not base:
        # `bazel run` of a py_binary sets neither; the program itself sits in the runfiles tree.
        tree = next((p for p in Path(__file__).parents if p.name.endswith(".runfiles")), None)
        if tree is None:
            raise SystemExit("error: no runfiles tree found; run this through bazel")
        base = str(tree)
    return Path(base) / rlocationpath


def binary_from_wheel(wheel: Path, name: str, dest: Path) -> Path:
    """Extract the executable `name` from a wheel's `.data/scripts/` into `dest`.

    rules_python 0.22 does not expose a wheel's scripts, and tools like ruff and uv ship their
    binary only there.
    """
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.endswith(f".data/scripts/{name}")]
        if len(members) != 1:
            raise SystemExit(f"error: {wheel.name} has no single .data/scripts/{name}")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / name
        target.write_bytes(zf.read(members[0]))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target
