"""Build an OCI image layout from an optional base image, tar layers and config fields.

This is the action behind `oci_image`. It needs no daemon and no registry: layers are hashed and
gzipped here, the config and manifest are written as canonical JSON, and the whole layout is
staged beside the output and renamed into place. The same inputs always give the same bytes, so
the printed digest is the one a registry will show after a push.

Semantics follow rules_oci: layers keep their order on top of the base's; env values may use the
base's `$KEY`; setting the entrypoint drops the base's cmd; `created` defaults to the epoch.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from kit_lib import layout, tarball
from kit_lib.layout import ImageError

from oci.private import imageconfig

PROG = "oci_image"
BASE_DIGEST_ANNOTATION = "org.opencontainers.image.base.digest"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the brief's error format), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; see `--help`."""
    p = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True, help="OCI layout directory to write")
    p.add_argument("--digest-file", help="file to write 'sha256:<manifest digest>' to")
    p.add_argument("--base", help="OCI layout of the base image (one made by this tool)")
    p.add_argument("--tar", action="append", default=[], help="layer (.tar/.tar.gz), in order")
    p.add_argument("--entrypoint", help="JSON list; resets the base's cmd ('[]' clears both)")
    p.add_argument("--cmd", help="JSON list ('[]' clears the base's cmd)")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE; may use $KEY")
    p.add_argument("--user", help="NAME, UID or UID:GID")
    p.add_argument("--workdir", help="absolute working directory")
    p.add_argument("--exposed-port", action="append", default=[], help="PORT[/tcp|udp|sctp]")
    p.add_argument("--volume", action="append", default=[], help="absolute path")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE (config label)")
    p.add_argument("--annotation", action="append", default=[], help="KEY=VALUE (manifest)")
    p.add_argument("--os", help="default: the base's, else linux")
    p.add_argument("--architecture", help="default: the base's, else amd64")
    p.add_argument("--variant", help="e.g. v8 for arm64; default: the base's")
    p.add_argument("--created", help=f"RFC 3339 time (default {imageconfig.EPOCH})")
    p.add_argument("--healthcheck", help="JSON object: test, interval, timeout, retries, ...")
    p.add_argument(
        "--stamp-file",
        action="append",
        default=[],
        help="Bazel status file; its keys replace {KEY} in labels, annotations and created",
    )
    return p.parse_args(argv)


def _json_list(text: str | None, what: str) -> list[str] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ImageError(f"{what} must be a JSON list of strings, got {text!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImageError(f"{what} must be a JSON list of strings, got {text!r}")
    return value


def _assignments(items: list[str], what: str, stamps: dict[str, str] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        key, value = imageconfig.parse_assignment(item, what)
        result[key] = imageconfig.stamp(value, stamps or {})
    return result


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the result, for the manifest and the summary."""

    descriptor: dict[str, Any]
    diff_id: str
    uncompressed_size: int | None
    source: str


def _add_layer(tar: str, staging: Path) -> LayerInfo:
    """Put one `--tar` into the staged layout as a gzip blob."""
    scan = layout.scan_layer(tar, "layer")
    if scan.compression == "zstd" or scan.diff_id is None:
        raise ImageError(f"layer {tar}: zstd layers are not supported; give .tar or .tar.gz")
    blobs = staging / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    if scan.compression == "gzip":
        digest, size = scan.digest, scan.size
        shutil.copyfile(tar, layout.blob_path(staging, digest))
    else:
        tmp = blobs / ".layer.tmp"
        tarball.gzip_file(tar, tmp)
        digest, size = "sha256:" + tarball.sha256_file(tmp), tmp.stat().st_size
        os.replace(tmp, layout.blob_path(staging, digest))
    descriptor = {"mediaType": layout.LAYER_GZIP, "digest": digest, "size": size}
    return LayerInfo(descriptor, scan.diff_id, scan.uncompressed_size, os.path.basename(tar))


def _platform(args: argparse.Namespace, base: layout.Image | None) -> dict[str, str]:
    """The image's platform: the base's (explicit values must agree), else linux/amd64."""
    if base is None:
        os_name, arch, variant = (
            args.os or "linux",
            args.architecture or "amd64",
            args.variant or None,
        )
    else:
        base_os = base.config.get("os", "")
        base_arch = base.config.get("architecture", "")
        base_variant = base.config.get("variant")
        for name, given, inherited in (
            ("os", args.os, base_os),
            ("architecture", args.architecture, base_arch),
            ("variant", args.variant, base_variant),
        ):
            if given and given != inherited:
                raise ImageError(f"{name} {given!r} does not match the base image's {inherited!r}")
        os_name, arch, variant = base_os, base_arch, base_variant
    imageconfig.check_platform(os_name, arch, variant)
    result = {"architecture": arch, "os": os_name}
    if variant:
        result["variant"] = variant
    return result


def _apply_config(cfg: dict[str, Any], args: argparse.Namespace) -> None:
    """Apply the command-line config fields to the inherited `config` object, in place."""
    entrypoint = _json_list(args.entrypoint, "entrypoint")
    cmd = _json_list(args.cmd, "cmd")
    if entrypoint is not None:
        # rules_oci / crane / Dockerfile: a new entrypoint makes the base's cmd meaningless.
        cfg.pop("Cmd", None)
        cfg.pop("Entrypoint", None)
        if entrypoint:
            cfg["Entrypoint"] = entrypoint
    if cmd is not None:
        cfg.pop("Cmd", None)
        if cmd:
            cfg["Cmd"] = cmd
    if args.env:
        cfg["Env"] = imageconfig.merge_env(cfg.get("Env") or [], args.env)
    if args.user is not None:
        cfg["User"] = imageconfig.check_user(args.user)
    if args.workdir is not None:
        cfg["WorkingDir"] = imageconfig.check_absolute(args.workdir, "workdir")
    if args.exposed_port:
        ports = dict(cfg.get("ExposedPorts") or {})
        ports.update({imageconfig.parse_port(p): {} for p in args.exposed_port})
        cfg["ExposedPorts"] = ports
    if args.volume:
        volumes = dict(cfg.get("Volumes") or {})
        volumes.update({imageconfig.check_absolute(v, "volume"): {} for v in args.volume})
        cfg["Volumes"] = volumes
    if args.healthcheck is not None:
        try:
            spec = json.loads(args.healthcheck)
        except ValueError:
            raise ImageError(
                f"healthcheck must be a JSON object, got {args.healthcheck!r}"
            ) from None
        cfg["Healthcheck"] = imageconfig.healthcheck(spec)


@dataclass(frozen=True)
class Result:
    """What was built: the manifest digest, platform and every layer (base ones first)."""

    digest: str
    platform: dict[str, str]
    layers: list[LayerInfo]


def build(args: argparse.Namespace) -> Result:
    """Write the image layout described by `args`; return what the summary needs."""
    stamps = imageconfig.read_stamp_files(args.stamp_file)
    labels = _assignments(args.label, "label", stamps)
    annotations = _assignments(args.annotation, "annotation", stamps)
    created = imageconfig.check_created(
        imageconfig.stamp(args.created or imageconfig.EPOCH, stamps, fallback="0")
    )
    for tar in args.tar:
        if not os.path.isfile(tar):
            raise ImageError(f"layer not found: {tar}")
    base = None
    if args.base:
        if not os.path.isdir(args.base):
            raise ImageError(f"base image not found: {args.base}")
        base = layout.read_image(args.base, verify_layers=False)
    platform = _platform(args, base)

    config: dict[str, Any] = copy.deepcopy(base.config) if base else {}
    config.update(platform)
    if not platform.get("variant"):
        config.pop("variant", None)
    config["created"] = created
    cfg = config.get("config") or {}
    _apply_config(cfg, args)
    if labels:
        cfg["Labels"] = {**(cfg.get("Labels") or {}), **labels}
    config["config"] = cfg

    with layout.staged_dir(args.output) as staging:
        layers: list[LayerInfo] = []
        if base:
            diff_ids = base.config["rootfs"]["diff_ids"]
            for i, (descriptor, diff_id) in enumerate(zip(base.layers, diff_ids, strict=True), 1):
                scan = layout.scan_layer(base.blob(descriptor["digest"]), f"base layer {i}")
                if scan.digest != descriptor["digest"] or scan.size != descriptor["size"]:
                    raise ImageError(f"base layer {i}: blob does not match its descriptor")
                if scan.diff_id is not None and scan.diff_id != diff_id:
                    raise ImageError(f"base layer {i}: content does not match the config diff_id")
                layout.copy_blob(base.root, staging, descriptor["digest"])
                media_type = layout.LAYER_TYPES[descriptor["mediaType"]]
                fields = {"mediaType": media_type, "digest": scan.digest, "size": scan.size}
                layers.append(LayerInfo(fields, diff_id, scan.uncompressed_size, "base"))
        new_layers = [_add_layer(tar, staging) for tar in args.tar]
        layers.extend(new_layers)

        history = list(config.get("history") or []) if base else []
        history.extend(
            {"created": created, "created_by": f"oci_image: layer {layer.source}"}
            for layer in new_layers
        )
        config["history"] = history
        config["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}

        config_blob = layout.write_blob(staging, layout.canonical_json(config))
        if base:
            annotations = {BASE_DIGEST_ANNOTATION: base.manifest_digest, **annotations}
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": layout.MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": layout.CONFIG_MEDIA_TYPE, **config_blob},
            "layers": [layer.descriptor for layer in layers],
        }
        if annotations:
            manifest["annotations"] = annotations
        manifest_blob = layout.write_blob(staging, layout.canonical_json(manifest))
        index = {
            "schemaVersion": 2,
            "mediaType": layout.INDEX_MEDIA_TYPE,
            "manifests": [
                {"mediaType": layout.MANIFEST_MEDIA_TYPE, **manifest_blob, "platform": platform}
            ],
        }
        (staging / layout.OCI_LAYOUT).write_bytes(
            layout.canonical_json({"imageLayoutVersion": layout.LAYOUT_VERSION})
        )
        (staging / layout.INDEX).write_bytes(layout.canonical_json(index))
    digest = manifest_blob["digest"]
    if args.digest_file:
        layout.write_file_atomic(args.digest_file, digest.encode())
    return Result(digest, platform, layers)


def human_size(size: int | None) -> str:
    """Format a byte count for people: "512 B", "14.2 MiB"; None (unknown) is "?"."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def summary(result: Result) -> str:
    """The lines `bazel build` shows for the image: digest, then each layer's sizes."""
    platform = "/".join(
        result.platform[k] for k in ("os", "architecture", "variant") if k in result.platform
    )
    total = sum(layer.descriptor["size"] for layer in result.layers)
    unknown = any(layer.uncompressed_size is None for layer in result.layers)
    total_raw = None if unknown else sum(layer.uncompressed_size or 0 for layer in result.layers)
    lines = [
        f"{PROG}: {result.digest} {platform}, {len(result.layers)} layer(s), "
        f"{human_size(total_raw)} uncompressed, {human_size(total)} compressed"
    ]
    for i, layer in enumerate(result.layers, 1):
        lines.append(
            f"  layer {i}: {layer.descriptor['digest'][:19]}  "
            f"{human_size(layer.uncompressed_size):>10} -> "
            f"{human_size(layer.descriptor['size']):>10}  {layer.source}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build the image; print the summary, or one error line and exit 1."""
    args = parse_args(argv)
    try:
        result = build(args)
    except (ImageError, tarball.LayerError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: error: {err.filename or ''}: {err.strerror}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
