"""Read the shared libraries an ELF file needs (DT_NEEDED), to prove the layer is complete.

(Its DT_SONAME too, for the ld.so.cache the base ships: see ldcache.py.)

Excluding packages and pruning files can leave a library or an extension module whose
dependency is gone; that shows up only when a user imports it. Checking DT_NEEDED of every ELF in
the layer at build time turns that into a build error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ELF_MAGIC = b"\x7fELF"
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 14, 15, 29


class ElfError(ValueError):
    """A file that starts like ELF but cannot be read; the message is one line."""


def is_elf(data: bytes) -> bool:
    """Tell whether `data` starts with the ELF magic."""
    return data[:4] == ELF_MAGIC


@dataclass(frozen=True)
class Dynamic:
    """What the dynamic loader needs for one ELF file."""

    needed: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    interpreter: str | None = None
    # e_machine: 62 for x86-64, 183 for AArch64 (the ELF machine numbers).
    machine: int = 0
    # DT_SONAME: the name a shared library is linked and cached under ("libssl.so.3").
    soname: str | None = None


_ET_EXEC, _ET_DYN = 2, 3


def header_size(data: bytes) -> int:
    """Return how many leading bytes of an ELF file hold its header and program headers."""
    if not is_elf(data) or len(data) < 64:
        return len(data)
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return max(64, phoff + phentsize * phnum)


def runnable(data: bytes) -> bool:
    """Tell whether an ELF file is a program (not a shared library) from its first bytes.

    A program is ET_EXEC, or ET_DYN with an interpreter (PIE): shared libraries and extension
    modules have none. `data` must reach past the program headers (`header_size`).
    """
    if not is_elf(data) or len(data) < 64 or data[4] != 2 or data[5] != 1:
        return False
    e_type = struct.unpack_from("<H", data, 16)[0]
    if e_type == _ET_EXEC:
        return True
    if e_type != _ET_DYN:
        return False
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return any(
        struct.unpack_from("<I", data, phoff + i * phentsize)[0] == _PT_INTERP
        for i in range(phnum)
        if phoff + i * phentsize + 4 <= len(data)
    )


# Debian architecture -> ELF e_machine of its binaries.
MACHINES = {"amd64": 62, "arm64": 183}


def machine(data: bytes) -> int:
    """Return e_machine of an ELF file (which CPU it is for)."""
    if not is_elf(data) or len(data) < 20:
        raise ElfError("not an ELF file")
    return struct.unpack_from("<H", data, 18)[0]


def dynamic(data: bytes) -> Dynamic:
    """Return DT_NEEDED (in file order), DT_RUNPATH/DT_RPATH and PT_INTERP of a 64-bit LE ELF.

    Files without a dynamic section (static executables, objects) need nothing.
    """
    if not is_elf(data) or len(data) < 64:
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("only 64-bit little-endian ELF is supported")
    phoff, phentsize, phnum = (
        struct.unpack_from("<Q", data, 32)[0],
        *struct.unpack_from("<HH", data, 54),
    )
    loads: list[tuple[int, int, int]] = []
    dyn: tuple[int, int] | None = None
    interpreter: str | None = None
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(data):
            raise ElfError("program header runs past the end of the file")
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, off
        )
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dyn = (p_offset, p_filesz)
        elif p_type == _PT_INTERP:
            raw = data[p_offset : p_offset + p_filesz]
            interpreter = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    cpu = machine(data)
    if dyn is None:
        return Dynamic(interpreter=interpreter, machine=cpu)
    entries: list[tuple[int, int]] = []
    pos, end = dyn[0], min(dyn[0] + dyn[1], len(data))
    while pos + 16 <= end:
        tag, val = struct.unpack_from("<qQ", data, pos)
        if tag == _DT_NULL:
            break
        entries.append((tag, val))
        pos += 16
    strtab_addr = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab_addr is None:
        raise ElfError("dynamic section without a string table")
    strtab = next(
        (off + strtab_addr - va for va, off, size in loads if va <= strtab_addr < va + size),
        None,
    )
    if strtab is None:
        raise ElfError("string table outside every loaded segment")

    def string(val: int) -> str:
        start = strtab + val
        stop = data.find(b"\0", start)
        if start >= len(data) or stop < 0:
            raise ElfError("dynamic string outside the file")
        return data[start:stop].decode("utf-8", "replace")

    needed = [string(v) for t, v in entries if t == _DT_NEEDED]
    runpath = [
        p for t, v in entries if t in (_DT_RPATH, _DT_RUNPATH) for p in string(v).split(":") if p
    ]
    soname = next((string(v) for t, v in entries if t == _DT_SONAME), None)
    return Dynamic(needed, runpath, interpreter, cpu, soname)
