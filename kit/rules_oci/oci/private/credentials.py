"""Find registry credentials where docker, podman and skopeo users already keep them.

A push should need no extra login step: whoever ran `docker login` or `podman login` has their
credentials in one of a few well-known files. They are searched in this order, and the first file
with an entry for the registry wins:

1. `--authfile FILE`, then `$REGISTRY_AUTH_FILE` (podman's and skopeo's override);
2. `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json` when DOCKER_CONFIG is unset;
3. podman's `$XDG_RUNTIME_DIR/containers/auth.json` and `~/.config/containers/auth.json`.

In each file, `credHelpers[host]` names a `docker-credential-<helper>` program to ask; otherwise
an `auths` entry gives a base64 `auth` ("user:password"), `username`/`password`, or an
`identitytoken`; otherwise `credsStore` names a helper that holds everything. Every place looked
at is remembered, so a 401 can say where credentials were (or were not) found.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HELPER_PREFIX = "docker-credential-"
# docker-credential-* helpers return this user name when the secret is an identity token.
TOKEN_USER = "<token>"


class CredentialsError(ValueError):
    """A credentials file or helper is unusable; the message is one line and names it."""


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or identity token) for one registry, and where they came from."""

    username: str
    password: str
    source: str
    identity_token: str = ""


@dataclass
class Lookup:
    """The result of a search: the credentials if found, and every place that was looked at."""

    credentials: Credentials | None = None
    searched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One phrase for error messages: where the credentials came from, or where not."""
        creds = self.credentials
        if creds is not None:
            who = f" of user {creds.username!r}" if creds.username else " (identity token)"
            return f"credentials{who} from {creds.source}"
        return "no credentials found (looked in " + "; ".join(self.searched) + ")"


def candidate_files(env: Mapping[str, str], authfile: str | None = None) -> list[tuple[Path, str]]:
    """Return the auth files to search, in order, each with how it was chosen."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    files: list[tuple[Path, str]] = []
    if authfile:
        files.append((Path(authfile), "--authfile"))
    if env.get("REGISTRY_AUTH_FILE"):
        files.append((Path(env["REGISTRY_AUTH_FILE"]), "REGISTRY_AUTH_FILE"))
    if env.get("DOCKER_CONFIG"):
        files.append((Path(env["DOCKER_CONFIG"]) / "config.json", "DOCKER_CONFIG"))
    else:
        files.append((home / ".docker" / "config.json", "docker"))
    if env.get("XDG_RUNTIME_DIR"):
        files.append((Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json", "podman"))
    files.append((home / ".config" / "containers" / "auth.json", "podman"))
    return files


def normalize_key(key: str) -> str:
    """Reduce an `auths` key to `host[:port][/path]`.

    docker writes keys as URLs ("https://host/v1/"), podman as "host" or "host/namespace".
    """
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    key = key.rstrip("/")
    for suffix in ("/v1", "/v2"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    host, _, path = key.partition("/")
    return host.lower() + ("/" + path if path else "")


def match_key(keys: list[str], host: str, path: str) -> str | None:
    """Pick the `auths` key for `host/path`: the most specific one, as podman does.

    "host" matches every repository there; "host/team" only repositories under team/.
    """
    reference = f"{host.lower()}/{path}"
    best: tuple[int, str] | None = None
    for key in keys:
        norm = normalize_key(key)
        if norm == host.lower() or reference == norm or reference.startswith(norm + "/"):
            if best is None or len(norm) > best[0]:
                best = (len(norm), key)
    return None if best is None else best[1]


def _decode_auth(value: str, where: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise CredentialsError(f"{where}: 'auth' is not base64 of user:password") from None
    user, sep, password = text.partition(":")
    if not sep:
        raise CredentialsError(f"{where}: 'auth' does not decode to user:password")
    return user, password


def _from_entry(entry: Any, where: str) -> Credentials | None:
    """Turn one `auths` entry into credentials; an empty entry ({}) means none."""
    if not isinstance(entry, dict):
        raise CredentialsError(f"{where}: entry is not an object")
    token = entry.get("identitytoken") or ""
    if entry.get("auth"):
        user, password = _decode_auth(str(entry["auth"]), where)
        return Credentials(user, password, where, identity_token=token)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password", "")), where, token)
    if token:
        return Credentials("", "", where, identity_token=token)
    return None


def run_helper(helper: str, server: str, where: str, timeout: float = 30) -> Credentials | None:
    """Ask `docker-credential-<helper> get` for `server`; None if it has nothing for it."""
    program = shutil.which(HELPER_PREFIX + helper)
    if program is None:
        raise FileNotFoundError(f"{HELPER_PREFIX}{helper} (named in {where}) is not on PATH")
    try:
        proc = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{HELPER_PREFIX}{helper} get timed out after {timeout} s") from None
    out = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0:
        # The helper protocol's answer for "nothing stored for this server".
        if "credentials not found" in out.lower():
            return None
        message = (out or proc.stderr.decode(errors="replace")).strip().splitlines()
        detail = message[-1] if message else f"exit status {proc.returncode}"
        raise CredentialsError(f"{HELPER_PREFIX}{helper} get failed: {detail}")
    try:
        data = json.loads(out)
        user, secret = str(data["Username"]), str(data["Secret"])
    except (ValueError, KeyError, TypeError):
        raise CredentialsError(f"{HELPER_PREFIX}{helper} get printed no Username/Secret") from None
    source = f"{HELPER_PREFIX}{helper} (from {where})"
    if user == TOKEN_USER:
        return Credentials("", "", source, identity_token=secret)
    return Credentials(user, secret, source)


def _search_file(
    path: Path, how: str, host: str, repo_path: str, lookup: Lookup
) -> Credentials | None:
    where = f"{path} ({how})" if how in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG") else str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if how == "--authfile":
            raise CredentialsError(f"--authfile {path}: no such file") from None
        lookup.searched.append(f"{where}: missing")
        return None
    except OSError as err:
        lookup.searched.append(f"{where}: unreadable ({err.strerror})")
        return None
    try:
        config = json.loads(raw) if raw.strip() else {}
    except ValueError as err:
        raise CredentialsError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise CredentialsError(f"{path}: not a JSON object")
    helpers = config.get("credHelpers") or {}
    helper = helpers.get(host) if isinstance(helpers, dict) else None
    attempts: list[tuple[str, str]] = []
    if helper:
        attempts.append((str(helper), f"{path} credHelpers"))
    auths = config.get("auths")
    auths = {} if auths is None else auths
    if not isinstance(auths, dict):
        raise CredentialsError(f"{path}: 'auths' is not an object")
    if not helper:
        key = match_key(list(auths), host, repo_path)
        if key is not None:
            found = _from_entry(auths[key], f"{path} (auths[{key!r}])")
            if found is not None:
                return found
        if config.get("credsStore"):
            attempts.append((str(config["credsStore"]), f"{path} credsStore"))
    for name, origin in attempts:
        try:
            found = run_helper(name, host, origin)
        except FileNotFoundError as err:
            lookup.warnings.append(str(err))
            lookup.searched.append(f"{where}: helper {HELPER_PREFIX}{name} not installed")
            continue
        if found is not None:
            return found
    lookup.searched.append(f"{where}: no entry for {host}")
    return None


def find(
    host: str, repo_path: str, env: Mapping[str, str] | None = None, authfile: str | None = None
) -> Lookup:
    """Search the usual places for credentials for repository `repo_path` at registry `host`."""
    environ = os.environ if env is None else env
    lookup = Lookup()
    for path, how in candidate_files(environ, authfile):
        found = _search_file(path, how, host, repo_path, lookup)
        if found is not None:
            lookup.credentials = found
            break
    return lookup
