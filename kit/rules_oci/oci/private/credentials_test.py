"""Tests for credentials.py: which file and which entry a push would use, and what it reports."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from oci.private import credentials
from oci.private.credentials import CredentialsError


def auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def write(path: Path, config: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_docker_config_in_home(home: Path) -> None:
    config = write(home / ".docker" / "config.json", {"auths": {"r.example:5000": auth("u", "p")}})
    found = credentials.find("r.example:5000", "team/app", env={"HOME": str(home)})
    assert found.credentials is not None
    assert (found.credentials.username, found.credentials.password) == ("u", "p")
    assert str(config) in found.credentials.source
    assert found.describe().startswith(f"credentials of user 'u' from {config}")


def test_password_may_hold_colons(home: Path) -> None:
    write(home / ".docker" / "config.json", {"auths": {"r.example": auth("u", "a:b:c")}})
    found = credentials.find("r.example", "app", env={"HOME": str(home)})
    assert found.credentials is not None and found.credentials.password == "a:b:c"


def test_order_authfile_then_registry_auth_file_then_docker_config(
    home: Path, tmp_path: Path
) -> None:
    docker_dir = tmp_path / "docker"
    write(docker_dir / "config.json", {"auths": {"r.example": auth("docker", "x")}})
    podman = write(tmp_path / "auth.json", {"auths": {"r.example": auth("podman", "x")}})
    explicit = write(tmp_path / "explicit.json", {"auths": {"r.example": auth("explicit", "x")}})
    env = {"HOME": str(home), "DOCKER_CONFIG": str(docker_dir), "REGISTRY_AUTH_FILE": str(podman)}

    def user(**kwargs: str) -> str | None:
        found = credentials.find("r.example", "app", env=env, **kwargs).credentials
        return found.username if found else None

    assert user(authfile=str(explicit)) == "explicit"
    assert user() == "podman"
    del env["REGISTRY_AUTH_FILE"]
    assert user() == "docker"
    # DOCKER_CONFIG replaces ~/.docker, as with the docker CLI.
    write(home / ".docker" / "config.json", {"auths": {"r.example": auth("home", "x")}})
    assert user() == "docker"
    del env["DOCKER_CONFIG"]
    assert user() == "home"


def test_podman_default_files(home: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    write(runtime / "containers" / "auth.json", {"auths": {"r.example": auth("rt", "x")}})
    found = credentials.find(
        "r.example", "app", env={"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    )
    assert found.credentials is not None and found.credentials.username == "rt"
    write(home / ".config" / "containers" / "auth.json", {"auths": {"other": auth("no", "x")}})
    found = credentials.find("r.example", "app", env={"HOME": str(home)})
    assert found.credentials is None


@pytest.mark.parametrize(
    ("key", "matches"),
    [
        ("r.example", True),
        ("R.Example", True),
        ("https://r.example", True),
        ("https://r.example/v1/", True),
        ("http://r.example/v2/", True),
        ("r.example/team", True),
        ("r.example/team/app", True),
        ("r.example/te", False),
        ("r.example/other", False),
        ("r.example:5000", False),
        ("other.example", False),
    ],
)
def test_key_matching(key: str, matches: bool) -> None:
    assert (credentials.match_key([key], "r.example", "team/app") == key) is matches


def test_most_specific_key_wins() -> None:
    keys = ["r.example", "r.example/team", "https://r.example/v1/"]
    assert credentials.match_key(keys, "r.example", "team/app") == "r.example/team"
    assert credentials.match_key(keys, "r.example", "solo") in ("r.example", keys[2])


def test_not_found_lists_every_place_looked(home: Path, tmp_path: Path) -> None:
    write(home / ".docker" / "config.json", {"auths": {"elsewhere": auth("u", "p")}})
    env = {"HOME": str(home), "REGISTRY_AUTH_FILE": str(tmp_path / "missing.json")}
    found = credentials.find("r.example", "app", env=env)
    assert found.credentials is None
    text = found.describe()
    assert text.startswith("no credentials found")
    assert f"{tmp_path / 'missing.json'} (REGISTRY_AUTH_FILE): missing" in text
    assert f"{home / '.docker' / 'config.json'}: no entry for r.example" in text
    assert f"{home / '.config' / 'containers' / 'auth.json'}: missing" in text


def test_username_password_and_identity_token_fields(home: Path) -> None:
    config = home / ".docker" / "config.json"
    write(config, {"auths": {"a.example": {"username": "u", "password": "p"}}})
    found = credentials.find("a.example", "x", env={"HOME": str(home)}).credentials
    assert found is not None and (found.username, found.password) == ("u", "p")
    write(config, {"auths": {"a.example": {"identitytoken": "tok"}}})
    lookup = credentials.find("a.example", "x", env={"HOME": str(home)})
    assert lookup.credentials is not None and lookup.credentials.identity_token == "tok"
    assert "(identity token)" in lookup.describe()
    write(config, {"auths": {"a.example": {}}})
    assert credentials.find("a.example", "x", env={"HOME": str(home)}).credentials is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({"auths": []}), "'auths' is not an object"),
        (json.dumps({"auths": {"r.example": {"auth": "%%%"}}}), "not base64"),
        (
            json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"nocolon").decode()}}}),
            "does not decode to user:password",
        ),
        (json.dumps({"auths": {"r.example": "x"}}), "entry is not an object"),
    ],
)
def test_broken_files_are_named(home: Path, content: str, message: str) -> None:
    path = home / ".docker" / "config.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(CredentialsError, match=message) as info:
        credentials.find("r.example", "app", env={"HOME": str(home)})
    assert str(path) in str(info.value)


def test_empty_file_is_no_credentials(home: Path) -> None:
    path = home / ".docker" / "config.json"
    path.parent.mkdir()
    path.write_text("")
    assert credentials.find("r.example", "app", env={"HOME": str(home)}).credentials is None


def test_missing_authfile_is_an_error(home: Path, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="no such file"):
        credentials.find("r", "a", env={"HOME": str(home)}, authfile=str(tmp_path / "nope"))


def helper_script(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n{body}\n")
    script.chmod(0o755)


def test_cred_helpers_and_creds_store(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    helper_script(
        bin_dir,
        "per-host",
        "server = sys.stdin.read()\n"
        "print(json.dumps({'ServerURL': server, 'Username': 'h-' + server, 'Secret': 's'}))",
    )
    helper_script(
        bin_dir,
        "store",
        "print(json.dumps({'ServerURL': '', 'Username': '<token>', 'Secret': 'idtok'}))",
    )
    helper_script(
        bin_dir, "empty", "print('credentials not found in native keychain'); sys.exit(1)"
    )
    helper_script(bin_dir, "broken", "print('boom', file=sys.stderr); sys.exit(3)")
    monkeypatch.setenv("PATH", str(bin_dir))
    config = home / ".docker" / "config.json"
    env = {"HOME": str(home)}

    write(config, {"credHelpers": {"r.example": "per-host"}, "credsStore": "store"})
    found = credentials.find("r.example", "app", env=env).credentials
    assert found is not None and found.username == "h-r.example"
    assert "docker-credential-per-host" in found.source
    # Hosts without a credHelpers entry go to credsStore; "<token>" means an identity token.
    found = credentials.find("o.example", "app", env=env).credentials
    assert found is not None and found.identity_token == "idtok" and found.username == ""

    write(config, {"credsStore": "empty"})
    assert credentials.find("r.example", "app", env=env).credentials is None

    write(config, {"credsStore": "broken"})
    with pytest.raises(CredentialsError, match="docker-credential-broken get failed: boom"):
        credentials.find("r.example", "app", env=env)

    # A helper configured on another machine (e.g. Docker Desktop's) is skipped with a warning.
    write(config, {"credsStore": "desktop", "auths": {"r.example": {}}})
    lookup = credentials.find("r.example", "app", env=env)
    assert lookup.credentials is None
    assert lookup.warnings == [
        f"docker-credential-desktop (named in {config} credsStore) is not on PATH"
    ]
    assert "helper docker-credential-desktop not installed" in lookup.describe()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
