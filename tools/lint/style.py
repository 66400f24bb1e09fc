"""What our style is: which files are checked and with which commands.

The style test and the `format` fixer share this module, so they can never disagree about what
"formatted" means.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

STARLARK_NAMES = {"BUILD", "BUILD.bazel", "MODULE.bazel", "WORKSPACE", "WORKSPACE.bazel"}
SKIP_DIRS = {".git", "node_modules", "__pycache__"}


def source_files(root: Path) -> Iterator[Path]:
    """Yield the workspace's Python and Starlark files, sorted, skipping bazel-* output links."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith("bazel-")
        )
        for name in sorted(filenames):
            if name.endswith((".py", ".bzl")) or name in STARLARK_NAMES:
                yield Path(dirpath) / name


def python_files(root: Path) -> list[str]:
    """Workspace-relative paths of the Python files."""
    return [str(p.relative_to(root)) for p in source_files(root) if p.suffix == ".py"]


def starlark_files(root: Path) -> list[str]:
    """Workspace-relative paths of the BUILD, .bzl and MODULE.bazel files."""
    return [str(p.relative_to(root)) for p in source_files(root) if p.suffix != ".py"]


def runfile(rlocationpath: str) -> Path:
    """Resolve a `$(rlocationpath ...)` value against this process's runfiles tree."""
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
