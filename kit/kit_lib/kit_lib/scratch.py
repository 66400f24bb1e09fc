"""Where to put a short-lived tree of many files: in RAM when it has room, else the default.

Unpacking an image writes thousands of files that are gone again seconds later. On ext4 every
new inode then costs more: the allocator skips inodes freed in the last minutes (its
`recently_deleted` check reads their inode table blocks), so a test run that unpacks image after
image spends a growing share of its CPU in the kernel finding free inodes (a third of the busy
time of the runtime tests, sampled with `perf`). tmpfs has no such cost.

RAM is not cleaned up for us the way a test's temporary folder is, so a tree there is named after
the process that made it, and a process that was killed before it could remove its tree (a test
past its timeout gets SIGTERM) has it removed by the next one that makes a tree there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kit_lib.processes import start_ticks

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


def _pid_namespace() -> str | None:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return None


def owner_prefix(prefix: str) -> str:
    """`prefix` and who makes the tree: pid namespace, pid and start time of this process."""
    namespace, pid = _pid_namespace(), os.getpid()
    start = start_ticks(pid)
    if namespace is None or start is None:
        return prefix
    return f"{prefix}{namespace}-{pid}-{start}-"


def remove_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove `parent`'s trees that processes of this pid namespace named with
    `owner_prefix(prefix)` and that outlived them; return what was removed."""
    namespace = _pid_namespace()
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or entry.is_symlink() or not entry.is_dir():
            continue
        fields = entry.name[len(prefix) :].split("-", 3)
        if len(fields) != 4 or fields[0] != namespace or not fields[1].isdigit():
            continue
        if str(start_ticks(int(fields[1]))) != fields[2]:  # gone, or its pid is another's now
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def make_dir(prefix: str, need: int, ram_dir: Path = RAM_DIR) -> Path:
    """A new folder for a tree of about `need` bytes: in `ram_dir` when it has the room (after
    removing the stale trees there), else in the default temporary folder. The caller removes it."""
    parent = ram_parent(need, ram_dir)
    if parent is not None:
        remove_stale(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=owner_prefix(prefix), dir=parent))


@contextlib.contextmanager
def tree(prefix: str, need: int, ram_dir: Path = RAM_DIR) -> Iterator[Path]:
    """`make_dir` for a `with` block: the folder and all in it are removed at its end."""
    path = make_dir(prefix, need, ram_dir)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
