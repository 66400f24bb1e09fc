"""The launcher's protections, against real server processes on loopback, with both parsers.

Each test starts `python -m fastapi_kit_launcher launcher_sample_app:app` and attacks it the
way the probes of the demo image did: an oversized body, oversized headers, half-sent requests,
absurd settings, and a shutdown that cuts a request.
"""

from __future__ import annotations

import http.client
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kit_lib import hostile
from kit_lib.ports import free_port

PARSERS = ["h11", "httptools"]
MiB = 1024 * 1024


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT", "WEB_", "HTTP"))}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.update(extra)
    return env


def _launch(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "fastapi_kit_launcher", *args]
    return subprocess.run(cmd, env=_env(**extra), capture_output=True, text=True, timeout=60)


@contextmanager
def server(parser: str = "auto", **extra: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = _env(PORT=str(port), HTTP=parser, LOG_LEVEL="warning", **extra)
    cmd = [sys.executable, "-m", "fastapi_kit_launcher", "launcher_sample_app:app"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(port, "/health", timeout=1) == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.communicate(timeout=5)[0] if proc.poll() is not None else ""
                raise AssertionError(f"server did not start: {out}")
            time.sleep(0.05)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _get(port: int, path: str, timeout: float = 5) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("parser", PARSERS)
def test_oversized_body_is_413_before_the_app_reads_it(parser: str) -> None:
    with server(parser) as (proc, port):
        before = _rss_kib(proc.pid)
        head = (
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (100 * MiB)
        )
        answer = hostile.flood(port, head, 100 * MiB)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        chunked = b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(chunked)
        answer = b""
        try:
            for _ in range(64):  # 64 chunks of 64 KiB: 4 MiB, over the 1 MiB default
                sock.sendall(b"10000\r\n" + b"a" * 65536 + b"\r\n")
        except OSError:
            pass
        try:
            answer = sock.recv(65536)
        except OSError:
            pass
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        grown = _rss_kib(proc.pid) - before
        assert grown < 10 * 1024, f"server RSS grew by {grown} KiB"
        assert _get(port, "/health") == 200


@pytest.mark.parametrize("parser", PARSERS)
def test_oversized_headers_are_431_with_either_parser(parser: str) -> None:
    with server(parser) as (proc, port):
        before = _rss_kib(proc.pid)
        answers: list[bytes] = []
        threads = [
            threading.Thread(
                target=lambda: answers.append(
                    hostile.flood(port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ", 50 * MiB)
                )
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(answers) == 4
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        grown = _rss_kib(proc.pid) - before
        assert grown < 10 * 1024, f"server RSS grew by {grown} KiB"
        # A header just under the limit still passes.
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"a" * 20000 + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
        sock.close()


@pytest.mark.parametrize("parser", PARSERS)
def test_half_sent_requests_do_not_lock_others_out_and_expire(parser: str) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2400:
        pytest.fail(f"RLIMIT_NOFILE hard limit {hard} is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    deadline = 2.0  # TIMEOUT_REQUEST
    with server(parser, TIMEOUT_REQUEST=str(int(deadline))) as (_, port):
        opened = time.monotonic()
        held = hostile.half_open(port, 1100)
        assert len(held) == 1100
        start = time.monotonic()
        assert _get(port, "/health", timeout=1) == 200
        assert time.monotonic() - start < 1.0
        # Still inside the deadline of the first connection: /health was served while all
        # 1,100 were held, not after the server had dropped them.
        assert time.monotonic() - opened < deadline
        # Each half-sent request is answered 408 and closed at its deadline, not before.
        timed_out = hostile.answered(held, b"HTTP/1.1 408 ")
        assert timed_out == 1100
        assert time.monotonic() - opened >= deadline


@pytest.mark.parametrize("value", ["99999999999999999999", "100000"])
def test_unbounded_web_concurrency_exits_2_before_binding(value: str) -> None:
    result = _launch("launcher_sample_app:app", WEB_CONCURRENCY=value)
    assert result.returncode == 2
    assert result.stderr.startswith("error: WEB_CONCURRENCY: must be an integer from 1 to ")
    assert result.stderr.count("\n") == 1


def test_bad_target_and_broken_app_are_one_line() -> None:
    result = _launch("no_such_module:app")
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "error: cannot load no_such_module:app: ModuleNotFoundError: No module named "
        "'no_such_module'\n"
    )
    result = _launch("launcher_sample_app:broken")
    assert (result.returncode, result.stderr.count("\n")) == (1, 1)
    assert "int is not an ASGI app" in result.stderr
    result = _launch("not a target")
    assert result.returncode == 2 and "MODULE:ATTR" in result.stderr


def test_factory_form_serves() -> None:
    assert _launch("--factory", "--check-config", "launcher_sample_app:create").returncode == 0


@pytest.mark.parametrize("parser", PARSERS)
def test_sigterm_drains_cuts_with_503_and_exits_0(parser: str) -> None:
    with server(parser, TIMEOUT_GRACEFUL_SHUTDOWN="1") as (proc, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/slow")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert conn.getresponse().status == 503
        assert proc.wait(timeout=20) == 0


def test_workers_serve_with_the_limits() -> None:
    with server("httptools", WEB_CONCURRENCY="2") as (proc, port):
        answer = hostile.flood(port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ", 2 * MiB)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
