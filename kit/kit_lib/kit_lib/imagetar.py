"""Image tarballs: `docker save`-style and OCI-layout tars of an image layout.

`oci_load` writes them for `docker load`/`podman load`, and container_structure_test's tar driver
reads the docker-save form, so both rule sets share this one writer. Output is deterministic:
sorted entries, fixed owners and times (see tarball.py), blobs under their OCI names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from kit_lib import layout, refs, tarball
from kit_lib.layout import ImageError


def normalize_tag(reference: str) -> str:
    """Return `reference` as NAME:TAG (":latest" if no tag), or raise on a malformed one."""
    name, given = refs.split_name_tag(reference)
    tag = "latest" if given is None else given
    if "@" in reference:
        raise ImageError(f"repo tag {reference!r}: digests cannot be tags")
    if not refs.is_name(name):
        raise ImageError(
            f"repo tag {reference!r}: {name!r} is not a valid repository name "
            "(lower case letters, digits, '.', '_', '-', '/')"
        )
    if not refs.is_tag(tag):
        raise ImageError(f"repo tag {reference!r}: {tag!r} is not a valid tag")
    return f"{name}:{tag}"


def build_tarball(image_dir: str, output: str, repo_tags: Sequence[str]) -> str:
    """Write the docker-save tarball of the layout at `image_dir`; return the image's digest.

    Blobs keep their OCI names (`blobs/sha256/<hex>`), as `docker save` itself does since
    Docker 25; layers stay as they are in the layout, so no bytes are rewritten.
    """
    tags = [normalize_tag(tag) for tag in repo_tags]
    if len(set(tags)) != len(tags):
        raise ImageError(f"repo tags given twice: {tags}")
    if layout.is_index(image_dir):
        raise ImageError(
            f"{image_dir} is an image index, which has no docker-save form: "
            'give oci_load(format = "oci")'
        )
    image = layout.read_image(image_dir, verify_layers=True)
    blob_name = {
        digest: "blobs/sha256/" + digest[len("sha256:") :]
        for digest in [image.config_digest] + [layer["digest"] for layer in image.layers]
    }
    manifest = [
        {
            "Config": blob_name[image.config_digest],
            "RepoTags": tags,
            "Layers": [blob_name[layer["digest"]] for layer in image.layers],
        }
    ]
    entries = [tarball.Entry("manifest.json", data=layout.canonical_json(manifest))]
    entries += [
        tarball.Entry(name, source=str(image.blob(digest))) for digest, name in blob_name.items()
    ]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    tarball.write_tar(entries, output)
    return image.manifest_digest


def read_lines(path: str, what: str) -> list[str]:
    """Non-blank lines of a rules_oci list file (one item a line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ImageError(f"cannot read {what} {path}: {err.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def build_oci_tarball(image_dir: str, output: str, repo_tags: Sequence[str]) -> str:
    """Write the layout at `image_dir` (an image or an index) as one tar, for `docker load` and
    `podman load`; return the digest it is loaded under.

    The layout's entry gets each tag as `org.opencontainers.image.ref.name` (short tag) and
    `io.containerd.image.name` (full name), the annotations loaders look for. An index keeps
    every platform: a loader takes the one it runs on.
    """
    tags = [normalize_tag(tag) for tag in repo_tags]
    if len(set(tags)) != len(tags):
        raise ImageError(f"repo tags given twice: {tags}")
    if layout.is_index(image_dir):
        found = layout.read_index(image_dir, verify_layers=True)
        root, top = found.root, found.digest
        digests = [top] + [d for _, image in found.images for d in image.blob_digests]
    else:
        image = layout.read_image(image_dir, verify_layers=True)
        root, top = image.root, image.manifest_digest
        digests = image.blob_digests
    index = json.loads((root / layout.INDEX).read_text(encoding="utf-8"))
    descriptor = index["manifests"][0]
    manifests = []
    for tag in tags or [None]:
        entry = dict(descriptor)
        if tag:
            entry["annotations"] = {
                **(descriptor.get("annotations") or {}),
                "io.containerd.image.name": tag,
                "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[1],
            }
        manifests.append(entry)
    index["manifests"] = manifests
    entries = [
        tarball.Entry(layout.OCI_LAYOUT, source=str(root / layout.OCI_LAYOUT)),
        tarball.Entry(layout.INDEX, data=layout.canonical_json(index)),
    ]
    entries += [
        tarball.Entry("blobs/sha256/" + d[len("sha256:") :], source=str(layout.blob_path(root, d)))
        for d in dict.fromkeys(digests)
    ]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    tarball.write_tar(entries, output)
    return top
