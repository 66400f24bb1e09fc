"""bytecode.compile_declared: what a Bazel action declared is written, for that Python only."""

from __future__ import annotations

import importlib.util
import json
import marshal
import sys
from pathlib import Path

import pytest

from kit_lib import bytecode


def _jobs(tmp_path: Path, sources: dict[str, str]) -> tuple[Path, list[Path]]:
    jobs, outputs = [], []
    for name, text in sources.items():
        source = tmp_path / f"{name}.py"
        source.write_text(text)
        pyc = tmp_path / "__pycache__" / f"{name}.{sys.implementation.cache_tag}.pyc"
        jobs.append([str(source), str(pyc), f"site-packages/{name}.py"])
        outputs.append(pyc)
    (tmp_path / "__pycache__").mkdir()
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    return jobs_file, outputs


def test_every_declared_pyc_is_written(tmp_path: Path) -> None:
    jobs_file, (good, broken) = _jobs(tmp_path, {"good": "X = 1\n", "broken": "def f(:\n"})
    assert bytecode.compile_declared(str(jobs_file), sys.implementation.cache_tag) == 0
    assert good.read_bytes()[:4] == importlib.util.MAGIC_NUMBER
    assert broken.read_bytes() == b""  # declared, so written; CPython falls back to the source


def test_another_pythons_tag_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    jobs_file, outputs = _jobs(tmp_path, {"good": "X = 1\n"})
    assert bytecode.compile_declared(str(jobs_file), "cpython-399") == 1
    err = capsys.readouterr().err
    assert err.startswith("bytecode: error: the .pyc files are declared for cpython-399 but ")
    assert err.count("\n") == 1
    assert not any(path.exists() for path in outputs)


def _columns_and_lines(pyc: Path) -> tuple[set, set]:
    code = marshal.loads(pyc.read_bytes()[16:])
    positions = list(code.co_positions())
    return {p[2] for p in positions}, {p[0] for p in positions}


@pytest.mark.parametrize("debug_ranges", [True, False])
def test_without_debug_ranges_columns_go_and_lines_stay(tmp_path: Path, debug_ranges: bool) -> None:
    source = tmp_path / "mod.py"
    source.write_text("X = 1\nY = X + 2\n")
    pyc = tmp_path / "mod.pyc"
    tag, errors = bytecode.compile_files(
        [(str(source), str(pyc), "/opt/mod.py")], debug_ranges=debug_ranges
    )
    assert (tag, errors) == (sys.implementation.cache_tag, [None])
    columns, lines = _columns_and_lines(pyc)
    assert {1, 2} <= lines
    assert (columns - {None} != set()) is debug_ranges
    assert marshal.loads(pyc.read_bytes()[16:]).co_filename == "/opt/mod.py"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
