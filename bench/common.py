"""Small helpers the bench tools share: argument checks and atomic JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kit_lib import layout


class BenchError(RuntimeError):
    """A measurement could not be taken; the message is one line and says why."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def named_paths(items: Sequence[str]) -> dict[str, str]:
    """Parse NAME=DIR arguments, in order; every DIR must exist."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise BenchError(f"expected NAME=PATH, got {item!r}")
        if name in result:
            raise BenchError(f"{name}: given twice")
        if not Path(path).is_dir():
            raise BenchError(f"{name}: {path} is not a directory")
        result[name] = path
    if not result:
        raise BenchError("nothing to measure: give at least one NAME=PATH")
    return result


def write_json(path: Path, value: Any) -> None:
    """Write `value` as indented JSON through a temp file and a rename: never half-written."""
    layout.write_file_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())
