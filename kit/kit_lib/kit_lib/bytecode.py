"""Byte-compile files for an image, with the build's Python or with another interpreter.

A .pyc is only read by the Python version that wrote it, so a Python 3.14 image needs its
bytecode from a 3.14 interpreter while the build's tools run on 3.13. This module does both:
imported, it compiles in worker processes of the running interpreter; given `interpreter`, it
runs itself as a script under that interpreter (standard library only, isolated mode), sending
the jobs as JSON on stdin; run with `--jobs-file`, it writes the outputs a Bazel action declared
(@fastapi_kit//uv/private:bytecode.bzl). Either way every .pyc is unchecked-hash: its bytes
depend only on its source and the Python version, never on time or order.

Without debug ranges (`-X no_debug_ranges`), code objects leave out the column table that
points a traceback's `^^^` at one expression: the .pyc is 5% smaller and gzips 20% smaller,
tracebacks still name each file and line. Only an interpreter started with that flag compiles
so, hence the subprocess.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import py_compile
import subprocess
import sys

# (source file, .pyc to write, the path tracebacks name)
Job = tuple[str, str, str]


class CompileError(RuntimeError):
    """The interpreter could not be run; the message is one line."""


def _one(job: Job) -> str | None:
    """Compile one file; None, or a one-line reason it did not compile."""
    source, cfile, dfile = job
    try:
        py_compile.compile(
            source,
            cfile=cfile,
            dfile=dfile,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError as err:
        exc = err.exc_value
        if isinstance(exc, SyntaxError):
            where = f"{source}:{exc.lineno}" if exc.lineno else source
            return f"{where}: {type(exc).__name__}: {exc.msg}"
        return f"{source}: {err.msg.strip().splitlines()[-1]}"
    return None


def _here(jobs: list[Job]) -> list[str | None]:
    """Compile with this interpreter, in parallel when there is enough to share (one per CPU)."""
    workers = min(len(os.sched_getaffinity(0)), max(1, len(jobs) // 64))
    if workers <= 1:
        return [_one(job) for job in jobs]
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_one, jobs, chunksize=32))


def compile_files(
    jobs: list[Job],
    interpreter: str | None = None,
    version: str | None = None,
    debug_ranges: bool = True,
) -> tuple[str, list[str | None]]:
    """Compile `jobs`; return (the compiler's cache tag, one error or None per job).

    The cache tag ("cpython-314") names the .pyc files (`__pycache__/NAME.TAG.pyc`). With
    `version` (the image's Python, "3.14"), a compiler of another version is a CompileError,
    checked before anything is compiled. `debug_ranges=False` leaves out column tables (see the
    module doc), compiling with `interpreter` or else this one, in a subprocess.
    """
    if version is not None and interpreter is None:
        _check(sys.implementation.cache_tag, version)
    if interpreter is None and debug_ranges:
        return sys.implementation.cache_tag, _here(jobs)
    interpreter = interpreter or sys.executable
    flags = [] if debug_ranges else ["-X", "no_debug_ranges"]
    try:
        run = subprocess.run(
            [interpreter, "-I", "-S", *flags, os.path.abspath(__file__)],
            input=json.dumps(jobs),
            capture_output=True,
            text=True,
        )
    except OSError as err:
        raise CompileError(f"cannot run {interpreter}: {err.strerror}") from None
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
        raise CompileError(f"{interpreter} failed to compile: {last}")
    answer = json.loads(run.stdout)
    if version is not None:
        _check(answer["cache_tag"], version)
    return answer["cache_tag"], answer["errors"]


def _check(tag: str, version: str) -> None:
    if tag != cache_tag_of(version):
        raise CompileError(
            f"the image's Python is {version} but its bytecode would be {tag}'s: "
            f"give --compiler a python{version}"
        )


def cache_tag_of(version: str) -> str:
    """CPython's cache tag for "3.14" (or "3.14.8"): "cpython-314"."""
    major, minor = version.split(".")[:2]
    return f"cpython-{major}{minor}"


def compile_declared(jobs_file: str, cache_tag: str) -> int:
    """Write every .pyc a Bazel action declared (`--jobs-file`, JSON jobs); the exit status.

    The outputs are named for `cache_tag` before anything runs, so another interpreter is an
    error naming both. A source that does not compile (a template shipped as .py) gets an empty
    .pyc: CPython rejects its missing header and imports the source, which then fails where it
    would have anyway.
    """
    if sys.implementation.cache_tag != cache_tag:
        print(
            f"bytecode: error: the .pyc files are declared for {cache_tag} but "
            f"{sys.executable} is {sys.implementation.cache_tag}",
            file=sys.stderr,
        )
        return 1
    with open(jobs_file, encoding="utf-8") as f:
        jobs = [tuple(job) for job in json.load(f)]
    for job, error in zip(jobs, _here(jobs), strict=True):  # type: ignore[arg-type]
        if error is not None:
            with open(job[1], "wb"):
                pass
    return 0


def _main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "--jobs-file" and argv[2] == "--cache-tag":
        return compile_declared(argv[1], argv[3])
    jobs = [tuple(job) for job in json.load(sys.stdin)]
    errors = _here(jobs)  # type: ignore[arg-type]
    json.dump({"cache_tag": sys.implementation.cache_tag, "errors": errors}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
