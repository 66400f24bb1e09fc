"""Telling a process apart from a later one that got its pid: its start time from /proc."""

from __future__ import annotations

from pathlib import Path


def start_ticks(pid: int) -> int | None:
    """When `pid` started (ticks since boot), or None when no such process runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces: fields after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])
