"""The managed root's package lock: resolve it, fetch exactly it, check an install against it.

./bazelw builds its Debian root from `root.lock`, which names every package with its version,
architecture, sha256 and pool path. Why a lock and not "whatever the suite serves today": forky is
Debian's moving testing suite, so two machines bootstrapping a week apart would otherwise get
different compilers, runc or strip, and a root that worked could not be rebuilt.

Trust: at relock time apt resolves from an archive whose signature it checked against the Debian
keyring, and the lock records each .deb's sha256 from that signed index. At bootstrap `fetch`
verifies the mirror's InRelease with gpgv against the same keyring, checks that the signed
Packages index still lists each locked file with the locked sha256, downloads only what the cache
lacks, and checks every file's sha256 against the lock. The cache then holds a flat repository
(the .debs and a Packages index) that mmdebstrap installs from, so a machine that built once can
rebuild offline: with every locked file cached, `fetch` touches no network.

Runs on the host's python3 (standard library only) before any Bazel exists.
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import hashlib
import lzma
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

RELOCK = "./bazelw --relock"


class LockError(Exception):
    """A problem the user must act on; printed as one line."""


@dataclass(frozen=True, order=True)
class Package:
    name: str
    version: str
    arch: str
    sha256: str
    filename: str  # the pool path under the mirror, e.g. pool/main/r/runc/runc_1.3.3_amd64.deb

    @property
    def deb(self) -> str:
        """The cache's file name: unique per name, version and architecture."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """Parse deb822 paragraphs (Packages, apt-cache show, Release); continuation lines joined."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, ""
        elif line[0] in " \t":
            if key:
                fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def read_lock(path: Path) -> tuple[dict[str, str], list[Package]]:
    """(header fields, packages) of a lock file; a malformed line is an error naming it."""
    header: dict[str, str] = {}
    packages: list[Package] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        key, sep, value = line[2:].partition(": ")
        if line.startswith("# ") and sep and key.replace("-", "").isalpha() and key.islower():
            header[key] = value  # "# suite: forky"; other comments are prose
            continue
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 5 or len(parts[3]) != 64:
            raise LockError(f"{path}:{number}: expected 'name version arch sha256 pool-path'")
        packages.append(Package(*parts))
    if not packages:
        raise LockError(f"{path}: no packages; relock: {RELOCK}")
    return header, packages


def render_lock(header: dict[str, str], packages: Iterable[Package]) -> str:
    lines = [
        "# The managed root of ./bazelw: every Debian package, exactly. Do not edit;",
        f"# {RELOCK} resolves it again and prints what changed.",
        *(f"# {k}: {v}" for k, v in header.items()),
    ]
    lines += [f"{p.name} {p.version} {p.arch} {p.sha256} {p.filename}" for p in sorted(packages)]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write next to `path`, then rename: a reader sees the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def from_apt_show(text: str) -> list[Package]:
    """Packages from `apt-cache show --no-all-versions` stanzas of the installed set."""
    out = []
    for s in stanzas(text):
        try:
            out.append(Package(s["Package"], s["Version"], s["Architecture"], s["SHA256"],
                               s["Filename"]))  # fmt: skip
        except KeyError as missing:
            raise LockError(
                f"apt-cache show gave a stanza without {missing}: {s.get('Package')}"
            ) from None
    return out


def diff(old: list[Package], new: list[Package]) -> list[str]:
    """Human lines: added, removed and changed packages (by name)."""
    before = {p.name: p for p in old}
    after = {p.name: p for p in new}
    lines = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is None and b is not None:
            lines.append(f"+ {name} {b.version}")
        elif b is None and a is not None:
            lines.append(f"- {name} {a.version}")
        elif a != b and a is not None and b is not None:
            lines.append(f"~ {name} {a.version} -> {b.version}")
    return lines


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def release_hashes(release: str) -> dict[str, tuple[str, int]]:
    """path -> (sha256, size) from a Release file's SHA256 field."""
    fields = next(stanzas(release), {})
    out = {}
    for line in fields.get("SHA256", "").splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[2]] = (parts[0], int(parts[1]))
    return out


def valid_until(release: str) -> datetime.datetime | None:
    value = next(stanzas(release), {}).get("Valid-Until")
    return email.utils.parsedate_to_datetime(value) if value else None


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.read()
    except OSError as e:
        raise LockError(f"cannot fetch {url}: {e}") from e


def verified_release(mirror: str, suite: str, keyring: Path, gpgv: str) -> str:
    """The suite's InRelease text as gpgv verified it against `keyring` (not our own parsing)."""
    signed = _get(f"{mirror}/dists/{suite}/InRelease")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "InRelease"), Path(tmp, "Release")
        src.write_bytes(signed)
        r = subprocess.run(
            [gpgv, "--quiet", "--keyring", str(keyring), "--output", str(out), str(src)],
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["no valid signature"])[-1]
            raise LockError(f"{mirror}/dists/{suite}/InRelease: signature check failed ({why})")
        return out.read_text()


def signed_index(mirror: str, suite: str, arch: str, keyring: Path, gpgv: str) -> dict:
    """(name, version, arch) -> stanza from the suite's main Packages, checked by the signature."""
    release = verified_release(mirror, suite, keyring, gpgv)
    expiry = valid_until(release)
    if expiry and expiry < datetime.datetime.now(datetime.UTC):
        # A frozen or lagging mirror: its index is stale, not forged (the signature holds), and
        # the lock pins every file by sha256, so staleness cannot downgrade the root.
        note = f"{suite}'s index on this mirror expired on {expiry:%Y-%m-%d}"
        print(f"bazelw: note: {note}; accepted: every package is pinned by sha256 in the lock",
              file=sys.stderr)  # fmt: skip
    path = f"main/binary-{arch}/Packages.xz"
    want = release_hashes(release).get(path)
    if want is None:
        raise LockError(f"{suite}'s Release lists no {path}")
    data = _get(f"{mirror}/dists/{suite}/{path}")
    if hashlib.sha256(data).hexdigest() != want[0]:
        raise LockError(f"{mirror}/dists/{suite}/{path}: sha256 differs from the signed Release")
    return {(s["Package"], s["Version"], s["Architecture"]): s
            for s in stanzas(lzma.decompress(data).decode())}  # fmt: skip


def missing(packages: list[Package], debs: Path) -> list[Package]:
    """Locked packages the cache lacks or holds with other bytes (those are removed)."""
    out = []
    for p in packages:
        f = debs / p.deb
        if f.exists() and sha256(f) == p.sha256:
            continue
        f.unlink(missing_ok=True)
        out.append(p)
    return out


def fetch(lock: Path, cache: Path, mirror: str, keyring: Path, gpgv: str) -> None:
    """Make `cache/debs` hold every locked .deb, verified, and the flat repository's index."""
    header, packages = read_lock(lock)
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    need = missing(packages, debs)
    if need:
        arch = header.get("architecture", "amd64")
        index = signed_index(mirror, header.get("suite", "forky"), arch, keyring, gpgv)
        for i, p in enumerate(need, 1):
            s = index.get((p.name, p.version, p.arch))
            if s is None:
                raise LockError(f"the mirror no longer serves {p.name} {p.version} "
                                f"(locked in {lock.name}); relock: {RELOCK}")  # fmt: skip
            if s.get("SHA256") != p.sha256:
                raise LockError(f"{p.name} {p.version}: the signed index's sha256 differs from "
                                f"the lock's; relock: {RELOCK}")  # fmt: skip
            data = _get(f"{mirror}/{s['Filename']}")
            if hashlib.sha256(data).hexdigest() != p.sha256:
                raise LockError(f"{mirror}/{s['Filename']}: sha256 differs from the lock")
            write_atomic(debs / p.deb, data)
            if i % 50 == 0 or i == len(need):
                print(f"bazelw:   {i}/{len(need)} packages downloaded", file=sys.stderr)
    write_atomic(debs / "Packages", flat_index(packages, debs))


def flat_index(packages: list[Package], debs: Path) -> str:
    """A flat repository's Packages for the cached files: each .deb's control plus where it is."""
    out = []
    for p in sorted(packages):
        f = debs / p.deb
        control = subprocess.run(
            ["dpkg-deb", "--field", str(f)], check=True, capture_output=True, text=True
        ).stdout.rstrip("\n")
        out.append(
            f"{control}\nFilename: ./{p.deb}\nSize: {f.stat().st_size}\nSHA256: {p.sha256}\n"
        )
    return "\n".join(out)


def check_installed(lock: Path, status: str) -> None:
    """`status`: dpkg-query -W -f '${Package} ${Version} ${Architecture}' of the built root."""
    _, packages = read_lock(lock)
    want = {(p.name, p.version, p.arch) for p in packages}
    got = {tuple(line.split()[:3]) for line in status.splitlines() if line.strip()}
    extra, lacking = sorted(got - want), sorted(want - got)
    if extra or lacking:
        first = (["installed but not locked: " + " ".join(extra[0])] if extra else []) + (
            ["locked but not installed: " + " ".join(lacking[0])] if lacking else []
        )
        raise LockError(f"the managed root differs from {lock.name} "
                        f"({len(extra)} extra, {len(lacking)} missing; {first[0]})")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rootlock", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download and verify every locked .deb into CACHE/debs")
    f.add_argument("--lock", type=Path, required=True)
    f.add_argument("--cache", type=Path, required=True)
    f.add_argument("--mirror", required=True)
    f.add_argument("--keyring", type=Path, required=True)
    f.add_argument("--gpgv", default="gpgv")
    i = sub.add_parser("includes", help="print name=version,... for mmdebstrap --include")
    i.add_argument("--lock", type=Path, required=True)
    w = sub.add_parser("write", help="write the lock from apt-cache show stanzas; print the diff")
    w.add_argument("--lock", type=Path, required=True)
    w.add_argument("--stanzas", type=Path, required=True)
    w.add_argument("--header", action="append", default=[], help="KEY=VALUE")
    c = sub.add_parser("check", help="compare an installed root's package list with the lock")
    c.add_argument("--lock", type=Path, required=True)
    c.add_argument("--status", type=Path, required=True)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "fetch":
            if not a.keyring.is_file():
                why = "apt-get install debian-archive-keyring, or set BAZELW_KEYRING"
                raise LockError(f"no Debian archive keyring at {a.keyring} ({why})")
            fetch(a.lock, a.cache, a.mirror.rstrip("/"), a.keyring, a.gpgv)
        elif a.cmd == "includes":
            print(",".join(f"{p.name}={p.version}" for p in read_lock(a.lock)[1]))
        elif a.cmd == "write":
            old = read_lock(a.lock)[1] if a.lock.exists() else []
            new = from_apt_show(a.stanzas.read_text())
            header = dict(kv.split("=", 1) for kv in a.header)
            write_atomic(a.lock, render_lock(header, new))
            changes = diff(old, new)
            print("\n".join(changes) if changes else "no package changed")
            print(f"{a.lock}: {len(new)} packages", file=sys.stderr)
        elif a.cmd == "check":
            check_installed(a.lock, a.status.read_text())
    except LockError as e:
        print(f"bazelw: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
