"""The rules_oci 2.3.2 contract, checked on what the kit's rules build (see BUILD.bazel here).

Each test names the documented behaviour it checks: plain tars stay uncompressed, gzip layers
are used as they are, env expansion, entrypoint resetting cmd, label and annotation inheritance,
mandatory os/architecture, `created` from a file, any layout as a base, `<name>.digest`, and
oci_load's default output, output group and formats.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout, zstd

TAR = "application/vnd.oci.image.layer.v1.tar"
TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def path(var: str) -> Path:
    return Path(os.environ[var])


def image(var: str) -> layout.Image:
    return layout.read_image(path(var))  # verifies every digest and size


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_files(img: layout.Image, index: int) -> dict[str, bytes]:
    blob = img.blob(img.layers[index]["digest"]).read_bytes()
    if img.layers[index]["mediaType"] == TAR_GZIP:
        blob = gzip.decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_plain_tar_stays_an_uncompressed_layer() -> None:
    base = image("BASE_IMAGE")
    (layer,) = base.layers
    assert layer["mediaType"] == TAR
    assert layer["digest"] == sha(path("BASE_TAR").read_bytes())
    assert base.config["rootfs"]["diff_ids"] == [layer["digest"]]
    assert layer_files(base, 0) == {"etc/hello.txt": b"hello from the base layer\n"}


def test_no_base_takes_the_given_platform_and_the_epoch() -> None:
    base = image("BASE_IMAGE")
    assert (base.config["os"], base.config["architecture"]) == ("linux", "amd64")
    assert base.config["created"] == "1970-01-01T00:00:00Z"
    index = json.loads((path("BASE_IMAGE") / "index.json").read_text())
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}


def test_env_unset_reference_expands_to_empty_and_labels_come_from_a_file() -> None:
    cfg = image("BASE_IMAGE").config["config"]
    assert cfg["Env"] == ["PATH=/usr/bin:/bin:", "LANG=C.UTF-8"]
    assert cfg["Labels"] == {"org.opencontainers.image.title": "base", "base.only": "1"}
    assert cfg["Cmd"] == ["--version"]
    assert cfg["User"] == "65532:65532"


def test_gzip_layer_is_used_as_it_is() -> None:
    app = image("APP_IMAGE")
    assert app.layers[1]["mediaType"] == TAR_GZIP
    assert app.layers[1]["digest"] == sha(path("APP_TGZ").read_bytes())
    assert layer_files(app, 1) == {"app/app.py": b'print("hello from the app layer")\n'}


def test_image_on_a_base() -> None:
    base, app = image("BASE_IMAGE"), image("APP_IMAGE")
    assert app.layers[0] == base.layers[0]
    cfg = app.config["config"]
    assert cfg["Entrypoint"] == ["/usr/bin/python3", "/app/app.py"]
    assert "Cmd" not in cfg, "a new entrypoint must reset the base's cmd"
    # Expansion from the base and from earlier entries; a key keeps its place.
    assert cfg["Env"] == [
        "PATH=/opt/venv/bin:/usr/bin:/bin:",
        "LANG=C.UTF-8",
        "APP_HOME=/app",
        "APP_DATA=/app/data",
    ]
    assert cfg["User"] == "65532:65532"  # inherited
    assert cfg["WorkingDir"] == "/app"
    assert cfg["ExposedPorts"] == {"8000/tcp": {}}
    assert cfg["Volumes"] == {"/data": {}}
    # Labels merge over the base's.
    assert cfg["Labels"] == {"org.opencontainers.image.title": "app", "base.only": "1"}
    assert app.config["created"] == "2024-05-06T07:08:09Z"
    assert (app.config["os"], app.config["architecture"]) == ("linux", "amd64")
    assert app.manifest["annotations"] == {
        "org.opencontainers.image.source": "https://example.invalid/app"
    }


def test_empty_cmd_clears_the_base_cmd() -> None:
    base, cleared = image("BASE_IMAGE"), image("CLEARED_IMAGE")
    assert "Cmd" in base.config["config"]
    assert "Cmd" not in cleared.config["config"]
    assert cleared.config["config"]["User"] == "65532:65532"
    assert cleared.layers == base.layers


def test_any_layout_is_a_base() -> None:
    foreign, ours = image("FOREIGN_LAYOUT"), image("ON_FOREIGN_BASE")
    assert ours.layers == foreign.layers
    assert ours.config["architecture"] == "arm64"  # the platform is inherited
    cfg = ours.config["config"]
    assert cfg["Cmd"] == ["--serve"]
    assert cfg["Env"] == ["PATH=/usr/bin", "TZ=UTC"]
    assert cfg["Labels"] == {"from": "ours", "kept": "yes"}
    # Annotations inherit the base manifest's.
    assert ours.manifest["annotations"] == {"org.example.origin": "foreign-tool"}


def test_digest_target_is_the_digest_and_a_newline() -> None:
    app = image("APP_IMAGE")
    assert path("APP_DIGEST").name == "app_image.json.sha256"
    assert path("APP_DIGEST").read_text() == app.manifest_digest + "\n"
    # Another target with the same inputs: same bytes, same digest.
    assert path("APP_AGAIN_DIGEST").read_text() == app.manifest_digest + "\n"


def test_load_default_output_is_the_runner_and_the_tarball_is_an_output_group() -> None:
    outputs = os.environ["APP_LOAD"].split()
    assert len(outputs) == 1 and outputs[0].endswith(".sh")
    app = image("APP_IMAGE")
    with tarfile.open(path("APP_TARBALL")) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert entry["RepoTags"] == ["oci-tests/app:latest"]
        config = tar.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
        assert sha(config) == app.config_digest
        assert len(entry["Layers"]) == 2


def test_load_oci_format() -> None:
    app = image("APP_IMAGE")
    with tarfile.open(path("APP_TARBALL_OCI")) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        (entry,) = index["manifests"]
        assert entry["digest"] == app.manifest_digest
        assert entry["annotations"]["io.containerd.image.name"] == "oci-tests/app:oci"
        names = set(tar.getnames())
    assert {"oci-layout", "blobs/sha256/" + app.config_digest.split(":")[1]} <= names


def test_load_runner_pipes_the_tarball_to_the_engine(tmp_path: Path) -> None:
    (runner,) = os.environ["APP_LOAD"].split()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "podman"
    fake.write_text(f'#!/bin/sh\necho "$@" > {bin_dir}/args\nexec cat > {bin_dir}/stdin\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", RUNFILES_DIR=os.environ["TEST_SRCDIR"])
    env.pop("OCI_LOAD_ENGINE", None)
    result = subprocess.run(
        [runner, "--engine", "podman", "--engine-arg=--storage-driver=vfs"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (bin_dir / "args").read_text().split() == ["--storage-driver=vfs", "load"]
    assert (bin_dir / "stdin").read_bytes() == path("APP_TARBALL").read_bytes()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))


def test_index_lists_each_platform_image_and_its_blobs() -> None:
    index = layout.read_index(path("INDEX"))  # verifies every digest and size
    entries = [(layout.platform_name(d["platform"]), d["digest"]) for d, _ in index.images]
    assert entries == [
        ("linux/amd64", image("BASE_IMAGE").manifest_digest),
        ("linux/arm64/v8", image("ARM64_IMAGE").manifest_digest),
    ]
    assert index.index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert index.index["annotations"] == {"org.opencontainers.image.title": "both"}
    top = json.loads((path("INDEX") / "index.json").read_text())
    (entry,) = top["manifests"]
    assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert path("INDEX_DIGEST").read_text() == index.digest + "\n"
    # The two images share their one layer: the index holds it once.
    blobs = sorted(p.name for p in (path("INDEX") / "blobs/sha256").iterdir())
    assert len(blobs) == len(set(blobs)) == 1 + 1 + 2 * 2  # index, layer, 2 x (manifest, config)


def test_an_index_is_not_an_image() -> None:
    with pytest.raises(layout.ImageError, match="is an image index"):
        layout.read_image(path("INDEX"))


def test_zstd_layer_is_used_as_it_is() -> None:
    img = image("ZSTD_IMAGE")
    layer = img.layers[-1]
    data = path("ZSTD_LAYER").read_bytes()
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    assert layer == {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
        "digest": sha(data),
        "size": len(data),
    }
    # Its diff_id is the sha256 of the tar inside, as for gzip.
    with zstd.decompressed(path("ZSTD_LAYER")) as stream:
        tar = stream.read()
    assert tarfile.open(fileobj=io.BytesIO(tar)).getnames() == ["app", "app/app.py"]
    assert img.config["rootfs"]["diff_ids"][-1] == sha(tar)


def test_load_oci_format_of_an_index_keeps_every_platform() -> None:
    index = layout.read_index(path("INDEX"))
    with tarfile.open(path("INDEX_TARBALL")) as tar:
        top = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    (entry,) = top["manifests"]
    assert entry["digest"] == index.digest
    assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert entry["annotations"]["io.containerd.image.name"] == "oci-tests/both:latest"
    for _, image in index.images:  # both platforms' manifests, configs and layers
        for digest in [image.manifest_digest, image.config_digest] + [
            layer["digest"] for layer in image.layers
        ]:
            assert "blobs/sha256/" + digest.removeprefix("sha256:") in names
