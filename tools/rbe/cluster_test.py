"""Tests for the cluster tool's own logic: config, records, refusals. The cluster itself runs in
bench/run.sh (a remote build of //:image compared with a local one) and in CI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kit_lib import runfiles

from tools.rbe import _tools, cluster


def _template() -> str:
    return Path(runfiles.runfile(_tools.CONFIG)).read_text()


def test_config_names_port_socket_and_instance():
    text = cluster.render_config(_template(), 41234, Path("/var/tmp/x/pg-socket"), "ci")
    assert '"127.0.0.1:41234"' in text
    assert "host=/var/tmp/x/pg-socket" in text
    assert '- name: "ci"' in text
    assert "@" + "PORT@" not in text and "@" + "INSTANCE@" not in text


def test_config_bounds_job_attempts_so_a_broken_runner_fails_the_build():
    # Without max-job-attempts BuildGrid re-queues a job whose runner failed, and Bazel waits.
    assert "max-job-attempts: 2" in _template()


def test_a_template_without_a_placeholder_is_refused():
    with pytest.raises(cluster.ClusterError, match="@SOCKET@"):
        cluster.render_config("@PORT@ @INSTANCE@", 1, Path("/s"), "i")


def test_every_pin_has_a_hash():
    lines = [
        ln
        for ln in Path(runfiles.runfile(_tools.REQUIREMENTS)).read_text().splitlines()
        if ln and not ln.startswith("#")
    ]
    assert any(ln.startswith("buildgrid==") for ln in lines)
    for ln in lines:
        assert "==" in ln and "--hash=sha256:" in ln, ln


def test_state_round_trips_and_a_damaged_record_is_one_error(tmp_path: Path):
    state = cluster.State(50051, "kit", 2, [cluster.Process("postgres", 10, 20, "/l")])
    record = tmp_path / "cluster.json"
    cluster.write_state(record, state)
    assert cluster.read_state(record) == state
    assert [p.name for p in tmp_path.iterdir()] == ["cluster.json"]  # no temp file left
    record.write_text("{not json")
    with pytest.raises(cluster.ClusterError, match="not a cluster record"):
        cluster.read_state(record)
    assert cluster.read_state(tmp_path / "none.json") is None


def test_a_reused_pid_is_not_the_recorded_process():
    me = cluster.Process("x", os.getpid(), cluster.start_ticks(os.getpid()) or -1, "")
    assert cluster.alive(me)
    assert not cluster.alive(cluster.Process("x", os.getpid(), me.started + 1, ""))


# A child that notes each SIGTERM in a file, then exits: _stop_processes reaps what it stops, so
# the child's exit status is not the test's to read.
_NOTES_SIGTERM = """\
import signal, sys, time
def term(*_):
    with open(sys.argv[1], "a") as f:
        f.write("TERM\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
time.sleep(60)
"""


def test_stop_signals_only_live_recorded_processes_and_reports_none_stubborn(tmp_path: Path):
    notes = tmp_path / "signals"
    child = subprocess.Popen(
        [sys.executable, "-c", _NOTES_SIGTERM, str(notes)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    proc = cluster.Process("worker-1", child.pid, cluster.start_ticks(child.pid) or -1, "")
    gone = cluster.Process("worker-2", child.pid, proc.started + 7, "")  # same pid, other process
    assert cluster._stop_processes([gone], grace=5) == []
    assert child.poll() is None and not notes.exists()  # another process's pid: left alone
    assert cluster._stop_processes([gone, proc], grace=5) == []
    assert notes.read_text() == "TERM\n"  # one SIGTERM, and it is gone
    assert not cluster.alive(proc)
    child.wait(timeout=5)


def test_start_refuses_a_running_cluster_and_a_taken_port(tmp_path: Path, capsys):
    state = cluster.State(
        50051,
        "kit",
        1,
        [cluster.Process("buildgrid", os.getpid(), cluster.start_ticks(os.getpid()) or -1, "")],
    )
    cluster.write_state(tmp_path / "cluster.json", state)
    assert cluster.main(["start", "--state", str(tmp_path)]) == 1
    assert "a cluster already runs from" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert cluster.main(["start", "--state", str(tmp_path / "new"), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and err.count("\n") == 1


def test_a_folder_that_is_not_a_clusters_is_never_emptied(tmp_path: Path):
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(cluster.ClusterError, match="not a cluster's folder"):
        cluster._clear(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep"


def test_bad_arguments_are_usage_errors(capsys):
    for argv in (
        ["start", "--workers", "0"],
        ["start", "--port", "70000"],
        ["stop", "--state", "rel/dir"],
    ):
        with pytest.raises(SystemExit) as e:
            cluster.parse_args(argv)
        assert e.value.code == 2


def test_stop_without_a_cluster_says_so(tmp_path: Path, capsys):
    assert cluster.main(["stop", "--state", str(tmp_path)]) == 0
    assert "nothing to stop" in capsys.readouterr().err


def test_status_without_a_cluster_is_an_error(tmp_path: Path, capsys):
    assert cluster.main(["status", "--state", str(tmp_path)]) == 1
    assert "no cluster recorded" in capsys.readouterr().err


def test_venv_folder_follows_the_pins():
    assert cluster.venv_key(b"a==1") != cluster.venv_key(b"a==2")
    assert cluster.venv_key(b"a==1") == cluster.venv_key(b"a==1")


def test_a_venv_whose_interpreter_went_away_is_made_again(tmp_path: Path):
    # The case bench/run.sh hit: the venv was made from a runfiles link it then deleted.
    pins = tmp_path / "pins.txt"
    pins.write_text("")
    venv = tmp_path / cluster.venv_key(b"")
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").symlink_to(tmp_path / "gone/python3.13")
    (venv / ".complete").write_text("")
    assert cluster.ensure_venv(pins, tmp_path) == venv
    python = (venv / "bin/python").resolve()
    assert python.is_file() and "runfiles" not in str(python)
    ran = subprocess.run(
        [venv / "bin/python", "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == str(venv)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
