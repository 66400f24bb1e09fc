"""Tests for app.server: config errors, uvicorn options, and a real run stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from kit_lib.ports import free_port

from app import build_info, server
from app.config import Settings, load_settings

START_TIMEOUT_SECONDS = 20.0


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run each test with none of the service's variables set and no build info file."""
    for name in list(os.environ):
        if name.removesuffix("_FILE") in {
            "PORT",
            "HOST",
            "LOG_LEVEL",
            "WEB_CONCURRENCY",
            "FORWARDED_ALLOW_IPS",
            "TIMEOUT_GRACEFUL_SHUTDOWN",
            "TIMEOUT_KEEP_ALIVE",
            "LIMIT_CONCURRENCY",
            "LOOP",
            "HTTP",
            "DATABASE_PATH",
            "API_TOKEN",
        }:
            monkeypatch.delenv(name)
    monkeypatch.setattr(build_info, "BUILD_INFO_PATH", tmp_path / "build_info.json")


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Record calls to uvicorn.run and fail any attempt to bind a socket."""
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append((app, kwargs))

    def no_bind(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"tried to bind {address!r}")

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(socket.socket, "bind", no_bind)
    return calls


def test_bad_port_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_serving: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("PORT", "abc")
    assert server.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: PORT: must be an integer from 1 to 65535, got 'abc'\n"
    assert no_serving == []


def test_bad_build_info_exits_2(
    capsys: pytest.CaptureFixture[str], no_serving: list[tuple[Any, dict[str, Any]]]
) -> None:
    build_info.BUILD_INFO_PATH.write_text("{", encoding="utf-8")
    assert server.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "invalid JSON" in err
    assert err.count("\n") == 1
    assert no_serving == []


def test_check_config_does_not_serve(
    monkeypatch: pytest.MonkeyPatch, no_serving: list[tuple[Any, dict[str, Any]]]
) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert server.main(["--check-config"]) == 0
    assert no_serving == []


def test_unknown_argument_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        server.main(["--reload"])
    assert info.value.code == 2


def test_single_worker_runs_the_app_object(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    no_serving: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "t.db"))
    assert server.main([]) == 0
    [(app, kwargs)] = no_serving
    assert isinstance(app, FastAPI)
    assert app.state.settings.database_path == tmp_path / "t.db"
    assert kwargs["factory"] is False
    assert kwargs["port"] == 8123
    assert kwargs["workers"] == 1


def test_several_workers_use_the_factory_string(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    no_serving: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "w.db"))
    assert server.main([]) == 0
    [(target, kwargs)] = no_serving
    assert target == server.APP_FACTORY
    assert kwargs["factory"] is True
    assert kwargs["workers"] == 3
    # The import string must name a factory that builds the app from the environment.
    module_name, _, attribute = target.partition(":")
    factory = getattr(__import__(module_name, fromlist=[attribute]), attribute)
    app = factory()
    assert isinstance(app, FastAPI)
    assert app.state.settings.database_path == tmp_path / "w.db"


@pytest.mark.parametrize(("code", "expected"), [(1, 1), (3, 3), (None, 0), ("boom", 1)])
def test_uvicorn_exit_codes_are_returned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: object, expected: int
) -> None:
    import uvicorn

    def failing_run(app: Any, **kwargs: Any) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(uvicorn, "run", failing_run)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "t.db"))
    assert server.main([]) == expected


def test_uvicorn_options_are_production_settings() -> None:
    settings = Settings(
        host="0.0.0.0",
        port=9000,
        log_level="warning",
        workers=2,
        forwarded_allow_ips="10.0.0.1",
        timeout_graceful_shutdown=25,
        timeout_keep_alive=7,
        limit_concurrency=64,
        loop="asyncio",
        http="h11",
    )
    assert server.uvicorn_options(settings) == {
        "host": "0.0.0.0",
        "port": 9000,
        "workers": 2,
        "log_level": "warning",
        "access_log": True,
        "reload": False,
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.1",
        "timeout_graceful_shutdown": 25,
        "timeout_keep_alive": 7,
        "limit_concurrency": 64,
        "loop": "asyncio",
        "http": "h11",
        "lifespan": "on",
        "server_header": False,
    }


def test_uvicorn_accepts_the_options() -> None:
    import uvicorn

    options = server.uvicorn_options(Settings(limit_concurrency=10))
    config = uvicorn.Config(server.APP_FACTORY, factory=True, **options)
    assert config.limit_concurrency == 10
    assert config.proxy_headers is True


@pytest.mark.parametrize(
    ("loop", "http", "loop_module", "protocol_module"),
    [
        ("asyncio", "h11", "asyncio", "uvicorn.protocols.http.h11_impl"),
        ("uvloop", "httptools", "uvloop", "uvicorn.protocols.http.httptools_impl"),
        # "auto" must pick the C implementations: they are in the image on purpose.
        ("auto", "auto", "uvloop", "uvicorn.protocols.http.httptools_impl"),
    ],
)
def test_loop_and_http_settings_choose_uvicorn_implementations(
    loop: str, http: str, loop_module: str, protocol_module: str
) -> None:
    import uvicorn

    settings = load_settings({"LOOP": loop, "HTTP": http})
    config = uvicorn.Config(FastAPI(), **server.uvicorn_options(settings))
    config.load()
    assert config.http_protocol_class.__module__ == protocol_module
    factory = config.get_loop_factory()
    assert factory is not None
    event_loop = factory()
    try:
        assert type(event_loop).__module__.split(".")[0] == loop_module
    finally:
        event_loop.close()


# --- real processes ----------------------------------------------------------------------------


def _child_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "API_TOKEN", "DATABASE_PATH"}}
    # The child must import exactly what this test imports (Bazel runfiles or a venv).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(overrides)
    return env


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_python_m_app_with_bad_port_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env=_child_env(PORT="abc"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: PORT: must be an integer from 1 to 65535, got 'abc'"
    ]


def test_real_server_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "db" / "todos.db"
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "app"],
            env=_child_env(PORT=str(port), DATABASE_PATH=str(db)),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                status, body = _get(f"{base}/ready")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert (status, body) == (200, {"status": "ready"})
        assert _get(f"{base}/health") == (200, {"status": "ok"})
        assert db.is_file()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text(encoding="utf-8")
    assert "GET /ready HTTP/1.1" in output  # access log is on
    assert "Finished server process" in output  # graceful shutdown ran


def test_real_server_reports_busy_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app"],
            env=_child_env(PORT=str(port), DATABASE_PATH=str(tmp_path / "t.db")),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 3  # uvicorn's STARTUP_FAILURE
    assert "address already in use" in result.stderr.lower()


def test_real_server_fails_when_database_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env=_child_env(PORT=str(free_port()), DATABASE_PATH=str(blocker / "todos.db")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Caught before binding: one line naming the variable, like any other bad setting.
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DATABASE_PATH: cannot create")


def test_unresolvable_host_fails_with_one_line_naming_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env=_child_env(PORT=str(free_port()), HOST="999.1.1.1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: HOST: cannot resolve '999.1.1.1'")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
