"""Rewrite the workspace in our style: `./bazelw run //tools/lint:format`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kit_lib import runfiles

from tools.lint import style


def main() -> int:
    """Format Python with ruff and Starlark with buildifier, in place."""
    root = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    ruff_wheel, buildifier = runfiles.runfile(sys.argv[1]), str(runfiles.runfile(sys.argv[2]))
    with tempfile.TemporaryDirectory() as tmp:
        ruff = str(runfiles.binary_from_wheel(ruff_wheel, "ruff", Path(tmp)))
        py = style.python_files(root)
        steps = [
            style.ruff_check(ruff, py, fix=True),
            style.ruff_format(ruff, py, check=False),
            [buildifier, "-lint=fix", *style.starlark_files(root)],
        ]
        failed = [step[1] for step in steps if subprocess.run(step, cwd=root).returncode != 0]
    if failed:
        print(f"error: some problems need a hand fix ({', '.join(failed)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
