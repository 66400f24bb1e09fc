"""Tests for bench.buildlog: the closing lines of real Bazel 7 builds."""

from __future__ import annotations

import pytest

from bench import buildlog

LOCAL = """\
INFO: Analyzed target //:image (114 packages loaded, 983 targets configured).
INFO: Found 1 target...
INFO: Elapsed time: 19.354s, Critical Path: 3.28s
INFO: 24 processes: 19 internal, 5 processwrapper-sandbox.
INFO: Build completed successfully, 24 total actions
"""

REMOTE = """\
(21:44:01) INFO: Elapsed time: 7.100s, Critical Path: 0.91s
(21:44:01) INFO: 24 processes: 4 remote cache hit, 19 internal, 1 processwrapper-sandbox.
"""


def test_local_build() -> None:
    processes = buildlog.parse_processes(LOCAL)
    assert processes.total == 24
    assert processes.kinds == {"internal": 19, "processwrapper-sandbox": 5}
    assert processes.cacheable == 5
    assert processes.executed == 5
    assert processes.remote_hits == 0
    assert buildlog.parse_elapsed(LOCAL) == pytest.approx(19.354)


def test_remote_hits_with_timestamps() -> None:
    processes = buildlog.parse_processes(REMOTE)
    assert processes.remote_hits == 4
    assert processes.cacheable == 5
    assert processes.executed == 1
    assert buildlog.parse_elapsed(REMOTE) == pytest.approx(7.1)


def test_single_process_and_the_last_line_wins() -> None:
    log = "INFO: 3 processes: 3 internal.\nINFO: 1 process: 1 internal.\n"
    processes = buildlog.parse_processes(log)
    assert processes == buildlog.Processes(1, {"internal": 1})


def test_no_processes_at_all() -> None:
    assert buildlog.parse_processes("INFO: 0 processes.\n") == buildlog.Processes(0, {})


def test_missing_lines_are_errors() -> None:
    with pytest.raises(buildlog.BuildLogError, match="no 'INFO: N processes' line"):
        buildlog.parse_processes("ERROR: build failed\n")
    with pytest.raises(buildlog.BuildLogError, match="no 'INFO: Elapsed time' line"):
        buildlog.parse_elapsed("")


def test_parts_may_add_up_to_more_than_the_total() -> None:
    # Seen on `bazel test`: a test action spawns more than one process.
    processes = buildlog.parse_processes("INFO: 9 processes: 16 processwrapper-sandbox.\n")
    assert processes.total == 9
    assert processes.cacheable == 16
    assert processes.executed == 16


def test_unreadable_part_is_an_error() -> None:
    with pytest.raises(buildlog.BuildLogError, match="cannot read 'many internal'"):
        buildlog.parse_processes("INFO: 5 processes: many internal.\n")


def test_a_test_run_summary() -> None:
    log = (
        "(10:00:01) //a:slow_test                 PASSED in 29.1s\n"
        "  Stats over 3 runs: max = 29.1s, min = 15.9s, avg = 22.1s, dev = 5.4s\n"
        "//b:quick_test                           (cached) PASSED in 0.4s\n"
        "//c:broken_test                          FAILED in 2.0s\n"
        "  /path/to/test.log\n"
        "INFO: Elapsed time: 140.9s, Critical Path: 31.9s\n"
        "Executed 3 out of 3 tests: 2 tests pass and 1 fails locally.\n"
    )
    run = buildlog.parse_test_run(log)
    assert (run.executed, run.total, run.passed) == (3, 3, 2)
    assert run.seconds == {"//a:slow_test": 29.1, "//b:quick_test": 0.4, "//c:broken_test": 2.0}
    with pytest.raises(buildlog.BuildLogError, match="Executed N out of M"):
        buildlog.parse_test_run("INFO: Elapsed time: 1.0s\n")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
