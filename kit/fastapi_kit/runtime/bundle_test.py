"""Unpacking layers into a root, and the roots read-only containers share (no runc needed)."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout

from runtime import bundle

File = tuple[str, bytes | None, int]  # name, content (None: a directory), mode


def _layer(path: Path, members: list[tarfile.TarInfo | File]) -> Path:
    with tarfile.open(path, "w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data, mode = member
            info = tarfile.TarInfo(name)
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _image(tmp_path: Path, *layers: list[tarfile.TarInfo | File]) -> layout.Image:
    files = [_layer(tmp_path / f"layer{i}.tar", members) for i, members in enumerate(layers)]
    layout.write_image(tmp_path / "image", files, config={"Entrypoint": ["/app"], "User": "1:1"})
    return layout.read_image(tmp_path / "image")


def test_layers_apply_in_order_with_whiteouts(tmp_path: Path) -> None:
    image = _image(
        tmp_path,
        [("etc", None, 0o755), ("etc/gone", b"1", 0o644), ("etc/kept", b"old", 0o644),
         ("usr", None, 0o755), ("usr/lib", None, 0o755), ("usr/lib/a", b"a", 0o644),
         _symlink("lib", "usr/lib")],
        [("etc/.wh.gone", b"", 0o644), ("etc/kept", b"new", 0o644),
         ("usr/lib/.wh..wh..opq", b"", 0o644), ("usr/lib/b", b"b", 0o644)],
    )  # fmt: skip
    root = tmp_path / "rootfs"
    bundle.unpack(image, root)
    assert not (root / "etc/gone").exists()
    assert (root / "etc/kept").read_bytes() == b"new"
    assert sorted(p.name for p in (root / "usr/lib").iterdir()) == ["b"]
    assert os.readlink(root / "lib") == "usr/lib"


def test_setuid_and_group_write_bits_are_dropped(tmp_path: Path) -> None:
    image = _image(tmp_path, [("bin", None, 0o777), ("bin/tool", b"x", 0o6777)])
    root = tmp_path / "rootfs"
    bundle.unpack(image, root)
    assert stat.S_IMODE((root / "bin/tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "bin").stat().st_mode) == 0o755


@pytest.mark.parametrize("same_layer", [True, False])
def test_a_member_below_a_symlink_cannot_leave_the_root(tmp_path: Path, same_layer: bool) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = _symlink("out", str(outside))
    evil: File = ("out/evil", b"x", 0o644)
    layers = [[link, evil]] if same_layer else [[link], [evil]]
    image = _image(tmp_path, *layers)
    with pytest.raises((tarfile.FilterError, layout.ImageError)):
        bundle.unpack(image, tmp_path / "rootfs")
    assert list(outside.iterdir()) == []


def test_a_whiteout_below_a_symlink_cannot_delete_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    image = _image(tmp_path, [_symlink("out", str(outside))], [("out/.wh.precious", b"", 0o644)])
    with pytest.raises(layout.ImageError, match="leads out of the root through a symlink"):
        bundle.unpack(image, tmp_path / "rootfs")
    assert (outside / "precious").read_text() == "keep"


def test_a_name_with_dotdot_is_refused(tmp_path: Path) -> None:
    image = _image(tmp_path, [("a/../../evil", b"x", 0o644)])
    with pytest.raises(layout.ImageError, match="escapes the root"):
        bundle.unpack(image, tmp_path / "rootfs")
    assert not (tmp_path / "evil").exists()


def test_read_only_containers_of_one_image_share_one_root(tmp_path: Path) -> None:
    _image(tmp_path, [("app", b"#!", 0o755)])
    shared = bundle.SharedRoots()
    ro = bundle.RunSpec(read_only=True)
    first = bundle.make_bundle(tmp_path / "image", tmp_path / "b1", ro, shared)
    second = bundle.make_bundle(tmp_path / "image", tmp_path / "b2", ro, shared)
    root = Path(first["root"]["path"])
    assert second["root"]["path"] == str(root) and (root / "app").read_bytes() == b"#!"
    assert json.loads((tmp_path / "b2/config.json").read_text())["root"]["path"] == str(root)
    # Other mount points would leave other empty files and folders in the tree: another root.
    other = bundle.make_bundle(
        tmp_path / "image", tmp_path / "b3", bundle.RunSpec(files={"/etc/x": "/dev/null"}), shared
    )
    assert other["root"]["path"] != str(root)
    # A writable root is the container's own, in its bundle.
    own = bundle.make_bundle(tmp_path / "image", tmp_path / "b4", bundle.RunSpec(read_only=False))
    assert own["root"] == {"path": "rootfs", "readonly": False}
    assert (tmp_path / "b4/rootfs/app").exists()
    shared.close()
    assert not root.exists()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
