"""Tests for load.py: the docker-save tarball it writes and how it picks docker or podman."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from kit_lib import imagetar, tarball

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
    (tmp_path / "entrypoint.txt").write_text("/app/run\n")
    argv = [*args, "--os", "linux", "--architecture", "amd64"]
    assert image.main([*argv, "--entrypoint-file", str(tmp_path / "entrypoint.txt")]) == 0
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
    diff_ids = [sha(files[name][1]) for name in entry["Layers"]]  # plain tars stay plain
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
    imagetar.build_tarball(str(image_dir), str(tmp_path / "a.tar"), ["demo:1"])
    imagetar.build_tarball(str(image_dir), str(tmp_path / "b.tar"), ["demo:2"])
    assert (tmp_path / "a.tar").read_bytes() != (tmp_path / "b.tar").read_bytes()


def test_oci_format_is_the_layout_as_one_tar(tmp_path: Path, image_dir: Path) -> None:
    out = tmp_path / "oci.tar"
    argv = ["--image", str(image_dir), "--output", str(out), "--format", "oci"]
    assert load.main([*argv, "--repo-tag", "demo:1"]) == 0
    files = members(out)
    assert json.loads(files["oci-layout"][1]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(files["index.json"][1])["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "demo:1"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1"
    manifest = json.loads(files["blobs/sha256/" + entry["digest"].split(":")[1]][1])
    for layer in manifest["layers"]:
        assert "blobs/sha256/" + layer["digest"].split(":")[1] in files


def test_repo_tags_file(tmp_path: Path, image_dir: Path) -> None:
    tags = tmp_path / "tags.txt"
    tags.write_text("app:1\n\napp:2\n")
    out = tmp_path / "t.tar"
    assert (
        load.main(["--image", str(image_dir), "--output", str(out), "--repo-tags-file", str(tags)])
        == 0
    )
    (entry,) = json.loads(members(out)["manifest.json"][1])
    assert entry["RepoTags"] == ["app:1", "app:2"]


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
    assert imagetar.normalize_tag(tag) == expected


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
    imagetar.build_tarball(str(image_dir), str(out), ["demo:1"])
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


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the whole PATH, and no $OCI_LOAD_ENGINE: no engine is installed."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.delenv(load.ENGINE_ENV, raising=False)
    return path


def test_load_engine_choice_and_errors(
    tmp_path: Path,
    bin_dir: Path,
    tarball_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
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


def test_without_an_engine_bazelw_is_handed_the_tarball(
    tmp_path: Path,
    bin_dir: Path,
    tarball_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handoff = tmp_path / "host-load"
    monkeypatch.setenv(load.HOST_LOAD_ENV, str(handoff))
    assert load.main(["--load", str(tarball_file)]) == 0
    assert handoff.read_text() == os.path.realpath(tarball_file) + "\n"
    assert "the host loads it next" in capsys.readouterr().err
    # An engine asked for by name is not handed off: it must be here.
    handoff.unlink()
    assert load.main(["--load", str(tarball_file), "--engine", "podman"]) == 1
    assert not handoff.exists()


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
