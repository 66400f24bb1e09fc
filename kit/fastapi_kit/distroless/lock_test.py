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
    path.write_text("# header\napp   # why\n\n-debconf  # never\nlibc\n+extra  # opt-in\n")
    assert lock.read_packages_in(path) == (["app", "libc"], {"debconf"}, ["extra"])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("app\napp\n", "listed twice"),
        ("app libc\n", "one package name per line"),
        ("# nothing\n-debconf\n", "no wanted packages"),
        ("app\n+app\n", "app is both wanted and optional"),
    ],
)
def test_packages_in_errors(tmp_path, text, error):
    path = tmp_path / "packages.in"
    path.write_text(text)
    with pytest.raises(lock.LockError, match=error):
        lock.read_packages_in(path)


SECURITY_INDEX = """\
Package: libc
Version: 2.41+deb13u1
Architecture: amd64
Filename: pool/updates/main/g/glibc/libc_2.41+deb13u1_amd64.deb
SHA256: {c}
""".format(c="c" * 64)


def test_private_apt_config(tmp_path):
    mirror = "http://mirror.example.invalid/debian"
    release = lock.RELEASES["3.13"]
    conf = lock.apt_config(tmp_path, mirror, mirror + "-security", "/k.gpg", "arm64", release)
    text = conf.read_text()
    assert f'Dir::State::status "{tmp_path}/status";' in text
    assert f'Dir::State::Lists "{tmp_path}/lists";' in text
    assert 'APT::Architecture "arm64";' in text
    assert (tmp_path / "status").read_text() == ""
    assert (tmp_path / "etc/sources.list").read_text() == (
        f"deb [arch=arm64 signed-by=/k.gpg] {mirror} trixie main\n"
        f"deb [arch=arm64 signed-by=/k.gpg] {mirror} trixie-updates main\n"
        f"deb [arch=arm64 signed-by=/k.gpg] {mirror}-security trixie-security main\n"
    )
    assert "Check-Valid-Until" not in text  # a stable release's expiry is checked


def test_testing_release_apt_config(tmp_path):
    mirror = "http://mirror.example.invalid/debian"
    release = lock.RELEASES["3.14"]
    conf = lock.apt_config(tmp_path, mirror, mirror + "-security", "/k.gpg", "amd64", release)
    assert 'Acquire::Check-Valid-Until "false";' in conf.read_text()
    assert (tmp_path / "etc/sources.list").read_text() == (
        f"deb [arch=amd64 signed-by=/k.gpg] {mirror} forky main\n"
        f"deb [arch=amd64 signed-by=/k.gpg] {mirror}-security forky-security main\n"
    )


def fake_apt(bin_dir: Path, indexes: dict[str, str], update_rc: int = 0) -> None:
    """An apt-get stand-in on PATH: checks the private config, writes each suite's list file.

    The amd64 index is served as is; for arm64 every `amd64` in it reads `arm64`.
    """
    bin_dir.mkdir()
    (bin_dir / "indexes.json").write_text(json.dumps(indexes))
    (bin_dir / "apt-get").write_text(
        f"#!{sys.executable}\n"
        "import json, os, re, sys\n"
        "conf = open(os.environ['APT_CONFIG']).read()\n"
        "assert 'Dir::State::status' in conf, conf\n"
        f"if {update_rc}:\n"
        "    print('E: update failed', file=sys.stderr)\n"
        f"    sys.exit({update_rc})\n"
        'lists = re.search(r\'Dir::State::Lists "([^"]+)"\', conf).group(1)\n'
        'arch = re.search(r\'APT::Architecture "([^"]+)"\', conf).group(1)\n'
        f"for suite, text in json.load(open({str(bin_dir / 'indexes.json')!r})).items():\n"
        "    name = f'mirror_debian_dists_{suite}_main_binary-{arch}_Packages'\n"
        "    open(os.path.join(lists, name), 'w').write(text.replace('amd64', arch))\n"
    )
    (bin_dir / "apt-get").chmod(0o755)


ALL = {"trixie": INDEX, "trixie-updates": "", "trixie-security": SECURITY_INDEX}


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
    fake_apt(root / "bin", ALL)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert lock.main(["--keyring", str(keyring), "--python", "3.13"]) == 0
    entries = json.loads((root / HERE / "packages.lock.json").read_text())
    assert [e["name"] for e in entries] == ["app", "libc"]
    assert entries[0]["depends"] == ["libc"]
    assert entries[0]["archive"] == "debian"
    # The security suite's newer libc wins, and the lock says which archive serves it.
    assert entries[1]["version"] == "2.41+deb13u1"
    assert entries[1]["archive"] == "debian-security"
    assert entries[1]["filename"] == "pool/updates/main/g/glibc/libc_2.41+deb13u1_amd64.deb"
    assert "example.invalid" not in (root / HERE / "packages.lock.json").read_text()
    # The same packages.in, resolved for arm64 from arm64's own index.
    arm64 = json.loads((root / HERE / "packages.arm64.lock.json").read_text())
    assert [(e["name"], e["arch"]) for e in arm64] == [("app", "arm64"), ("libc", "arm64")]
    assert arm64[1]["filename"] == "pool/updates/main/g/glibc/libc_2.41+deb13u1_arm64.deb"


def test_one_architecture(workspace, monkeypatch):
    root, keyring = workspace
    fake_apt(root / "bin", ALL)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert lock.main(["--keyring", str(keyring), "--python", "3.13", "--arch", "arm64"]) == 0
    assert (root / HERE / "packages.arm64.lock.json").is_file()
    assert not (root / HERE / "packages.lock.json").exists()


def test_main_fails_cleanly_when_apt_fails(workspace, monkeypatch, capsys):
    root, keyring = workspace
    fake_apt(root / "bin", ALL, update_rc=100)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (root / HERE / "packages.lock.json").write_text("old\n")
    assert lock.main(["--keyring", str(keyring), "--python", "3.13"]) == 1
    assert (
        capsys.readouterr().err
        == "lock: apt-get update for trixie (amd64) failed: E: update failed\n"
    )
    assert (root / HERE / "packages.lock.json").read_text() == "old\n"


def test_audit_names_what_a_suite_has_newer(workspace, monkeypatch, capsys):
    root, keyring = workspace
    fake_apt(root / "bin", ALL)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    path = root / HERE / "packages.lock.json"
    arm64 = root / HERE / "packages.arm64.lock.json"
    old = [{"name": "app", "version": "1.0"}, {"name": "libc", "version": "2.41"}]
    current = [{"name": "app", "version": "1.0"}, {"name": "libc", "version": "2.41+deb13u1"}]
    path.write_text(json.dumps(current))
    arm64.write_text(json.dumps(old))
    assert lock.main(["--keyring", str(keyring), "--python", "3.13", "--audit"]) == 1
    out = capsys.readouterr().out
    assert "behind (trixie, arm64): libc 2.41: 2.41+deb13u1 in trixie-security" in out
    suites = "trixie, trixie-updates, trixie-security"
    assert f"2 locked packages (trixie, amd64) checked against {suites}: 0 behind" in out
    assert f"2 locked packages (trixie, arm64) checked against {suites}: 1 behind" in out
    assert json.loads(arm64.read_text()) == old  # the audit writes nothing
    arm64.write_text(json.dumps(current))
    assert lock.main(["--keyring", str(keyring), "--python", "3.13", "--audit"]) == 0
    assert ": 0 behind" in capsys.readouterr().out


def test_optional_packages_are_locked_and_marked(workspace, monkeypatch):
    root, keyring = workspace
    extra = "\nPackage: cxx\nVersion: 1\nArchitecture: amd64\nDepends: libc\n"
    extra += "Filename: pool/main/c/cxx/cxx_1_amd64.deb\nSHA256: " + "d" * 64 + "\n"
    fake_apt(root / "bin", dict(ALL, trixie=INDEX + extra))
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (root / HERE / "packages.in").write_text("app\n+cxx\n-debconf\n-debconf-2.0\n")
    assert lock.main(["--keyring", str(keyring), "--python", "3.13", "--arch", "amd64"]) == 0
    entries = json.loads((root / HERE / "packages.lock.json").read_text())
    # cxx is locked for opt-in bases; libc, which the base needs anyway, is not optional.
    assert [(e["name"], e.get("optional", False)) for e in entries] == [
        ("app", False),
        ("cxx", True),
        ("libc", False),
    ]


def test_python_314_locks_from_forky_with_its_own_names(workspace, monkeypatch):
    root, keyring = workspace
    index = INDEX.replace("Package: app", "Package: python3.14-minimal")
    # forky-security between fixes: apt keeps no list file for an empty index.
    fake_apt(root / "bin", {"forky": index})
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (root / HERE / "packages.in").write_text("python{python}-minimal\n-debconf\n-debconf-2.0\n")
    release = "mirror_debian-security_dists_forky-security_InRelease"
    (root / "bin" / "apt-get").write_text(
        (root / "bin" / "apt-get").read_text() + f"open(os.path.join(lists, {release!r}), 'w')\n"
    )
    assert lock.main(["--keyring", str(keyring), "--python", "3.14", "--arch", "amd64"]) == 0
    entries = json.loads((root / HERE / "packages.py3.14.lock.json").read_text())
    assert [e["name"] for e in entries] == ["libc", "python3.14-minimal"]
    assert not (root / HERE / "packages.lock.json").exists()  # 3.13's lock is left alone


def test_missing_keyring(workspace, capsys):
    root, _ = workspace
    assert lock.main(["--keyring", str(root / "nope.gpg")]) == 1
    assert "install debian-archive-keyring" in capsys.readouterr().err


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
