"""Checks what the oci_image / oci_load rules produce inside Bazel (see BUILD.bazel here).

The unit tests cover the tools; this covers the Starlark: attributes reaching the tools, base
images passed through the provider, stamping switches, the digest target and the load runner.
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
from kit_lib import layout


def path(var: str) -> Path:
    return Path(os.environ[var])


def image(var: str) -> layout.Image:
    return layout.read_image(path(var))  # verifies every digest and size


def layer_files(img: layout.Image, index: int) -> dict[str, bytes]:
    blob = img.blob(img.layers[index]["digest"]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_base_image() -> None:
    base = image("BASE_IMAGE")
    assert len(base.layers) == 1
    assert layer_files(base, 0) == {"etc/hello.txt": b"hello from the base layer\n"}
    cfg = base.config["config"]
    assert cfg["Env"] == ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    assert cfg["Cmd"] == ["--version"]
    assert cfg["User"] == "65532:65532"
    assert base.config["created"] == "1970-01-01T00:00:00Z"
    assert (base.config["os"], base.config["architecture"]) == ("linux", "amd64")


def test_app_image_builds_on_base() -> None:
    base, app = image("BASE_IMAGE"), image("APP_IMAGE")
    assert app.layers[0] == base.layers[0]
    assert layer_files(app, 1) == {"app/app.py": b'print("hello from the app layer")\n'}
    # The .tgz made by the genrule is used as is, not recompressed.
    tgz = path("APP_TGZ").read_bytes()
    assert app.layers[1]["digest"] == "sha256:" + hashlib.sha256(tgz).hexdigest()
    cfg = app.config["config"]
    assert cfg["Entrypoint"] == ["/usr/bin/python3", "/app/app.py"]
    assert "Cmd" not in cfg, "a new entrypoint must drop the base's cmd"
    assert cfg["Env"] == [
        "PATH=/opt/venv/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "APP_HOME=/app",
        "APP_DATA=/app/data",
    ]
    assert cfg["User"] == "65532:65532"
    assert cfg["WorkingDir"] == "/app"
    assert cfg["ExposedPorts"] == {"8000/tcp": {}}
    assert cfg["Labels"] == {
        "org.opencontainers.image.title": "app",
        "org.opencontainers.image.revision": "unknown",  # stamp = 0
    }
    assert cfg["Healthcheck"] == {
        "Test": ["CMD", "/usr/bin/python3", "-c", "print(1)"],
        "Interval": 30_000_000_000,
        "Retries": 3,
    }
    annotations = app.manifest["annotations"]
    assert annotations["org.opencontainers.image.base.digest"] == base.manifest_digest


def test_empty_cmd_clears_the_base_cmd() -> None:
    base, cleared = image("BASE_IMAGE"), image("CLEARED_IMAGE")
    assert "Cmd" in base.config["config"]
    assert "Cmd" not in cleared.config["config"]
    assert cleared.config["config"]["User"] == "65532:65532"
    assert cleared.layers == base.layers


def test_digest_targets() -> None:
    app = image("APP_IMAGE")
    assert path("APP_DIGEST").read_text() == app.manifest_digest
    # Another target with the same inputs: same bytes, same digest.
    assert path("APP_AGAIN_DIGEST").read_text() == app.manifest_digest


def test_stamped_image() -> None:
    stamped = image("STAMPED_IMAGE")
    built_by = stamped.config["config"]["Labels"]["built-by"]
    assert built_by and built_by != "unknown" and "{" not in built_by
    assert stamped.manifest["annotations"]["org.opencontainers.image.version"] == "0.0.0"


def test_load_tarball() -> None:
    app = image("APP_IMAGE")
    with tarfile.open(path("APP_TARBALL")) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert entry["RepoTags"] == ["oci-tests/app:latest"]
        config = tar.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
        assert "sha256:" + hashlib.sha256(config).hexdigest() == app.config_digest
        diff_ids = [
            "sha256:" + hashlib.sha256(gzip.decompress(tar.extractfile(n).read())).hexdigest()  # type: ignore[union-attr]
            for n in entry["Layers"]
        ]
    assert diff_ids == app.config["rootfs"]["diff_ids"]


def test_load_runner_pipes_the_tarball_to_the_engine(tmp_path: Path) -> None:
    (runner,) = [p for p in os.environ["APP_LOAD"].split() if p.endswith(".sh")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "podman"
    fake.write_text(f'#!/bin/sh\necho "$@" > {bin_dir}/args\nexec cat > {bin_dir}/stdin\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin")
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
