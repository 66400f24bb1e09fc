"""zstd layers through Debian's `zstd` program: Python 3.13's standard library cannot read zstd.

Every tool that makes or reads a layer takes the program's path from its caller (a declared
Bazel input, never a PATH look-up) or, for tools run under `bazel run`/`bazel test`, from
$KIT_ZSTD. Compression is single-threaded with no file name or time in the frame, so the same
tar and level always give the same bytes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ENV = "KIT_ZSTD"
MAGIC = b"\x28\xb5\x2f\xfd"
# Measured on the distroless base's 39.7 MiB tar (bench/run.sh prints it for each layer): level 9
# is 10% smaller than gzip -6 and compresses faster; 19 is 21% smaller but 15x slower.
LEVEL = 9


class ZstdError(RuntimeError):
    """zstd is missing or failed; the message is one line."""


def program(given: str | None = None) -> str:
    """The zstd program: `given`, else $KIT_ZSTD; one line saying how to get it otherwise."""
    path = given or os.environ.get(ENV, "")
    if not path:
        raise ZstdError(f"a zstd layer needs the zstd program: none given (set {ENV})")
    if not os.access(path, os.X_OK):
        raise ZstdError(f"zstd program {path} is not executable")
    return path


def compress_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    zstd: str | None = None,
    level: int = LEVEL,
) -> None:
    """Compress `src` to `dst` reproducibly (one thread, no name), atomically, with the zstd
    program `zstd` (else $KIT_ZSTD)."""
    dst_path = Path(dst)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dst_path.parent)
    os.close(fd)
    try:
        done = subprocess.run(
            [program(zstd), "-q", "-f", f"-{level}", "-T1", "--no-progress", "-o", tmp, str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ZstdError(f"zstd failed on {src}: {done.stderr.strip() or done.returncode}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def decompressed(path: str | os.PathLike[str], zstd: str | None = None) -> Iterator[IO[bytes]]:
    """A stream of the data inside the zstd file at `path` (read it to the end)."""
    proc = subprocess.Popen(
        # -f: zstd skips a symbolic link (as inputs in a Bazel sandbox are) without it.
        [program(zstd), "-q", "-f", "-d", "-c", "--no-progress", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield proc.stdout
        rest = proc.stdout.read()  # what the caller left, so zstd can finish
        del rest
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise ZstdError(f"zstd could not read {path}: {err or f'exit {code}'}")
