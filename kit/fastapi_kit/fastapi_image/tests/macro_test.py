"""fastapi_image maps its arguments onto the image, the load tarball and the structure config.

:custom_image sets every argument away from its default; :default_image (the same app through
the same macro with defaults) is the reference for the layers.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout


def _runfile(key: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[key]


@pytest.fixture(scope="module")
def custom() -> layout.Image:
    return layout.read_image(_runfile("CUSTOM_IMAGE"))


@pytest.fixture(scope="module")
def reference() -> layout.Image:
    return layout.read_image(_runfile("REFERENCE_IMAGE"))


def _layer_names(image: layout.Image, index: int) -> set[str]:
    blob = image.blob(image.layers[index]["digest"])
    with gzip.open(blob) as raw, tarfile.open(fileobj=io.BytesIO(raw.read())) as tar:
        return set(tar.getnames())


def test_reference_is_served_by_the_launcher(reference: layout.Image):
    config = reference.config["config"]
    assert config["Entrypoint"] == [
        "/opt/venv/bin/python",
        "-m",
        "fastapi_kit_launcher",
        "kit_testapp.main:app",
    ]


def test_process(custom: layout.Image):
    config = custom.config["config"]
    assert config["Entrypoint"] == ["/opt/venv/bin/python", "-m", "kit_testapp"]
    assert "Cmd" not in config or not config["Cmd"]
    assert config["User"] == "65532:65532"
    assert config["WorkingDir"] == "/app"
    assert config["ExposedPorts"] == {"9000/tcp": {}}


def test_env_defaults_then_extra_in_order(custom: layout.Image):
    assert custom.config["config"]["Env"] == [
        "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "PYTHONUNBUFFERED=1",
        "PYTHONDONTWRITEBYTECODE=1",
        "LANG=C.UTF-8",
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "HOST=0.0.0.0",
        "PORT=9000",
        "GREETING=C.UTF-8-x",
        "LOG_LEVEL=warning",
    ]


def test_healthcheck_dict_as_given(custom: layout.Image):
    assert custom.config["config"]["Healthcheck"] == {
        "Test": ["CMD", "/opt/venv/bin/python", "-m", "kit_testapp.healthcheck"],
        "Interval": 10_000_000_000,
        "Retries": 1,
    }


def test_labels_over_defaults_also_as_annotations(custom: layout.Image):
    labels = custom.config["config"]["Labels"]
    assert labels == {
        "com.example.team": "platform",
        "org.opencontainers.image.title": "custom",
        "org.opencontainers.image.version": "9.9.9",
        "org.opencontainers.image.revision": "unknown",
        "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
    }
    assert custom.manifest["annotations"] == labels


def test_layers_base_venv_app(custom: layout.Image, reference: layout.Image):
    assert len(custom.layers) == 3
    # Same base and same app as the reference: those layers are shared blobs, and the app from
    # another module lands under /app by its own package name. The venv differs by the
    # launcher alone: the reference (asgi =) has it, the custom image (module =) does not.
    digests = [layer["digest"] for layer in custom.layers]
    assert digests[0::2] == [layer["digest"] for layer in reference.layers][0::2]
    site = "opt/venv/lib/python3.13/site-packages/"
    launcher = {
        n for n in _layer_names(reference, 1) if n.startswith(site + "fastapi_kit_launcher")
    }
    assert site + "fastapi_kit_launcher/serve.py" in launcher
    assert _layer_names(reference, 1) - launcher == _layer_names(custom, 1)
    names = _layer_names(custom, 2)
    assert "app/kit_testapp/__main__.py" in names
    assert not [n for n in names if "fastapi_kit" in n]


def test_load_tarball_repo_tags():
    with tarfile.open(_runfile("CUSTOM_TARBALL")) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert [entry["RepoTags"] for entry in manifest] == [["custom:test"]]


def test_structure_config_follows_the_arguments():
    config = json.loads(_runfile("STRUCTURE_CONFIG").read_text())
    metadata = config["metadataTest"]
    assert metadata["exposedPorts"] == ["9000"]
    assert metadata["entrypoint"] == ["/opt/venv/bin/python", "-m", "kit_testapp"]
    env = {e["key"]: e for e in metadata["envVars"]}
    assert env["PORT"] == {"key": "PORT", "value": "9000"}
    # Values the build fills in ($VAR, {STAMP}) are only checked as set.
    assert env["GREETING"]["isRegex"] is True
    labels = {e["key"]: e for e in metadata["labels"]}
    assert labels["com.example.team"] == {"key": "com.example.team", "value": "platform"}
    assert labels["org.opencontainers.image.version"]["isRegex"] is True
    paths = {t["path"] for t in config["fileExistenceTests"] if t["shouldExist"]}
    assert "/app/kit_testapp/__main__.py" in paths


def test_zstd_image_holds_the_same_tars_as_gzip():
    gzip_image = layout.read_image(_runfile("REFERENCE_IMAGE"))
    zstd_image = layout.read_image(_runfile("ZSTD_IMAGE"))
    assert [layer["mediaType"] for layer in zstd_image.layers] == [layout.LAYER_ZSTD] * 3
    assert [layer["mediaType"] for layer in gzip_image.layers] == [layout.LAYER_GZIP] * 3
    # The venv and app layers hold the same tars (identical diff_ids): only the compression
    # differs. The base is the one with libstdc++6 (libstdcxx = True), which the default lacks.
    diff_ids = zstd_image.config["rootfs"]["diff_ids"]
    assert diff_ids[1:] == gzip_image.config["rootfs"]["diff_ids"][1:]
    assert diff_ids[0] != gzip_image.config["rootfs"]["diff_ids"][0]
    libstdcxx = "usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    with layout.open_layer(zstd_image, zstd_image.layers[0]) as tar:
        assert libstdcxx in tar.getnames()
    with layout.open_layer(gzip_image, gzip_image.layers[0]) as tar:
        assert libstdcxx not in tar.getnames()

    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
