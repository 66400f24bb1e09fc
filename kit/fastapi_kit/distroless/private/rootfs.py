"""Build the distroless Python base layer: one deterministic tar from the locked Debian .debs.

What dpkg and the maintainer scripts would do is done here without running any of them (the
image has no shell to run them with): unpack each package's data.tar over the others, leave out
what policy.py lists, make the files that maintainer scripts would make (the CA bundle,
/etc/localtime), add distroless' accounts and per-package dpkg status files, and check the result
(no shell, no dangling links, every ELF's libraries present) before writing it.

    rootfs.py --lock packages.lock.json --out base.tar DEB...
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import posixpath
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kit_lib import bytecode
from kit_lib.tarball import DIR, FILE, HARDLINK, SYMLINK, Entry, LayerError, write_layer

from distroless.private import elf, ldcache, policy, users
from distroless.private.control import ControlError, parse_paragraphs
from distroless.private.debfile import Deb, DebError, read_deb

Tree = dict[str, Entry]

# Debian architecture -> its multiarch triplet (library folders, _sysconfigdata's name).
MULTIARCH = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
MERGED_USR = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"}
# The Python versions a base can carry (each from its Debian release's lock).
PYTHONS = ("3.13", "3.14")
STATUS_DIR = "var/lib/dpkg/status.d"
CA_SOURCE = "usr/share/ca-certificates"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
LD_CACHE = "etc/ld.so.cache"
# The one program besides the interpreter: ctypes.util.find_library runs `/sbin/ldconfig -p`.
LDCONFIG = "usr/sbin/ldconfig"
NONROOT_HOME = "home/nonroot"


class BuildError(RuntimeError):
    """The layer cannot be built; the message is one line."""


@dataclass(frozen=True)
class Package:
    """A locked package and its unpacked .deb."""

    name: str
    version: str
    arch: str
    deb: Deb


# --- inputs -------------------------------------------------------------------------------------


def read_lock(path: Path) -> list[dict[str, str]]:
    """Read packages.lock.json and check that every entry has the fields the build needs."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise BuildError(f"{path}: cannot read lock ({e})") from None
    if not isinstance(entries, list) or not entries:
        raise BuildError(f"{path}: lock must be a non-empty JSON list")
    for i, entry in enumerate(entries):
        for key in ("name", "version", "arch", "sha256", "filename"):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise BuildError(f"{path}: entry {i} has no string field {key!r}")
    return entries


def load_packages(lock: list[dict[str, str]], debs: Iterable[Path]) -> list[Package]:
    """Match each .deb to its lock entry by file name, check its sha256 and control fields."""
    by_file = {posixpath.basename(e["filename"]): e for e in lock}
    found: dict[str, Package] = {}
    for path in debs:
        entry = by_file.get(path.name)
        if entry is None:
            raise BuildError(f"{path.name}: .deb not in the lock")
        blob = path.read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        if digest != entry["sha256"]:
            raise BuildError(
                f"{path.name}: sha256 {digest} does not match the lock's {entry['sha256']}"
            )
        try:
            deb = read_deb(blob, path.name)
        except DebError as e:
            raise BuildError(str(e)) from None
        try:
            fields = next(parse_paragraphs(deb.control["control"].decode("utf-8", "replace")))
        except (ControlError, StopIteration):
            raise BuildError(f"{path.name}: unreadable control file") from None
        for key, want in (
            ("Package", entry["name"]),
            ("Version", entry["version"]),
            ("Architecture", entry["arch"]),
        ):
            if fields.get(key) != want:
                raise BuildError(
                    f"{path.name}: control {key} is {fields.get(key)!r}, lock {want!r}"
                )
        found[entry["name"]] = Package(entry["name"], entry["version"], entry["arch"], deb)
    missing = [e["name"] for e in lock if e["name"] not in found]
    if missing:
        raise BuildError(f"no .deb given for locked package(s): {', '.join(missing)}")
    return [found[e["name"]] for e in lock]


# --- the tree -----------------------------------------------------------------------------------


def _name(member: str) -> str | None:
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BuildError(f"unsafe path {member!r} in a data.tar")
    return "/".join(parts) or None


def merge(tree: Tree, owners: dict[str, str], package: str, data_tar: bytes) -> None:
    """Unpack one package's data.tar into `tree`, refusing files two packages both ship."""
    with tarfile.open(fileobj=io.BytesIO(data_tar), mode="r:") as tar:
        for info in tar:
            name = _name(info.name)
            if name is None:
                continue
            # dpkg follows symlinked directories (/bin -> usr/bin): so does the merge.
            parent = posixpath.dirname(name)
            real_parent = resolve(tree, parent) if parent else None
            if real_parent is not None and real_parent != parent:
                name = f"{real_parent}/{posixpath.basename(name)}"
            if info.isdir():
                entry = Entry(name, DIR, info.mode)
            elif info.issym():
                entry = Entry(name, SYMLINK, 0o777, target=info.linkname)
            elif info.islnk():
                target = _name(info.linkname)
                if target is None:
                    raise BuildError(f"{package}: hard link /{name} has no target")
                entry = Entry(name, HARDLINK, info.mode, target=target)
            elif info.isreg():
                extracted = tar.extractfile(info)
                assert extracted is not None
                entry = Entry(name, FILE, info.mode, data=extracted.read())
            else:
                raise BuildError(f"{package}: /{name} is a device or fifo, not allowed in a layer")
            old = tree.get(name)
            if old is not None:
                if old.kind == DIR and entry.kind == DIR:
                    continue
                if (old.kind, old.data, old.target) != (entry.kind, entry.data, entry.target):
                    raise BuildError(f"/{name} is shipped by both {owners[name]} and {package}")
                continue
            tree[name] = entry
            owners[name] = package


def resolve(tree: Tree, path: str) -> str | None:
    """Follow symlinks inside the image and return the real path of `path`, or None if missing."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        current = "/".join([*done, part])
        entry = tree.get(current)
        if entry is None:
            return None
        if entry.kind == SYMLINK:
            hops += 1
            if hops > 40:
                return None
            target = entry.target or ""
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        if entry.kind == HARDLINK:
            current = entry.target or ""
        done = current.split("/")
    return "/".join(done)


def apply_policy(tree: Tree) -> dict[str, Entry]:
    """Remove what policy.py drops, and directories the removals left empty; return the removed."""
    removed = {name: tree.pop(name) for name in sorted(tree) if policy.reason_to_drop(name)}
    emptied = {posixpath.dirname(n) for n in removed}
    children: dict[str, int] = {}
    for name in tree:
        parent = posixpath.dirname(name)
        children[parent] = children.get(parent, 0) + 1
    for name in sorted(emptied, key=lambda n: -n.count("/")):
        entry = tree.get(name)
        if name and entry is not None and entry.kind == DIR and not children.get(name):
            removed[name] = tree.pop(name)
            parent = posixpath.dirname(name)
            children[parent] = children.get(parent, 0) - 1
            emptied.add(parent)
    return removed


def ensure_parents(tree: Tree) -> None:
    """Add missing parent directories (root-owned, 0755), so path lookups see them."""
    for name in sorted(tree):
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in tree:
                tree[parent] = Entry(parent, DIR, 0o755)


def fix_links(tree: Tree, removed: dict[str, Entry]) -> None:
    """Drop symlinks into removed files; turn hard links to removed files into plain files."""
    for name in sorted(tree):
        entry = tree[name]
        if entry.kind == HARDLINK and entry.target not in tree:
            source = removed.get(entry.target or "")
            if source is None or source.kind != FILE:
                raise BuildError(f"/{name}: hard link to missing /{entry.target}")
            tree[name] = dataclasses.replace(entry, kind=FILE, data=source.data, target=None)
        elif entry.kind == SYMLINK and resolve(tree, name) is None:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), entry.target or ""))
            if target.lstrip("/") in removed:
                del tree[name]


# --- what maintainer scripts would make ---------------------------------------------------------


def ca_bundle(tree: Tree) -> bytes:
    """Concatenate ca-certificates' PEM files sorted by path, as update-ca-certificates does."""
    prefix = CA_SOURCE + "/"
    certs = sorted(n for n, e in tree.items() if n.startswith(prefix) and n.endswith(".crt"))
    if not certs:
        raise BuildError(f"no certificates under /{CA_SOURCE}: is ca-certificates locked?")
    out = bytearray()
    for name in certs:
        data = tree[name].data or b""
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise BuildError(f"/{name} is not a PEM certificate")
        out += data if data.endswith(b"\n") else data + b"\n"
    return bytes(out)


def status_files(packages: list[Package], tree: Tree) -> list[Entry]:
    """Per-package dpkg status files, as distroless has them, for image scanners."""
    out = []
    for pkg in packages:
        control = pkg.deb.control["control"].decode("utf-8").rstrip("\n") + "\n"
        out.append(Entry(f"{STATUS_DIR}/{pkg.name}", FILE, 0o644, data=control.encode()))
        md5 = pkg.deb.control.get("md5sums")
        if md5 is not None:
            kept = [
                line
                for line in md5.decode("utf-8", "replace").splitlines()
                if line[34:] in tree and tree[line[34:]].kind == FILE
            ]
            data = "".join(f"{line}\n" for line in kept).encode()
            out.append(Entry(f"{STATUS_DIR}/{pkg.name}.md5sums", FILE, 0o644, data=data))
    return out


def add(tree: Tree, entry: Entry, replace: bool = False) -> None:
    """Add a generated entry; a clash with a packaged file is an error unless `replace`."""
    name = entry.path
    if name in tree and not replace:
        raise BuildError(f"/{name} is generated by the build but also shipped by a package")
    tree[name] = entry


def add_generated(tree: Tree, packages: list[Package], bundle: bytes, python: str = "3.13") -> None:
    """Add accounts, the CA bundle, links and directories that the image needs."""
    for link, target in MERGED_USR.items():
        existing = tree.get(link)
        if link == "lib64" and existing is None and target not in tree:
            continue  # arm64 has no /usr/lib64: its loader is /usr/lib/ld-linux-aarch64.so.1
        if existing is None:
            add(tree, Entry(link, SYMLINK, 0o777, target=target))
        elif existing.kind != SYMLINK or existing.target != target:
            raise BuildError(f"/{link} must be a symlink to {target} (merged /usr)")
    add(tree, Entry("usr/bin/python3", SYMLINK, 0o777, target=f"python{python}"))
    add(tree, Entry("etc/passwd", FILE, 0o644, data=users.passwd().encode()))
    add(tree, Entry("etc/group", FILE, 0o644, data=users.group().encode()))
    add(tree, Entry("etc/nsswitch.conf", FILE, 0o644, data=users.NSSWITCH.encode()))
    add(tree, Entry(CA_BUNDLE, FILE, 0o644, data=bundle))
    # OpenSSL's default paths (OPENSSLDIR=/usr/lib/ssl); Debian's `openssl` package, which is
    # excluded, ships these links.
    add(tree, Entry("usr/lib/ssl/cert.pem", SYMLINK, 0o777, target="/" + CA_BUNDLE))
    add(tree, Entry("usr/lib/ssl/certs", SYMLINK, 0o777, target="/etc/ssl/certs"))
    # tzdata's maintainer script points /etc/localtime at UTC unless told otherwise.
    add(tree, Entry("etc/localtime", SYMLINK, 0o777, target="/usr/share/zoneinfo/Etc/UTC"))
    add(tree, Entry("etc/timezone", FILE, 0o644, data=b"Etc/UTC\n"))
    add(tree, Entry("tmp", DIR, 0o1777), replace=True)
    add(tree, Entry("root", DIR, 0o700), replace=True)
    add(tree, Entry("home", DIR, 0o755), replace=True)
    add(
        tree,
        Entry(NONROOT_HOME, DIR, 0o700, uid=users.NONROOT_UID, gid=users.NONROOT_UID),
        replace=True,
    )
    for entry in status_files(packages, tree):
        add(tree, entry)


def normalize_modes(tree: Tree) -> None:
    """Root owns everything but /home/nonroot; no setuid/setgid, sticky or group/world write."""
    for name, entry in tree.items():
        if name in ("tmp", NONROOT_HOME):
            continue
        mode = 0o777 if entry.kind == SYMLINK else entry.mode & 0o755
        tree[name] = dataclasses.replace(entry, mode=mode, uid=0, gid=0)


def ld_cache(tree: Tree, arch: str) -> bytes:
    """/etc/ld.so.cache of the tree's shared libraries, for `ldconfig -p` (ctypes.util).

    Like ldconfig: every ELF file named lib*.so* or ld-*.so* in the loader's folders, under its
    DT_SONAME, where that name is in the same folder (the .debs ship those links).
    """
    found = []
    names = sorted(tree)
    for folder in lib_dirs(arch):
        if resolve(tree, folder) != folder:
            continue  # /lib -> usr/lib: the same folder by another name
        for name in names:
            base = name[len(folder) + 1 :]
            if not name.startswith(folder + "/") or "/" in base:
                continue
            if not base.startswith(("lib", "ld-")) or ".so" not in base:
                continue
            real = resolve(tree, name)
            entry = tree.get(real) if real else None
            if entry is None or entry.kind != FILE or not entry.data or not elf.is_elf(entry.data):
                continue
            soname = elf.dynamic(entry.data).soname
            if soname and resolve(tree, f"{folder}/{soname}") == real:
                found.append((soname, f"/{folder}/{soname}"))
    return ldcache.write_cache(found, arch)


# --- checks -------------------------------------------------------------------------------------


def lib_dirs(arch: str) -> tuple[str, ...]:
    """The dynamic loader's default search folders on `arch`."""
    triplet = MULTIARCH[arch]
    return (f"lib/{triplet}", f"usr/lib/{triplet}", "lib64", "usr/lib64", "lib", "usr/lib")


def problems(tree: Tree, arch: str = "amd64", python: str = "3.13") -> list[str]:
    """Return every reason the tree is not a sound distroless base (empty when it is)."""
    out = []
    allowed_bin = {f"usr/bin/python{python}", "usr/bin/python3"}
    for shell in ("bin/sh", "bin/bash", "bin/dash", "usr/bin/env"):
        if resolve(tree, shell) is not None:
            out.append(f"/{shell} exists")
    for name in sorted(tree):
        entry = tree[name]
        if name.startswith(("usr/bin/", "usr/sbin/")) and name not in allowed_bin | {LDCONFIG}:
            out.append(f"/{name} is a program other than the interpreter")
        if entry.kind == SYMLINK and resolve(tree, name) is None:
            out.append(f"/{name} is a dangling symlink to {entry.target}")
        if entry.kind == FILE and entry.data and elf.is_elf(entry.data):
            out += _elf_problems(tree, name, entry.data, arch)
        if name not in ("tmp",) and entry.kind != SYMLINK and entry.mode & 0o7022:
            out.append(f"/{name} has mode {entry.mode:04o}")
    for must in ("etc/os-release", CA_BUNDLE, f"usr/bin/python{python}", "etc/passwd"):
        real = resolve(tree, must)
        if real is None or tree[real].kind != FILE:
            out.append(f"/{must} is missing")
    return out


def _elf_problems(tree: Tree, name: str, data: bytes, arch: str) -> list[str]:
    try:
        info = elf.dynamic(data)
    except elf.ElfError as e:
        return [f"/{name}: {e}"]
    out = []
    if info.machine != elf.MACHINES[arch]:
        out.append(f"/{name} is built for ELF machine {info.machine}, not {arch}")
    if info.interpreter and resolve(tree, info.interpreter) is None:
        out.append(f"/{name} needs interpreter {info.interpreter}, which is missing")
    origin = posixpath.dirname(name)
    dirs = [p.replace("$ORIGIN", "/" + origin) for p in info.runpath] + list(lib_dirs(arch))
    for lib in info.needed:
        if not any(resolve(tree, f"{d}/{lib}") for d in dirs):
            out.append(f"/{name} needs {lib}, which is not in the layer")
    return out


# --- main ---------------------------------------------------------------------------------------


def build(
    lock_path: Path,
    debs: list[Path],
    precompile_list: Path | None = None,
    arch: str = "amd64",
    with_optional: bool = False,
    python: str = "3.13",
    compiler: str | None = None,
    omit_source: bool = False,
) -> Tree:
    """Return the finished, checked tree of the base layer for `arch` with Python `python`.

    The lock's optional packages (`+name` in packages.in, e.g. libstdc++6) are in it only
    `with_optional`; otherwise their .debs, if given, are left aside. `compiler` writes the
    stdlib's bytecode when the build's Python is not `python`; `omit_source`: see precompile.
    """
    if arch not in MULTIARCH:
        raise BuildError(f"unknown architecture {arch!r}; expected one of {', '.join(MULTIARCH)}")
    lock = read_lock(lock_path)
    if not with_optional:
        aside = {posixpath.basename(e["filename"]) for e in lock if e.get("optional")}
        lock = [e for e in lock if not e.get("optional")]
        debs = [d for d in debs if d.name not in aside]
    foreign = [e for e in lock if e["arch"] not in (arch, "all")]
    if foreign:
        raise BuildError(
            f"{lock_path}: {foreign[0]['name']} is locked for {foreign[0]['arch']}, not {arch}; "
            f"give the {arch} lock"
        )
    packages = load_packages(lock, debs)
    tree: Tree = {}
    owners: dict[str, str] = {}
    for pkg in packages:
        try:
            merge(tree, owners, pkg.name, pkg.deb.data_tar)
        except tarfile.TarError as e:
            raise BuildError(f"{pkg.name}: data.tar: {e}") from None
    bundle = ca_bundle(tree)
    removed = apply_policy(tree)
    add_generated(tree, packages, bundle, python)
    if precompile_list is not None:
        precompile(tree, precompile_list, MULTIARCH[arch], python, compiler, omit_source)
    ensure_parents(tree)
    fix_links(tree, removed)
    add(tree, Entry(LD_CACHE, FILE, 0o644, data=ld_cache(tree, arch)))
    normalize_modes(tree)
    found = problems(tree, arch, python)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        for line in found:
            print(f"rootfs: {line}", file=sys.stderr)
        raise BuildError(f"{found[0]}{more}")
    return tree


def precompile(
    tree: Tree,
    listing: Path,
    multiarch: str = MULTIARCH["amd64"],
    python: str = "3.13",
    compiler: str | None = None,
    omit_source: bool = False,
) -> None:
    """Add unchecked-hash .pyc files for the listed stdlib modules (see precompile.txt).

    The debs ship no bytecode and a read-only root cannot cache it, so without this every start
    recompiles what it imports. Bytecode is portable across CPUs, so an arm64 base compiles here
    too, but not across Python versions: the compiler (the build's Python, or `compiler`) must be
    `python`. In a line, `{python}` is that version and `{multiarch}` the target's triplet
    (`_sysconfigdata__linux_{multiarch}.py`). The bytecode has no column tables
    (kit_lib.bytecode): library tracebacks keep file, line and text, not the `^^^` under it.

    With `omit_source`, a listed module that is a file (not a link) ships as `NAME.pyc` in place
    of `NAME.py`: Python imports it the same, and its tracebacks lose the lines' text.
    """
    names = [
        line.strip().replace("{multiarch}", multiarch).replace("{python}", python)
        for line in listing.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        jobs: list[bytecode.Job] = []
        for i, name in enumerate(names):
            real = resolve(tree, name)  # e.g. sitecustomize.py links to /etc/python3.13/
            entry = tree.get(real) if real else None
            if entry is None or entry.kind != FILE or entry.data is None:
                raise BuildError(f"precompile: {name} is not a file in the layer")
            src = Path(tmp) / f"{i}.py"
            src.write_bytes(entry.data)
            jobs.append((str(src), str(Path(tmp) / f"{i}.pyc"), "/" + name))
        try:
            tag, errors = bytecode.compile_files(jobs, compiler, python, debug_ranges=False)
        except bytecode.CompileError as e:
            raise BuildError(f"precompile: {e}") from None
        for name, (_, pyc, _), error in zip(names, jobs, errors, strict=True):
            if error is not None:
                raise BuildError(f"precompile: {error}")
            stem = Path(name)
            target = str(stem.parent / "__pycache__" / f"{stem.stem}.{tag}.pyc")
            if omit_source and tree[name].kind == FILE:
                del tree[name]
                target = name + "c"
            add(tree, Entry(target, FILE, 0o644, data=Path(pyc).read_bytes()))
    if omit_source:
        _relink_to_bytecode(tree)


def _relink_to_bytecode(tree: Tree) -> None:
    """Point a `NAME.py` link whose target became `TARGET.pyc` at that (Debian's
    `_sysconfigdata__{multiarch}.py` links to `_sysconfigdata__linux_{multiarch}.py`)."""
    for name, entry in sorted(tree.items()):
        if entry.kind != SYMLINK or not name.endswith(".py") or resolve(tree, name) is not None:
            continue
        if entry.target and entry.target.endswith(".py"):
            del tree[name]
            add(tree, Entry(name + "c", SYMLINK, 0o777, target=entry.target + "c"))


def sizes(tree: Tree, depth: int = 3) -> list[tuple[int, str]]:
    """Return (bytes, directory) for directories `depth` levels deep, biggest first."""
    total: dict[str, int] = {}
    for name, entry in tree.items():
        if entry.kind == FILE and entry.data:
            key = "/" + "/".join(name.split("/")[:depth])
            total[key] = total.get(key, 0) + len(entry.data)
    return sorted(((v, k) for k, v in total.items()), reverse=True)


def main(argv: list[str] | None = None) -> int:
    """Build the layer tar from the lock and the .debs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, required=True, help="packages.lock.json")
    parser.add_argument(
        "--arch", default="amd64", choices=sorted(MULTIARCH), help="Debian architecture"
    )
    parser.add_argument("--out", type=Path, required=True, help="layer tar to write")
    parser.add_argument("--sizes", action="store_true", help="print the biggest directories")
    parser.add_argument("--precompile", type=Path, help="stdlib files to ship byte-compiled")
    parser.add_argument("--python-version", default="3.13", choices=PYTHONS)
    parser.add_argument("--compiler", help="a python of that version, to compile the stdlib")
    parser.add_argument(
        "--omit-source", action="store_true", help="ship precompiled modules as NAME.pyc only"
    )
    parser.add_argument(
        "--gzip", action="store_true", help="write a gzipped tar (rules_oci keeps it)"
    )
    parser.add_argument("--zstd", metavar="ZSTD", help="write a zstd tar with this zstd program")
    parser.add_argument(
        "--with-optional", action="store_true", help="include the lock's optional packages"
    )
    parser.add_argument("debs", type=Path, nargs="+", help="the locked .deb files")
    args = parser.parse_args(argv)
    if args.omit_source and args.precompile is None:
        parser.error("--omit-source needs --precompile: it drops the sources of those modules")
    try:
        tree = build(
            args.lock,
            args.debs,
            args.precompile,
            args.arch,
            args.with_optional,
            args.python_version,
            args.compiler,
            args.omit_source,
        )
        compression = "zstd" if args.zstd else "gzip" if args.gzip else ""
        write_layer(tree.values(), args.out, compression, args.zstd)
    except (BuildError, LayerError, OSError) as e:
        print(f"rootfs: {e}", file=sys.stderr)
        return 1
    if args.sizes:
        for size, name in sizes(tree)[:25]:
            print(f"{size / 1e6:8.2f} MB  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
