"""Write /etc/ld.so.cache for the base layer, as `ldconfig` would, without running it.

Python's `ctypes.util.find_library` reads `/sbin/ldconfig -p`, which prints this cache; the
base ships ldconfig (it is neither a shell nor a package manager) but cannot run it at build
time: `ldconfig -r ROOT` needs chroot, and an arm64 root would need an arm64 ldconfig. The file
format is glibc's "glibc-ld.so.cache1.1" (the only one glibc >= 2.32 writes): a header, one
24-byte entry per library sorted as glibc's `_dl_cache_libcmp` orders them (descending, because
the loader binary-searches it that way), then the strings. ldcache_test checks the result with
the real `ldconfig -p -C FILE`.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable

MAGIC = b"glibc-ld.so.cache"
VERSION = b"1.1"
# cache_file_new: magic[17] version[3] nlibs len_strings flags padding[3] extension_offset
# unused[3]; then file_entry_new: flags key value osversion_unused hwcap.
_HEADER = struct.Struct("<17s3sIIB3xI12x")
_ENTRY = struct.Struct("<iIIIQ")
_ENDIAN_LITTLE = 2
# FLAG_ELF_LIBC6 with the 64-bit flag of each architecture (glibc's ldconfig.h).
FLAGS = {"amd64": 0x0003 | 0x0300, "arm64": 0x0003 | 0x0A00}


def libcmp(a: str, b: str) -> int:
    """glibc's _dl_cache_libcmp: runs of digits compare as numbers and sort after other chars."""
    i = j = 0
    while i < len(a):
        if a[i].isdigit():
            if j >= len(b) or not b[j].isdigit():
                return 1
            si, sj = i, j
            while i < len(a) and a[i].isdigit():
                i += 1
            while j < len(b) and b[j].isdigit():
                j += 1
            diff = int(a[si:i]) - int(b[sj:j])
            if diff:
                return diff
        elif j < len(b) and b[j].isdigit():
            return -1
        elif j >= len(b) or a[i] != b[j]:
            return ord(a[i]) - (ord(b[j]) if j < len(b) else 0)
        else:
            i += 1
            j += 1
    return 0 - (ord(b[j]) if j < len(b) else 0)


def write_cache(libraries: Iterable[tuple[str, str]], arch: str) -> bytes:
    """The cache bytes for (soname, absolute path) pairs of `arch` libraries."""
    flags = FLAGS[arch]
    # Sorted by path first: a soname found in two folders (ld-linux in /usr/lib64 too) keeps one
    # order whatever order the pairs came in (a set's is not stable across runs).
    pairs = sorted(
        sorted(set(libraries)), key=functools.cmp_to_key(lambda x, y: libcmp(y[0], x[0]))
    )
    strings = bytearray()
    offsets: dict[str, int] = {}
    base = _HEADER.size + _ENTRY.size * len(pairs)

    def intern(text: str) -> int:
        if text not in offsets:
            offsets[text] = base + len(strings)
            strings.extend(text.encode() + b"\0")
        return offsets[text]

    entries = b"".join(
        _ENTRY.pack(flags, intern(soname), intern(path), 0, 0) for soname, path in pairs
    )
    header = _HEADER.pack(MAGIC, VERSION, len(pairs), len(strings), _ENDIAN_LITTLE, 0)
    return header + entries + bytes(strings)


def read_cache(data: bytes) -> list[tuple[int, str, str]]:
    """(flags, soname, path) of every entry: what a test compares with `ldconfig -p`."""
    magic, version, nlibs, _len, _flags, _ext = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ValueError("not a glibc-ld.so.cache1.1 file")

    def string(offset: int) -> str:
        return data[offset : data.index(b"\0", offset)].decode()

    out = []
    for i in range(nlibs):
        flags, key, value, _os, _hwcap = _ENTRY.unpack_from(data, _HEADER.size + i * _ENTRY.size)
        out.append((flags, string(key), string(value)))
    return out
