"""Cut an image down to what its structure tests look at, so the tar driver unpacks kilobytes.

container-structure-test's tar driver unpacks the whole image again for every single test: about
0.5 s per test for a 60 MiB image even in RAM, so 46 tests take half a minute. Its file tests
(fileExistenceTests, fileContentTests) only look at the paths they name, and its metadataTest
only at the config. So the tarball it is given holds exactly those paths, as the image has
them: each named path, the folders above it, every symbolic link on the way and what it points
to (hard links become the file they name). Only the files a content test reads keep their bytes:
an existence test looks at a path's type, mode and owner, never its size or bytes, so the
interpreter it names comes as an empty file (0.13 s for 46 tests instead of 3.6 s, which went
to unpacking its 6.8 MB 46 times). A path the image lacks stays absent, so
`shouldExist: false` still means what it says; the config is the image's own, but for its
`rootfs` (the one new layer). Upstream still judges every test; this only chooses its input.
One verdict can differ, in the image's favour of the spec: upstream's own unpacking ignores
opaque-folder markers (`.wh..wh..opq`, go-containerregistry issue 1897), the cut applies them.

Configs with any other kind of test (licenseTests walk folders; commandTests run the image) get
the whole image. zstd layers are read through the zstd program (Python 3.13 has no zstd).
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit_lib import layout, tarball

# The test kinds whose subject is a named path or the config; any other key means "whole image".
PATH_TESTS = ("fileExistenceTests", "fileContentTests")
KNOWN_KEYS = {"schemaVersion", "metadataTest", "globalEnvVars", *PATH_TESTS}
MAX_LINKS = 40  # as the kernel's limit on symbolic links followed in one lookup


def read_paths(configs: list[Any]) -> set[str]:
    """The paths whose bytes a test reads: those the configs' fileContentTests name."""
    return {
        test["path"]
        for config in configs
        for test in config.get("fileContentTests") or []
        if isinstance(test, dict) and isinstance(test.get("path"), str)
    }


def tested_paths(configs: list[Any]) -> set[str] | None:
    """Every path the configs' file tests name, or None when some test needs the whole image."""
    paths: set[str] = set()
    for config in configs:
        if not isinstance(config, dict) or set(config) - KNOWN_KEYS:
            return None
        for kind in PATH_TESTS:
            for test in config.get(kind) or []:
                if not isinstance(test, dict) or not isinstance(test.get("path"), str):
                    return None
                paths.add(test["path"])
    return paths


@dataclass
class Node:
    """The newest version of one path in the flattened image."""

    info: tarfile.TarInfo
    layer: int


def flatten(image: layout.Image, zstd: str | None = None) -> dict[str, Node]:
    """The image's file tree as the container sees it: layers in order, whiteouts applied, and
    a path a layer makes something other than a folder loses what lower layers had under it."""
    tree: dict[str, Node] = {}
    for index, descriptor in enumerate(image.layers):
        with layout.open_layer(image, descriptor, zstd) as tar:
            members = tar.getmembers()
        gone: list[tuple[str, bool]] = []  # (path, only what is under it)
        entries: list[tuple[str, tarfile.TarInfo]] = []
        for info in members:
            name = layout.member_path(info.name)
            if (deleted := layout.whiteout(name)) is not None:
                gone.append(deleted)
            elif name:
                entries.append((name, info))
                if not info.isdir():
                    gone.append((name, True))
        for path, below_only in gone:  # the tree holds only lower layers yet
            prefix = path + "/" if path else ""
            for key in [k for k in tree if k.startswith(prefix)]:
                del tree[key]
            if not below_only:
                tree.pop(path, None)
        for name, info in entries:
            tree[name] = Node(info, index)
            _add_parents(tree, name, index)
    return tree


def _add_parents(tree: dict[str, Node], name: str, index: int) -> None:
    """Folders a layer implies without listing them (`tar -cf x etc/a`), as runtimes make them."""
    parent = posixpath.dirname(name)
    while parent and parent not in tree:
        info = tarfile.TarInfo(parent)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tree[parent] = Node(info, index)
        parent = posixpath.dirname(parent)


def closure(tree: dict[str, Node], paths: set[str]) -> set[str]:
    """The entries a lookup of each path touches: folders on the way, links and their targets."""
    keep: set[str] = set()

    def visit(path: str, depth: int) -> None:
        if depth > MAX_LINKS:
            return  # a loop: the lookup fails in the container too
        parts = [p for p in path.split("/") if p and p != "."]
        current = ""
        for i, part in enumerate(parts):
            if part == "..":
                current = posixpath.dirname(current)  # already looked up on the way down
                continue
            current = posixpath.join(current, part)
            node = tree.get(current)
            if node is None:
                return  # absent in the image: absent in the cut
            keep.add(current)
            if node.info.issym():
                target = node.info.linkname
                base = "" if target.startswith("/") else posixpath.dirname(current)
                visit(posixpath.join("/" + base, target, *parts[i + 1 :]), depth + 1)
                return
            if node.info.islnk():
                visit("/" + layout.member_path(node.info.linkname), depth + 1)

    for path in paths:
        visit(path, 0)
    return keep


def reduced_layer(
    image: layout.Image,
    tree: dict[str, Node],
    keep: set[str],
    read: set[str],
    zstd: str | None = None,
) -> bytes:
    """One uncompressed layer with the kept entries, parents first, hard links as files; a
    regular file has its bytes only if it is in `read` (or a hard link there names it)."""
    wanted: dict[int, set[str]] = {}
    for name in read & keep:
        node = tree[name]
        source = layout.member_path(node.info.linkname) if node.info.islnk() else name
        if source in tree and tree[source].info.isreg():
            wanted.setdefault(tree[source].layer, set()).add(source)
    data: dict[str, bytes] = {}
    for index, names in wanted.items():
        with layout.open_layer(image, image.layers[index], zstd) as tar:
            for info in tar:
                name = layout.member_path(info.name)
                if name in names and info.isreg():
                    f = tar.extractfile(info)
                    data[name] = f.read() if f else b""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(keep):
            info = tree[name].info
            copy = tarfile.TarInfo(name)
            copy.mode, copy.uid, copy.gid = info.mode, info.uid, info.gid
            copy.uname, copy.gname, copy.mtime = info.uname, info.gname, 0
            if info.issym():
                copy.type, copy.linkname = tarfile.SYMTYPE, info.linkname
                tar.addfile(copy)
            elif info.isdir():
                copy.type = tarfile.DIRTYPE
                tar.addfile(copy)
            elif info.isreg() or info.islnk():
                body = data.get(layout.member_path(info.linkname) if info.islnk() else name, b"")
                copy.type, copy.size = tarfile.REGTYPE, len(body)
                tar.addfile(copy, io.BytesIO(body))
            else:  # devices and fifos: the entry itself is what a test can see
                copy.type, copy.devmajor, copy.devminor = info.type, info.devmajor, info.devminor
                tar.addfile(copy)
    return out.getvalue()


def write_reduced_tarball(
    image_dir: str, output: str, paths: set[str], read: set[str], zstd: str | None = None
) -> int:
    """Write a docker-save tarball of `image_dir` cut down to `paths`, with the bytes of the
    files only that a lookup of a path in `read` reaches; return its entry count."""
    image = layout.read_image(image_dir, verify_layers=True)
    tree = flatten(image, zstd)
    keep = closure(tree, paths)
    layer = reduced_layer(image, tree, keep, closure(tree, read), zstd)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = dict(image.config)
    config["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
    config["history"] = [{"created_by": f"structure test cut: {len(keep)} of {len(tree)} entries"}]
    config_bytes = layout.canonical_json(config)
    config_name = "blobs/sha256/" + hashlib.sha256(config_bytes).hexdigest()
    layer_name = "blobs/sha256/" + diff_id[len("sha256:") :]
    manifest = [{"Config": config_name, "RepoTags": [], "Layers": [layer_name]}]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    tarball.write_tar(
        [
            tarball.Entry("manifest.json", data=layout.canonical_json(manifest)),
            tarball.Entry(config_name, data=config_bytes),
            tarball.Entry(layer_name, data=layer),
        ],
        output,
    )
    return len(keep)
