"""Tests of choosing RAM for short-lived trees, and of removing the trees killed processes left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit_lib import scratch


def test_a_writable_folder_with_room_is_chosen(tmp_path: Path) -> None:
    assert scratch.ram_parent(1, tmp_path) == tmp_path
    made = scratch.make_dir("t-", 1, tmp_path)
    assert made.parent == tmp_path and made.is_dir()
    assert made.name.startswith(scratch.owner_prefix("t-"))


def test_too_little_room_falls_back_to_the_default(tmp_path: Path) -> None:
    stat = os.statvfs(tmp_path)
    need = stat.f_blocks * stat.f_frsize + 1
    assert scratch.ram_parent(need, tmp_path) is None
    made = scratch.make_dir("t-", need, tmp_path)
    try:
        assert made.parent != tmp_path
    finally:
        made.rmdir()


def test_a_missing_or_non_folder_falls_back_to_the_default(tmp_path: Path) -> None:
    assert scratch.ram_parent(1, tmp_path / "missing") is None
    (tmp_path / "file").write_text("")
    assert scratch.ram_parent(1, tmp_path / "file") is None


def test_trees_of_exited_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from kit_lib import scratch; "
        "print(scratch.make_dir('t-', 1, Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    left = Path(run.stdout.strip())  # its process has exited without removing it
    (left / "file").write_text("x")
    mine = scratch.make_dir("t-", 1, tmp_path)
    other = tmp_path / "other-prefix-1-2-3-x"
    other.mkdir()
    assert not left.exists()
    assert mine.is_dir() and other.is_dir()  # our own tree, and another prefix's
    assert scratch.remove_stale(tmp_path, "t-") == []


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
