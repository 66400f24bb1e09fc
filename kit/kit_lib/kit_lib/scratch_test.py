"""Tests of choosing RAM for short-lived trees."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kit_lib import scratch


def test_a_writable_folder_with_room_is_chosen(tmp_path: Path) -> None:
    assert scratch.ram_parent(1, tmp_path) == tmp_path


def test_too_little_room_falls_back_to_the_default(tmp_path: Path) -> None:
    stat = os.statvfs(tmp_path)
    assert scratch.ram_parent(stat.f_blocks * stat.f_frsize + 1, tmp_path) is None


def test_a_missing_or_read_only_folder_falls_back_to_the_default(tmp_path: Path) -> None:
    assert scratch.ram_parent(1, tmp_path / "missing") is None
    (tmp_path / "file").write_text("")
    assert scratch.ram_parent(1, tmp_path / "file") is None
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert scratch.ram_parent(1, locked) is None


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
