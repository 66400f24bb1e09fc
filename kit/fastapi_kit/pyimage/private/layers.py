"""Turn a Python target's runfiles into two image layers: a venv and the app.

Bazel's runfiles tree is not what a container should run: launchers need bash, paths are long and
third-party code is mixed with ours. So third-party files (what rules_python installed under an
external repository's `site-packages/`) become a plain venv at `/opt/venv`, and first-party files
become `/app`. Both are byte-compiled here, reproducibly, so a read-only root starts fast.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from distroless.private import elf
from kit_lib import bytecode, tarball

SITE = "site-packages/"


def venv_entries(files: list[dict[str, str]], prefix: str, python: str, version: str) -> list:
    """Entries for a venv at `prefix` whose site-packages hold the third-party files.

    Files with a `dest` (first-party libraries installed like wheels) go to `site/<dest>`.
    """
    major_minor = ".".join(version.split(".")[:2])
    site = f"{prefix}/lib/python{major_minor}/site-packages"
    cfg = f"home = {Path(python).parent!s}\ninclude-system-site-packages = false\n"
    cfg += f"version = {version}\nexecutable = {python}\n"
    entries = [
        tarball.Entry(f"{prefix}/pyvenv.cfg", data=cfg.encode()),
        tarball.Entry(f"{prefix}/bin/python", tarball.SYMLINK, 0o777, target=python),
        tarball.Entry(f"{prefix}/bin/python3", tarball.SYMLINK, 0o777, target="python"),
        tarball.Entry(f"{prefix}/bin/python{major_minor}", tarball.SYMLINK, 0o777, target="python"),
        tarball.Entry(f"{prefix}/lib64", tarball.SYMLINK, 0o777, target="lib"),
        tarball.Entry(site, tarball.DIR, 0o755),
    ]
    seen: dict[str, str] = {}
    for f in files:
        rel = f["short_path"]
        if "dest" in f:
            dest = f["dest"]
        elif rel.startswith("../") and SITE in rel:
            dest = rel.split(SITE, 1)[1]
        else:
            continue
        if dest == "__init__.py":
            continue  # rules_python's own marker in each wheel repo, not wheel content
        if dest in seen:
            if Path(seen[dest]).read_bytes() != Path(f["path"]).read_bytes():
                raise SystemExit(f"error: two packages provide different site-packages/{dest}")
            continue
        seen[dest] = f["path"]
        entries.append(_file(f["path"], f"{site}/{dest}"))
    return entries


def app_entries(files: list[dict[str, str]], prefix: str, site: str) -> list:
    """Entries for first-party files at `prefix/<dest>`, plus a .pth putting `prefix` on sys.path.

    Each file's `dest` (its path below its import root) is computed at analysis time from the
    targets' PyInfo (pyimage/private/paths.bzl).
    """
    entries = [tarball.Entry(f"{site}/_app.pth", data=f"{prefix}\n".encode())]
    for f in files:
        if "dest" in f:  # (third-party files have none: they belong to the venv)
            entries.append(_file(f["path"], f"{prefix}/{f['dest']}"))
    return entries


def _file(src: str, dest: str) -> tarball.Entry:
    """An entry whose mode says what the file is: 0755 for a script or a program, else 0644.

    Not the input's mode bits: Bazel marks every input of a remote action executable, and its
    own outputs too, so bits would make a remote build differ from a local one.
    """
    with open(src, "rb") as f:
        head = f.read(4096)
        if elf.is_elf(head) and elf.header_size(head) > len(head):
            head += f.read(elf.header_size(head) - len(head))
    mode = 0o755 if head.startswith(b"#!") or elf.runnable(head) else 0o644
    return tarball.Entry(dest, tarball.FILE, mode, source=src)


def compile_pycs(
    entries: list,
    tmp: Path,
    strict: bool = False,
    version: str | None = None,
    compiler: str | None = None,
    debug_ranges: bool = True,
    omit_source: bool = False,
) -> list:
    """Add an unchecked-hash .pyc beside every .py: stable bytes, never re-validated at run time.

    `dfile` is the in-image path, so tracebacks name the file where it really is. With `strict`
    (first-party code), a file that does not compile is an error naming its file and line: the
    container would crash on it at import. Files compile in parallel (one process per CPU):
    each .pyc depends only on its own source, so the bytes are the same in any order. The image's
    Python `version` must be the compiler's (the build's Python, or `compiler`).

    `debug_ranges=False` leaves column tables out (kit_lib.bytecode). With `omit_source`, each
    module that compiled ships as `NAME.pyc` in place of `NAME.py` (CPython imports such a
    sourceless file; tracebacks then show its file and line but not the line's text); one that
    did not compile keeps its source.
    """
    jobs: list[tuple[int, tarball.Entry, bytecode.Job]] = []
    for i, entry in enumerate(entries):
        if entry.kind != tarball.FILE or not entry.path.endswith(".py") or entry.source is None:
            continue
        jobs.append((i, entry, (entry.source, str(tmp / f"{i}.pyc"), entry.path)))
    try:
        tag, errors = bytecode.compile_files(
            [job for _, _, job in jobs], compiler, version, debug_ranges=debug_ranges
        )
    except bytecode.CompileError as err:
        raise LayerBuildError(str(err)) from None
    out = list(entries)
    for (i, entry, (_, cfile, _)), error in zip(jobs, errors, strict=True):
        if error is not None:
            if strict:
                raise LayerBuildError(error)
            # A wheel may ship files that are not meant to be imported (templates, py2 code).
            print(f"warning: not compiled: {entry.path}: {error.rpartition(': ')[2]}")
            continue
        if omit_source:
            out[i] = tarball.Entry(entry.path + "c", tarball.FILE, 0o644, source=cfile)
            continue
        dest = Path(entry.path)
        pyc_path = dest.parent / "__pycache__" / f"{dest.stem}.{tag}.pyc"
        out.append(tarball.Entry(str(pyc_path), tarball.FILE, 0o644, source=cfile))
    return out


class LayerBuildError(Exception):
    """A one-line reason the layer cannot be built."""


def drop(entries: list, patterns: list[str]) -> list:
    """Leave out files matching any glob (on the in-image path): sources of compiled code, stubs.

    Only files are dropped; a pattern never removes a directory or a link.
    """
    return [
        e
        for e in entries
        if e.kind != tarball.FILE or not any(fnmatch.fnmatch(e.path, p) for p in patterns)
    ]


def strip_debug(entries: list, tmp: Path, strip: str) -> list:
    """Strip debug sections from native extensions (`*.so`) with binutils' strip.

    Wheels often ship unstripped extensions (uvloop: 16 MB, of which 14 MB is debug info). The
    code sections are untouched, so behaviour is identical; only tracebacks in gdb lose detail.
    """
    if not Path(strip).is_file():
        raise SystemExit(f"error: --strip {strip}: no such program (binutils' strip)")
    out = []
    for i, entry in enumerate(entries):
        if entry.kind == tarball.FILE and entry.source and ".so" in Path(entry.path).suffixes:
            stripped = tmp / f"{i}.so"
            cmd = [strip, "--strip-debug", "--enable-deterministic-archives", "-o", str(stripped)]
            result = subprocess.run([*cmd, entry.source], capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"error: strip {entry.path}: {result.stderr.strip()}")
            entry = tarball.Entry(entry.path, entry.kind, entry.mode, source=str(stripped))
        out.append(entry)
    return out


def wrong_cpu(entries: list, architecture: str) -> list[str]:
    """In-image paths of ELF files not built for `architecture` (a wheel for another CPU)."""
    want = elf.MACHINES[architecture]
    found = []
    for entry in entries:
        if entry.kind != tarball.FILE or entry.source is None:
            continue
        with open(entry.source, "rb") as f:
            head = f.read(20)
        if len(head) == 20 and elf.is_elf(head) and elf.machine(head) != want:
            found.append(entry.path)
    return found


_ABI_TAG = re.compile(r"\.cpython-(\d+)-[^/]*\.so$")


def wrong_python(entries: list, version: str) -> list[str]:
    """In-image paths of extension modules built for another CPython (a cp313 wheel in 3.14)."""
    want = bytecode.cache_tag_of(version).removeprefix("cpython-")
    found = []
    for entry in entries:
        match = _ABI_TAG.search(entry.path)
        if entry.kind == tarball.FILE and match and match.group(1) != want:
            found.append(entry.path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["venv", "app"])
    parser.add_argument("--manifest", required=True, help="JSON list of {path, short_path}")
    parser.add_argument("--output", required=True)
    parser.add_argument("--prefix", required=True, help="where the layer's files go")
    parser.add_argument("--python", default="/usr/bin/python3.13", help="the image's interpreter")
    parser.add_argument("--python-version", default="3.13")
    parser.add_argument("--venv", default="/opt/venv", help="venv the app layer plugs into")
    parser.add_argument("--compile", action="store_true", help="add .pyc files")
    parser.add_argument("--compiler", help="a python of the image's version to compile with")
    parser.add_argument(
        "--no-debug-ranges", action="store_true", help="compile without column tables"
    )
    parser.add_argument(
        "--omit-source", action="store_true", help="ship NAME.pyc in place of NAME.py"
    )
    parser.add_argument("--architecture", default="amd64", choices=sorted(elf.MACHINES))
    parser.add_argument("--strip", metavar="STRIP", help="strip debug info from .so files with it")
    parser.add_argument("--exclude", action="append", default=[], help="glob of files to leave out")
    parser.add_argument("--gzip", action="store_true", help="write a gzipped tar")
    parser.add_argument("--zstd", metavar="ZSTD", help="write a zstd tar with this zstd program")
    args = parser.parse_args(argv)
    if args.omit_source and not args.compile:
        parser.error("--omit-source needs --compile: a module must ship as source or bytecode")
    files = json.loads(Path(args.manifest).read_text())
    if args.kind == "venv":
        entries = venv_entries(files, args.prefix, args.python, args.python_version)
    else:
        major_minor = ".".join(args.python_version.split(".")[:2])
        site = f"{args.venv}/lib/python{major_minor}/site-packages"
        entries = app_entries(files, args.prefix, site)
    with tempfile.TemporaryDirectory() as tmp:
        entries = drop(entries, args.exclude)
        for foreign, target in (
            (wrong_cpu(entries, args.architecture), args.architecture),
            (wrong_python(entries, args.python_version), f"Python {args.python_version}"),
        ):
            if foreign:
                more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
                print(f"error: {foreign[0]}{more} is not built for {target}", file=sys.stderr)
                return 1
        if args.strip:
            entries = strip_debug(entries, Path(tmp), args.strip)
        if args.compile:
            try:
                entries = compile_pycs(
                    entries,
                    Path(tmp),
                    strict=args.kind == "app",
                    version=args.python_version,
                    compiler=args.compiler,
                    debug_ranges=not args.no_debug_ranges,
                    omit_source=args.omit_source,
                )
            except LayerBuildError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
        try:
            compression = "zstd" if args.zstd else "gzip" if args.gzip else ""
            tarball.write_layer(entries, args.output, compression, args.zstd)
        except tarball.LayerError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
