"""Read Debian .deb files with the standard library: the `ar` container and its two tars.

A .deb is an `ar` archive of `debian-binary` ("2.0\\n"), `control.tar.*` and `data.tar.*`.
Parsing it here, rather than calling dpkg-deb or ar, keeps the layer build free of host tools
and lets a damaged or unexpected file fail with a line that names it.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

AR_MAGIC = b"!<arch>\n"
_HEADER = 60


class DebError(ValueError):
    """A .deb that cannot be read; the message is one line naming the file."""


@dataclass(frozen=True)
class Member:
    """One file of an `ar` archive."""

    name: str
    data: bytes


def read_ar(blob: bytes, origin: str = "archive") -> Iterator[Member]:
    """Yield the members of a common-format (System V/GNU) `ar` archive, as .debs use."""
    if not blob.startswith(AR_MAGIC):
        raise DebError(f"{origin}: not an ar archive (bad magic)")
    pos = len(AR_MAGIC)
    while pos < len(blob):
        header = blob[pos : pos + _HEADER]
        if len(header) < _HEADER or header[58:60] != b"`\n":
            raise DebError(f"{origin}: truncated or corrupt ar header at byte {pos}")
        name = header[0:16].decode("ascii", "replace").rstrip()
        if name.endswith("/") and name != "/":
            name = name[:-1]
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError(f"{origin}: bad ar member size at byte {pos}") from None
        start = pos + _HEADER
        if start + size > len(blob):
            raise DebError(f"{origin}: ar member {name!r} runs past the end of the file")
        yield Member(name, blob[start : start + size])
        pos = start + size + (size & 1)


def decompress(name: str, data: bytes, origin: str = "archive") -> bytes:
    """Return the plain tar bytes of a `control.tar.*` / `data.tar.*` member.

    xz and gzip come from the standard library. zstd needs `compression.zstd` (Python 3.14+);
    Debian 13's archive uses xz, so a zstd member is a clear error on older Pythons.
    """
    if name.endswith(".tar"):
        return data
    if name.endswith(".tar.xz"):
        try:
            return lzma.decompress(data)
        except lzma.LZMAError as e:
            raise DebError(f"{origin}: {name}: corrupt xz data ({e})") from None
    if name.endswith(".tar.gz"):
        try:
            return zlib.decompress(data, wbits=47)
        except zlib.error as e:
            raise DebError(f"{origin}: {name}: corrupt gzip data ({e})") from None
    if name.endswith(".tar.zst"):
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            raise DebError(
                f"{origin}: {name} is zstd-compressed, which this Python cannot read"
            ) from None
        return bytes(zstd.decompress(data))
    raise DebError(f"{origin}: unsupported member compression {name!r}")


@dataclass(frozen=True)
class Deb:
    """The parts of a .deb the layer needs: control files by name, and the data tar bytes."""

    control: dict[str, bytes]
    data_tar: bytes


def read_deb(blob: bytes, origin: str = "deb") -> Deb:
    """Split a .deb into its control files and its uncompressed data tar."""
    members = {m.name: m for m in read_ar(blob, origin)}
    binary = members.get("debian-binary")
    if binary is None or not binary.data.startswith(b"2."):
        raise DebError(f"{origin}: not a Debian binary package (debian-binary missing or not 2.x)")
    control_name = next((n for n in members if n.startswith("control.tar")), None)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if control_name is None or data_name is None:
        raise DebError(f"{origin}: control.tar or data.tar member missing")
    control_tar = decompress(control_name, members[control_name].data, origin)
    control: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(control_tar), mode="r:") as tar:
            for info in tar:
                if info.isfile():
                    extracted = tar.extractfile(info)
                    assert extracted is not None
                    control[info.name.removeprefix("./")] = extracted.read()
    except tarfile.TarError as e:
        raise DebError(f"{origin}: {control_name}: {e}") from None
    if "control" not in control:
        raise DebError(f"{origin}: {control_name} has no control file")
    return Deb(control, decompress(data_name, members[data_name].data, origin))
