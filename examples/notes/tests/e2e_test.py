"""The notes image end to end, with a real PostgreSQL server and no mocks.

The test starts PostgreSQL (Debian's server, on 127.0.0.1 at a free port, as an unprivileged
user, in a temporary folder removed afterwards), serves the image under runc (uid 65532,
read-only root, the password as a mounted Secret file), runs the Alembic migration as a
one-shot command from the same image, and exercises the API.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime import bundle, container

PASSWORD = "pg-s3cret"
SECRET = "/var/run/secrets/db/password"
NOBODY = 65534


def _bin(name: str) -> str:
    path = Path(os.environ["TEST_SRCDIR"]) / os.environ[name]
    return str(path.resolve())  # the real file: PostgreSQL finds its share/ from there


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    work = Path(tempfile.mkdtemp(prefix="pg-e2e-"))
    data, sockets = work / "data", work / "sockets"
    sockets.mkdir()
    (work / "pw").write_text(PASSWORD + "\n")
    os.chown(work, NOBODY, NOBODY)
    for p in (sockets, work / "pw"):
        os.chown(p, NOBODY, NOBODY)
    as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    subprocess.run(
        [_bin("INITDB"), "-D", str(data), "-U", "notes", "--pwfile", str(work / "pw"),
         "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync"],
        check=True, capture_output=True, cwd=work, **as_nobody,
    )  # fmt: skip
    subprocess.run(
        [_bin("POSTGRES"), "--single", "-D", str(data), "postgres"],
        input=b"CREATE DATABASE notes OWNER notes;\n",
        check=True, capture_output=True, cwd=work, **as_nobody,
    )  # fmt: skip
    port = container.free_port()
    server = subprocess.Popen(
        [_bin("POSTGRES"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
         "-k", str(sockets), "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work, **as_nobody,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1].decode()
                assert time.monotonic() < deadline, "PostgreSQL did not listen in 30 s"
                time.sleep(0.1)
        yield port
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o644)
    return path


def _spec(pg_port: int, secret: Path, **kwargs: object) -> bundle.RunSpec:
    env = {
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": str(pg_port),
        "DATABASE_PASSWORD_FILE": SECRET,
        **kwargs.pop("env", {}),  # type: ignore[dict-item]
    }
    return bundle.RunSpec(env=env, files={SECRET: str(secret)}, **kwargs)  # type: ignore[arg-type]


def _migrate(image: str, pg_port: int, secret: Path) -> tuple[int, str]:
    command = ["/opt/venv/bin/python", "-m", "alembic", "upgrade", "head"]
    with container.Container(image, _spec(pg_port, secret, command=command), name="migrate") as c:
        code = c.wait(timeout=120)
        return code, c.output()


def test_migrate_then_serve(postgres: int, secret: Path) -> None:
    image = str(Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"])
    port = container.free_port()
    with container.Container(image, _spec(postgres, secret, env={"PORT": str(port)})) as app:
        app.wait_http(port, "/health")
        # Serving before the migration: alive, but not ready (no table yet).
        assert container.request(port, "/ready")[0] == 503
        code, output = _migrate(image, postgres, secret)
        assert code == 0, output
        assert "Running upgrade  -> 0001" in output
        assert container.request(port, "/ready")[0] == 200
        status, body = container.request(port, "/notes", "POST", {"title": "from the image"})
        assert status == 201, body
        status, body = container.request(port, "/notes")
        assert status == 200 and b"from the image" in body
        assert container.request(port, "/notes", "POST", {"title": ""})[0] == 422
        # Migrating again is a no-op.
        code, output = _migrate(image, postgres, secret)
        assert code == 0 and "Running upgrade" not in output, output
        app.signal(signal.SIGTERM)
        assert app.wait(timeout=30) == 0


def test_missing_password_stops_the_app_with_one_line(postgres: int, secret: Path) -> None:
    image = str(Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"])
    run = bundle.RunSpec(env={"PORT": str(container.free_port())})
    with container.Container(image, run) as app:
        assert app.wait(timeout=60) == 2
        lines = app.output().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "password" in lines[0]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
