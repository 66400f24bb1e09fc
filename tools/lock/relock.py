"""Re-lock third-party Python: `./bazelw run //tools/lock:relock`.

1. The uv workspace (pyproject.toml at the root and each member's) with `uv lock`, exported into
   requirements_lock.txt and uv_workspace.lock.json by the kit's lock tool (@fastapi_kit//uv).
   uv.lock itself stays local and git-ignored: it records the index's URLs.
2. The kit's own tool and test wheels (kit/kit_lib/requirements.in) into
   kit/kit_lib/requirements_lock.txt with `uv pip compile`, constrained to the versions just
   locked, so both hubs hold the same versions.

uv comes from the lock itself (bootstrapped once), the index from PIP_INDEX_URL when set, as pip
would use it. Every file is written atomically: a failed run leaves the old locks intact.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import lock  # @fastapi_kit//uv:lock_lib
from kit_lib import runfiles
from kit_lib.layout import write_file_atomic

PYTHON_VERSION = "3.13"
PLATFORM = "x86_64-manylinux_2_28"
COMMAND = "./bazelw run //tools/lock:relock"
KIT = ("kit/kit_lib/requirements.in", "kit/kit_lib/requirements_lock.txt")


def pins(requirements: str) -> str:
    """`name==version` lines of a hash-pinned lock, for use as uv constraints."""
    lines = [
        ln.split()[0] for ln in requirements.splitlines() if "==" in ln and not ln.startswith("#")
    ]
    return "\n".join(line.rstrip("\\") for line in lines) + "\n"


def compile_kit(uv: lock.Uv, root: Path, constraints: Path) -> None:
    src, dst = KIT
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lock.txt"
        uv.run(
            "pip", "compile", src, "--generate-hashes", "--no-header",
            "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
            "-c", str(constraints), "-o", str(out),
        )  # fmt: skip
        text = f"# Locked with `{COMMAND}` from {src}, constrained to the product's lock.\n"
        # uv names the constraints file it was given: a temporary path, not worth a diff.
        lines = [ln for ln in out.read_text().splitlines() if not ln.lstrip().startswith("#   -c ")]
        write_file_atomic(root / dst, (text + "\n".join(lines) + "\n").encode())


def main(argv: list[str]) -> int:
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    if not (root / KIT[0]).is_file():
        print(f"error: no {KIT[0]} in {root}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory() as tmp:
            binary = runfiles.binary_from_wheel(runfiles.runfile(argv[0]), "uv", Path(tmp))
            uv = lock.Uv(binary, root)
            requirements, record = lock.lock(uv, root, PYTHON_VERSION, False, COMMAND)
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text(pins(requirements))
            compile_kit(uv, root, constraints)
    except lock.LockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_file_atomic(root / "requirements_lock.txt", requirements.encode())
    write_file_atomic(root / "uv_workspace.lock.json", record.encode())
    print("wrote requirements_lock.txt, uv_workspace.lock.json and", KIT[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
