"""Push an OCI image layout to a registry: what `bazel run` of an oci_push target does.

Two modes, one tool, like load.py:

- config (`--write-config FILE`): the build action behind `oci_push`. It checks the rule's
  repository and tags and writes them as JSON, so a bad tag fails the build, not the push.
- push (`--image DIR`): run by the oci_push runner. It pushes by digest first (each blob the
  registry lacks, then the manifest under its digest), then points each tag at that digest, and
  prints `HOST/REPO@sha256:...`. A push cut short leaves only complete blobs behind, which the
  next run finds (HEAD) and skips, so re-running finishes the job.

Run-time flags have rules_oci's names and meaning: `-r/--repository` replaces the rule's
repository, and `-t/--tag` (repeatable) adds tags to its remote_tags.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kit_lib import cli, layout
from kit_lib.layout import ImageError

from oci.private import credentials
from oci.private.credentials import CredentialsError
from oci.private.registry import (
    Client,
    Options,
    RegistryError,
    TransientError,
    UsageError,
    check_tag,
    parse_repository,
)

PROG = "oci_push"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def _unique_tags(tags: Sequence[str]) -> list[str]:
    """Check every tag; a tag given twice is a mistake worth reporting."""
    seen: list[str] = []
    for tag in tags:
        check_tag(tag)
        if tag in seen:
            raise UsageError(f"tag {tag!r} given twice")
        seen.append(tag)
    return seen


def _read_lines(path: str, what: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read {what} {path}: {err.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def write_config(args: argparse.Namespace) -> None:
    """Build mode: check the rule's repository and tags, write them as JSON."""
    repository = args.repository or ""
    if args.repository_file:
        lines = _read_lines(args.repository_file, "repository_file")
        if len(lines) != 1:
            raise UsageError(
                f"repository_file {args.repository_file} must hold one line, found {len(lines)}"
            )
        repository = lines[0]
    if repository:
        parse_repository(repository)
    tags = list(args.tag)
    for path in args.tags_file:
        tags += _read_lines(path, "remote_tags file")
    config = {"repository": repository, "tags": _unique_tags(tags)}
    layout.write_file_atomic(args.write_config, json.dumps(config, indent=2).encode() + b"\n")


@dataclass
class Result:
    """What a push did: the reference printed on success, and the blob traffic."""

    reference: str
    uploaded: int = 0
    uploaded_bytes: int = 0
    present: int = 0


def push(
    image_dir: str,
    repository: str,
    tags: Sequence[str],
    options: Options,
    authfile: str | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Result:
    """Push the image at `image_dir` to `repository` by digest, then tag it with `tags`."""
    repo = parse_repository(repository)
    tags = _unique_tags(tags)
    image = layout.read_image(image_dir, verify_layers=True)
    manifest_bytes = image.blob(image.manifest_digest).read_bytes()
    media_type = image.manifest.get("mediaType") or layout.MANIFEST_MEDIA_TYPE
    lookup = credentials.find(repo.host, repo.path, authfile=authfile)
    for warning in lookup.warnings:
        log(f"warning: {warning}")
    client = Client(repo, lookup, options, log)
    result = Result(reference=f"{repo}@{image.manifest_digest}")
    try:
        client.ping()
        blobs = [(layer["digest"], int(layer["size"])) for layer in image.layers]
        config_size = image.blob(image.config_digest).stat().st_size
        blobs.append((image.config_digest, config_size))
        done: set[str] = set()
        for digest, size in blobs:
            if digest in done:
                continue
            done.add(digest)
            short = digest[:19]
            if client.blob_exists(digest):
                result.present += 1
                log(f"blob {short} ({_human(size)}): already present")
                continue
            start = time.monotonic()
            client.upload_blob(digest, image.blob(digest), size)
            result.uploaded += 1
            result.uploaded_bytes += size
            log(f"blob {short} ({_human(size)}): uploaded in {time.monotonic() - start:.2f} s")
        stored = client.put_manifest(image.manifest_digest, manifest_bytes, media_type)
        if stored and stored != image.manifest_digest:
            raise RegistryError(
                f"{repo}: registry stored the manifest as {stored}, not {image.manifest_digest}"
            )
        log(f"manifest {image.manifest_digest[:19]}: pushed")
        for tag in tags:
            client.put_manifest(tag, manifest_bytes, media_type)
            log(f"tagged {repo}:{tag}")
    except TransientError as err:
        raise RegistryError(f"{repo}: giving up after {options.retries} retries: {err}") from None
    finally:
        client.close()
    log(
        f"{len(done)} blobs: {result.uploaded} uploaded ({_human(result.uploaded_bytes)}), "
        f"{result.present} already present; {client.requests} requests"
    )
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; see `--help`."""
    p = cli.Parser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--image", help="push mode: OCI layout directory of the image")
    mode.add_argument("--write-config", metavar="FILE", help="config mode: JSON file to write")
    p.add_argument("-r", "--repository", help="HOST[:PORT]/NAME to push to")
    p.add_argument(
        "-t",
        "--tag",
        action="append",
        default=[],
        help="tag to set (repeatable; replaces the defaults)",
    )
    p.add_argument("--config", help="push mode: defaults written by --write-config")
    p.add_argument("--insecure", action="store_true", help="plain HTTP (localhost/127.0.0.1 only)")
    p.add_argument("--authfile", help="credentials file to search first (docker/podman format)")
    p.add_argument("--chunked", action="store_true", help="upload every blob in PATCH chunks")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=64 << 20,
        help="bytes per PATCH; larger blobs are always chunked (default 64 MiB)",
    )
    p.add_argument("--retries", type=int, default=5, help="retries per request (default 5)")
    p.add_argument(
        "--retry-delay", type=float, default=0.5, help="first backoff delay, seconds (doubles)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="socket timeout, seconds")
    p.add_argument("--repository-file", help="config mode: file holding the repository")
    p.add_argument("--tags-file", action="append", default=[], help="config mode: tags, one a line")
    args = p.parse_args(argv)
    if args.chunk_size < 1:
        p.error(f"--chunk-size must be positive, got {args.chunk_size}")
    if args.retries < 0 or args.retry_delay < 0 or args.timeout <= 0:
        p.error("--retries and --retry-delay must not be negative, --timeout must be positive")
    if args.write_config and args.repository and args.repository_file:
        p.error("give the repository or a repository file, not both")
    return args


def _log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected mode; one error line and a non-zero exit on failure."""
    args = parse_args(argv)
    try:
        if args.write_config:
            write_config(args)
            return 0
        defaults = {"repository": "", "tags": []}
        if args.config:
            try:
                defaults = json.loads(Path(args.config).read_text(encoding="utf-8"))
            except ValueError as err:
                raise UsageError(f"--config {args.config}: not valid JSON: {err}") from None
        repository = args.repository or defaults["repository"]
        if not repository:
            raise UsageError("no repository: set oci_push's repository or pass -r/--repository")
        # rules_oci: -t adds to remote_tags (a tag given both ways is pushed once).
        tags = list(defaults["tags"]) + [t for t in args.tag if t not in defaults["tags"]]
        options = Options(
            insecure=args.insecure,
            retries=args.retries,
            retry_delay=args.retry_delay,
            timeout=args.timeout,
            chunk_size=args.chunk_size,
            chunked=args.chunked,
        )
        result = push(args.image, repository, tags, options, args.authfile, _log)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except (RegistryError, ImageError, CredentialsError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: error: {err.filename or ''}: {err.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted; run again to finish the push", file=sys.stderr)
        return 130
    print(result.reference, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
