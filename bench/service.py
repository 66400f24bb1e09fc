"""Throughput, latency and memory of the image's server under wrk, per event loop and parser.

Two containers of the same image run side by side under runc (read-only root, one uvicorn
worker): one with uvloop + httptools (what "auto" picks), one with the pure-Python asyncio +
h11, chosen with the launcher's LOOP and HTTP settings. wrk (one thread, a fixed number of
keep-alive connections) loads each endpoint of each container in turns, several rounds, and
the medians are reported, so both variants see the same machine and their ratio is fair.

On a machine with two or more CPUs the servers are pinned to CPU 0 and wrk to CPU 1, so the
load generator does not steal the server's CPU (without pinning, a 2-CPU machine measures
mostly the scheduler). Memory is the server process's VmRSS from /proc: once at idle (ready
and seeded, before any load), and the peak while under load.

Run with `./bazelw run //bench:service -- --out FILE [--duration S] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kit_lib import runfiles
from runtime import bundle, container

from bench import _tools, common

VARIANTS: dict[str, dict[str, str]] = {
    "uvloop+httptools": {"LOOP": "uvloop", "HTTP": "httptools"},
    "asyncio+h11": {"LOOP": "asyncio", "HTTP": "h11"},
    # The same app, image and loop, served by plain uvicorn instead of the kit's launcher: what
    # the launcher's guard (body limit, head limit, request deadline) costs per request.
    "uvloop+httptools, plain uvicorn": {"LOOP": "uvloop", "HTTP": "httptools"},
}
PLAIN = "uvloop+httptools, plain uvicorn"
PLAIN_COMMAND = [
    "/opt/venv/bin/python", "-m", "uvicorn", "--factory", "app.main:create_app_from_environ",
    "--host", "0.0.0.0", "--loop", "uvloop", "--http", "httptools", "--no-server-header",
]  # fmt: skip
ENDPOINTS = ("/health", "/api/v1/todos")
TOKEN = "bench-token"
SEED_TODOS = 20
MARKER = "BENCH_JSON "

# wrk calls done() once at the end; percentiles are in microseconds.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%s{\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d," ..
    "\\"max_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d," ..
    "\\"timeout\\":%d}\\n",
    "MARKER", summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
""".replace("MARKER", MARKER)


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures our done() hook printed: requests/s, p50/p99 in ms, and error counts."""
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise common.BenchError(f"wrk printed no result line: {output.strip()[-300:]!r}")
    raw = json.loads(lines[-1][len(MARKER) :])
    seconds = raw["duration_us"] / 1e6
    if seconds <= 0:
        raise common.BenchError("wrk reported a zero duration")
    errors = {k: raw[k] for k in ("connect", "read", "write", "timeout")}
    return {
        "requests": raw["requests"],
        "seconds": seconds,
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non_2xx": raw["status"],
        "socket_errors": sum(errors.values()),
    }


def vm_rss_kib(pid: int) -> int:
    """Resident set size of `pid` in KiB (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise common.BenchError(f"no VmRSS for pid {pid} (a kernel thread?)")


@contextlib.contextmanager
def rss_peak(pid: int, interval: float = 0.1) -> Iterator[list[int]]:
    """Sample VmRSS of `pid` in a thread while the block runs; yields [peak KiB] afterwards."""
    peak = [vm_rss_kib(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(OSError, common.BenchError):
                peak[0] = max(peak[0], vm_rss_kib(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def pin(pids: list[int], cpu: int) -> bool:
    """Move every thread of `pids` to one CPU; False when taskset refuses."""
    taskset = str(runfiles.runfile(_tools.TASKSET))
    ok = True
    for pid in pids:
        cmd = [taskset, "--all-tasks", "--pid", "--cpu-list", str(cpu), str(pid)]
        result = subprocess.run(cmd, capture_output=True, check=False)
        ok = ok and result.returncode == 0
    return ok


class Load:
    """Runs wrk against loopback ports with fixed settings."""

    def __init__(self, connections: int, wrk_cpu: int | None, workdir: Path) -> None:
        wrk = str(runfiles.runfile(_tools.WRK))
        self.script = workdir / "report.lua"
        self.script.write_text(WRK_SCRIPT)
        self.prefix = (
            []
            if wrk_cpu is None
            else [str(runfiles.runfile(_tools.TASKSET)), "--cpu-list", str(wrk_cpu)]
        )
        self.wrk = wrk
        self.connections = connections

    def run(self, port: int, path: str, seconds: float) -> dict[str, Any]:
        cmd = [
            *self.prefix,
            self.wrk,
            "--threads",
            "1",
            "--connections",
            str(self.connections),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "--script",
            str(self.script),
            f"http://127.0.0.1:{port}{path}",
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=seconds + 60, check=False
            )
        except subprocess.TimeoutExpired:
            raise common.BenchError(f"wrk on {path} did not finish in time") from None
        if done.returncode != 0:
            raise common.BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
        return parse_wrk(done.stdout)


def _seed(port: int, count: int) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for i in range(count):
        todo = {"title": f"todo {i}", "description": "seeded by bench/service.py"}
        status, body = container.request(port, "/api/v1/todos", "POST", todo, auth)
        if status != 201:
            raise common.BenchError(f"seeding a todo failed: {status} {body[:200]!r}")


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of one variant on one endpoint."""
    return {
        "rps": statistics.median(s["rps"] for s in samples),
        "p50_ms": statistics.median(s["p50_ms"] for s in samples),
        "p99_ms": statistics.median(s["p99_ms"] for s in samples),
        "requests": sum(s["requests"] for s in samples),
        "non_2xx": sum(s["non_2xx"] for s in samples),
        "socket_errors": sum(s["socket_errors"] for s in samples),
        "rss_peak_kib": max(s["rss_peak_kib"] for s in samples),
        "samples": samples,
    }


def measure(
    image_dir: str, seconds: float, rounds: int, connections: int, warmup: float
) -> dict[str, Any]:
    """Start one container per variant, load each endpoint in turns, return medians."""
    pinned = (os.cpu_count() or 1) >= 2
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        servers: dict[str, tuple[int, int]] = {}
        for name, settings in VARIANTS.items():
            port = container.free_port()
            env = {"PORT": str(port), "API_TOKEN": TOKEN, **settings}
            command = [*PLAIN_COMMAND, "--port", str(port)] if name == PLAIN else None
            run = bundle.RunSpec(env=env, read_only=True, command=command)
            c = stack.enter_context(container.Container(image_dir, run, name="bench-service"))
            c.wait_http(port, "/ready", timeout=60)
            _seed(port, SEED_TODOS)
            pid = c.init_pid()
            if pinned:
                pinned = pin(c.pids(), 0)
            servers[name] = (port, pid)
        load = Load(connections, 1 if pinned else None, workdir)
        time.sleep(1.0)
        idle = {name: vm_rss_kib(pid) for name, (_, pid) in servers.items()}
        for port, _ in servers.values():
            for path in ENDPOINTS:
                load.run(port, path, warmup)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {path: [] for path in ENDPOINTS} for name in servers
        }
        for r in range(rounds):
            for path in ENDPOINTS:
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    port, pid = servers[name]
                    with rss_peak(pid) as peak:
                        result = load.run(port, path, seconds)
                    result["rss_peak_kib"] = peak[0]
                    runs[name][path].append(result)
                    print(
                        f"service: {name} {path} round {r + 1}/{rounds}: "
                        f"{result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms",
                        file=sys.stderr,
                    )
    variants = {
        name: {
            "settings": VARIANTS[name],
            "rss_idle_kib": idle[name],
            "endpoints": {path: summarize(samples) for path, samples in by_path.items()},
        }
        for name, by_path in runs.items()
    }
    fast, slow, plain = list(VARIANTS)

    def ratio(a: str, b: str) -> dict[str, float]:
        return {
            path: variants[a]["endpoints"][path]["rps"] / variants[b]["endpoints"][path]["rps"]
            for path in ENDPOINTS
        }

    return {
        "settings": {
            "seconds": seconds,
            "rounds": rounds,
            "connections": connections,
            "wrk_threads": 1,
            "workers": 1,
            "pinned": "server on CPU 0, wrk on CPU 1" if pinned else "no",
            "seeded_todos": SEED_TODOS,
        },
        "variants": variants,
        "rps_ratio": {"of": f"{fast} / {slow}", "by_endpoint": ratio(fast, slow)},
        "launcher_ratio": {"of": f"launcher / {plain}", "by_endpoint": ratio(fast, plain)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="service", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--image", required=True, help="the image layout to run")
    parser.add_argument("--duration", type=common.positive_float, default=10.0, help="seconds")
    parser.add_argument("--rounds", type=common.positive_int, default=3)
    parser.add_argument("--connections", type=common.positive_int, default=32)
    parser.add_argument("--warmup", type=common.positive_float, default=1.0, help="seconds")
    args = parser.parse_args(argv)
    try:
        image = common.named_paths([f"image={args.image}"])["image"]
        results = measure(image, args.duration, args.rounds, args.connections, args.warmup)
    except (common.BenchError, container.ContainerError, OSError) as err:
        print(f"service: error: {err}", file=sys.stderr)
        return 1
    common.write_json(Path(args.out), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
