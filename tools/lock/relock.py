"""Re-lock third-party Python: `./bazelw run //tools/lock:relock`.

Resolves requirements_dev.in (which includes the runtime set, requirements.in) with uv for
Python 3.13 on Linux x86_64 into requirements_lock.txt, then the kit's own tool and test wheels
(kit/kit_lib/requirements.in) into kit/kit_lib/requirements_lock.txt, constrained to the versions
just locked so both hubs hold the same versions. Both locks carry hashes and no index URL. uv
comes from the lock itself (bootstrapped once), the index from PIP_INDEX_URL when set, as pip
would use it.
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
PRODUCT = ("requirements_dev.in", "requirements_lock.txt")
KIT = ("kit/kit_lib/requirements.in", "kit/kit_lib/requirements_lock.txt")


def uv_command(uv: Path, src: str, out: Path, extra: list[str]) -> list[str]:
    """The uv invocation; split out so what is asked of uv can be read in one place."""
    cmd = [str(uv), "pip", "compile", src, "--generate-hashes"]
    cmd += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    cmd += ["--native-tls", "--quiet", "--no-header", "-o", str(out)]
    index = os.environ.get("PIP_INDEX_URL")
    if index and "UV_DEFAULT_INDEX" not in os.environ and "UV_INDEX_URL" not in os.environ:
        cmd += ["--index-url", index]
    return cmd + extra


def pins(lock: Path) -> str:
    """`name==version` lines of a hash-pinned lock, for use as uv constraints."""
    lines = [line.split()[0] for line in lock.read_text().splitlines() if "==" in line]
    return "\n".join(line.rstrip("\\") for line in lines) + "\n"


def header(src: str) -> str:
    return f"# Locked with `./bazelw run //tools/lock:relock` from {src}.\n# Do not edit by hand.\n"


def compile_lock(uv: Path, root: Path, src: str, dst: str, extra: list[str]) -> bool:
    """Resolve `src` into `dst` atomically: a failed run leaves the old lock intact."""
    out = root / f"{dst}.tmp"
    try:
        result = subprocess.run(uv_command(uv, src, out, extra), cwd=root, check=False)
        if result.returncode != 0:
            print(f"error: uv pip compile {src} failed (exit {result.returncode})", file=sys.stderr)
            return False
        out.write_text(header(src) + out.read_text())
        out.replace(root / dst)
    finally:
        out.unlink(missing_ok=True)  # left only when something failed (or Ctrl-C)
    print(f"wrote {root / dst}")
    return True


def main(argv: list[str]) -> int:
    """Lock the product, then the kit constrained to it."""
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    for src, _ in (PRODUCT, KIT):
        if not (root / src).is_file():
            print(f"error: no {src} in {root}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp:
        uv = runfiles.binary_from_wheel(runfiles.runfile(argv[0]), "uv", Path(tmp))
        if not compile_lock(uv, root, *PRODUCT, argv[1:]):
            return 1
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(pins(root / PRODUCT[1]))
        if not compile_lock(uv, root, *KIT, ["-c", str(constraints), *argv[1:]]):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
