"""//:image_index: both platforms, and each image really built for its own CPU.

The arm64 image is assembled on this x86-64 host without running anything of it, so what would
go wrong silently is a host file in it: an x86-64 wheel or library. Every ELF file of every
layer is read here and its e_machine compared with the image's platform; the two venvs must
hold the same distributions at the same versions (one lock), and the amd64 entry must be
//:image itself.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout

MACHINES = {"amd64": 62, "arm64": 183}  # ELF e_machine: x86-64, AArch64
DIST_INFO = re.compile(r"^opt/venv/lib/python3\.13/site-packages/([^/]+)\.dist-info/METADATA$")


def runfile(var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[var]


@pytest.fixture(scope="module")
def index() -> layout.Index:
    return layout.read_index(runfile("INDEX"))


def layer_members(image: layout.Image):
    """(layer number, member, its first bytes or b"") of every regular file, all layers."""
    for n, descriptor in enumerate(image.layers, 1):
        with gzip.open(image.blob(descriptor["digest"])) as raw, tarfile.open(fileobj=raw) as tar:
            for member in tar:
                if member.isfile():
                    f = tar.extractfile(member)
                    yield n, member, f.read(20) if f else b""


def test_index_holds_amd64_as_image_and_arm64(index: layout.Index):
    platforms = {layout.platform_name(d["platform"]): d["digest"] for d, _ in index.images}
    assert sorted(platforms) == ["linux/amd64", "linux/arm64"]
    assert platforms["linux/amd64"] == layout.read_image(runfile("IMAGE")).manifest_digest
    for descriptor, image in index.images:
        assert image.config["architecture"] == descriptor["platform"]["architecture"]


def test_every_elf_file_is_built_for_its_platform(index: layout.Index):
    for descriptor, image in index.images:
        arch = descriptor["platform"]["architecture"]
        elf, wrong = 0, []
        for n, member, head in layer_members(image):
            if head[:4] == b"\x7fELF":
                elf += 1
                machine = struct.unpack_from("<H", head, 18)[0]
                if machine != MACHINES[arch]:
                    wrong.append(f"layer {n}: /{member.name} (e_machine {machine})")
        assert elf > 50, f"{arch}: only {elf} ELF files: the layers are not what they seem"
        assert not wrong, f"{arch} image has files for another CPU: {wrong[:5]}"


def test_both_venvs_hold_the_same_distributions(index: layout.Index):
    found = {}
    for descriptor, image in index.images:
        names = set()
        for _, member, _ in layer_members(image):
            m = DIST_INFO.match(member.name)
            if m:
                names.add(m.group(1))
        found[descriptor["platform"]["architecture"]] = names
    assert "fastapi" in " ".join(found["amd64"]) and "uvloop" in " ".join(found["amd64"])
    assert found["arm64"] == found["amd64"]


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
