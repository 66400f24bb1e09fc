"""Tests for elf.py: DT_NEEDED, RUNPATH and PT_INTERP of 64-bit ELF files."""

from __future__ import annotations

import struct
import sys

import pytest

from distroless.private.elf import ElfError, dynamic, is_elf
from distroless.private.fakedeb import make_elf


def test_needed_runpath_interp():
    blob = make_elf(["libfoo.so.1", "libc.so.6"], "$ORIGIN/../lib", "/lib64/ld-linux-x86-64.so.2")
    info = dynamic(blob)
    assert info.needed == ["libfoo.so.1", "libc.so.6"]
    assert info.runpath == ["$ORIGIN/../lib"]
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"


def test_static_file_needs_nothing():
    blob = make_elf([])[:64]
    blob = blob[:56] + struct.pack("<H", 0) + blob[58:]  # no program headers
    assert dynamic(blob).needed == []


def test_not_elf_and_truncated():
    assert not is_elf(b"#!/bin/sh\n")
    with pytest.raises(ElfError, match="not an ELF"):
        dynamic(b"#!/bin/sh\n" + bytes(100))
    with pytest.raises(ElfError, match="past the end"):
        dynamic(make_elf(["libc.so.6"])[:80])


def test_the_running_interpreter():
    with open(sys.executable, "rb") as f:
        data = f.read()
    if not is_elf(data):
        pytest.skip("interpreter is not an ELF file")
    info = dynamic(data)
    assert any(name.startswith("libc.so") for name in info.needed)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
