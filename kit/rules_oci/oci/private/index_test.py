"""Tests for index.py: platforms kept in order, shared blobs stored once, bad input refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kit_lib import imagetar, layout, tarball

from oci.private import index


def make_image(root: Path, name: str, arch: str, data: bytes = b"hi") -> Path:
    tar = root / f"{name}.tar"
    tarball.write_tar([tarball.Entry("etc/hello", data=data)], tar)
    out = root / name
    layout.write_image(out, [tar], platform={"architecture": arch, "os": "linux"})
    return out


def test_two_platforms_in_order_and_reproducible(tmp_path: Path, capsys) -> None:
    amd64, arm64 = make_image(tmp_path, "a", "amd64"), make_image(tmp_path, "b", "arm64")
    for out in ("one", "two"):
        args = ["--output", str(tmp_path / out), "--digest-file", str(tmp_path / f"{out}.sha")]
        assert index.main([*args, "--image", str(amd64), "--image", str(arm64)]) == 0
    assert (tmp_path / "one.sha").read_text() == (tmp_path / "two.sha").read_text()
    read = layout.read_index(tmp_path / "one")
    assert [layout.platform_name(d["platform"]) for d, _ in read.images] == [
        "linux/amd64",
        "linux/arm64",
    ]
    assert capsys.readouterr().out.endswith("(linux/amd64, linux/arm64)\n")


def test_two_images_of_one_platform_are_refused(tmp_path: Path, capsys) -> None:
    first, second = make_image(tmp_path, "a", "amd64"), make_image(tmp_path, "b", "amd64", b"x")
    out = tmp_path / "out"
    assert index.main(["--output", str(out), "--image", str(first), "--image", str(second)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("oci_image_index: error: ") and "a second image for linux/amd64" in err
    assert err.count("\n") == 1
    assert not out.exists()  # nothing half-written


def test_an_index_cannot_be_an_image_of_an_index(tmp_path: Path, capsys) -> None:
    nested = tmp_path / "nested"
    assert (
        index.main(["--output", str(nested), "--image", str(make_image(tmp_path, "a", "amd64"))])
        == 0
    )
    assert index.main(["--output", str(tmp_path / "out"), "--image", str(nested)]) == 1
    assert "is an image index" in capsys.readouterr().err


def test_annotations_from_a_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("org.opencontainers.image.title=both\n")
    args = ["--output", str(tmp_path / "out"), "--annotations-file", str(notes)]
    assert index.main([*args, "--image", str(make_image(tmp_path, "a", "amd64"))]) == 0
    blob = layout.read_index(tmp_path / "out").index
    assert blob["annotations"] == {"org.opencontainers.image.title": "both"}
    assert json.loads((tmp_path / "out/index.json").read_text())["schemaVersion"] == 2


def test_an_index_has_no_docker_save_form_but_an_oci_archive(tmp_path: Path) -> None:
    both = tmp_path / "both"
    images = [make_image(tmp_path, "a", "amd64"), make_image(tmp_path, "b", "arm64")]
    assert index.main(["--output", str(both), *[f"--image={i}" for i in images]]) == 0
    with pytest.raises(layout.ImageError, match='give oci_load\\(format = "oci"\\)'):
        imagetar.build_tarball(str(both), str(tmp_path / "docker.tar"), ["a:b"])
    digest = imagetar.build_oci_tarball(str(both), str(tmp_path / "oci.tar"), ["a:b"])
    assert digest == layout.read_index(both).digest


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
