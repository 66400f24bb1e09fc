"""Read what Bazel prints at the end of a build: elapsed time and how each process ran.

Bazel's closing lines are the only place that tells, per build, how many actions were answered
by the remote cache, so the remote-cache figures are parsed from them rather than guessed from
timings. Two of the lines look like this:

    INFO: Elapsed time: 19.354s, Critical Path: 3.28s
    INFO: 24 processes: 19 internal, 5 remote cache hit.

"internal" processes are Bazel's own bookkeeping (symlinks, writing small files) and never go to
a cache; every other process either ran (under a strategy such as "processwrapper-sandbox") or
was a cache hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# `--show_timestamps` (the ci config) puts "(12:34:56) " before each line.
_STAMP = r"^(?:\([0-9:.]+\) )?"
_ELAPSED = re.compile(_STAMP + r"INFO: Elapsed time: ([0-9.]+)s", re.MULTILINE)
_PROCESSES = re.compile(_STAMP + r"INFO: ([0-9]+) process(?:es)?(?:: (.*?))?\.?\s*$", re.MULTILINE)
_PART = re.compile(r"^([0-9]+) (.+)$")
_EXECUTED = re.compile(_STAMP + r"Executed ([0-9]+) out of ([0-9]+) tests?: (.*)$", re.MULTILINE)
_PASSED = re.compile(r"([0-9]+) tests? pass")
_TEST_TIME = re.compile(
    _STAMP + r"(\S+)\s+(?:\(cached\) )?(PASSED|FAILED|FLAKY|TIMEOUT) in ([0-9.]+)s$", re.MULTILINE
)

INTERNAL = "internal"
REMOTE_HIT = "remote cache hit"
DISK_HIT = "disk cache hit"


class BuildLogError(ValueError):
    """The log lacks a line the caller needs; the message names it."""


@dataclass(frozen=True)
class Processes:
    """One "INFO: N processes: ..." line, split into counts per kind."""

    total: int
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def cacheable(self) -> int:
        """Processes that could have come from a cache: all counted ones but Bazel's internal.

        Counted from the parts, not the total: a test action may spawn several processes, and
        then Bazel prints parts that add up to more than its total ("9 processes: 16 ...").
        """
        return sum(self.kinds.values()) - self.kinds.get(INTERNAL, 0)

    @property
    def remote_hits(self) -> int:
        return self.kinds.get(REMOTE_HIT, 0)

    @property
    def executed(self) -> int:
        """Processes that really ran: neither internal nor a cache hit."""
        cached = self.remote_hits + self.kinds.get(DISK_HIT, 0)
        return self.cacheable - cached


def parse_processes(log: str) -> Processes:
    """The last processes line of `log` (a build prints one; a failed one may print none)."""
    matches = list(_PROCESSES.finditer(log))
    if not matches:
        raise BuildLogError("no 'INFO: N processes' line in the build log")
    last = matches[-1]
    total = int(last.group(1))
    kinds: dict[str, int] = {}
    for part in (last.group(2) or "").split(","):
        part = part.strip().rstrip(".")
        if not part:
            continue
        found = _PART.match(part)
        if found is None:
            raise BuildLogError(f"cannot read {part!r} in the processes line")
        kinds[found.group(2)] = kinds.get(found.group(2), 0) + int(found.group(1))
    return Processes(total, kinds)


def parse_elapsed(log: str) -> float:
    """Seconds Bazel reports for the build itself (without client and server start-up)."""
    matches = _ELAPSED.findall(log)
    if not matches:
        raise BuildLogError("no 'INFO: Elapsed time' line in the build log")
    return float(matches[-1])


@dataclass(frozen=True)
class TestRun:
    """The summary of a `bazel test`: how many ran and passed, and each target's time.

    A sharded target prints its slowest shard ("PASSED in 29.1s" over "Stats over 3 runs").
    """

    executed: int
    total: int
    passed: int
    seconds: dict[str, float]


def parse_test_run(log: str) -> TestRun:
    """The "Executed N out of M tests" summary and the per-target lines above it."""
    matches = list(_EXECUTED.finditer(log))
    if not matches:
        raise BuildLogError("no 'Executed N out of M tests' line in the test log")
    last = matches[-1]
    passed = _PASSED.search(last.group(3))
    seconds = {m.group(1): float(m.group(3)) for m in _TEST_TIME.finditer(log)}
    return TestRun(
        int(last.group(1)), int(last.group(2)), int(passed.group(1)) if passed else 0, seconds
    )
