"""What an image really holds: Debian packages, Python distributions and its OS release.

An SBOM built from lock files alone would list what was meant to be installed; this reads the
image's own layers instead, so a package a layer leaves out (or a later layer deletes) is not
listed, and one a layer adds without a lock entry is caught. Layers are applied in order with OCI
whiteouts, so the result is the container's final file system, not the sum of its layers.
"""

from __future__ import annotations

import email.parser
import os
import posixpath
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from kit_lib import layout

STATUS_DIR = "var/lib/dpkg/status.d/"
STATUS_FILE = "var/lib/dpkg/status"
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
# <anything>/site-packages/<dist>.dist-info/METADATA (dist-packages: Debian's python3-* debs).
_METADATA = re.compile(r"^(?:.*/)?(?:site|dist)-packages/[^/]+\.dist-info/METADATA$")


class ContentsError(ValueError):
    """The image cannot be read as expected; the message is one line."""


@dataclass(frozen=True)
class DebPackage:
    """One installed Debian package, as its dpkg status paragraph describes it."""

    name: str
    version: str
    arch: str
    source: str
    source_version: str
    location: str


@dataclass(frozen=True)
class PyDist:
    """One installed Python distribution: its dist-info folder and METADATA bytes."""

    name: str
    version: str
    location: str
    metadata: bytes


@dataclass(frozen=True)
class Contents:
    """The packages of one image, sorted by name, and its /etc/os-release fields."""

    debs: list[DebPackage]
    dists: list[PyDist]
    os_release: dict[str, str]


def _wanted(name: str) -> bool:
    if name.startswith(STATUS_DIR):
        rest = name[len(STATUS_DIR) :]
        return bool(rest) and "/" not in rest and not rest.endswith(".md5sums")
    return name == STATUS_FILE or name in OS_RELEASE or bool(_METADATA.match(name))


def _under(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def read_files(image: layout.Image) -> dict[str, bytes]:
    """The files this module needs, as the container sees them after all layers.

    A whiteout or opaque marker deletes lower layers' files; any entry of a later layer
    replaces a file at its path (a symlink replacing a file hides the file, too).
    """
    files: dict[str, bytes] = {}
    for i, descriptor in enumerate(image.layers, 1):
        gone: list[str] = []  # whited out, or shadowed by a non-directory: all under it goes
        replaced: set[str] = set()  # a directory entry replaces only that very path
        added: dict[str, bytes] = {}
        try:
            with layout.open_layer(image, descriptor) as tar:  # zstd: through $KIT_ZSTD
                for member in tar:
                    name = layout.member_path(member.name)
                    if (deleted := layout.whiteout(name)) is not None:
                        gone.append(deleted[0])
                        continue
                    if member.isdir():
                        replaced.add(name)
                    else:
                        gone.append(name)
                    added.pop(name, None)
                    if not _wanted(name) or not (member.isfile() or member.islnk()):
                        continue
                    f = tar.extractfile(member)
                    if f is None:
                        raise ContentsError(f"layer {i}: cannot read /{name}")
                    added[name] = f.read()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise ContentsError(
                f"layer {i} ({descriptor['digest']}): not a readable tar: {err}"
            ) from None
        files = {
            p: d
            for p, d in files.items()
            if p not in replaced and not any(_under(p, g) for g in gone)
        }
        files.update(added)
    return files


def parse_deb822(text: str, what: str) -> list[dict[str, str]]:
    """Split dpkg control text into paragraphs of fields (continuation lines kept, joined)."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, key = {}, ""
        elif line[0] in " \t":
            if not key:
                raise ContentsError(f"{what}: line {n} continues no field")
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            current[key.strip()] = value.strip()
        else:
            raise ContentsError(f"{what}: line {n} is not a 'Field: value' line: {line[:60]!r}")
    if current:
        paragraphs.append(current)
    return paragraphs


def _deb(fields: dict[str, str], location: str) -> DebPackage:
    for key in ("Package", "Version", "Architecture"):
        if not fields.get(key):
            raise ContentsError(f"/{location}: dpkg status has no {key} field")
    # "Source: glibc" or "Source: glibc (2.41-12)" when the binary version differs.
    source, _, source_version = fields.get("Source", fields["Package"]).partition(" ")
    return DebPackage(
        name=fields["Package"],
        version=fields["Version"],
        arch=fields["Architecture"],
        source=source,
        source_version=source_version.strip("()") or fields["Version"],
        location="/" + location,
    )


def debian_packages(files: dict[str, bytes]) -> list[DebPackage]:
    """Installed packages from distroless' status.d files and/or dpkg's single status file."""
    found: dict[str, DebPackage] = {}

    def keep(pkg: DebPackage) -> None:
        if pkg.name in found:
            raise ContentsError(f"Debian package {pkg.name} is recorded twice in the image")
        found[pkg.name] = pkg

    for name in sorted(files):
        if name.startswith(STATUS_DIR):
            paragraphs = parse_deb822(files[name].decode("utf-8", "replace"), "/" + name)
            if len(paragraphs) != 1:
                raise ContentsError(f"/{name}: expected one package, found {len(paragraphs)}")
            keep(_deb(paragraphs[0], name))
    if STATUS_FILE in files:
        text = files[STATUS_FILE].decode("utf-8", "replace")
        for fields in parse_deb822(text, "/" + STATUS_FILE):
            if fields.get("Status", "").split()[-1:] == ["installed"]:
                keep(_deb(fields, STATUS_FILE))
    return sorted(found.values(), key=lambda p: p.name)


def python_dists(files: dict[str, bytes]) -> list[PyDist]:
    """Installed distributions from each `*.dist-info/METADATA` under a site-packages folder."""
    dists = []
    for name in sorted(files):
        if not _METADATA.match(name):
            continue
        headers = email.parser.BytesHeaderParser().parsebytes(files[name])
        dist_name, version = headers.get("Name"), headers.get("Version")
        if not dist_name or not version:
            raise ContentsError(f"/{name}: no Name or Version field")
        location = "/" + posixpath.dirname(name)
        dists.append(PyDist(str(dist_name).strip(), str(version).strip(), location, files[name]))
    return sorted(dists, key=lambda d: (d.name.lower(), d.location))


def os_release(files: dict[str, bytes]) -> dict[str, str]:
    """The fields of /etc/os-release (or /usr/lib/os-release), quotes removed; {} if absent."""
    for name in OS_RELEASE:
        if name in files:
            fields = {}
            for line in files[name].decode("utf-8", "replace").splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() and not key.startswith("#"):
                    fields[key.strip()] = value.strip().strip("\"'")
            return fields
    return {}


def read_contents(image_dir: str | os.PathLike[str]) -> tuple[layout.Image, Contents]:
    """Read the image layout at `image_dir` and what its final file system holds."""
    image = layout.read_image(Path(image_dir))
    files = read_files(image)
    return image, Contents(debian_packages(files), python_dists(files), os_release(files))
