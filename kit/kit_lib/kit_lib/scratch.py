"""Where to put a short-lived tree of many files: in RAM when it has room, else the default.

Unpacking an image writes thousands of files that are gone again seconds later. On ext4 every
new inode then costs more: the allocator skips inodes freed in the last minutes (its
`recently_deleted` check reads their inode table blocks), so a test run that unpacks image after
image spends a growing share of its CPU in the kernel finding free inodes (a third of the busy
time of the runtime tests, sampled with `perf`). tmpfs has no such cost.
"""

from __future__ import annotations

import os
from pathlib import Path

RAM_DIR = Path("/dev/shm")
# Room to ask for, per byte of gzipped layers: they unpack to about 3.5x.
RAM_FACTOR = 8


def ram_parent(need: int, ram_dir: Path = RAM_DIR) -> Path | None:
    """`ram_dir` if it is a writable folder with `need` bytes free, else None (the default)."""
    try:
        stat = os.statvfs(ram_dir)
    except OSError:
        return None
    if not ram_dir.is_dir() or not os.access(ram_dir, os.W_OK | os.X_OK):
        return None
    if stat.f_bavail * stat.f_frsize < need:
        return None
    return ram_dir
