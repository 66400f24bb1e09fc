"""Tests for compare.py: identical layouts pass, and a difference is named by platform and file."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit_lib import layout, tarball

from tools.repro import compare


def image(root: Path, name: str, arch: str, data: bytes) -> Path:
    tar = root / f"{name}.tar"
    tarball.write_tar([tarball.Entry("etc/hello", data=data)], tar)
    layout.write_image(root / name, [tar], platform={"architecture": arch, "os": "linux"})
    return root / name


def index(root: Path, name: str, arm64_data: bytes) -> Path:
    parts = [
        image(root, f"{name}-a", "amd64", b"same"),
        image(root, f"{name}-b", "arm64", arm64_data),
    ]
    with layout.staged_dir(root / name) as staging:
        layout.write_index(staging, parts)
    return root / name


def test_indexes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = index(tmp_path, "one", b"x"), index(tmp_path, "two", b"x")
    assert compare.main([str(one), str(two)]) == 0
    assert capsys.readouterr().out.startswith("identical: sha256:")
    other = index(tmp_path, "other", b"y")
    assert compare.main([str(one), str(other)]) == 1
    out = capsys.readouterr().out
    assert "linux/arm64: layer 1 differs" in out and "etc/hello" in out
    assert "linux/amd64" not in out


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
