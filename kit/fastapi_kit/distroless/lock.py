"""Re-resolve packages.lock.json from packages.in: `bazel run @fastapi_kit//distroless:lock`.

One packages.in serves every base: `{python}` in it is the base's Python (3.13: Debian 13
"trixie", the default; 3.14: Debian "forky", the testing suite). apt (the ordinary client)
fetches and verifies each suite's Packages indexes (trixie, trixie-updates, trixie-security;
forky, forky-security) with a private configuration (own sources list, lists, cache and an
empty dpkg status), so the host's own apt state is neither read nor changed. The highest version
of each package across a release's suites is taken (a security fix wins), the closure is walked
by private/resolve.py, and the locks are written atomically into the source tree
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


@dataclasses.dataclass(frozen=True)
class Release:
    """The Debian release a base's Python comes from, and its lock files."""

    suite: str
    # The main archive's suites (testing has no -updates), then the security archive's.
    suites: tuple[str, ...]
    security_suites: tuple[str, ...]
    # Debian architecture -> the lock file beside packages.in.
    locks: dict[str, str]
    # Testing's Release files outlive their Valid-Until date between publishes: apt would refuse
    # them. Signatures are still checked.
    testing: bool = False

    @property
    def all_suites(self) -> tuple[str, ...]:
        return self.suites + self.security_suites


RELEASES = {
    "3.13": Release(
        "trixie",
        ("trixie", "trixie-updates"),
        ("trixie-security",),
        {"amd64": "packages.lock.json", "arm64": "packages.arm64.lock.json"},
    ),
    "3.14": Release(
        "forky",
        ("forky",),
        ("forky-security",),
        {"amd64": "packages.py3.14.lock.json", "arm64": "packages.py3.14.arm64.lock.json"},
        testing=True,
    ),
}
ARCHES = ("amd64", "arm64")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
RELOCK = "./bazelw run @fastapi_kit//distroless:lock"


class LockError(RuntimeError):
    """The lock could not be made; the message is one line."""


def read_packages_in(path: Path, python: str = "3.13") -> tuple[list[str], set[str], list[str]]:
    """Return (wanted, excluded, optional) from packages.in, `{python}` read as `python`.

    `name` wants a package, `-name` excludes one, `+name` locks one for opt-in bases only (e.g.
    libstdc++6 for C++ extension wheels), `#` starts a comment.
    """
    wanted: list[str] = []
    excluded: set[str] = set()
    optional: list[str] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip().replace("{python}", python)
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


def apt_config(
    root: Path, mirror: str, security: str, keyring: str, arch: str, release: Release
) -> Path:
    """Write a private apt setup under `root` for `release` and return its APT_CONFIG file."""
    for sub in ("lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/prefs.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "status").write_text("")
    lines = [
        f"deb [arch={arch} signed-by={keyring}] {mirror} {suite} main" for suite in release.suites
    ]
    lines += [
        f"deb [arch={arch} signed-by={keyring}] {security} {suite} main"
        for suite in release.security_suites
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
    if release.testing:
        settings["Acquire::Check-Valid-Until"] = "false"
    conf.write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()))
    return conf


def fetch_indexes(
    mirror: str, security: str, keyring: str, arch: str, release: Release
) -> dict[str, str]:
    """Run `apt-get update` privately; return each suite's Packages index text by suite name."""
    if not Path(keyring).is_file():
        raise LockError(f"keyring {keyring} not found: install debian-archive-keyring")
    with tempfile.TemporaryDirectory(prefix="base-lock-") as tmp:
        env = dict(
            os.environ,
            APT_CONFIG=str(apt_config(Path(tmp), mirror, security, keyring, arch, release)),
        )
        update = subprocess.run(
            ["apt-get", "-q", "update", "-o", "APT::Update::Error-Mode=any"],
            env=env,
            capture_output=True,
            text=True,
        )
        if update.returncode != 0:
            last = (update.stderr.strip() or update.stdout.strip()).splitlines()[-1:]
            raise LockError(f"apt-get update for {release.suite} ({arch}) failed: {' '.join(last)}")
        indexes: dict[str, str] = {}
        for suite in release.all_suites:
            # apt names a list after its URI: ..._dists_<suite>_main_binary-<arch>_Packages.
            found = sorted(
                (Path(tmp) / "lists").glob(f"*_dists_{suite}_main_binary-{arch}_Packages")
            )
            if len(found) == 1:
                indexes[suite] = found[0].read_text(encoding="utf-8")
            elif not found and sorted((Path(tmp) / "lists").glob(f"*_dists_{suite}_*Release")):
                # A verified Release whose index is empty (forky-security between fixes): apt
                # keeps no list file for it.
                indexes[suite] = ""
            else:
                raise LockError(f"apt-get update left no {arch} Packages index for {suite}")
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
    """Resolve packages.in into one lock per Python and architecture (or audit the locks)."""
    parser = cli.Parser(prog="lock", description=__doc__.splitlines()[0])
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY", ".")
    # This repository keeps the kit in kit/fastapi_kit; elsewhere give --input and --dir.
    here = f"{workspace}/kit/fastapi_kit/distroless"
    parser.add_argument("--input", default=f"{here}/packages.in")
    parser.add_argument("--dir", default=here, help="folder of the lock files")
    parser.add_argument(
        "--arch", action="append", choices=ARCHES, help="only this architecture (repeatable)"
    )
    parser.add_argument(
        "--python", action="append", choices=sorted(RELEASES), help="only this base (repeatable)"
    )
    parser.add_argument("--keyring", default=KEYRING)
    parser.add_argument("--audit", action="store_true", help="check the locks; write nothing")
    args = parser.parse_args(argv)
    arches = args.arch or list(ARCHES)
    pythons = args.python or sorted(RELEASES)
    try:
        mirror = find_mirror(dict(os.environ))
        security = security_mirror(dict(os.environ), mirror)
        if args.audit:
            total = 0
            for python in pythons:
                release = RELEASES[python]
                suites = ", ".join(release.all_suites)
                for arch in arches:
                    path = Path(args.dir) / release.locks[arch]
                    locked = json.loads(path.read_text(encoding="utf-8"))
                    indexes = fetch_indexes(mirror, security, args.keyring, arch, release)
                    behind = audit(locked, all_records(indexes), arch)
                    for line in behind:
                        print(f"behind ({release.suite}, {arch}): {line}")
                    print(
                        f"audit: {len(locked)} locked packages ({release.suite}, {arch}) checked "
                        f"against {suites}: {len(behind)} behind. This compares versions only; "
                        "it does not read advisories."
                    )
                    total += len(behind)
            if total:
                print(
                    "audit: relock with ./bazelw run @fastapi_kit//distroless:lock", file=sys.stderr
                )
            return 1 if total else 0
        # Resolve every base and architecture before writing any lock: all or nothing.
        resolved = []
        for python in pythons:
            release = RELEASES[python]
            wanted, excluded, optional = read_packages_in(Path(args.input), python)
            for arch in arches:
                indexes = fetch_indexes(mirror, security, args.keyring, arch, release)
                records = index_records(all_records(indexes), arch)
                locked = resolve_with_optional(records, wanted, excluded, optional)
                resolved.append((release, arch, locked))
        for release, arch, locked in resolved:
            out = Path(args.dir) / release.locks[arch]
            layout.write_file_atomic(out, render(locked).encode())
            suites = ", ".join(release.all_suites)
            print(f"lock: {len(locked)} packages for {suites} ({arch}) written to {out}")
    except (LockError, ResolveError, SourcesError, OSError, ValueError) as e:
        print(f"lock: {e}", file=sys.stderr)
        return 2 if args.audit else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
