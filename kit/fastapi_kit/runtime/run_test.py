"""Tests for run.py: how settings reach the container, and a real one-shot command under runc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime import container, run


def spec(argv: list[str], environ: dict[str, str] | None = None) -> run.bundle.RunSpec:
    return run.run_spec(run.parse_args(["IMAGE", *argv]), environ or {})


def test_passed_names_env_files_then_e_in_order(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("# comment\nA=from-file\nB=2\n\n")
    (tmp_path / "token").write_text("s3cret\n")
    environ = {
        "BUILD_WORKING_DIRECTORY": str(tmp_path),
        "PORT": "9000",
        "TOKEN_FILE": "token",
        "NOT_PASSED": "x",
    }
    got = spec(
        ["--pass", "PORT", "--pass", "TOKEN", "--env-file", "app.env", "-e", "A=from-flag"],
        environ,
    )
    assert got.env == {
        "PORT": "9000",
        "TOKEN_FILE": "/run/secrets/token",
        "A": "from-flag",
        "B": "2",
    }
    assert got.files == {"/run/secrets/token": str((tmp_path / "token").resolve())}
    assert got.command is None


@pytest.mark.parametrize("value", ["9000", "9000:9000"])
def test_publish_sets_the_port(value: str) -> None:
    spec = run.run_spec(run.parse_args(["IMAGE", "--publish", value]), {})
    assert spec.env["PORT"] == "9000"


def test_command_after_double_dash() -> None:
    args = run.parse_args(["IMAGE", "-e", "X=1", "--", "/bin/tool", "-e", "not-ours"])
    assert args.env == ["X=1"]
    assert args.command == ["/bin/tool", "-e", "not-ours"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-e", "NOVALUE"], "-e: expected NAME=VALUE, got 'NOVALUE'"),
        (["-e", "1X=1"], "-e: expected NAME=VALUE"),
        (["--env-file", "missing.env"], "--env-file: no such file"),
        (["--publish", "http"], "--publish: expected a port number, got 'http'"),
        (["--publish", "70000"], "--publish: expected a port number"),
        (["--publish", "9000:9001"], "--publish: expected a port number"),
        (["-p", "9000", "-e", "PORT=9001"], "--publish 9000 and PORT=9001 disagree"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("BUILD_WORKING_DIRECTORY", str(tmp_path))
    assert run.main([str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("run: error: ") and message in err and err.count("\n") == 1


def one_shot(*argv: str) -> subprocess.CompletedProcess[str]:
    image = Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"]
    cmd = [sys.executable, run.__file__, str(image), *argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_one_shot_command_runs_in_the_image_with_the_given_env() -> None:
    check = "import os, sys; print(os.getuid()); sys.exit(0 if os.environ['X'] == '1' else 3)"
    ok = one_shot("-e", "X=1", "--", "/opt/venv/bin/python", "-c", check)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "65532"
    assert "container exited with code 0" in ok.stderr
    other = one_shot("-e", "X=2", "--", "/opt/venv/bin/python", "-c", check)
    assert other.returncode == 3, other.stderr


@pytest.mark.parametrize(
    ("uid_map", "rootless"),
    [
        ("         0          0 4294967295\n", False),  # real root (or a plain process)
        ("         0       1001          1\n         1     100000      65536\n", True),  # ./bazelw
    ],
)
def test_sys_is_bind_mounted_only_in_a_user_namespace(
    tmp_path: Path, uid_map: str, rootless: bool
) -> None:
    f = tmp_path / "uid_map"
    f.write_text(uid_map)
    assert run.bundle.in_user_namespace(str(f)) is rootless


def test_descendants_walk_the_process_tree(tmp_path: Path) -> None:
    """pids() without a cgroup: the container's first process and what it started, only."""
    for pid, comm, ppid in [(1, "init", 0), (10, "runc init", 1), (11, "py (x) y", 10),
                            (12, "worker", 11), (20, "other", 1)]:  # fmt: skip
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} ({comm}) S {ppid} 0 0\n")
    assert container.descendants(10, tmp_path) == [10, 11, 12]
    assert container.descendants(99, tmp_path) == []


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
