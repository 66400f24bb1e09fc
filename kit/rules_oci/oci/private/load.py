"""Turn an OCI image layout into a `docker save`-style tarball, or load such a tarball.

Two modes, one tool, because `oci_load` needs both:

- build (`--image DIR --output FILE`): the action behind `oci_load`. It writes `manifest.json`
  (Config, RepoTags, Layers) plus the config and layer blobs, deterministically, as a tarball that
  `docker load`, `podman load` and container-structure-test's tar driver all read.
- load (`--load FILE`): what `bazel run` of an `oci_load` target does. It feeds the tarball to
  `docker load` or `podman load`, whichever is usable, on the host (the image itself has no
  shell, but nothing here runs inside it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from kit_lib import cli, imagetar, tarball
from kit_lib.layout import ImageError, write_file_atomic

PROG = "oci_load"
ENGINES = ("docker", "podman")
ENGINE_ENV = "OCI_LOAD_ENGINE"
# Set by ./bazelw for `bazel run`: a file to name the tarball in, for the host's engine to load.
HOST_LOAD_ENV = "BAZELW_HOST_LOAD"


def _docker_usable(docker: str) -> bool:
    """True if the docker client reaches a daemon (a bare client is common, e.g. in CI)."""
    try:
        probe = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def choose_engine(explicit: str | None) -> str:
    """Pick the program to load with: --engine, $OCI_LOAD_ENGINE, else docker or podman.

    Docker is preferred when its daemon answers; otherwise podman (daemonless) if present.
    """
    wanted = explicit or os.environ.get(ENGINE_ENV) or None
    if wanted:
        path = shutil.which(wanted)
        if path is None:
            raise ImageError(f"container engine {wanted!r} not found on PATH")
        return path
    docker, podman = shutil.which("docker"), shutil.which("podman")
    if docker and (podman is None or _docker_usable(docker)):
        return docker
    if podman:
        return podman
    raise ImageError(
        "neither docker nor podman is on PATH; install one, or use the tarball "
        "from the 'tarball' output group"
    )


def load_tarball(tarball_path: str, engine: str | None, engine_args: Sequence[str]) -> int:
    """Pipe the tarball into `<engine> load`; return the engine's exit status."""
    if not os.path.isfile(tarball_path):
        raise ImageError(f"tarball not found: {tarball_path}")
    try:
        program = choose_engine(engine)
    except ImageError as err:
        # Under ./bazelw, `bazel run` happens inside its build root, which has no engine: it
        # loads the tarball into the host's docker or podman once this run has ended.
        handoff = os.environ.get(HOST_LOAD_ENV)
        # ($OCI_LOAD_ENGINE goes along: ./bazelw honours it on the host; --engine does not.)
        if handoff and engine is None:
            write_file_atomic(Path(handoff), os.path.realpath(tarball_path).encode() + b"\n")
            print(f"{PROG}: no engine in ./bazelw's root: the host loads it next", file=sys.stderr)
            return 0
        raise ImageError(
            f"{err}; or load it: podman load -i {os.path.realpath(tarball_path)}"
        ) from None
    command = [program, *engine_args, "load"]
    print(f"{PROG}: {' '.join(command)} < {tarball_path}", file=sys.stderr, flush=True)
    with open(tarball_path, "rb") as stdin:
        status = subprocess.run(command, stdin=stdin, check=False).returncode
    if status != 0:
        print(
            f"{PROG}: error: {os.path.basename(program)} load failed with exit status {status}",
            file=sys.stderr,
        )
    return status


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; see `--help`."""
    p = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--output", help="build mode: docker-save tarball to write")
    mode.add_argument("--load", metavar="TARBALL", help="load mode: tarball to load")
    p.add_argument("--image", help="build mode: OCI layout directory of the image")
    p.add_argument("--repo-tag", action="append", default=[], help="NAME[:TAG], repeatable")
    p.add_argument("--repo-tags-file", help="build mode: repo tags, one a line")
    p.add_argument("--format", choices=("docker", "oci"), default="docker", help="tarball format")
    p.add_argument("--engine", choices=ENGINES, help=f"load mode: default ${ENGINE_ENV} or auto")
    p.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        help="load mode: global option for the engine, e.g. --engine-arg=--storage-driver=vfs",
    )
    args = p.parse_args(argv)
    if args.output and not args.image:
        p.error("--output needs --image")
    if args.load and (args.image or args.repo_tag):
        p.error("--load takes a built tarball; --image and --repo-tag are for --output")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected mode; one error line and a non-zero exit on failure."""
    args = parse_args(argv)
    try:
        if args.load:
            return load_tarball(args.load, args.engine, args.engine_arg)
        tags = list(args.repo_tag)
        if args.repo_tags_file:
            tags += imagetar.read_lines(args.repo_tags_file, "repo_tags file")
        if args.format == "oci":
            imagetar.build_oci_tarball(args.image, args.output, tags)
        else:
            imagetar.build_tarball(args.image, args.output, tags)
    except (ImageError, tarball.LayerError, OSError) as err:
        return cli.fail(PROG, err)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
