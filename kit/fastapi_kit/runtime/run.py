"""`bazel run :run`: run an image locally under runc, like `docker run --network host`.

    bazel run //svc:run -- [-e NAME=VALUE]... [--env-file FILE]... [--publish PORT]
                           [-- COMMAND ARGS...]

The container shares the host network, so it serves on the image's PORT unless PORT is set;
`--publish PORT` (`-p`) is the short way to set it, as `docker run -p PORT:PORT` would.
Settings reach it three ways: `-e NAME=VALUE` and `--env-file FILE` (docker's `KEY=VALUE`
lines), and the names the target declares (`--pass NAME`, from fastapi_image's
`run_env_passthrough`) taken from your environment. `NAME_FILE=path` for a passed name mounts
that file read-only as a secret and points `NAME_FILE` at it. After `--`, a one-shot command
replaces the image's entrypoint (e.g. `-- /opt/venv/bin/python -m alembic upgrade head`).
Ctrl-C (or SIGTERM) stops the container gracefully and removes it; the exit code is the
container's.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from kit_lib import cli

from runtime import bundle, container

PROG = "run"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RunError(ValueError):
    """Bad run input; the message is one line."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Split our flags from the one-shot command after `--`."""
    argv = list(argv)
    command: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1 :]
    p = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("image", help="the image's OCI layout directory")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--env-file", action="append", default=[], metavar="FILE")
    p.add_argument("-p", "--publish", metavar="PORT", help="serve on this host port (sets PORT)")
    p.add_argument("--pass", dest="passthrough", action="append", default=[], metavar="NAME")
    args = p.parse_args(argv)
    args.command = command
    return args


def _assignment(text: str, where: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not _NAME.fullmatch(name):
        raise RunError(f"{where}: expected NAME=VALUE, got {text!r}")
    return name, value


def _user_path(path: str, cwd: str, what: str) -> Path:
    found = Path(cwd, path)
    if not found.is_file():
        raise RunError(
            f"{what}: no such file: {found} (under ./bazelw, only files inside the workspace "
            "are visible)"
        )
    return found.resolve()


def run_spec(args: argparse.Namespace, environ: Mapping[str, str]) -> bundle.RunSpec:
    """The RunSpec: passed names and their `_FILE` secrets, env files, then `-e`, in order."""
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    # `bazel run` starts us in the runfiles tree: relative paths mean the user's directory.
    cwd = environ.get("BUILD_WORKING_DIRECTORY", ".")
    for name in args.passthrough:
        if name in environ:
            env[name] = environ[name]
        secret = environ.get(f"{name}_FILE")
        if secret:
            inside = f"/run/secrets/{name.lower()}"
            files[inside] = str(_user_path(secret, cwd, f"{name}_FILE"))
            env[f"{name}_FILE"] = inside
    for path in args.env_file:
        found = _user_path(path, cwd, "--env-file")
        for number, line in enumerate(found.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                name, value = _assignment(line, f"{path}:{number}")
                env[name] = value
    for item in args.env:
        name, value = _assignment(item, "-e")
        env[name] = value
    if args.publish is not None:
        # docker's HOST:CONTAINER is accepted when both are the same: there is one network here.
        parts = args.publish.split(":")
        port = parts[0]
        if not (port.isdigit() and 1 <= int(port) <= 65535) or len(set(parts)) != 1:
            raise RunError(f"--publish: expected a port number, got {args.publish!r}")
        if env.get("PORT", port) != port:
            raise RunError(f"--publish {port} and PORT={env['PORT']} disagree")
        env["PORT"] = port
    return bundle.RunSpec(env=env, files=files, command=args.command or None)


def main(argv: Sequence[str]) -> int:
    """Run the container in the foreground; its exit code is ours."""
    args = parse_args(argv)
    try:
        spec = run_spec(args, os.environ)
    except RunError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    with container.Container(args.image, spec, stream=True) as c:

        def stop(signum: int, frame: FrameType | None) -> None:
            print("\nstopping the container (SIGTERM)...", file=sys.stderr)
            c.signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        code = c.wait(timeout=None)
    print(f"container exited with code {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
