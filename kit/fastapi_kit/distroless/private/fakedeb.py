"""Test helper: make small, real .deb files in memory, so tests need no archive and no dpkg."""

from __future__ import annotations

import gzip
import io
import lzma
import struct
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class F:
    """One member of a fake data.tar: a file (data), a directory, or a link (target)."""

    path: str
    data: bytes | None = None
    mode: int = 0o644
    kind: str = "file"
    target: str = ""


def make_ar(members: list[tuple[str, bytes]]) -> bytes:
    """Return a common-format ar archive holding `members` in order."""
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n"
        out += header.encode("ascii") + data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


def make_tar(files: list[F]) -> bytes:
    """Return an uncompressed tar with `./`-prefixed names, as dpkg-deb writes them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for f in files:
            info = tarfile.TarInfo("./" + f.path.strip("/"))
            info.mode = f.mode
            if f.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif f.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, f.target
                tar.addfile(info)
            elif f.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, "./" + f.target.strip("/")
                tar.addfile(info)
            else:
                data = f.data or b""
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def control_text(name: str, version: str = "1.0", arch: str = "amd64", extra: str = "") -> str:
    """Return a minimal control paragraph."""
    return (
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: Test <t@example.invalid>\n{extra}Description: test package\n"
        " A package made by a test.\n"
    )


def make_deb(
    name: str,
    files: list[F],
    version: str = "1.0",
    arch: str = "amd64",
    compression: str = "xz",
    md5sums: str | None = None,
) -> bytes:
    """Return a .deb whose data.tar holds `files`."""
    control_files = [F("control", control_text(name, version, arch).encode())]
    if md5sums is not None:
        control_files.append(F("md5sums", md5sums.encode()))
    control = make_tar(control_files)
    data = make_tar(files)
    if compression == "xz":
        control, data = lzma.compress(control), lzma.compress(data)
    elif compression == "gz":
        control, data = gzip.compress(control, mtime=0), gzip.compress(data, mtime=0)
    suffix = "" if compression == "none" else "." + compression
    return make_ar(
        [
            ("debian-binary", b"2.0\n"),
            (f"control.tar{suffix}", control),
            (f"data.tar{suffix}", data),
        ]
    )


VADDR = 0x400000


def make_elf(needed: list[str], runpath: str = "", interp: str = "") -> bytes:
    """Build a minimal ELF64 with one PT_LOAD covering the file, a dynamic section and strings."""
    strtab = b"\0"
    offsets = []
    for name in [*needed, runpath] if runpath else needed:
        offsets.append(len(strtab))
        strtab += name.encode() + b"\0"
    phnum = 3 if interp else 2
    ph_off = 64
    data_off = ph_off + 56 * phnum
    interp_bytes = interp.encode() + b"\0" if interp else b""
    interp_off = data_off
    str_off = interp_off + len(interp_bytes)
    dyn_off = str_off + len(strtab)
    dyn = b""
    for off in offsets[: len(needed)]:
        dyn += struct.pack("<qQ", 1, off)
    if runpath:
        dyn += struct.pack("<qQ", 29, offsets[-1])
    dyn += struct.pack("<qQ", 5, VADDR + str_off) + struct.pack("<qQ", 0, 0)
    total = dyn_off + len(dyn)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, ph_off, 0, 0, 64, 56, phnum, 64, 0, 0)
    phs = struct.pack("<IIQQQQQQ", 1, 5, 0, VADDR, VADDR, total, total, 0x1000)
    phs += struct.pack("<IIQQQQQQ", 2, 6, dyn_off, VADDR + dyn_off, 0, len(dyn), len(dyn), 8)
    if interp:
        n = len(interp_bytes)
        phs += struct.pack("<IIQQQQQQ", 3, 4, interp_off, VADDR + interp_off, 0, n, n, 1)
    return header + phs + interp_bytes + strtab + dyn
