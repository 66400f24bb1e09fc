"""Tests for lock.py: packages.in parsing, the private apt setup, and a run against a fake apt."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from distroless import lock

INDEX = """\
Package: app
Version: 1.0
Architecture: amd64
Depends: libc, debconf | debconf-2.0
Filename: pool/main/a/app/app_1.0_amd64.deb
SHA256: {a}

Package: libc
Version: 2.41
Architecture: amd64
Filename: pool/main/g/glibc/libc_2.41_amd64.deb
SHA256: {b}
""".format(a="a" * 64, b="b" * 64)


def test_packages_in(tmp_path):
    path = tmp_path / "packages.in"
    path.write_text("# header\napp   # why\n\n-debconf  # never\nlibc\n")
    assert lock.read_packages_in(path) == (["app", "libc"], {"debconf"})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("app\napp\n", "listed twice"),
        ("app libc\n", "one package name per line"),
        ("# nothing\n-debconf\n", "no wanted packages"),
    ],
)
def test_packages_in_errors(tmp_path, text, error):
    path = tmp_path / "packages.in"
    path.write_text(text)
    with pytest.raises(lock.LockError, match=error):
        lock.read_packages_in(path)


def test_private_apt_config(tmp_path):
    conf = lock.apt_config(tmp_path, "http://mirror.example.invalid/debian", "/k.gpg")
    text = conf.read_text()
    assert f'Dir::State::status "{tmp_path}/status";' in text
    assert f'Dir::State::Lists "{tmp_path}/lists";' in text
    assert 'APT::Architecture "amd64";' in text
    assert (tmp_path / "status").read_text() == ""
    assert (tmp_path / "etc/sources.list").read_text() == (
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.invalid/debian trixie main\n"
    )


def fake_apt(bin_dir: Path, index: str, update_rc: int = 0) -> None:
    """Put apt-get and apt-cache stand-ins on PATH that check they got the private config."""
    bin_dir.mkdir()
    (bin_dir / "index").write_text(index)
    check = (
        "import os, sys\n"
        "conf = open(os.environ['APT_CONFIG']).read()\n"
        "assert 'Dir::State::status' in conf, conf\n"
    )
    (bin_dir / "apt-get").write_text(
        f"#!{sys.executable}\n{check}"
        f"print('E: update failed', file=sys.stderr) if {update_rc} else None\n"
        f"sys.exit({update_rc})\n"
    )
    (bin_dir / "apt-cache").write_text(
        f"#!{sys.executable}\n{check}sys.stdout.write(open({str(bin_dir / 'index')!r}).read())\n"
    )
    for tool in ("apt-get", "apt-cache"):
        (bin_dir / tool).chmod(0o755)


HERE = "kit/fastapi_kit/distroless"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    (tmp_path / HERE).mkdir(parents=True)
    (tmp_path / HERE / "packages.in").write_text("app\n-debconf\n-debconf-2.0\n")
    keyring = tmp_path / "keyring.gpg"
    keyring.write_bytes(b"")
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("DEBIAN_MIRROR", "http://mirror.example.invalid/debian")
    return tmp_path, keyring


def test_main_writes_sorted_lock(workspace, monkeypatch):
    root, keyring = workspace
    fake_apt(root / "bin", INDEX)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert lock.main(["--keyring", str(keyring)]) == 0
    entries = json.loads((root / HERE / "packages.lock.json").read_text())
    assert [e["name"] for e in entries] == ["app", "libc"]
    assert entries[0]["depends"] == ["libc"]
    assert entries[1]["filename"] == "pool/main/g/glibc/libc_2.41_amd64.deb"
    assert "example.invalid" not in (root / HERE / "packages.lock.json").read_text()


def test_main_fails_cleanly_when_apt_fails(workspace, monkeypatch, capsys):
    root, keyring = workspace
    fake_apt(root / "bin", INDEX, update_rc=100)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (root / HERE / "packages.lock.json").write_text("old\n")
    assert lock.main(["--keyring", str(keyring)]) == 1
    assert capsys.readouterr().err == "lock: apt-get update for trixie failed: E: update failed\n"
    assert (root / HERE / "packages.lock.json").read_text() == "old\n"


def test_missing_keyring(workspace, capsys):
    root, _ = workspace
    assert lock.main(["--keyring", str(root / "nope.gpg")]) == 1
    assert "install debian-archive-keyring" in capsys.readouterr().err


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
