"""Push an OCI image layout to a registry: what `bazel run` of an oci_push target does.

Two modes, one tool, like load.py:

- config (`--write-config FILE`): the build action behind `oci_push`. It checks the rule's
  repository and tags and writes them as JSON, so a bad tag fails the build, not the push.
- push (`--image DIR`, an image or an image index): run by the oci_push runner. It pushes by
  digest first (each blob the registry lacks, several at a time, mounted from another
  repository of the registry when this machine pushed it there before; then each manifest,
  then the index), then points each tag at that digest, and prints `HOST/REPO@sha256:...`. A
  push cut short leaves only complete blobs behind, which the next run finds (HEAD) and skips,
  so re-running finishes the job; a re-push of what the registry has is one HEAD and the tags.

Run-time flags have rules_oci's names and meaning: `-r/--repository` replaces the rule's
repository, and `-t/--tag` (repeatable) adds tags to its remote_tags.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit_lib import cli, layout
from kit_lib.layout import ImageError

from oci.private import credentials
from oci.private.credentials import CredentialsError
from oci.private.registry import (
    Client,
    Options,
    RegistryError,
    Repository,
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
    if args.write_runner_config:
        if not args.layout:
            raise UsageError("--write-runner-config needs --layout")
        # For the runner's bash: the repository, the top manifest's digest, then the tags, one a
        # line (all checked above: no space or quote in any of them).
        lines = [repository, _targets(args.layout)[1], *config["tags"]]
        layout.write_file_atomic(args.write_runner_config, "\n".join(lines).encode() + b"\n")


@dataclass
class Result:
    """What a push did: the reference printed on success, and the blob traffic."""

    reference: str
    uploaded: int = 0
    uploaded_bytes: int = 0
    present: int = 0
    mounted: int = 0


# Blobs upload this many at a time (crane's default is 4 too): enough to fill a link without
# opening a connection per layer.
JOBS = 4


def cache_path() -> Path:
    """Where pushed blobs are remembered: which repository of which registry has which blob."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "oci_push" / "mounts"


class MountCache:
    """Blobs this machine has pushed, as docker keeps them: `<root>/<host>/<hex>` = repository.

    A blob already pushed to another repository of the same registry is mounted from there
    (one POST, no bytes) instead of uploaded. A stale entry costs one refused mount. One small
    file per blob, so the oci_push runner can look an image's blobs up without a JSON parser
    (and record a crane push the same way); each is written through a rename and never needed:
    delete the folder to forget.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def _file(self, host: str, digest: str) -> Path | None:
        if self.root is None or "/" in host or host.startswith("."):
            return None
        return self.root / host / digest.split(":", 1)[-1]

    def source(self, host: str, digest: str, repository: str) -> str | None:
        """A repository other than `repository` known to hold `digest` at `host`, or None."""
        path = self._file(host, digest)
        try:
            found = path.read_text(encoding="utf-8").strip() if path else ""
        except (OSError, UnicodeDecodeError):
            return None
        return found if found and found != repository else None

    def remember(self, host: str, digests: Sequence[str], repository: str) -> None:
        """Record the blobs now in `repository`."""
        for digest in digests:
            path = self._file(host, digest)
            if path is None:
                return
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                layout.write_file_atomic(path, repository.encode() + b"\n")
            except OSError:
                return  # a cache: a push never fails for it


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    root: Path  # the layout holding it
    descriptor: dict[str, Any]

    @property
    def path(self) -> Path:
        return layout.blob_path(self.root, self.digest)


def _targets(image_dir: str) -> tuple[list[layout.Image], str, bytes, str]:
    """The images to push (one, or an index's) and the top manifest: digest, bytes, type."""
    if layout.is_index(image_dir):
        index = layout.read_index(image_dir, verify_layers=False)
        data = index.blob(index.digest).read_bytes()
        return [image for _, image in index.images], index.digest, data, layout.INDEX_MEDIA_TYPE
    image = layout.read_image(image_dir, verify_layers=False)
    data = image.blob(image.manifest_digest).read_bytes()
    media_type = image.manifest.get("mediaType") or layout.MANIFEST_MEDIA_TYPE
    return [image], image.manifest_digest, data, media_type


def _blobs(images: Sequence[layout.Image]) -> list[Blob]:
    """Every layer and config of the images, each once, largest first (the long poles start)."""
    found: dict[str, Blob] = {}
    for image in images:
        config = image.manifest["config"]
        for descriptor in [*image.layers, config]:
            digest = descriptor["digest"]
            if digest not in found:
                found[digest] = Blob(digest, int(descriptor["size"]), image.root, descriptor)
    return sorted(found.values(), key=lambda b: -b.size)


def push(
    image_dir: str,
    repository: str,
    tags: Sequence[str],
    options: Options,
    authfile: str | None = None,
    log: Callable[[str], None] = lambda _: None,
    jobs: int = JOBS,
    cache: MountCache | None = None,
) -> Result:
    """Push the image or index at `image_dir` to `repository` by digest, then tag it.

    If the registry already has the top manifest, it has every blob too: only tags are set.
    Otherwise the blobs go `jobs` at a time (each HEAD, then a mount from another repository
    of the registry that `cache` knows holds it, else an upload), then each image manifest,
    then the index, so nothing points at what is not there yet.
    """
    repo = parse_repository(repository)
    tags = _unique_tags(tags)
    images, top_digest, top_bytes, top_type = _targets(image_dir)
    cache = cache or MountCache(None)
    lookup = credentials.find(repo.host, repo.path, authfile=authfile)
    for warning in lookup.warnings:
        log(f"warning: {warning}")
    client = Client(repo, lookup, options, log)
    workers: list[Client] = []
    result = Result(reference=f"{repo}@{top_digest}")
    blobs: list[Blob] = []
    try:
        client.ping()
        if client.manifest_exists(top_digest, top_type):
            log(f"manifest {top_digest[:19]}: already present, with every blob")
        else:
            # Imported here: a re-push that uploads nothing starts faster without them.
            import concurrent.futures
            import queue
            import threading

            blobs = _blobs(images)
            lock = threading.Lock()
            pool: queue.SimpleQueue[Client] = queue.SimpleQueue()
            for _ in range(max(1, min(jobs, len(blobs)))):
                worker = client.clone()
                workers.append(worker)
                pool.put(worker)

            failed = threading.Event()

            def send(blob: Blob) -> None:
                if failed.is_set():
                    return  # another blob failed: the push ends, start nothing new
                worker = pool.get()
                try:
                    _send_blob(worker, blob, repo, cache, result, lock, log)
                except BaseException:
                    failed.set()
                    raise
                finally:
                    pool.put(worker)

            with concurrent.futures.ThreadPoolExecutor(len(workers)) as executor:
                futures = [executor.submit(send, blob) for blob in blobs]
                # The first failure ends the push: blobs not started are not sent; those under
                # way finish (complete blobs are what a re-run skips).
                for future in futures:
                    future.result()
            is_index = top_type == layout.INDEX_MEDIA_TYPE
            for image in images if is_index else []:  # (one image: it is the top manifest)
                data = image.blob(image.manifest_digest).read_bytes()
                kind = image.manifest.get("mediaType") or layout.MANIFEST_MEDIA_TYPE
                client.put_manifest(image.manifest_digest, data, kind)
                log(f"manifest {image.manifest_digest[:19]}: pushed")
            stored = client.put_manifest(top_digest, top_bytes, top_type)
            if stored and stored != top_digest:
                raise RegistryError(
                    f"{repo}: registry stored the manifest as {stored}, not {top_digest}"
                )
            log(f"{'index' if is_index else 'manifest'} {top_digest[:19]}: pushed")
            cache.remember(repo.host, [b.digest for b in blobs], repo.path)
        for tag in tags:
            client.put_manifest(tag, top_bytes, top_type)
            log(f"tagged {repo}:{tag}")
    except TransientError as err:
        raise RegistryError(f"{repo}: giving up after {options.retries} retries: {err}") from None
    finally:
        client.close()
        for worker in workers:
            worker.close()
    requests = client.requests + sum(w.requests for w in workers)
    log(
        f"{len(blobs)} blobs: {result.uploaded} uploaded ({_human(result.uploaded_bytes)}), "
        f"{result.mounted} mounted, {result.present} already present; {requests} requests"
    )
    return result


def _send_blob(
    client: Client,
    blob: Blob,
    repo: Repository,
    cache: MountCache,
    result: Result,
    lock: Any,  # a threading.Lock
    log: Callable[[str], None],
) -> None:
    """One blob: nothing if present, a mount if another repository has it, else an upload."""
    short = blob.digest[:19]
    if client.blob_exists(blob.digest):
        with lock:
            result.present += 1
        log(f"blob {short} ({_human(blob.size)}): already present")
        return
    source = cache.source(repo.host, blob.digest, repo.path)
    if source and client.mount_blob(blob.digest, source):
        with lock:
            result.mounted += 1
        log(f"blob {short} ({_human(blob.size)}): mounted from {source}")
        return
    # Checked here, not up front: a re-push that finds everything present reads no layer.
    layout.verify_blob(blob.root, blob.descriptor, f"blob {short}")
    start = time.monotonic()
    client.upload_blob(blob.digest, blob.path, blob.size)
    with lock:
        result.uploaded += 1
        result.uploaded_bytes += blob.size
    log(f"blob {short} ({_human(blob.size)}): uploaded in {time.monotonic() - start:.2f} s")


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
        "-j", "--jobs", type=int, default=JOBS, help=f"blobs sent at a time (default {JOBS})"
    )
    p.add_argument(
        "--retry-delay", type=float, default=0.5, help="first backoff delay, seconds (doubles)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="socket timeout, seconds")
    p.add_argument("--repository-file", help="config mode: file holding the repository")
    p.add_argument("--tags-file", action="append", default=[], help="config mode: tags, one a line")
    p.add_argument(
        "--write-runner-config", metavar="FILE", help="config mode: the same for the runner"
    )
    p.add_argument("--layout", help="config mode: the image, for --write-runner-config's digest")
    args = p.parse_args(argv)
    if args.chunk_size < 1:
        p.error(f"--chunk-size must be positive, got {args.chunk_size}")
    if args.jobs < 1:
        p.error(f"--jobs must be positive, got {args.jobs}")
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
        result = push(
            args.image,
            repository,
            tags,
            options,
            args.authfile,
            _log,
            jobs=args.jobs,
            cache=MountCache(cache_path()),
        )
    except UsageError as err:
        return cli.fail(PROG, err, status=2)
    except (RegistryError, ImageError, CredentialsError, OSError) as err:
        return cli.fail(PROG, err)
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted; run again to finish the push", file=sys.stderr)
        return 130
    print(result.reference, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
