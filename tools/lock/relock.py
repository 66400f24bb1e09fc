"""Re-lock third-party Python: `./bazelw run //tools/lock:relock`.

Resolves requirements_dev.in (which includes the runtime set, requirements.in) with uv for
Python 3.13 on Linux x86_64 and writes requirements_lock.txt with hashes. uv comes from the lock
itself (bootstrapped once), the index from PIP_INDEX_URL when set, as pip would use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import runfiles

PYTHON_VERSION = "3.13"
PLATFORM = "x86_64-manylinux_2_28"
OUTPUT = "requirements_lock.txt"


def uv_command(uv: Path, out: Path, extra: list[str]) -> list[str]:
    """The uv invocation; split out so the test can check what is asked of uv."""
    cmd = [str(uv), "pip", "compile", "requirements_dev.in", "--generate-hashes"]
    cmd += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    cmd += ["--native-tls", "--quiet", "--no-header", "-o", str(out)]
    index = os.environ.get("PIP_INDEX_URL")
    if index and "UV_DEFAULT_INDEX" not in os.environ and "UV_INDEX_URL" not in os.environ:
        cmd += ["--index-url", index]
    return cmd + extra


HEADER = (
    "# Locked with `./bazelw run //tools/lock:relock` from requirements_dev.in\n"
    "# (runtime set: requirements.in). Do not edit by hand.\n"
)


def main(argv: list[str]) -> int:
    """Resolve, then replace the lock atomically so a failed run leaves the old one intact."""
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    if not (root / "requirements_dev.in").is_file():
        print(f"error: no requirements_dev.in in {root}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        uv = runfiles.binary_from_wheel(runfiles.runfile(argv[0]), "uv", Path(tmp))
        out = root / f".{OUTPUT}.tmp"
        try:
            result = subprocess.run(uv_command(uv, out, argv[1:]), cwd=root, check=False)
            if result.returncode != 0:
                print(f"error: uv pip compile failed (exit {result.returncode})", file=sys.stderr)
                return 1
            out.write_text(HEADER + out.read_text())
            out.replace(root / OUTPUT)
        finally:
            out.unlink(missing_ok=True)  # left only when something failed (or Ctrl-C)
    print(f"wrote {root / OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
