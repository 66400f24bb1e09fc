"""The lock-freshness test: every input of uv_workspace.lock.json still has the recorded sha256.

uv itself refuses a stale uv.lock (`uv lock --check`); this is the same promise for the files
Bazel reads, without a network or uv.lock: a pyproject.toml edited without a relock fails here,
with the command that fixes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kit_lib import runfiles
from kit_lib.tarball import sha256_file


def stale(record: dict, files: dict[str, Path]) -> list[str]:
    """Inputs whose content differs from the record, or that appeared or went away."""
    problems = []
    recorded = record.get("inputs", {})
    for name, path in sorted(files.items()):
        if name not in recorded:
            problems.append(f"{name} is new")
        elif sha256_file(path) != recorded[name]:
            problems.append(f"{name} changed")
    problems += [f"{name} is gone" for name in sorted(set(recorded) - set(files))]
    return problems


def main(argv: list[str]) -> int:
    """argv: the lock's rlocationpath, then NAME=rlocationpath for each input."""
    record = json.loads(runfiles.runfile(argv[0]).read_text())
    files = dict(arg.split("=", 1) for arg in argv[1:])
    problems = stale(record, {name: runfiles.runfile(p) for name, p in files.items()})
    if problems:
        print(
            f"error: the lock is out of date ({'; '.join(problems)}): "
            f"run `{record.get('relock', 'the relock command')}`",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {len(files)} inputs match {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
