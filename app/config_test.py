"""Tests for app.config: the app's own settings, their errors and their ``_FILE`` form."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Settings, load_settings


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    assert load_settings({}) == Settings()
    assert Settings().api_token is None


def test_values_are_read() -> None:
    settings = load_settings({"DATABASE_PATH": "/data/t.db", "API_TOKEN": "s3cret"})
    assert settings == Settings(database_path=Path("/data/t.db"), api_token="s3cret")


def test_server_settings_are_not_the_apps_business() -> None:
    # PORT and friends belong to the launcher: the app neither reads nor rejects them.
    assert load_settings({"PORT": "not-a-port", "WEB_CONCURRENCY": "x"}) == Settings()


@pytest.mark.parametrize("value", ["", ":memory:", "/tmp/dir/"])
def test_database_path_rejects(value: str) -> None:
    assert _error({"DATABASE_PATH": value}) == f"DATABASE_PATH: must be a file path, got {value!r}"


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


def test_config_error_is_a_value_error() -> None:
    # The launcher turns a ValueError raised while building the app into exit 2.
    assert issubclass(ConfigError, ValueError)


def test_token_from_a_secret_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(b"windows-token\r\n")
    assert load_settings({"API_TOKEN_FILE": str(token_file)}).api_token == "windows-token"


def test_missing_secret_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = _error({"API_TOKEN_FILE": str(missing)})
    assert message.startswith(f"API_TOKEN_FILE: cannot read {str(missing)!r}: ")


def test_both_value_and_file_is_an_error(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("x", encoding="utf-8")
    message = _error({"API_TOKEN": "x", "API_TOKEN_FILE": str(token_file)})
    assert message == "API_TOKEN: set either API_TOKEN or API_TOKEN_FILE, not both"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
