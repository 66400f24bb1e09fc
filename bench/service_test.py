"""Tests for bench.service: wrk's result line, medians, memory sampling, and a real wrk run."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import common, service

WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:8000/health
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    1.00ms  20.00ms   90.00%
  9000 requests in 2.00s, 1.20MB read
Requests/sec:   4500.00
BENCH_JSON {"requests":9000,"duration_us":2000000,"bytes":1258291,"p50_us":5100,\
"p99_us":9800,"max_us":20000,"connect":0,"read":1,"write":0,"status":3,"timeout":2}
"""


def test_parse_wrk() -> None:
    result = service.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == pytest.approx(4500)
    assert result["p50_ms"] == pytest.approx(5.1)
    assert result["p99_ms"] == pytest.approx(9.8)
    assert result["non_2xx"] == 3
    assert result["socket_errors"] == 3


def test_parse_wrk_without_result_line() -> None:
    with pytest.raises(common.BenchError, match="no result line"):
        service.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_summarize_takes_medians() -> None:
    def run(rps: float, p99: float, rss: int) -> dict[str, float]:
        return {
            "rps": rps,
            "p50_ms": 1.0,
            "p99_ms": p99,
            "requests": 10,
            "non_2xx": 0,
            "socket_errors": 0,
            "rss_peak_kib": rss,
        }

    summary = service.summarize([run(100, 9, 5), run(300, 1, 7), run(200, 5, 6)])
    assert (summary["rps"], summary["p99_ms"], summary["rss_peak_kib"]) == (200, 5, 7)
    assert summary["requests"] == 30


def test_rss_peak_sees_memory_taken_inside_the_block() -> None:
    before = service.vm_rss_kib(os.getpid())
    with service.rss_peak(os.getpid(), interval=0.02) as peak:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        time.sleep(0.2)
        del block
    assert peak[0] >= before + 48 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_real_wrk_run(http_port: int, tmp_path: Path) -> None:
    load = service.Load(connections=4, wrk_cpu=None, workdir=tmp_path)
    ok = load.run(http_port, "/ok", 1.0)
    assert ok["requests"] > 0
    assert ok["rps"] > 0
    assert ok["non_2xx"] == 0
    assert 0 < ok["p50_ms"] <= ok["p99_ms"]
    missing = load.run(http_port, "/missing", 1.0)
    assert missing["non_2xx"] == missing["requests"] > 0


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
