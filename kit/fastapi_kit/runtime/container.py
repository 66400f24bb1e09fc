"""Run a bundle under runc and clean up every trace of it, also when a test fails."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from kit_lib import runfiles
from kit_lib.ports import free_port

from runtime import _tools, bundle

# free_port is kit_lib's, re-exported for the runtime's callers.
__all__ = ["Container", "ContainerError", "free_port", "in_own_root", "request", "runc_binary"]


class ContainerError(RuntimeError):
    """The container could not be started or did not behave; one line says why."""


def runc_binary() -> str:
    """The runc to use: $RUNC if set, else the declared one in this library's runfiles."""
    if os.environ.get("RUNC"):
        return os.environ["RUNC"]
    found = runfiles.runfile(_tools.RUNC)
    if not found.exists():
        raise ContainerError(
            f"runc not found at {found}: run this through bazel (it provides runc)"
        )
    return str(found)


def descendants(root: int, proc: Path = Path("/proc")) -> list[int]:
    """`root` and every process below it, parents before children, from /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(stat.parent.name))
    if not (proc / str(root)).exists():
        return []
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return out


def _root_is_mount_point() -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == "/" for line in f)


def in_own_root(cmd: list[str]) -> list[str]:
    """Wrap `cmd` so that "/" is a mount point, which `runc run` needs.

    In a plain chroot (as ./bazelw's managed root) "/" is just a directory and runc fails with
    "mount dst=/ ... invalid argument". A private mount namespace where "/" is bind-mounted onto
    a directory, then chrooted into, fixes that without touching the host or the Bazel server.
    """
    if _root_is_mount_point():
        return cmd
    script = (
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin; d=$(mktemp -d)"
        ' && mount --rbind / "$d" && cd "$d" && exec chroot "$d" "$@"'
    )
    return [
        str(runfiles.runfile(_tools.UNSHARE)),
        "--mount",
        "--propagation",
        "unchanged",
        "--fork",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
        *cmd,
    ]


class Container:
    """One container, started in the foreground so its exit code is the process's own.

    Use as a context manager: on exit it kills, deletes the container and removes the bundle
    and runc's state, whatever happened inside.
    """

    def __init__(
        self, image_dir: str, run: bundle.RunSpec, name: str = "app", stream: bool = False
    ) -> None:
        self.stream = stream  # True: the container's output goes to ours, not to a log file
        self.image_dir = image_dir
        self.run = run
        self.id = f"{name}-{os.getpid()}-{time.monotonic_ns() % 10**9}"
        self.workdir = Path(tempfile.mkdtemp(prefix="oci-run-"))
        self.state = self.workdir / "state"
        self.bundle = self.workdir / "bundle"
        self.log = self.workdir / "container.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.runc = runc_binary()
        self.config: dict = {}

    def _runc(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [self.runc, "--root", str(self.state), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def start(self) -> Container:
        self.config = bundle.make_bundle(self.image_dir, self.bundle, self.run)
        cmd = [self.runc, "--root", str(self.state), "run", "--bundle", str(self.bundle), self.id]
        cmd = in_own_root(cmd)
        if self.stream:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        else:
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log
                )
        return self

    def __enter__(self) -> Container:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def output(self) -> str:
        """What the container printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pids(self) -> list[int]:
        """Host PIDs of the container's processes: its first process and all its descendants.

        Read from /proc, not `runc ps`, which lists a cgroup's members: rootless runc (./bazelw
        as a normal user) runs containers without a cgroup of their own. In the container's PID
        namespace orphans are re-parented to its first process, so the tree holds every process.
        """
        init = self._state_pid()
        return descendants(init) if init > 0 else []

    def _state_pid(self) -> int:
        """The first process's host PID as `runc state` reports it; 0 when there is none yet."""
        result = self._runc("state", self.id)
        return int(json.loads(result.stdout).get("pid") or 0) if result.returncode == 0 else 0

    def exec(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a command in the running container, as its user (so with no capabilities).

        `runc exec` cannot find the container's root when runc itself runs in a chroot (as under
        ./bazelw), so this enters the container's namespaces and root with nsenter instead.
        """
        pids = self.pids()
        if not pids:
            raise ContainerError("exec: the container has no running process")
        process = self.config["process"]
        uid, gid = process["user"]["uid"], process["user"]["gid"]
        nsenter = str(runfiles.runfile(_tools.NSENTER))
        cmd = [nsenter, "--target", str(pids[0]), "--mount", "--uts", "--ipc", "--pid"]
        cmd += [f"--root=/proc/{pids[0]}/root", f"--wdns={process['cwd']}"]
        # Switching to a non-zero uid clears every capability.
        cmd += [f"--setuid={uid}", f"--setgid={gid}", "--"]
        env = dict(e.split("=", 1) for e in process["env"])
        if self.run.emulator:
            cmd.append(bundle.EMULATOR)
        return subprocess.run(
            [*cmd, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
        )

    def init_pid(self, timeout: float = 10.0) -> int:
        """Host PID of the container's first process, once runc has created it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._state_pid()
            if pid > 0:
                return pid
            if not self.running():
                raise ContainerError(f"container exited early: {self.output()[-2000:]}")
            time.sleep(0.02)
        raise ContainerError(f"runc did not report a process for {self.id} within {timeout}s")

    def signal(self, sig: signal.Signals) -> None:
        result = self._runc("kill", self.id, sig.name.removeprefix("SIG"))
        if result.returncode != 0:
            raise ContainerError(f"runc kill {sig.name} failed: {result.stderr.strip()}")

    def wait(self, timeout: float | None) -> int:
        """Wait for the container to exit; return its exit code."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_http(
        self, port: int, path: str, timeout: float = 30.0, interval: float = 0.02
    ) -> float:
        """Poll http://127.0.0.1:port/path every `interval` s until 200; return the seconds."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not self.running():
                raise ContainerError(f"container exited early: {self.output()[-2000:]}")
            try:
                status, _ = request(port, path, timeout=1.0)
                if status == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(interval)
        raise ContainerError(f"no 200 from {path} within {timeout}s: {self.output()[-2000:]}")

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._runc("kill", self.id, "KILL")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._runc("delete", "--force", self.id)
        shutil.rmtree(self.workdir, ignore_errors=True)


def request(
    port: int,
    path: str,
    method: str = "GET",
    body: object = None,
    headers: dict | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    """One HTTP request to the container on loopback; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
