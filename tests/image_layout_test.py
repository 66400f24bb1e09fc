"""Check //:image from its layer tars: what a registry, a node and a security review rely on.

- three layers, least-changing first (base, venv, app), so an app change re-pushes ~100 KB;
- root owns everything but /home/nonroot; no setuid/setgid; nothing world-writable but /tmp;
- a size budget, with the per-layer sizes printed for the log;
- an app change moves only the app layer (against //tests:variant_image);
- the image tool writes byte-identical images from identical input.

The container-structure-test tar driver cannot check owners or modes; this test reads the tars.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kit_lib import layout

# Uncompressed (sum of the layer tars) budget. Measured 2026-11: about 72.4 MB.
BUDGET_BYTES = 80 * 1000 * 1000
NONROOT = 65532
# Files that tell the layers apart (paths inside the image, without the leading "/").
MARKERS = {
    "base": "usr/bin/python3.13",
    "venv": "opt/venv/pyvenv.cfg",
    "app": "app/app/__init__.py",
}
ROLES = ["base", "venv", "app"]


def runfile(env: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[env]


@dataclass(frozen=True)
class Layer:
    """One layer of an image: its descriptor and its tar members (names without "./" or "/")."""

    digest: str
    size: int
    uncompressed_size: int
    members: dict[str, tarfile.TarInfo]
    contents: dict[str, str]  # regular file name -> sha256 of its bytes


def _name(member: tarfile.TarInfo) -> str:
    name = member.name
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name.rstrip("/")


def read_layers(image: layout.Image) -> list[Layer]:
    layers = []
    for descriptor in image.layers:
        path = image.blob(descriptor["digest"])
        with gzip.open(path) as f:
            uncompressed = sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b""))
        members: dict[str, tarfile.TarInfo] = {}
        contents: dict[str, str] = {}
        with tarfile.open(path) as tar:
            for member in tar:
                name = _name(member)
                assert name not in members, f"{name} appears twice in one layer"
                members[name] = member
                if member.isfile():
                    data = tar.extractfile(member)
                    assert data is not None
                    contents[name] = hashlib.sha256(data.read()).hexdigest()
        layers.append(
            Layer(descriptor["digest"], descriptor["size"], uncompressed, members, contents)
        )
    return layers


@pytest.fixture(scope="module")
def image() -> layout.Image:
    return layout.read_image(runfile("IMAGE"))


@pytest.fixture(scope="module")
def layers(image: layout.Image) -> list[Layer]:
    return read_layers(image)


def all_members(layers: list[Layer]) -> Iterator[tuple[int, str, tarfile.TarInfo]]:
    for i, layer in enumerate(layers, 1):
        for name, member in layer.members.items():
            yield i, name, member


def test_three_layers_base_venv_app_in_order(layers):
    assert len(layers) == 3, f"expected 3 layers (base, venv, app), got {len(layers)}"
    for i, role in enumerate(ROLES):
        for other, marker in MARKERS.items():
            present = marker in layers[i].members
            assert present == (other == role), (
                f"layer {i + 1} should be the {role} layer, but /{marker} is "
                f"{'in' if present else 'not in'} it"
            )
    # Besides /app, the app layer only plugs it into the venv with a .pth file.
    stray = [
        name
        for name, member in layers[2].members.items()
        if not member.isdir() and not name.startswith("app/") and not name.endswith(".pth")
    ]
    assert not stray, f"the app layer holds files outside /app: {stray}"


def test_everything_is_owned_by_root_except_the_nonroot_home(layers):
    wrong = []
    for i, name, member in all_members(layers):
        expected = (NONROOT, NONROOT) if name == "home/nonroot" else (0, 0)
        if (member.uid, member.gid) != expected:
            wrong.append(f"layer {i}: /{name} is {member.uid}:{member.gid}, want {expected}")
    assert not wrong, "\n".join(wrong[:20])
    base = layers[0].members
    assert "home/nonroot" in base and base["home/nonroot"].isdir()


def test_no_setuid_or_setgid_files(layers):
    found = [
        f"layer {i}: /{name} {oct(member.mode)}"
        for i, name, member in all_members(layers)
        if member.mode & 0o6000
    ]
    assert not found, "\n".join(found)


def test_nothing_world_writable_but_tmp(layers):
    found = [
        f"layer {i}: /{name} {oct(member.mode)}"
        for i, name, member in all_members(layers)
        if member.mode & 0o002 and not member.issym() and name != "tmp"
    ]
    assert not found, "\n".join(found)
    tmp = layers[0].members["tmp"]
    assert tmp.isdir() and tmp.mode & 0o7777 == 0o1777, "/tmp should be 1777 (sticky)"


def test_size_budget(layers):
    print()
    for role, layer in zip(ROLES, layers, strict=True):
        files = sum(m.size for m in layer.members.values() if m.isfile())
        print(
            f"{role:>4} layer {layer.digest[:19]}: {layer.uncompressed_size:>10,} B tar, "
            f"{files:>10,} B in files, {layer.size:>10,} B gzipped"
        )
    total = sum(layer.uncompressed_size for layer in layers)
    gzipped = sum(layer.size for layer in layers)
    print(f"total: {total:,} B uncompressed, {gzipped:,} B gzipped (budget {BUDGET_BYTES:,} B)")
    assert total < BUDGET_BYTES, f"image is {total:,} B uncompressed, over {BUDGET_BYTES:,} B"


def test_an_app_change_moves_only_the_app_layer(layers):
    variant = read_layers(layout.read_image(runfile("VARIANT_IMAGE")))
    assert len(variant) == 3
    assert variant[0].digest == layers[0].digest, "base layer changed with the app"
    assert variant[1].digest == layers[1].digest, "venv layer changed with the app"
    assert variant[2].digest != layers[2].digest, "app layer did not change with the app"
    # The difference is exactly the added module (and its .pyc); every other file is the same.
    app, changed = layers[2], variant[2]
    assert set(app.members) <= set(changed.members), "the variant lost files of the app layer"
    added = sorted(set(changed.members) - set(app.members))
    assert "app/tests/app_extra.py" in added, added
    assert all(name == "app/tests" or name.startswith("app/tests/") for name in added), added
    differing = [name for name in app.contents if app.contents[name] != changed.contents[name]]
    assert not differing, (
        f"files of the app layer differ in the variant: {differing} "
        "(keep //tests:variant_app_layer's deps in step with //:app_layer's)"
    )


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-s"]))
