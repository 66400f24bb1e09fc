"""Style is a test: ruff and buildifier over every Python and Starlark file in the workspace.

The test reads the source tree itself (found through the MODULE.bazel runfile), so it is tagged
`external` (never cached) and `local`; a new file anywhere is checked without BUILD plumbing.
Fix what it reports with `./bazelw run //tools/lint:format`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kit_lib import runfiles

from tools.lint import style


def _workspace() -> Path:
    module = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"] / "MODULE.bazel"
    return module.resolve().parent


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def root() -> Path:
    return _workspace()


@pytest.fixture(scope="module")
def ruff(tmp_path_factory: pytest.TempPathFactory) -> str:
    wheel = runfiles.runfile(os.environ["RUFF_WHEEL"])
    return str(runfiles.binary_from_wheel(wheel, "ruff", tmp_path_factory.mktemp("ruff")))


def test_finds_files(root: Path):
    # Guards against a walk that silently checks nothing.
    assert "tools/lint/style.py" in style.python_files(root)
    assert "MODULE.bazel" in style.starlark_files(root)


def test_ruff_check(root: Path, ruff: str):
    result = _run(style.ruff_check(ruff, style.python_files(root)), root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format(root: Path, ruff: str):
    result = _run(style.ruff_format(ruff, style.python_files(root)), root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_toml_excludes_hold_for_named_files(tmp_path: Path, ruff: str):
    # Imported or generated code left out on purpose (e.g. migrations) must not fail the style.
    (tmp_path / "ruff.toml").write_text('extend-exclude = ["generated/"]\n')
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "bad.py").write_text("import os, sys\nx=1\n")
    (tmp_path / "bad.py").write_text("import os, sys\nx=1\n")
    assert _run(style.ruff_check(ruff, ["generated/bad.py"]), tmp_path).returncode == 0
    assert _run(style.ruff_format(ruff, ["generated/bad.py"]), tmp_path).returncode == 0
    # The same code outside the excluded folder is still checked.
    assert _run(style.ruff_check(ruff, ["bad.py"]), tmp_path).returncode == 1
    assert _run(style.ruff_format(ruff, ["bad.py"]), tmp_path).returncode == 1


def test_buildifier(root: Path):
    buildifier = str(runfiles.runfile(os.environ["BUILDIFIER"]))
    cmd = [buildifier, "-mode=check", "-lint=warn", *style.starlark_files(root)]
    result = _run(cmd, root)
    assert result.returncode == 0, result.stdout + result.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
