"""`./bazelw run //tools/probe`: attack //:image under runc, as a hostile client would.

Runs the image as its Deployment does (uid 65532, read-only root, a memory limit, default
1 MiB body limit) and measures what three cheap attacks do to it:

1. one unauthenticated 100 MB POST (a declared Content-Length, then the bytes);
2. four parallel requests with a 50 MB header each;
3. 1,100 connections that send half a request head and stop (slowloris), while /health is
   timed.

It prints, for each, the answers, the container's memory use (cgroup) before and at its peak,
and whether the container survived. Exit 0 when all three were contained, 1 otherwise.
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from pathlib import Path

from kit_lib import hostile, runfiles
from runtime import bundle, container

MiB = 1 << 20


def _cgroup_bytes(c: container.Container, name: str) -> int:
    """memory.usage_in_bytes / max_usage_in_bytes of the container's cgroup (v1) or v2 files."""
    pid = c.init_pid()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/memory{path}/{name}").read_text())
    raise RuntimeError("no memory cgroup")


def _state(c: container.Container, port: int) -> str:
    """ "alive" when the container still answers /health, else how it ended."""
    try:
        if c.running() and container.request(port, "/health", timeout=5)[0] == 200:
            return "alive"
    except OSError:
        pass
    if c.running():
        return "not answering"
    return f"dead (exit {c.wait(timeout=5)}; OOM-killed: exit 137)"


def _peak(c: container.Container, seen: float) -> float:
    """The cgroup's peak so far, or the last one seen once the container is gone."""
    try:
        return max(seen, _cgroup_bytes(c, "memory.max_usage_in_bytes") / MiB)
    except (OSError, RuntimeError, container.ContainerError):
        return seen


def _flood(port: int, head: bytes, total: int) -> bytes:
    """The status line the server answered a flood with."""
    return hostile.flood(port, head, total).split(b"\r\n", 1)[0]


def attack_body(c: container.Container, port: int, args: argparse.Namespace) -> bool:
    head = (b"POST /api/v1/todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (100 * MiB))  # fmt: skip
    answer = _flood(port, head, 100 * MiB)
    peak, state = _peak(c, 0), _state(c, port)
    print(f"100 MB unauthenticated POST: {answer.decode()!r}; peak {peak:.1f} MiB; {state}")
    return state == "alive" and b" 413 " in answer


def attack_headers(c: container.Container, port: int, args: argparse.Namespace) -> bool:
    answers: list[bytes] = []
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
    threads = [
        threading.Thread(target=lambda: answers.append(_flood(port, big, 50 * MiB)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak, state = _peak(c, 0), _state(c, port)
    shown = sorted({a.decode() for a in answers})
    print(f"4 x 50 MB header: {shown}; peak {peak:.1f} MiB; {state}")
    return state == "alive" and all(b" 431 " in a for a in answers)


def attack_slow(c: container.Container, port: int, args: argparse.Namespace) -> bool:
    held = hostile.half_open(port, 1100)
    start = time.monotonic()
    try:
        status: int | str = container.request(port, "/health", timeout=5)[0]
    except OSError as exc:
        status = f"no answer ({exc.__class__.__name__})"
    latency = time.monotonic() - start
    time.sleep(float(args.timeout_request) + 1)
    expired = hostile.answered(held, b"HTTP/1.1 408 ")
    peak, state = _peak(c, 0), _state(c, port)
    print(
        f"{len(held):,} half-open connections: /health {status} in {latency * 1000:.0f} ms "
        f"while held; {expired} answered 408 after {args.timeout_request} s; "
        f"peak {peak:.1f} MiB; {state}"
    )
    return state == "alive" and status == 200 and latency < 1.0 and expired == len(held) == 1100


ATTACKS = {"body": attack_body, "headers": attack_headers, "slow": attack_slow}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="probe", description=__doc__.splitlines()[0])
    parser.add_argument("image", help="rlocationpath of the image (set by the target)")
    parser.add_argument("--memory", type=int, default=256, help="memory limit in MiB")
    parser.add_argument("--timeout-request", default="5", help="the launcher's TIMEOUT_REQUEST")
    parser.add_argument("--image-dir", help="another image layout to attack (an absolute path)")
    parser.add_argument("--attacks", default="body,headers,slow", help="which, in order")
    args = parser.parse_args(argv)
    chosen = args.attacks.split(",")
    if not chosen or set(chosen) - set(ATTACKS):
        parser.error(f"--attacks: choose from {','.join(ATTACKS)}, got {args.attacks!r}")
    if bundle.in_user_namespace():
        # Rootless runc (./bazelw as a normal user) makes no cgroups, so no memory limit.
        print("probe: error: the memory limit needs a cgroup, which runc makes only as real root; "
              "run it as root: sudo ./bazelw run //tools/probe", file=sys.stderr)  # fmt: skip
        return 2
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = container.free_port()
    run = bundle.RunSpec(
        env={"PORT": str(port), "DATABASE_PATH": "/tmp/todos.db", "LOG_LEVEL": "error",
             "TIMEOUT_REQUEST": args.timeout_request, "API_TOKEN": "probe-token"},
        memory_limit=args.memory * MiB,
    )  # fmt: skip
    image = args.image_dir or str(runfiles.runfile(args.image))
    with container.Container(image, run) as c:
        c.wait_http(port, "/health")
        idle = _cgroup_bytes(c, "memory.usage_in_bytes") / MiB
        limit = _cgroup_bytes(c, "memory.limit_in_bytes") / MiB
        print(f"memory limit {limit:.0f} MiB (cgroup); idle: {idle:.1f} MiB")
        ok = limit == args.memory
        for name in chosen:
            ok &= ATTACKS[name](c, port, args)
    print("contained" if ok else "NOT contained")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
