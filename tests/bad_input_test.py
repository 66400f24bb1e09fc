"""Bad input to the image rules fails the build with one line that names the problem.

oci_image and oci_load pass their attributes to //oci/private:image_tool and load_tool; whatever
those print is the build error a user sees. So the tools are run here as the actions run them,
with one bad value each, and must exit non-zero with a single `<tool>: error: ...` line.
(A missing requirement() or a wrong .deb sha256 fail inside Bazel itself: see the report.)
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest


def tool(env: str) -> str:
    return str(Path(os.environ["TEST_SRCDIR"]) / os.environ[env])


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    path = tmp_path / "layer.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("etc/hello")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    return path


def run_tool(env: str, *args: str) -> tuple[int, list[str]]:
    proc = subprocess.run([tool(env), *args], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stderr.splitlines()


def assert_one_line_error(rc: int, lines: list[str], prog: str, *words: str) -> None:
    assert rc != 0, "bad input was accepted"
    assert len(lines) == 1, f"expected one error line, got: {lines}"
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--os=linxu", ["unknown os", "'linxu'", "linux"]),
        ("--architecture=x86_64", ["unknown architecture", "'x86_64'", "amd64"]),
        ("--variant=v9", ["unknown variant", "'v9'", "'amd64'"]),
    ],
)
def test_unknown_platform(tmp_path, layer, flag, words):
    out = tmp_path / "image"
    rc, lines = run_tool("IMAGE_TOOL", f"--output={out}", f"--tar={layer}", flag)
    assert_one_line_error(rc, lines, "oci_image", *words)
    assert not out.exists(), "a failed build left an output behind"
    assert not list(tmp_path.glob(".image.tmp-*")), "a failed build left its staging dir"


def test_good_platform_is_accepted(tmp_path, layer):
    # The same command with valid values works, so the failures above are about the values.
    out = tmp_path / "image"
    rc, lines = run_tool(
        "IMAGE_TOOL", f"--output={out}", f"--tar={layer}", "--os=linux", "--architecture=arm64"
    )
    assert rc == 0, lines
    assert (out / "index.json").is_file()


def test_layer_that_is_not_a_tar(tmp_path):
    bogus = tmp_path / "notes.tar"
    bogus.write_text("not a tar archive, just text that is long enough " * 20)
    rc, lines = run_tool("IMAGE_TOOL", f"--output={tmp_path / 'image'}", f"--tar={bogus}")
    assert_one_line_error(rc, lines, "oci_image", "not a tar archive", "notes.tar")


def test_bad_user_and_port(tmp_path, layer):
    out = f"--output={tmp_path / 'image'}"
    rc, lines = run_tool("IMAGE_TOOL", out, f"--tar={layer}", "--exposed-port=80000")
    assert_one_line_error(rc, lines, "oci_image", "80000")
    rc, lines = run_tool("IMAGE_TOOL", out, f"--tar={layer}", "--workdir=app")
    assert_one_line_error(rc, lines, "oci_image", "workdir")


def test_load_of_a_missing_image(tmp_path):
    rc, lines = run_tool(
        "LOAD_TOOL", f"--image={tmp_path / 'nope'}", f"--output={tmp_path / 'x.tar'}"
    )
    assert_one_line_error(rc, lines, "oci_load", "nope")
    assert not (tmp_path / "x.tar").exists()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
