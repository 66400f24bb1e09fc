"""Re-resolve packages.lock.json from packages.in: `bazel run @fastapi_kit//distroless:lock`.

apt (the ordinary client) fetches and verifies Debian 13's Packages index with a private
configuration (own sources list, lists, cache and an empty dpkg status), so the host's own apt
state is neither read nor changed. The index is then walked by private/resolve.py, and the lock
is written atomically into the source tree (BUILD_WORKSPACE_DIRECTORY under `bazel run`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kit_lib import layout

from distroless.private.control import parse_paragraphs
from distroless.private.resolve import Locked, ResolveError, index_records, resolve
from distroless.private.sources import SourcesError, find_mirror

SUITE = "trixie"
ARCH = "amd64"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class LockError(RuntimeError):
    """The lock could not be made; the message is one line."""


def read_packages_in(path: Path) -> tuple[list[str], set[str]]:
    """Return (wanted, excluded) from packages.in: `name` wants, `-name` excludes, `#` comments."""
    wanted: list[str] = []
    excluded: set[str] = set()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise LockError(f"{path}:{lineno}: one package name per line, got {line!r}")
        if line.startswith("-"):
            excluded.add(line[1:])
        elif line in wanted:
            raise LockError(f"{path}:{lineno}: {line} listed twice")
        else:
            wanted.append(line)
    if not wanted:
        raise LockError(f"{path}: no wanted packages")
    return wanted, excluded


def apt_config(root: Path, mirror: str, keyring: str) -> Path:
    """Write a private apt setup under `root` and return its APT_CONFIG file."""
    for sub in ("lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/prefs.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "status").write_text("")
    (root / "etc/sources.list").write_text(
        f"deb [arch={ARCH} signed-by={keyring}] {mirror} {SUITE} main\n"
    )
    conf = root / "apt.conf"
    settings = {
        "Dir::Etc::sourcelist": root / "etc/sources.list",
        "Dir::Etc::sourceparts": root / "etc/sources.list.d",
        "Dir::Etc::preferences": root / "etc/preferences",
        "Dir::Etc::preferencesparts": root / "etc/prefs.d",
        "Dir::State::Lists": root / "lists",
        "Dir::State::status": root / "status",
        "Dir::Cache": root / "cache",
        "APT::Architecture": ARCH,
        "APT::Architectures": ARCH,
    }
    conf.write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()))
    return conf


def fetch_index(mirror: str, keyring: str) -> str:
    """Run `apt-get update` privately and return the index as `apt-cache dumpavail` prints it."""
    if not Path(keyring).is_file():
        raise LockError(f"keyring {keyring} not found: install debian-archive-keyring")
    with tempfile.TemporaryDirectory(prefix="base-lock-") as tmp:
        env = dict(os.environ, APT_CONFIG=str(apt_config(Path(tmp), mirror, keyring)))
        update = subprocess.run(
            ["apt-get", "-q", "update", "-o", "APT::Update::Error-Mode=any"],
            env=env,
            capture_output=True,
            text=True,
        )
        if update.returncode != 0:
            last = (update.stderr.strip() or update.stdout.strip()).splitlines()[-1:]
            raise LockError(f"apt-get update for {SUITE} failed: {' '.join(last)}")
        dump = subprocess.run(
            ["apt-cache", "dumpavail"], env=env, capture_output=True, text=True, check=False
        )
        if dump.returncode != 0 or not dump.stdout:
            raise LockError(f"apt-cache dumpavail failed: {dump.stderr.strip()[:200]}")
        return dump.stdout


def render(locked: list[Locked]) -> str:
    """Return the lock file text: a JSON list sorted by name, two-space indented."""
    return json.dumps([p.to_json() for p in locked], indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Resolve packages.in and write packages.lock.json beside it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY", ".")
    # This repository keeps the kit in kit/fastapi_kit; elsewhere give --input and --output.
    here = f"{workspace}/kit/fastapi_kit/distroless"
    parser.add_argument("--input", default=f"{here}/packages.in")
    parser.add_argument("--output", default=f"{here}/packages.lock.json")
    parser.add_argument("--keyring", default=KEYRING)
    args = parser.parse_args(argv)
    try:
        wanted, excluded = read_packages_in(Path(args.input))
        mirror = find_mirror(dict(os.environ))
        records = index_records(parse_paragraphs(fetch_index(mirror, args.keyring)), ARCH)
        locked = resolve(records, wanted, excluded)
        layout.write_file_atomic(args.output, render(locked).encode())
    except (LockError, ResolveError, SourcesError, OSError) as e:
        print(f"lock: {e}", file=sys.stderr)
        return 1
    print(f"lock: {len(locked)} packages for {SUITE}/{ARCH} written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
