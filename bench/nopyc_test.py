"""//bench:image_nopyc differs from //:image by its bytecode only, so the start-up ratio is fair.

Same base layer, same process (entrypoint, user, workdir, env, ports), and the same files but for
`.pyc`: a change to the macro's image that the variant does not follow fails here, not in the
middle of a benchmark.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout


def _image(variable: str) -> layout.Image:
    return layout.read_image(Path(os.environ["TEST_SRCDIR"]) / os.environ[variable])


def _names(image: layout.Image, index: int) -> set[str]:
    blob = image.blob(image.layers[index]["digest"])
    with gzip.open(blob) as raw, tarfile.open(fileobj=io.BytesIO(raw.read())) as tar:
        return {n for n in tar.getnames() if not n.endswith(".pyc") and "__pycache__" not in n}


def test_same_process_and_base_and_files_but_bytecode() -> None:
    image, variant = _image("IMAGE"), _image("NOPYC")
    keys = ("Entrypoint", "User", "WorkingDir", "Env", "ExposedPorts")
    config, other = image.config["config"], variant.config["config"]
    assert {k: other.get(k) for k in keys} == {k: config.get(k) for k in keys}
    assert variant.layers[0]["digest"] == image.layers[0]["digest"]
    for i in (1, 2):
        assert _names(variant, i) == _names(image, i), f"layer {i}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
