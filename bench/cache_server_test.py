"""Tests for bench.cache_server: a real nginx on loopback, as Bazel's HTTP cache client uses it."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cache_server


def _call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_access_stats_counts_hits_misses_and_bytes() -> None:
    log = "\n".join(
        [
            "GET /ac/aa 404 153 -",
            "PUT /cas/bb 201 0 1200",
            "PUT /ac/aa 201 0 300",
            "GET /ac/aa 200 300 -",
            "GET /cas/bb 200 1200 -",
            f"PUT {cache_server.PROBE_PATH} 201 0 11",
            "garbage line",
        ]
    )
    stats = cache_server.access_stats(log)
    assert stats["action_cache_gets"] == 2
    assert stats["action_cache_hits"] == 1
    assert stats["bytes_uploaded"] == 1500
    assert stats["bytes_downloaded"] == 1500
    assert stats["requests"]["PUT cas 201"] == 1


def test_nginx_stores_and_serves_like_a_bazel_cache() -> None:
    directory = Path("/tmp") / f"bench-cache-test-{os.getpid()}"
    directory.mkdir(mode=0o755)
    server = cache_server.Server(directory)
    try:
        port = server.start()
        blob = os.urandom(3 * 2**20)  # bigger than nginx's default body limit of 1 MiB
        assert _call(port, "GET", "/cas/0123")[0] == 404
        assert _call(port, "PUT", "/cas/0123", blob)[0] == 201
        assert _call(port, "GET", "/cas/0123") == (200, blob)
        assert (directory / "cache" / "cas" / "0123").read_bytes() == blob
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(directory)], check=False)
    assert not server.alive()


def test_config_listens_on_loopback_only(tmp_path: Path) -> None:
    conf = cache_server.nginx_conf(tmp_path, 8123, "nobody", "nogroup")
    listens = [line.strip() for line in conf.splitlines() if line.strip().startswith("listen")]
    assert listens == ["listen 127.0.0.1:8123;"]
    assert "client_max_body_size 0;" in conf
    assert "dav_methods PUT DELETE MKCOL;" in conf


def test_server_stops_when_the_watched_process_is_gone(tmp_path: Path) -> None:
    watched = subprocess.Popen(["sleep", "60"])
    port_file, stats = tmp_path / "port", tmp_path / "stats.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "bench.cache_server", "--port-file", str(port_file)]
    cmd += ["--stats", str(stats), "--watch-pid", str(watched.pid)]
    server = subprocess.Popen(cmd, env=env)
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() and time.monotonic() < deadline:
            assert server.poll() is None, "cache_server exited before it was ready"
            time.sleep(0.05)
        port = int(port_file.read_text())
        assert _call(port, "PUT", "/ac/ff", b"result")[0] == 201
        assert _call(port, "GET", "/ac/ff") == (200, b"result")
        watched.kill()
        watched.wait()
        assert server.wait(timeout=10) == 0
    finally:
        watched.kill()
        server.kill()
        server.wait()
    counts = json.loads(stats.read_text())
    assert counts["action_cache_hits"] == 1
    assert counts["bytes_uploaded"] == len(b"result")
    with pytest.raises(OSError):
        _call(port, "GET", "/ac/ff")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
