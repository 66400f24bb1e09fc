"""Render a kustomization with the image pinned by digest (the action of kustomize_build).

kustomize reads a directory tree, but Bazel hands the sources over as scattered (sandboxed,
symlinked) paths; they are copied into a temporary tree at their package-relative paths, so that
relative references such as `../../base` work and kustomize's load restrictions see plain files.
A generated kustomization next to the overlay adds the `images:` entry that pins the digest: the
overlay itself stays free of build output and works with a plain `kustomize build` too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from kit_lib import layout, refs

_PINNED_DIR = "_pinned"
_WORKLOAD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


class RenderError(Exception):
    """A problem with the inputs or kustomize's run; ``str(error)`` is one line."""


def check_repository(repository: str) -> str:
    """Return `repository` if it is a repository name without tag or digest."""
    if "@" in repository or not refs.is_name(repository):
        raise RenderError(
            f"repository: expected a name like 'registry.example:5000/team/app' without tag or "
            f"digest, got {repository!r}"
        )
    return repository


def read_digest(path: Path) -> str:
    """The 'sha256:<hex>' manifest digest written by oci_image."""
    digest = path.read_text(encoding="utf-8").strip()
    if refs.DIGEST.fullmatch(digest) is None:
        raise RenderError(f"{path}: expected 'sha256:<64 hex digits>', got {digest[:80]!r}")
    return digest


def _relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise RenderError(f"source path must be relative and inside the package, got {path!r}")
    if relative.parts[0] == _PINNED_DIR:
        raise RenderError(f"source path {path!r} clashes with the generated {_PINNED_DIR}/")
    return relative


def stage(sources: Sequence[tuple[str, str]], tree: Path) -> None:
    """Copy each (path, package-relative path) into `tree`, following symlinks."""
    for source, relative in sources:
        target = tree / _relative(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def pinning_kustomization(overlay: str, image_name: str, repository: str, digest: str) -> str:
    """A kustomization that builds `overlay` and pins `image_name` (JSON is valid YAML)."""
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"../{_relative(overlay)}"],
        "images": [{"name": image_name, "newName": repository, "digest": digest}],
    }
    return json.dumps(document, indent=2) + "\n"


def _containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec: Any = document
    for key in _WORKLOAD_TEMPLATES.get(str(document.get("kind")), ()):
        spec = spec.get(key) if isinstance(spec, dict) else None
    if spec is document or not isinstance(spec, dict):
        return
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                yield container


def check_pinned(rendered: str, image_name: str, pinned: str) -> int:
    """Return how many containers run `pinned`; fail if none does or one still says `image_name`."""
    try:
        documents = [d for d in yaml.safe_load_all(rendered) if d]
    except yaml.YAMLError as exc:
        raise RenderError(f"kustomize printed invalid YAML: {exc}".replace("\n", " ")) from None
    count = 0
    for document in documents:
        if not isinstance(document, dict):
            raise RenderError(f"kustomize printed a non-object document: {str(document)[:80]!r}")
        for container in _containers(document):
            image = str(container.get("image", ""))
            if image == pinned:
                count += 1
            elif image.split("@")[0].rsplit(":", 1)[0] == image_name:
                name = document.get("metadata", {}).get("name")
                raise RenderError(f"{document['kind']}/{name}: image {image!r} was not pinned")
    if count == 0:
        raise RenderError(
            f"no container has image {image_name!r}: the image_name attribute must match the "
            f"`image:` field of the manifests"
        )
    return count


def kustomize_build(kustomize: str, directory: Path, home: Path) -> str:
    """Run `kustomize build` and return its output; its error becomes a one-line RenderError."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    result = subprocess.run(
        [kustomize, "build", str(directory)], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("Error:")), None)
        raise RenderError(f"kustomize build failed: {reason or (lines[-1] if lines else '?')}")
    return result.stdout


def render(args: argparse.Namespace) -> None:
    """Stage, build with the pin, check and write the output."""
    repository = check_repository(args.repository)
    digest = read_digest(Path(args.digest_file))
    sources = []
    for pair in args.src:
        source, sep, relative = pair.partition("=")
        if not sep or not source or not relative:
            raise RenderError(f"--src: expected PATH=RELATIVE_PATH, got {pair!r}")
        sources.append((source, relative))
    with tempfile.TemporaryDirectory(prefix="kustomize-") as temp:
        tree = Path(temp) / "tree"
        stage(sources, tree)
        if not (tree / _relative(args.overlay) / "kustomization.yaml").is_file():
            raise RenderError(f"overlay {args.overlay!r}: no kustomization.yaml among the srcs")
        pinned_dir = tree / _PINNED_DIR
        pinned_dir.mkdir()
        (pinned_dir / "kustomization.yaml").write_text(
            pinning_kustomization(args.overlay, args.image_name, repository, digest)
        )
        rendered = kustomize_build(args.kustomize, pinned_dir, Path(temp))
    check_pinned(rendered, args.image_name, f"{repository}@{digest}")
    header = f"# Rendered by kustomize from {args.overlay}; image {repository}@{digest}\n"
    layout.write_file_atomic(args.output, (header + rendered).encode())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the KustomizeBuild action."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kustomize", required=True, help="the kustomize program")
    parser.add_argument("--overlay", required=True, help="kustomization directory to build")
    parser.add_argument("--image-name", required=True, help="image name used in the manifests")
    parser.add_argument("--repository", required=True, help="repository to pin, without tag")
    parser.add_argument("--digest-file", required=True, help="file holding sha256:<hex>")
    parser.add_argument("--output", required=True, help="YAML file to write")
    parser.add_argument(
        "--src", action="append", default=[], help="PATH=RELATIVE_PATH of a source file"
    )
    args = parser.parse_args(argv)
    try:
        render(args)
    except (RenderError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
