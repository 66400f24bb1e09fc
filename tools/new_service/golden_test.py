"""examples/hello is exactly what `new_service examples/hello hello` writes: no rotting scaffold.

When this fails, either the templates changed (regenerate: delete examples/hello's files and
run `./bazelw run //tools/new_service -- examples/hello hello --no-relock`) or examples/hello was
edited by hand (move the change into tools/new_service/templates/).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tools.new_service import new_service

DIR, NAME = "examples/hello", "hello"
# Left behind by local runs of tools; not part of the service.
IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def _workspace() -> Path:
    module = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"] / "MODULE.bazel"
    return module.resolve().parent


def _files(root: Path) -> dict[str, str]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
    return found


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One entry per differing file: missing, extra, or a unified diff."""
    problems = []
    for name in sorted(expected.keys() - actual.keys()):
        problems.append(f"missing in {DIR}: {name}")
    for name in sorted(actual.keys() - expected.keys()):
        problems.append(f"not written by the scaffold: {DIR}/{name}")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            diff = difflib.unified_diff(
                expected[name].splitlines(keepends=True),
                actual[name].splitlines(keepends=True),
                f"scaffold/{name}",
                f"{DIR}/{name}",
            )
            problems.append(f"differs: {DIR}/{name}\n{''.join(diff)}")
    return problems


def test_examples_hello_is_the_scaffold_output(tmp_path: Path):
    (tmp_path / "MODULE.bazel").touch()
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["examples/*"]\n')
    assert new_service.main([DIR, NAME, "--root", str(tmp_path), "--no-relock"]) == 0
    generated = _files(tmp_path / DIR)
    assert generated, "the scaffold wrote nothing"
    problems = differences(generated, _files(_workspace() / DIR))
    assert not problems, "\n".join(problems)


def test_differences_lists_each_kind():
    problems = differences({"a": "1\n", "b": "x\n"}, {"b": "y\n", "c": ""})
    assert problems[0] == f"missing in {DIR}: a"
    assert problems[1] == f"not written by the scaffold: {DIR}/c"
    assert problems[2].startswith(f"differs: {DIR}/b\n") and "-x" in problems[2]


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
