"""A remote-execution cluster on this machine: BuildGrid with buildbox workers, on loopback.

`./bazelw build --config=rbe //:image` sends every action to it. The cluster runs inside
./bazelw's managed root (this program is started with `./bazelw run`), so a worker runs each
action with the same /usr/bin/python3.13, bash and tools as a local build, which is why a
remote build gives the same image digest as a local one.

    start   a PostgreSQL server (BuildGrid's scheduler state) on a unix socket, the BuildGrid
            server on 127.0.0.1:PORT, and per worker a buildbox-casd (its local CAS) and a
            buildbox-worker that runs jobs with buildbox-run-hosttools
    status  what runs, how many workers are registered, and how many jobs each has run
    stop    stops every process it started and removes the state, logs aside

Everything it starts is recorded, with its start time, in STATE/cluster.json, so `stop` never
signals a process that merely reuses a recorded pid. BuildGrid itself comes from PyPI into a
venv this program makes once, from tools/rbe/buildgrid.txt (every wheel pinned by sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kit_lib import runfiles
from kit_lib.processes import start_ticks

from tools.rbe import _tools

DEFAULT_STATE = Path("/var/tmp/kit-rbe")
VENV_CACHE = Path("/var/cache/kit-rbe")
DEFAULT_PORT = 50051
DEFAULT_INSTANCE = "kit"
# PostgreSQL refuses to run as root: in ./bazelw's namespace it runs as nobody.
NOBODY = 65534
PLATFORM = {"OSFamily": "linux", "ISA": "x86-64"}


class ClusterError(Exception):
    """Why the cluster could not be started or stopped, in one line."""


@dataclass
class Process:
    """One process the cluster started: enough to find it again and to know it is still it."""

    role: str
    pid: int
    started: int  # field 22 of /proc/PID/stat: ticks since boot, unique with the pid
    log: str


@dataclass
class State:
    """What `start` leaves in STATE/cluster.json for `status` and `stop`."""

    port: int
    instance: str
    workers: int
    processes: list[Process]

    @property
    def endpoint(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"


def render_config(template: str, port: int, socket_dir: Path, instance: str) -> str:
    """BuildGrid's YAML for this cluster: the template with its three placeholders filled."""
    out = template
    for key, value in (
        ("@PORT@", str(port)),
        ("@SOCKET@", str(socket_dir)),
        ("@INSTANCE@", instance),
    ):
        if key not in out:
            raise ClusterError(f"the BuildGrid config template has no {key}")
        out = out.replace(key, value)
    return out


def venv_key(requirements: bytes) -> str:
    """The venv's folder name: a new pin list makes a new venv, the old one stays usable."""
    return "venv-" + hashlib.sha256(requirements).hexdigest()[:12]


def write_state(path: Path, state: State) -> None:
    tmp = path.with_name(path.name + f".tmp.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(path)


def read_state(path: Path) -> State | None:
    """The recorded cluster, or None when there is none; a damaged file is an error."""
    try:
        raw = json.loads(path.read_text())
        return State(
            port=int(raw["port"]),
            instance=str(raw["instance"]),
            workers=int(raw["workers"]),
            processes=[Process(**p) for p in raw["processes"]],
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:
        raise ClusterError(f"{path} is not a cluster record ({e}); remove it by hand") from e


def alive(p: Process) -> bool:
    return start_ticks(p.pid) == p.started


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    what: str, ready: Callable[[], bool], proc: subprocess.Popen | None, log: Path, timeout: float
) -> None:
    """Wait until `ready()`; fail naming `what` and its log's last line if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            raise ClusterError(f"{what} exited with code {proc.returncode}: {last_line(log)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} was not ready within {timeout:.0f} s: {last_line(log)}")
        time.sleep(0.1)


def last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "(no log)"
    return f"{lines[-1].strip()} (see {log})" if lines else f"(empty log {log})"


def tool(name: str) -> str:
    """A declared program's real path (buildbox-worker needs the runner's absolute path)."""
    return os.path.realpath(runfiles.runfile(getattr(_tools, name)))


class Launcher:
    """Starts the cluster's processes detached from this one, each logging to its own file."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.logs = state_dir / "logs"
        self.started: list[Process] = []
        self.popen: dict[str, subprocess.Popen] = {}

    def run(self, role: str, argv: list[str], as_nobody: bool = False) -> subprocess.Popen:
        log = self.logs / f"{role}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,  # outlives `bazel run`; Ctrl-C there does not reach it
                **_nobody() if as_nobody else {},
            )
        ticks = start_ticks(proc.pid)
        self.started.append(Process(role, proc.pid, ticks if ticks is not None else -1, str(log)))
        self.popen[role] = proc
        return proc


def _nobody() -> dict:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def ensure_venv(requirements: Path, cache: Path) -> Path:
    """BuildGrid's venv, made once per pin list; a half-made one (no marker) is made again.

    The venv points at the interpreter's real path: sys.executable is a link in a Bazel
    runfiles tree, which goes with its output base (bench/run.sh deletes its own).
    """
    data = requirements.read_bytes()
    venv = cache / venv_key(data)
    marker = venv / ".complete"
    if marker.is_file() and (venv / "bin/python").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    log = cache / f"{venv.name}.log"
    print(f"rbe: installing BuildGrid into {venv} (once)", file=sys.stderr)
    steps = [
        [os.path.realpath(sys.executable), "-m", "venv", str(venv)],
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(requirements),
        ],
    ]
    with open(log, "wb") as out:
        for argv in steps:
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                shutil.rmtree(venv, ignore_errors=True)
                raise ClusterError(f"installing BuildGrid failed: {last_line(log)}")
    marker.write_text(data.decode())
    return venv


def sql(socket_dir: Path, query: str, database: str = "bgd") -> list[list[str]]:
    """Rows of `query` against the scheduler's database, as psql prints them unaligned."""
    argv = [
        tool("PSQL"),
        "-h",
        str(socket_dir),
        "-U",
        "bgd",
        "-d",
        database,
        "-XAtq",
        "-F",
        "\t",
        "-c",
        query,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=False, **_nobody())
    if out.returncode:
        raise ClusterError(f"the scheduler's database did not answer: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def registered_bots(socket_dir: Path) -> int:
    return int(sql(socket_dir, "select count(*) from bots")[0][0])


def jobs_per_worker(socket_dir: Path) -> dict[str, int]:
    """Completed jobs per worker: proof of where the actions ran."""
    rows = sql(
        socket_dir,
        "select worker_name, count(*) from jobs where worker_name is not null group by 1",
    )
    return {name: int(n) for name, n in rows}


def start(args: argparse.Namespace) -> int:
    state_dir: Path = args.state
    record = state_dir / "cluster.json"
    old = read_state(record)
    if old and any(alive(p) for p in old.processes):
        raise ClusterError(
            f"a cluster already runs from {state_dir} ({old.endpoint}); stop it first: "
            f"./bazelw run //tools/rbe:cluster -- stop --state {state_dir}"
        )
    port = args.port or free_port()
    if not port_free(port):
        raise ClusterError(f"port {port} on 127.0.0.1 is in use; pick another with --port")
    venv = ensure_venv(Path(runfiles.runfile(_tools.REQUIREMENTS)), args.venv_cache)

    _clear(state_dir)
    sockets, pgdata = state_dir / "pg-socket", state_dir / "pg-data"
    for d in (state_dir / "logs", sockets, pgdata):
        d.mkdir(parents=True)
    if os.geteuid() == 0:
        for d in (sockets, pgdata):
            os.chown(d, NOBODY, NOBODY)
    launch = Launcher(state_dir)
    try:
        _start_all(launch, args, port, venv, sockets, pgdata)
    except BaseException:
        _stop_processes(launch.started)
        raise
    state = State(port, args.instance, args.workers, launch.started)
    write_state(record, state)
    print(
        f"rbe: cluster up at {state.endpoint}, instance {args.instance}, {args.workers} worker(s) "
        f"(state and logs in {state_dir})\n"
        f"rbe: build with: ./bazelw build --config=rbe"
        f"{'' if port == DEFAULT_PORT else f' --remote_executor={state.endpoint}'} //:image\n"
        f"rbe: stop with: ./bazelw run //tools/rbe:cluster -- stop"
        f"{'' if state_dir == DEFAULT_STATE else f' --state {state_dir}'}"
    )
    return 0


def _start_all(
    launch: Launcher, args: argparse.Namespace, port: int, venv: Path, sockets: Path, pgdata: Path
) -> None:
    logs = launch.logs
    _run_once(
        "initdb",
        [tool("INITDB"), "-D", str(pgdata), "-U", "bgd", "--auth=trust", "-E", "UTF8", "--no-sync"],
        logs,
        as_nobody=True,
    )
    # Scheduler state is throw-away: no fsync, no TCP.
    pg = launch.run(
        "postgres",
        [
            tool("POSTGRES"),
            "-D",
            str(pgdata),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
        ],
        as_nobody=True,
    )
    wait_for("PostgreSQL", (sockets / ".s.PGSQL.5432").exists, pg, logs / "postgres.log", 30)
    sql(sockets, "create database bgd", database="postgres")
    url = f"postgresql+psycopg://bgd@/bgd?host={sockets}"
    _run_once("migrate", [str(venv / "bin/bgd"), "migrate", "apply", url], logs)

    template = Path(runfiles.runfile(_tools.CONFIG)).read_text()
    config = launch.state_dir / "buildgrid.yml"
    config.write_text(render_config(template, port, sockets, args.instance))
    bgd = launch.run("buildgrid", [str(venv / "bin/bgd"), "server", "start", str(config)])
    wait_for("the BuildGrid server", lambda: not port_free(port), bgd, logs / "buildgrid.log", 60)

    remote = f"http://127.0.0.1:{port}"
    platform = [f"--platform={k}={v}" for k, v in PLATFORM.items()]
    # A busy server answers RESOURCE_EXHAUSTED; a worker that does not retry it quits.
    retry = ["--retry-limit=5", "--retry-delay=200", "--retry-on-code=RESOURCE_EXHAUSTED"]
    for n in range(1, args.workers + 1):
        home = launch.state_dir / f"worker-{n}"
        (home / "cas").mkdir(parents=True)
        sock = home / "casd.sock"
        casd = launch.run(
            f"casd-{n}",
            [
                tool("CASD"),
                f"--remote={remote}",
                f"--instance={args.instance}",
                *retry,
                f"--bind=unix:{sock}",
                str(home / "cas"),
            ],
        )
        wait_for(f"buildbox-casd of worker {n}", sock.exists, casd, logs / f"casd-{n}.log", 30)
        launch.run(
            f"worker-{n}",
            [
                tool("WORKER"),
                f"--bots-remote={remote}",
                f"--bots-instance={args.instance}",
                f"--cas-remote=unix:{sock}",
                f"--buildbox-run={tool('RUNNER')}",
                # FUSE staging needs /dev/fuse and fusermount3, which a rootless user
                # namespace lacks; hard links work for every user and leave no mount.
                "--runner-arg=--staging-mode=copy-or-link",
                *retry,
                *platform,
                f"worker-{n}",
            ],
        )
    workers = [launch.popen[f"worker-{n}"] for n in range(1, args.workers + 1)]

    def all_registered() -> bool:
        for n, w in enumerate(workers, 1):
            if w.poll() is not None:
                raise ClusterError(
                    f"worker {n} exited with code {w.returncode}: "
                    f"{last_line(logs / f'worker-{n}.log')}"
                )
        return registered_bots(sockets) >= args.workers

    wait_for(
        f"{args.workers} worker(s) registering", all_registered, bgd, logs / "buildgrid.log", 60
    )


def _run_once(step: str, argv: list[str], logs: Path, as_nobody: bool = False) -> None:
    log = logs / f"{step}.log"
    with open(log, "wb") as out:
        code = subprocess.run(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=logs,
            check=False,
            **_nobody() if as_nobody else {},
        ).returncode
    if code:
        raise ClusterError(f"{step} failed with code {code}: {last_line(log)}")


def _stop_processes(processes: list[Process], grace: float = 10.0) -> list[str]:
    """Stop them last-started first (workers before the server before PostgreSQL).

    Returns the roles that would not stop. PostgreSQL gets SIGINT, its fast shutdown.
    """
    stubborn = []
    for p in reversed(processes):
        if not alive(p):
            continue
        os.kill(p.pid, signal.SIGINT if p.role == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(p) and time.monotonic() < deadline:
            _reap(p.pid)
            time.sleep(0.05)
        if alive(p):
            os.kill(p.pid, signal.SIGKILL)
            time.sleep(0.2)
            _reap(p.pid)
            if alive(p):
                stubborn.append(p.role)
    return stubborn


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _clear(state_dir: Path) -> None:
    """Empty the cluster's folder for a new start; refuse a folder that is not a cluster's."""
    if not state_dir.exists():
        return
    entries = list(state_dir.iterdir())
    if entries and not any(e.name in ("cluster.json", "logs") for e in entries):
        raise ClusterError(
            f"{state_dir} is not a cluster's folder (no cluster.json or logs); "
            "name a new one with --state"
        )
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def stop(args: argparse.Namespace) -> int:
    record = args.state / "cluster.json"
    state = read_state(record)
    if state is None:
        print(f"rbe: no cluster recorded in {args.state}: nothing to stop", file=sys.stderr)
        return 0
    stubborn = _stop_processes(state.processes)
    if stubborn:
        raise ClusterError(f"these would not stop, even with SIGKILL: {', '.join(stubborn)}")
    if not port_free(state.port):
        raise ClusterError(f"every process stopped but port {state.port} is still taken")
    for entry in args.state.iterdir():
        if entry.name != "logs":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    print(
        f"rbe: stopped {len(state.processes)} process(es); port {state.port} is free "
        f"(logs kept in {args.state / 'logs'})"
    )
    return 0


def status(args: argparse.Namespace) -> int:
    state = read_state(args.state / "cluster.json")
    if state is None:
        raise ClusterError(
            f"no cluster recorded in {args.state}; "
            "start one: ./bazelw run //tools/rbe:cluster -- start"
        )
    running = {p.role: alive(p) for p in state.processes}
    sockets = args.state / "pg-socket"
    up = all(running.values())
    report = {
        "endpoint": state.endpoint,
        "instance": state.instance,
        "workers": state.workers,
        "running": running,
        "registered_workers": registered_bots(sockets) if running.get("postgres") else 0,
        "jobs_per_worker": jobs_per_worker(sockets) if running.get("postgres") else {},
    }
    if args.json:
        tmp = args.json.with_name(args.json.name + f".tmp.{os.getpid()}")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(args.json)
    print(f"rbe: {state.endpoint} instance {state.instance}: {'up' if up else 'DEGRADED'}")
    for role, ok in running.items():
        print(f"  {role:<12} {'running' if ok else 'gone'}")
    print(
        f"  registered workers: {report['registered_workers']}; "
        f"jobs per worker: {report['jobs_per_worker']}"
    )
    return 0 if up else 1


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _port(text: str) -> int:
    n = int(text)
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{n} is not a TCP port")
    return n


def _absolute(text: str) -> Path:
    path = Path(text)
    if not path.is_absolute():
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute path")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cluster", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "status", "stop"):
        p = sub.add_parser(name)
        p.add_argument(
            "--state",
            type=_absolute,
            default=DEFAULT_STATE,
            help=f"the cluster's folder inside the managed root (default {DEFAULT_STATE})",
        )
        if name == "start":
            p.add_argument(
                "--workers", type=_positive, default=2, help="buildbox workers (default 2)"
            )
            p.add_argument(
                "--port",
                type=_port,
                default=DEFAULT_PORT,
                help=f"BuildGrid's port on 127.0.0.1 (default {DEFAULT_PORT}; 0: a free one)",
            )
            p.add_argument(
                "--instance",
                default=DEFAULT_INSTANCE,
                help=f"the REAPI instance name (default {DEFAULT_INSTANCE})",
            )
            p.add_argument(
                "--venv-cache", type=_absolute, default=VENV_CACHE, help=argparse.SUPPRESS
            )
        if name == "status":
            p.add_argument(
                "--json", type=_absolute, help="also write the status as JSON to this file"
            )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return {"start": start, "status": status, "stop": stop}[args.command](args)
    except ClusterError as e:
        print(f"rbe: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
