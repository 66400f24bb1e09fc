"""Validation and merging of image config fields (env, ports, user, platform, created).

Kept apart from the file handling in `image.py` so each rule can be tested on plain values. Every
check raises `ImageError` with one line naming the bad value: a typo in a BUILD file should fail
the build, not ship an image that a runtime silently misreads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from kit_lib.layout import ImageError

# GOOS / GOARCH values: the names the OCI image spec says `os` and `architecture` use.
OSES = frozenset(
    "aix android darwin dragonfly freebsd illumos ios js linux netbsd openbsd plan9 solaris "
    "wasip1 windows".split()
)
ARCHITECTURES = frozenset(
    "386 amd64 arm arm64 loong64 mips mips64 mips64le mipsle ppc64 ppc64le riscv64 s390x "
    "wasm".split()
)
# Variants that runtimes and registries recognise, per architecture.
VARIANTS = {
    "arm": re.compile(r"v[5-8]"),
    "arm64": re.compile(r"v8(\.[0-9])?|v9(\.[0-9])?"),
    "amd64": re.compile(r"v[1-4]"),
    "ppc64le": re.compile(r"power(8|9|10)"),
    "riscv64": re.compile(r"rva2[023]u64"),
}
EPOCH = "1970-01-01T00:00:00Z"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ENV_KEY = re.compile(rf"^{_NAME}$")
# $$ -> "$"; $NAME or ${NAME} -> value; "${" not closing a name is an error.
_ENV_REF = re.compile(
    rf"\$(?:\{{(?P<braced>{_NAME})\}}|(?P<plain>{_NAME})|(?P<dollar>\$)|(?P<bad>\{{))"
)
_PORT = re.compile(r"^(?P<port>[0-9]+)(?:/(?P<proto>[a-z]+))?$")
_PROTOCOLS = ("tcp", "udp", "sctp")
_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(?::[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$")
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")


def read_file(path: str, what: str) -> str:
    """The text of one of the rule's files; an unreadable one is one line naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as err:
        raise ImageError(f"cannot read the {what} file {path}: {err.strerror}") from None


def pairs_file(path: str | None, what: str) -> list[str]:
    """A rules_oci KEY=VALUE file: one assignment a line, blank lines ignored."""
    if path is None:
        return []
    # Each line is parsed (and a malformed one named) where it is used.
    return [line for line in read_file(path, what).splitlines() if line.strip()]


def assignments(items: list[str], what: str) -> dict[str, str]:
    """KEY=VALUE items as a dict, in order (a later key wins)."""
    result: dict[str, str] = {}
    for item in items:
        key, value = parse_assignment(item, what)
        result[key] = value
    return result


def parse_assignment(text: str, what: str) -> tuple[str, str]:
    """Split `KEY=VALUE`; the key must be non-empty."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ImageError(f"malformed {what} {text!r}: expected KEY=VALUE")
    return key, value


def env_to_dict(env: Iterable[str]) -> dict[str, str]:
    """Turn a config `Env` list into an ordered dict (entries without `=` get an empty value)."""
    result: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        result[key] = value
    return result


def expand(value: str, env: Mapping[str, str]) -> str:
    """Expand `$KEY` / `${KEY}` in `value` from `env`, shell style.

    An unset variable expands to "" (as in a shell, so `PATH=/x:$PATH` works on a scratch base);
    `$$` is a literal `$`; a `$` not followed by a name stays as it is.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("dollar"):
            return "$"
        if match.group("bad"):
            raise ImageError(f"malformed variable reference in env value {value!r}")
        return env.get(match.group("braced") or match.group("plain"), "")

    return _ENV_REF.sub(replace, value)


def merge_env(base: Iterable[str], updates: Iterable[str]) -> list[str]:
    """Apply `KEY=VALUE` updates to a base `Env` list, in order.

    Each value may reference the environment as it stands (the base's, then earlier updates), so
    `PATH=/opt/venv/bin:$PATH` prepends to the base's PATH. A key already present keeps its place,
    as Docker's ENV does, so the order of a base's variables never shifts.
    """
    env = env_to_dict(base)
    for item in updates:
        key, value = parse_assignment(item, "env")
        if not _ENV_KEY.match(key):
            raise ImageError(f"malformed env {item!r}: {key!r} is not a valid variable name")
        env[key] = expand(value, env)
    return [f"{key}={value}" for key, value in env.items()]


def parse_port(text: str) -> str:
    """Normalize an exposed port: "8000" -> "8000/tcp"; "53/udp" stays."""
    match = _PORT.match(text.strip())
    if not match:
        raise ImageError(f"bad exposed port {text!r}: expected PORT or PORT/PROTOCOL")
    port = int(match.group("port"))
    proto = match.group("proto") or "tcp"
    if not 1 <= port <= 65535:
        raise ImageError(f"bad exposed port {text!r}: port must be 1-65535")
    if proto not in _PROTOCOLS:
        raise ImageError(f"bad exposed port {text!r}: protocol must be one of {_PROTOCOLS}")
    return f"{port}/{proto}"


def check_absolute(path: str, what: str) -> str:
    """Return `path` if it is absolute, else raise: relative paths mean nothing in a config."""
    if not path.startswith("/"):
        raise ImageError(f"{what} must be an absolute path, got {path!r}")
    return path


def check_user(user: str) -> str:
    """Accept `uid`, `uid:gid`, `name` or `name:group` (no spaces, no empty parts)."""
    if not _USER.match(user):
        raise ImageError(f"bad user {user!r}: expected NAME, UID or UID:GID")
    return user


def check_platform(os_name: str, arch: str, variant: str | None) -> None:
    """Reject os/architecture/variant values that no runtime would match."""
    if os_name not in OSES:
        raise ImageError(f"unknown os {os_name!r}; expected one of {sorted(OSES)}")
    if arch not in ARCHITECTURES:
        raise ImageError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    if variant:
        pattern = VARIANTS.get(arch)
        if pattern is None:
            raise ImageError(f"architecture {arch!r} takes no variant, got {variant!r}")
        if not pattern.fullmatch(variant):
            raise ImageError(f"unknown variant {variant!r} for architecture {arch!r}")


def check_created(created: str) -> str:
    """Return an RFC 3339 timestamp; bare digits (a stamped BUILD_TIMESTAMP) are epoch seconds."""
    if created.isdigit():
        moment = datetime.fromtimestamp(int(created), tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not _CREATED.match(created):
        raise ImageError(f"bad created {created!r}: expected RFC 3339 like {EPOCH}")
    try:
        datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        raise ImageError(f"bad created {created!r}: not a real date and time") from None
    return created
