"""Re-resolve packages.lock.json from packages.in: `bazel run @fastapi_kit//distroless:lock`.

apt (the ordinary client) fetches and verifies Debian 13's Packages indexes of trixie,
trixie-updates and trixie-security with a private configuration (own sources list, lists,
cache and an empty dpkg status), so the host's own apt state is neither read nor changed. The
highest version of each package across the three is taken (a security fix wins), the closure is
walked by private/resolve.py, and the lock is written atomically into the source tree
(BUILD_WORKSPACE_DIRECTORY under `bazel run`). `--audit` instead lists every locked package that
one of the suites has a newer version of, and exits 1 if there is any.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kit_lib import cli, layout

from distroless.private.control import Paragraph, compare_versions, parse_paragraphs
from distroless.private.resolve import Locked, ResolveError, index_records, resolve
from distroless.private.sources import SourcesError, find_mirror, security_mirror

SUITE = "trixie"
# The main archive's suites, then the security archive's.
SUITES = (SUITE, f"{SUITE}-updates")
SECURITY_SUITES = (f"{SUITE}-security",)
# Debian architecture -> the lock file beside packages.in; both are resolved from one packages.in.
LOCKS = {"amd64": "packages.lock.json", "arm64": "packages.arm64.lock.json"}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
RELOCK = "./bazelw run @fastapi_kit//distroless:lock"


class LockError(RuntimeError):
    """The lock could not be made; the message is one line."""


def read_packages_in(path: Path) -> tuple[list[str], set[str], list[str]]:
    """Return (wanted, excluded, optional) from packages.in.

    `name` wants a package, `-name` excludes one, `+name` locks one for opt-in bases only (e.g.
    libstdc++6 for C++ extension wheels), `#` starts a comment.
    """
    wanted: list[str] = []
    excluded: set[str] = set()
    optional: list[str] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise LockError(f"{path}:{lineno}: one package name per line, got {line!r}")
        if line.startswith("-"):
            excluded.add(line[1:])
        elif line.startswith("+"):
            optional.append(line[1:])
        elif line in wanted:
            raise LockError(f"{path}:{lineno}: {line} listed twice")
        else:
            wanted.append(line)
    if not wanted:
        raise LockError(f"{path}: no wanted packages")
    both = set(wanted) & set(optional)
    if both:
        raise LockError(f"{path}: {sorted(both)[0]} is both wanted and optional")
    return wanted, excluded, optional


def resolve_with_optional(
    records: dict[str, Paragraph], wanted: list[str], excluded: set[str], optional: list[str]
) -> list[Locked]:
    """The closure of wanted + optional, where what only the optional ones need is marked."""
    base = {p.name for p in resolve(records, wanted, excluded)}
    full = resolve(records, wanted + optional, excluded)
    return [p if p.name in base else dataclasses.replace(p, optional=True) for p in full]


def apt_config(root: Path, mirror: str, security: str, keyring: str, arch: str) -> Path:
    """Write a private apt setup under `root` and return its APT_CONFIG file."""
    for sub in ("lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/prefs.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "status").write_text("")
    lines = [f"deb [arch={arch} signed-by={keyring}] {mirror} {suite} main" for suite in SUITES]
    lines += [
        f"deb [arch={arch} signed-by={keyring}] {security} {suite} main"
        for suite in SECURITY_SUITES
    ]
    (root / "etc/sources.list").write_text("\n".join(lines) + "\n")
    conf = root / "apt.conf"
    settings = {
        "Dir::Etc::sourcelist": root / "etc/sources.list",
        "Dir::Etc::sourceparts": root / "etc/sources.list.d",
        "Dir::Etc::preferences": root / "etc/preferences",
        "Dir::Etc::preferencesparts": root / "etc/prefs.d",
        "Dir::State::Lists": root / "lists",
        "Dir::State::status": root / "status",
        "Dir::Cache": root / "cache",
        "APT::Architecture": arch,
        "APT::Architectures": arch,
    }
    conf.write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()))
    return conf


def fetch_indexes(mirror: str, security: str, keyring: str, arch: str) -> dict[str, str]:
    """Run `apt-get update` privately; return each suite's Packages index text by suite name."""
    if not Path(keyring).is_file():
        raise LockError(f"keyring {keyring} not found: install debian-archive-keyring")
    with tempfile.TemporaryDirectory(prefix="base-lock-") as tmp:
        env = dict(
            os.environ, APT_CONFIG=str(apt_config(Path(tmp), mirror, security, keyring, arch))
        )
        update = subprocess.run(
            ["apt-get", "-q", "update", "-o", "APT::Update::Error-Mode=any"],
            env=env,
            capture_output=True,
            text=True,
        )
        if update.returncode != 0:
            last = (update.stderr.strip() or update.stdout.strip()).splitlines()[-1:]
            raise LockError(f"apt-get update for {SUITE} ({arch}) failed: {' '.join(last)}")
        indexes: dict[str, str] = {}
        for suite in SUITES + SECURITY_SUITES:
            # apt names a list after its URI: ..._dists_<suite>_main_binary-<arch>_Packages.
            found = sorted(
                (Path(tmp) / "lists").glob(f"*_dists_{suite}_main_binary-{arch}_Packages")
            )
            if len(found) != 1:
                raise LockError(f"apt-get update left no {arch} Packages index for {suite}")
            indexes[suite] = found[0].read_text(encoding="utf-8")
        return indexes


def all_records(indexes: dict[str, str]) -> list[Paragraph]:
    """Every record of every suite, each tagged with its suite (for the audit's report)."""
    records = []
    for suite, text in indexes.items():
        for para in parse_paragraphs(text):
            para["X-Suite"] = suite
            records.append(para)
    return records


def audit(locked: list[dict[str, object]], records: list[Paragraph], arch: str) -> list[str]:
    """One line per locked package that a suite has a newer version of."""
    best = index_records(records, arch)
    behind = []
    for entry in locked:
        name, version = str(entry["name"]), str(entry["version"])
        newest = best.get(name)
        if newest is None:
            behind.append(f"{name} {version}: no longer in any suite")
        elif compare_versions(newest["Version"], version) > 0:
            behind.append(f"{name} {version}: {newest['Version']} in {newest['X-Suite']}")
    return behind


def render(locked: list[Locked]) -> str:
    """Return the lock file text: a JSON list sorted by name, two-space indented."""
    return json.dumps([p.to_json() for p in locked], indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Resolve packages.in into one lock per architecture beside it (or audit the locks)."""
    parser = cli.Parser(prog="lock", description=__doc__.splitlines()[0])
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY", ".")
    # This repository keeps the kit in kit/fastapi_kit; elsewhere give --input and --dir.
    here = f"{workspace}/kit/fastapi_kit/distroless"
    parser.add_argument("--input", default=f"{here}/packages.in")
    parser.add_argument("--dir", default=here, help="folder of the lock files")
    parser.add_argument(
        "--arch", action="append", choices=sorted(LOCKS), help="only this architecture (repeatable)"
    )
    parser.add_argument("--keyring", default=KEYRING)
    parser.add_argument("--audit", action="store_true", help="check the locks; write nothing")
    args = parser.parse_args(argv)
    suites = ", ".join(SUITES + SECURITY_SUITES)
    arches = args.arch or sorted(LOCKS)
    try:
        mirror = find_mirror(dict(os.environ))
        security = security_mirror(dict(os.environ), mirror)
        if args.audit:
            total = 0
            for arch in arches:
                path = Path(args.dir) / LOCKS[arch]
                locked = json.loads(path.read_text(encoding="utf-8"))
                records = all_records(fetch_indexes(mirror, security, args.keyring, arch))
                behind = audit(locked, records, arch)
                for line in behind:
                    print(f"behind ({arch}): {line}")
                print(
                    f"audit: {len(locked)} locked packages ({arch}) checked against {suites}: "
                    f"{len(behind)} behind. This compares versions only; it does not read "
                    "advisories."
                )
                total += len(behind)
            if total:
                print(
                    "audit: relock with ./bazelw run @fastapi_kit//distroless:lock", file=sys.stderr
                )
            return 1 if total else 0
        wanted, excluded, optional = read_packages_in(Path(args.input))
        # Resolve every architecture before writing any lock: all or nothing.
        resolved = {}
        for arch in arches:
            records = index_records(
                all_records(fetch_indexes(mirror, security, args.keyring, arch)), arch
            )
            resolved[arch] = resolve_with_optional(records, wanted, excluded, optional)
        for arch, locked_new in resolved.items():
            out = Path(args.dir) / LOCKS[arch]
            layout.write_file_atomic(out, render(locked_new).encode())
            print(f"lock: {len(locked_new)} packages for {suites} ({arch}) written to {out}")
    except (LockError, ResolveError, SourcesError, OSError, ValueError) as e:
        print(f"lock: {e}", file=sys.stderr)
        return 2 if args.audit else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
