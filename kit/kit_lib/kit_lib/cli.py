"""The argument parser every kit tool uses: a usage error is one line and exit status 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, but `error` prints `PROG: error: MESSAGE` on one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def fail(prog: str, err: Exception, status: int = 1) -> int:
    """Print `PROG: error: ...` for `err` on one line and return `status` (the exit code).

    An OSError shows as its file and reason, not as Python's `[Errno 2] ...` form.
    """
    message = f"{err.filename or ''}: {err.strerror}" if isinstance(err, OSError) else str(err)
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status
