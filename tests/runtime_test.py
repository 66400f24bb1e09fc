"""Run the image for real, as Kubernetes would, and check what a pod relies on.

Under runc: uid 65532, read-only root, tmpfs at /tmp, no capabilities, no new privileges, the API
token from a mounted Secret file. Prints start-to-ready time, so slow starts show in the log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime import bundle, container

TOKEN = "s3cret-token"
GRACE = 5


@pytest.fixture(scope="module")
def image_dir() -> str:
    return str(Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"])


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def app(image_dir: str, secret: Path) -> Iterator[tuple[container.Container, int]]:
    port = container.free_port()
    run = bundle.RunSpec(
        env={
            "PORT": str(port),
            "API_TOKEN_FILE": "/var/run/secrets/app/token",
            "TIMEOUT_GRACEFUL_SHUTDOWN": str(GRACE),
        },
        files={"/var/run/secrets/app/token": str(secret)},
    )
    with container.Container(image_dir, run) as c:
        ready = c.wait_http(port, "/ready")
        print(f"start-to-ready: {ready:.3f} s")
        yield c, port


def test_health_and_ready(app: tuple[container.Container, int]):
    _, port = app
    assert container.request(port, "/health")[0] == 200
    assert container.request(port, "/ready")[0] == 200


def test_runs_as_nonroot_without_capabilities(app: tuple[container.Container, int]):
    c, _ = app
    pids = c.pids()
    assert pids, "runc ps found no process"
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split()[:2] == ["65532", "65532"]
        assert fields["Gid"].split()[:2] == ["65532", "65532"]
        assert int(fields["CapEff"].strip(), 16) == 0
        assert int(fields["CapBnd"].strip(), 16) == 0
        assert fields["NoNewPrivs"].strip() == "1"
    assert c.config["root"]["readonly"] is True


def test_todo_round_trip_with_secret_file_token(app: tuple[container.Container, int]):
    _, port = app
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _ = container.request(port, "/api/v1/todos", "POST", {"title": "ship it"})
    assert status == 401
    status, body = container.request(port, "/api/v1/todos", "POST", {"title": "ship"}, auth)
    assert status == 201, body
    status, body = container.request(port, "/api/v1/todos")
    assert status == 200 and b"ship" in body


def test_image_healthcheck_command(app: tuple[container.Container, int]):
    c, _ = app
    result = c.exec("/opt/venv/bin/python", "-m", "app.healthcheck")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import ssl; ssl.create_default_context().load_verify_locations("
        "'/etc/ssl/certs/ca-certificates.crt')",
        "import sqlite3, zoneinfo, lzma, bz2, ctypes, uuid; zoneinfo.ZoneInfo('Europe/Paris')",
        "import uvloop, httptools, pydantic_core, fastapi",
        "import sys; assert sys.prefix == '/opt/venv', sys.prefix",
        "import os; assert os.getuid() == 65532 and os.getcwd() == '/app'",
    ],
)
def test_commands_inside_the_image(app: tuple[container.Container, int], code: str):
    # What container-structure-test's tar driver cannot run: commands inside the image.
    c, _ = app
    result = c.exec("/opt/venv/bin/python", "-c", code)
    assert result.returncode == 0, result.stderr


# What the server imports at start-up; every stdlib module among them must have its .pyc in the
# image (base/precompile.txt), or each start recompiles it on the read-only root.
STARTUP_IMPORTS = """
import importlib.util, os, sys
STDLIB = "/usr/lib/python%d.%d/" % sys.version_info[:2]
import app.main, uvicorn, uvicorn.config, uvicorn.server
import fastapi_kit_launcher.serve, fastapi_kit_launcher.protocols
from app.config import load_settings
config = uvicorn.Config(app.main.create_app(load_settings(os.environ)), proxy_headers=True)
config.load()
# Frozen modules (os, codecs, ...) never read the disk; sourceless ones are bytecode already.
missing = sorted(
    m.__file__ for m in list(sys.modules.values())
    if (getattr(m, "__file__", None) or "").startswith(STDLIB)
    and type(getattr(m, "__loader__", None)).__name__ == "SourceFileLoader"
    and not os.path.exists(importlib.util.cache_from_source(m.__file__))
)
print("\\n".join(missing))
"""


def test_stdlib_imported_at_startup_is_precompiled(app: tuple[container.Container, int]):
    c, _ = app
    result = c.exec("/opt/venv/bin/python", "-c", STARTUP_IMPORTS)
    assert result.returncode == 0, result.stderr
    missing = result.stdout.split()
    python = os.environ["PYTHON_VERSION"]
    listing = "precompile.txt" if python == "3.13" else f"precompile.py{python}.txt"
    assert not missing, f"add to @fastapi_kit//distroless:{listing}: {missing}"


# One traceback through first-party, third-party and stdlib code: each frame's file, and whether
# the traceback shows the text of its line.
TRACEBACK_FRAMES = """
import json, traceback, pydantic
from app.config import load_settings
frames = {}
for call in (lambda: load_settings({"API_TOKEN": ""}),
             lambda: pydantic.TypeAdapter(int).validate_python("x"),
             lambda: json.loads("{")):
    try:
        call()
    except Exception as e:
        for f in traceback.extract_tb(e.__traceback__):
            frames[f.filename] = bool(f.line)
print(json.dumps(frames))
"""


def test_tracebacks_show_first_party_source_lines(app: tuple[container.Container, int]):
    # First-party frames always show their lines; library frames unless the image was built
    # with precompile_source_retention = "omit_source" (SOURCES).
    c, _ = app
    result = c.exec("/opt/venv/bin/python", "-c", TRACEBACK_FRAMES)
    assert result.returncode == 0, result.stderr
    frames = json.loads(result.stdout)
    libraries = os.environ.get("SOURCES", "keep_source") == "keep_source"
    python = "python" + os.environ["PYTHON_VERSION"]
    expected = {
        "/app/app/config.py": True,
        f"/opt/venv/lib/{python}/site-packages/pydantic/type_adapter.py": libraries,
        f"/usr/lib/{python}/json/decoder.py": libraries,
    }
    assert {name: frames.get(name) for name in expected} == expected, frames


def test_root_filesystem_is_read_only(app: tuple[container.Container, int]):
    c, _ = app
    result = c.exec("/opt/venv/bin/python", "-c", "open('/app/x', 'w')")
    assert result.returncode != 0 and "Read-only file system" in result.stderr


def test_no_shell_in_the_image(app: tuple[container.Container, int]):
    c, _ = app
    assert c.exec("/bin/sh", "-c", "true").returncode != 0


def test_bad_port_stops_before_binding(image_dir: str):
    # A bad PORT must stop the process with exit 2 before it binds, inside the image too.
    with container.Container(image_dir, bundle.RunSpec(env={"PORT": "abc"})) as c:
        assert c.wait(timeout=30) == 2
        assert "PORT" in c.output()


def test_sigterm_lets_the_request_in_flight_finish(app: tuple[container.Container, int]):
    c, port = app
    body = b'{"title": "slow upload"}'
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = (
            "POST /api/v1/todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        s.sendall(head.encode() + body[:5])  # the request is in flight: body half sent
        time.sleep(0.3)
        sent = time.monotonic()
        c.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert c.running(), "server quit with a request in flight"
        s.sendall(body[5:])
        response = s.recv(65536).decode(errors="replace")
    assert response.startswith("HTTP/1.1 201"), response
    assert c.wait(timeout=GRACE + 5) == 0, c.output()[-2000:]
    assert time.monotonic() - sent < GRACE + 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
