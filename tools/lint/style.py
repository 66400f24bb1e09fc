"""What our style is: which files are checked and with which commands.

The style test and the `format` fixer share this module, so they can never disagree about what
"formatted" means.
"""

from __future__ import annotations

import os
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


# ruff skips the `exclude` / `extend-exclude` of ruff.toml for files named on its command line
# unless told otherwise; without this, excluded code (imported, generated) would still fail.
RUFF_FLAGS = ["--no-cache", "--force-exclude"]


def ruff_check(ruff: str, files: list[str], fix: bool = False) -> list[str]:
    """The `ruff check` command over `files` (with `--fix` for the formatter)."""
    return [ruff, "check", *(["--fix"] if fix else []), *RUFF_FLAGS, *files]


def ruff_format(ruff: str, files: list[str], check: bool = True) -> list[str]:
    """The `ruff format` command over `files` (`--check` for the test)."""
    return [ruff, "format", *(["--check"] if check else []), *RUFF_FLAGS, *files]
