"""Tests for load.py: the docker-save tarball it writes and how it picks docker or podman."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from kit_lib import tarball

from oci.private import image, load

# Fake engines run with PATH reduced to their own folder, so they call cat by its full path.
CAT = shutil.which("cat") or "/bin/cat"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    tarball.write_tar([tarball.Entry("/app/a.txt", data=b"a\n")], tmp_path / "a.tar")
    tarball.write_tar([tarball.Entry("/app/b.txt", data=b"b\n")], tmp_path / "b.tar")
    out = tmp_path / "img"
    args = [
        "--output",
        str(out),
        "--tar",
        str(tmp_path / "a.tar"),
        "--tar",
        str(tmp_path / "b.tar"),
    ]
    assert image.main([*args, "--entrypoint", '["/app/run"]']) == 0
    return out


def members(path: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return {
            m.name: (m, tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_tarball_is_what_docker_load_reads(tmp_path: Path, image_dir: Path) -> None:
    out = tmp_path / "load" / "tarball.tar"
    assert load.main(["--image", str(image_dir), "--output", str(out), "--repo-tag", "demo:1"]) == 0
    files = members(out)
    (entry,) = json.loads(files["manifest.json"][1])
    assert entry["RepoTags"] == ["demo:1"]
    # What `docker load` does: read the config, then check every layer against its diff_id.
    config_bytes = files[entry["Config"]][1]
    assert sha(config_bytes) == "sha256:" + entry["Config"].rsplit("/", 1)[1]
    config = json.loads(config_bytes)
    assert config["config"]["Entrypoint"] == ["/app/run"]
    diff_ids = [sha(gzip.decompress(files[name][1])) for name in entry["Layers"]]
    assert diff_ids == config["rootfs"]["diff_ids"]
    assert len(entry["Layers"]) == 2


def test_tarball_is_deterministic(tmp_path: Path, image_dir: Path) -> None:
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    for out in (one, two):
        assert load.main(["--image", str(image_dir), "--output", str(out), "--repo-tag", "a"]) == 0
    assert one.read_bytes() == two.read_bytes()
    for info, _ in members(one).values():
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (0, 0, 0, "", "")
    names = [m.name for m in tarfile.open(one).getmembers()]
    assert names == sorted(names)


def test_tags_change_the_tarball(tmp_path: Path, image_dir: Path) -> None:
    load.build_tarball(str(image_dir), str(tmp_path / "a.tar"), ["demo:1"])
    load.build_tarball(str(image_dir), str(tmp_path / "b.tar"), ["demo:2"])
    assert (tmp_path / "a.tar").read_bytes() != (tmp_path / "b.tar").read_bytes()


def test_repo_tags_are_stamped(tmp_path: Path, image_dir: Path) -> None:
    status = tmp_path / "stable-status.txt"
    status.write_text("STABLE_VERSION v1.2.3\n")
    tags = ["app:{STABLE_VERSION:-dev}", "app:{BUILD_SCM_REVISION:-dev}"]
    load.build_tarball(str(image_dir), str(tmp_path / "s.tar"), tags, [str(status)])
    load.build_tarball(str(image_dir), str(tmp_path / "u.tar"), tags[:1])
    (stamped,) = json.loads(members(tmp_path / "s.tar")["manifest.json"][1])
    (unstamped,) = json.loads(members(tmp_path / "u.tar")["manifest.json"][1])
    assert stamped["RepoTags"] == ["app:v1.2.3", "app:dev"]
    assert unstamped["RepoTags"] == ["app:dev"]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("demo", "demo:latest"),
        ("demo:1.0", "demo:1.0"),
        ("localhost:5000/team/app", "localhost:5000/team/app:latest"),
        ("localhost:5000/team/app:v2", "localhost:5000/team/app:v2"),
        ("registry.example.com/org/my_app:sha-abc", "registry.example.com/org/my_app:sha-abc"),
    ],
)
def test_normalize_tag(tag: str, expected: str) -> None:
    assert load.normalize_tag(tag) == expected


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("Demo:1", "not a valid repository name"),
        ("demo:", "not a valid tag"),
        ("demo:-x", "not a valid tag"),
        ("demo@sha256:" + "0" * 64, "digests cannot be tags"),
        ("a//b", "not a valid repository name"),
    ],
)
def test_bad_tags(
    tmp_path: Path, image_dir: Path, capsys: pytest.CaptureFixture[str], tag: str, message: str
) -> None:
    out = tmp_path / "t.tar"
    assert load.main(["--image", str(image_dir), "--output", str(out), "--repo-tag", tag]) == 1
    err = capsys.readouterr().err
    assert err.startswith("oci_load: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_missing_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.tar"
    assert load.main(["--image", str(tmp_path / "nope"), "--output", str(out)]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert not out.exists()


def test_modes_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--output", "x.tar"], ["--load", "x.tar", "--image", "img"], []):
        with pytest.raises(SystemExit) as exc:
            load.main(argv)
        assert exc.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1


def fake_engine(bin_dir: Path, name: str, version_ok: bool) -> Path:
    """A stand-in `docker`/`podman`: records its argv and stdin, fails `version` if told to."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then exit {0 if version_ok else 1}; fi\n'
        f'echo "$@" > "{bin_dir}/{name}.args"\n'
        f'{CAT} > "{bin_dir}/{name}.stdin"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def tarball_file(tmp_path: Path, image_dir: Path) -> Path:
    out = tmp_path / "t.tar"
    load.build_tarball(str(image_dir), str(out), ["demo:1"])
    return out


def test_load_prefers_a_working_docker(
    tmp_path: Path, tarball_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_engine(bin_dir, "docker", version_ok=True)
    fake_engine(bin_dir, "podman", version_ok=True)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(load.ENGINE_ENV, raising=False)
    assert load.main(["--load", str(tarball_file)]) == 0
    assert (bin_dir / "docker.stdin").read_bytes() == tarball_file.read_bytes()
    assert (bin_dir / "docker.args").read_text().split() == ["load"]
    assert not (bin_dir / "podman.stdin").exists()


def test_load_falls_back_to_podman_without_docker_daemon(
    tmp_path: Path, tarball_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_engine(bin_dir, "docker", version_ok=False)
    fake_engine(bin_dir, "podman", version_ok=True)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(load.ENGINE_ENV, raising=False)
    argv = ["--load", str(tarball_file), "--engine-arg=--storage-driver=vfs"]
    assert load.main(argv) == 0
    assert (bin_dir / "podman.stdin").read_bytes() == tarball_file.read_bytes()
    assert (bin_dir / "podman.args").read_text().split() == ["--storage-driver=vfs", "load"]


def test_load_engine_choice_and_errors(
    tmp_path: Path,
    tarball_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(load.ENGINE_ENV, raising=False)
    assert load.main(["--load", str(tarball_file)]) == 1
    assert "neither docker nor podman is on PATH" in capsys.readouterr().err
    assert load.main(["--load", str(tarball_file), "--engine", "podman"]) == 1
    assert "container engine 'podman' not found on PATH" in capsys.readouterr().err
    fake_engine(bin_dir, "docker", version_ok=True)
    fake_engine(bin_dir, "podman", version_ok=True)
    monkeypatch.setenv(load.ENGINE_ENV, "podman")
    assert load.main(["--load", str(tarball_file)]) == 0
    assert (bin_dir / "podman.stdin").exists() and not (bin_dir / "docker.stdin").exists()
    assert load.main(["--load", str(tmp_path / "missing.tar")]) == 1
    assert "tarball not found" in capsys.readouterr().err


def test_load_reports_engine_failure(
    tmp_path: Path,
    tarball_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    failing = bin_dir / "podman"
    failing.write_text(f"#!/bin/sh\n{CAT} >/dev/null\nexit 3\n")
    failing.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + "/usr/bin:/bin")
    assert load.main(["--load", str(tarball_file), "--engine", "podman"]) == 3
    assert "podman load failed with exit status 3" in capsys.readouterr().err


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
