"""The hello app's routes in-process, and its server as a real process (PORT, SIGTERM)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient

from examples.hello.__main__ import port_from
from examples.hello.main import app

MODULE = "examples.hello"
client = TestClient(app)


def test_health():
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_hello():
    response = client.get("/hello/world")
    assert response.status_code == 200
    assert response.json()["message"] == "Hello, world!"


@pytest.mark.parametrize("raw", ["", "abc", "0", "65536", "-1", "80 "])
def test_bad_port_is_an_error(raw: str):
    with pytest.raises(ValueError, match="PORT"):
        port_from({"PORT": raw})


def test_port_default_and_env():
    assert port_from({}) == 8000
    assert port_from({"PORT": "9000"}) == 9000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_serves_then_exits_0_on_sigterm():
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen(
        [sys.executable, "-m", MODULE], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer /health in 30 s"
                time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, server.communicate()[1]
    finally:
        server.kill()
        server.wait()


def test_bad_port_stops_the_server_with_exit_2():
    env = {**os.environ, "PORT": "nope", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", MODULE]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: PORT must be a port number (1-65535), got 'nope'"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
