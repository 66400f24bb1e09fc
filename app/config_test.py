"""Tests for app.config: defaults, every variable, every error path and ``_FILE`` secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import HTTP_PARSERS, LOG_LEVELS, LOOPS, ConfigError, Settings, load_settings


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.log_level == "info"
    assert settings.workers == 1
    assert settings.forwarded_allow_ips == "127.0.0.1"
    assert settings.timeout_graceful_shutdown == 10
    assert settings.timeout_keep_alive == 5
    assert settings.limit_concurrency is None
    assert settings.loop == "auto"
    assert settings.http == "auto"
    assert settings.database_path == Path("/tmp/app/todos.db")
    assert settings.api_token is None


def test_all_variables_are_read() -> None:
    settings = load_settings(
        {
            "PORT": "9090",
            "HOST": "0.0.0.0",
            "LOG_LEVEL": "DEBUG",
            "WEB_CONCURRENCY": "4",
            "FORWARDED_ALLOW_IPS": "10.0.0.0/8,192.168.1.1",
            "TIMEOUT_GRACEFUL_SHUTDOWN": "30",
            "TIMEOUT_KEEP_ALIVE": "75",
            "LIMIT_CONCURRENCY": "200",
            "LOOP": "asyncio",
            "HTTP": "h11",
            "DATABASE_PATH": "/data/x.db",
            "API_TOKEN": "s3cr3t-token",
            "UNRELATED": "ignored",
        }
    )
    assert settings == Settings(
        host="0.0.0.0",
        port=9090,
        log_level="debug",
        workers=4,
        forwarded_allow_ips="10.0.0.0/8,192.168.1.1",
        timeout_graceful_shutdown=30,
        timeout_keep_alive=75,
        limit_concurrency=200,
        loop="asyncio",
        http="h11",
        database_path=Path("/data/x.db"),
        api_token="s3cr3t-token",
    )


@pytest.mark.parametrize("level", LOG_LEVELS)
def test_every_log_level_is_accepted(level: str) -> None:
    assert load_settings({"LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize("port", ["1", "65535"])
def test_port_bounds_are_inclusive(port: str) -> None:
    assert load_settings({"PORT": port}).port == int(port)


def test_port_error_names_variable_and_value() -> None:
    assert _error({"PORT": "abc"}) == "PORT: must be an integer from 1 to 65535, got 'abc'"


@pytest.mark.parametrize("value", ["", "0", "65536", "-1", " 80", "+80", "8_0", "80.0", "٨٠"])
def test_port_rejects(value: str) -> None:
    assert _error({"PORT": value}).startswith("PORT: must be an integer from 1 to 65535, got ")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "two"),
        ("TIMEOUT_GRACEFUL_SHUTDOWN", "0"),
        ("TIMEOUT_GRACEFUL_SHUTDOWN", "1.5"),
        ("TIMEOUT_KEEP_ALIVE", "0"),
        ("TIMEOUT_KEEP_ALIVE", "-5"),
        ("LIMIT_CONCURRENCY", "0"),
        ("LIMIT_CONCURRENCY", ""),
        ("LIMIT_CONCURRENCY", "many"),
    ],
)
def test_positive_integers_reject(name: str, value: str) -> None:
    assert _error({name: value}) == f"{name}: must be a positive integer, got {value!r}"


def test_log_level_rejects_unknown() -> None:
    message = _error({"LOG_LEVEL": "verbose"})
    assert message == (
        "LOG_LEVEL: must be one of critical, error, warning, info, debug, trace, got 'verbose'"
    )


@pytest.mark.parametrize("loop", LOOPS)
def test_every_loop_is_accepted(loop: str) -> None:
    assert load_settings({"LOOP": loop.upper()}).loop == loop


@pytest.mark.parametrize("http", HTTP_PARSERS)
def test_every_http_implementation_is_accepted(http: str) -> None:
    assert load_settings({"HTTP": http.upper()}).http == http


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LOOP", "trio", "LOOP: must be one of auto, asyncio, uvloop, got 'trio'"),
        ("LOOP", "", "LOOP: must be one of auto, asyncio, uvloop, got ''"),
        ("LOOP", " uvloop", "LOOP: must be one of auto, asyncio, uvloop, got ' uvloop'"),
        ("HTTP", "h2", "HTTP: must be one of auto, h11, httptools, got 'h2'"),
        ("HTTP", "httptools\n", "HTTP: must be one of auto, h11, httptools, got 'httptools\\n'"),
    ],
)
def test_loop_and_http_reject_unknown(name: str, value: str, expected: str) -> None:
    assert _error({name: value}) == expected


@pytest.mark.parametrize("name", ["HOST", "FORWARDED_ALLOW_IPS"])
@pytest.mark.parametrize("value", ["", " 127.0.0.1", "a\nb"])
def test_text_values_reject_blank_or_padded(name: str, value: str) -> None:
    assert _error({name: value}).startswith(f"{name}: must be non-empty")


@pytest.mark.parametrize("value", ["", ":memory:", "/tmp/dir/"])
def test_database_path_rejects(value: str) -> None:
    assert _error({"DATABASE_PATH": value}) == f"DATABASE_PATH: must be a file path, got {value!r}"


def test_long_bad_value_is_shortened_in_message() -> None:
    message = _error({"PORT": "9" * 500})
    assert len(message) < 120
    assert message.endswith("...'")


def test_empty_api_token_is_an_error() -> None:
    assert _error({"API_TOKEN": ""}).startswith("API_TOKEN: must not be empty")


@pytest.mark.parametrize("token", ["has space", "tab\there", "naïve-token", "new\nline"])
def test_api_token_must_be_printable_ascii_and_is_never_echoed(token: str) -> None:
    message = _error({"API_TOKEN": token})
    assert message.startswith("API_TOKEN: must be printable ASCII")
    assert token not in message


def test_api_token_is_hidden_from_repr() -> None:
    settings = load_settings({"API_TOKEN": "do-not-print-me"})
    assert "do-not-print-me" not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_file_variant_reads_value_and_drops_trailing_newline(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-secret\n", encoding="utf-8")
    port_file = tmp_path / "port"
    port_file.write_text("8443", encoding="utf-8")
    settings = load_settings({"API_TOKEN_FILE": str(token_file), "PORT_FILE": str(port_file)})
    assert settings.api_token == "from-a-secret"
    assert settings.port == 8443


def test_file_variant_drops_crlf(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"windows-token\r\n")
    assert load_settings({"API_TOKEN_FILE": str(token_file)}).api_token == "windows-token"


def test_file_variant_drops_only_one_newline(tmp_path: Path) -> None:
    host_file = tmp_path / "host"
    host_file.write_text("0.0.0.0\n\n", encoding="utf-8")
    assert _error({"HOST_FILE": str(host_file)}).startswith("HOST: must be non-empty")


def test_file_content_is_validated_like_the_variable(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    port_file.write_text("http\n", encoding="utf-8")
    assert _error({"PORT_FILE": str(port_file)}) == (
        "PORT: must be an integer from 1 to 65535, got 'http'"
    )


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = _error({"API_TOKEN_FILE": str(missing)})
    assert message.startswith(f"API_TOKEN_FILE: cannot read {str(missing)!r}: ")
    assert "No such file" in message


def test_directory_as_file_is_an_error(tmp_path: Path) -> None:
    assert _error({"PORT_FILE": str(tmp_path)}).startswith("PORT_FILE: cannot read ")


def test_undecodable_file_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\xff\xfe\xfa")
    assert _error({"API_TOKEN_FILE": str(bad)}).startswith("API_TOKEN_FILE: cannot read ")


def test_empty_file_path_is_an_error() -> None:
    assert _error({"API_TOKEN_FILE": ""}) == "API_TOKEN_FILE: must be a file path, got ''"


def test_both_value_and_file_is_an_error(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("x", encoding="utf-8")
    message = _error({"API_TOKEN": "x", "API_TOKEN_FILE": str(token_file)})
    assert message == "API_TOKEN: set either API_TOKEN or API_TOKEN_FILE, not both"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
