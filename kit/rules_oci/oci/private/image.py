"""Build an OCI image layout from an optional base image, tar layers and config fields.

This is the action behind `oci_image`. It needs no daemon and no registry: layers are hashed and
copied as they are, the config and manifest are written as canonical JSON, and the whole layout
is staged beside the output and renamed into place. The same inputs always give the same bytes,
so the printed digest is the one a registry will show after a push.

Semantics follow rules_oci 2.3.2: layers keep their order and compression on top of the base's;
env values may use the base's `$KEY`; setting the entrypoint drops the base's cmd; labels merge
over the base's and annotations inherit the base manifest's; `created` defaults to the epoch
without a base and to the base's with one; os/architecture are given without a base only.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from kit_lib import cli, layout, tarball
from kit_lib.layout import ImageError
from kit_lib.summary import LayerInfo, Result, summary

from oci.private import imageconfig

PROG = "oci_image"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; see `--help`. Config fields come as files, as rules_oci has them."""
    p = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True, help="OCI layout directory to write")
    p.add_argument("--digest-file", help="file to write 'sha256:<manifest digest>\\n' to")
    p.add_argument("--base", help="any OCI image layout directory with one image")
    p.add_argument(
        "--tar", action="append", default=[], help="layer (.tar/.tar.gz/.tar.zst), in order"
    )
    p.add_argument(
        "--tar-scan",
        action="append",
        default=[],
        help="what `scan` wrote for the --tar at the same position (then that tar is not read)",
    )
    p.add_argument("--zstd", help="the zstd program, which reads zstd layers' diff_ids")
    p.add_argument("--entrypoint-file", help="comma-separated entrypoint; resets the base's cmd")
    p.add_argument("--cmd-file", help="comma-separated cmd (an empty file clears the base's)")
    p.add_argument("--env-file", help="KEY=VALUE lines, applied in order; may use $KEY")
    p.add_argument("--user", help="NAME, UID or UID:GID")
    p.add_argument("--workdir", help="absolute working directory")
    p.add_argument("--exposed-ports-file", help="comma-separated PORT[/tcp|udp|sctp]")
    p.add_argument("--volumes-file", help="comma-separated absolute paths")
    p.add_argument("--labels-file", help="KEY=VALUE lines (config labels)")
    p.add_argument("--annotations-file", help="KEY=VALUE lines (manifest annotations)")
    p.add_argument("--os", help="mandatory without --base")
    p.add_argument("--architecture", help="mandatory without --base")
    p.add_argument("--variant", help="e.g. v8 for arm64")
    p.add_argument(
        "--created-file", help=f"file holding an RFC 3339 time (default {imageconfig.EPOCH})"
    )
    return p.parse_args(argv)


def _list_file(path: str | None, what: str) -> list[str] | None:
    """A rules_oci list file: one line, items separated by commas; None if not given."""
    if path is None:
        return None
    text = imageconfig.read_file(path, what).strip("\n")
    if "\n" in text:
        raise ImageError(f"{what} file {path}: expected one comma-separated line")
    return [item for item in text.split(",") if item] if text else []


def _add_layer(tar: str, scan_file: str | None, staging: Path, zstd: str | None) -> LayerInfo:
    """Put one `--tar` into the staged layout as it is (layer rules compress it themselves).

    With its `scan` file (a cached action of its own), the layer's digests are not computed
    again: an edit of the app layer then reads only that layer, not the base's 60 MB.
    """
    if scan_file is None:
        descriptor, scan = layout.add_layer(staging, tar, zstd)
    else:
        descriptor, scan = layout.add_scanned_layer(staging, tar, _read_scan(scan_file, tar))
    return LayerInfo(descriptor, str(scan.diff_id), scan.uncompressed_size, os.path.basename(tar))


def _read_scan(path: str, tar: str) -> layout.LayerScan:
    try:
        scan = layout.LayerScan(**json.loads(imageconfig.read_file(path, "layer scan")))
    except (TypeError, ValueError) as err:
        raise ImageError(f"layer scan {path}: not what `scan` writes: {err}") from None
    if scan.size != os.path.getsize(tar):
        raise ImageError(f"layer scan {path}: says {scan.size} bytes, {tar} has another size")
    return scan


def parse_scan_args(argv: list[str]) -> argparse.Namespace:
    """`scan LAYER OUTPUT [--zstd PROGRAM]`: the layer's digests as JSON, for --tar-scan."""
    p = cli.Parser(prog=f"{PROG} scan", description="Hash one layer for --tar-scan.")
    p.add_argument("layer")
    p.add_argument("output")
    p.add_argument("--zstd", help="the zstd program, for zstd layers")
    return p.parse_args(argv)


def scan(args: argparse.Namespace) -> None:
    """Write what `scan_layer` learns of one layer, for the image action's --tar-scan."""
    found = layout.scan_layer(args.layer, f"layer {args.layer}", args.zstd)
    layout.write_file_atomic(args.output, layout.canonical_json(dataclasses.asdict(found)))


def _platform(args: argparse.Namespace, base: layout.Image | None) -> dict[str, str]:
    """The image's platform: given without a base (os and architecture), else the base's."""
    given = [name for name in ("os", "architecture", "variant") if getattr(args, name)]
    if base is None:
        if not args.os or not args.architecture:
            raise ImageError("os and architecture are mandatory for an image without a base")
        os_name, arch, variant = args.os, args.architecture, args.variant or None
    else:
        if given:
            raise ImageError(f"{', '.join(given)} must not be set with a base (it is inherited)")
        os_name = base.config.get("os", "")
        arch = base.config.get("architecture", "")
        variant = base.config.get("variant")
    imageconfig.check_platform(os_name, arch, variant)
    result = {"architecture": arch, "os": os_name}
    if variant:
        result["variant"] = variant
    return result


def _apply_config(cfg: dict[str, Any], args: argparse.Namespace) -> None:
    """Apply the command-line config fields to the inherited `config` object, in place."""
    entrypoint = _list_file(args.entrypoint_file, "entrypoint")
    cmd = _list_file(args.cmd_file, "cmd")
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
    env = imageconfig.pairs_file(args.env_file, "env")
    if env:
        cfg["Env"] = imageconfig.merge_env(cfg.get("Env") or [], env)
    if args.user is not None:
        cfg["User"] = imageconfig.check_user(args.user)
    if args.workdir is not None:
        cfg["WorkingDir"] = imageconfig.check_absolute(args.workdir, "workdir")
    ports = _list_file(args.exposed_ports_file, "exposed_ports")
    if ports:
        merged = dict(cfg.get("ExposedPorts") or {})
        merged.update({imageconfig.parse_port(p): {} for p in ports})
        cfg["ExposedPorts"] = merged
    volumes = _list_file(args.volumes_file, "volumes")
    if volumes:
        merged = dict(cfg.get("Volumes") or {})
        merged.update({imageconfig.check_absolute(v, "volume"): {} for v in volumes})
        cfg["Volumes"] = merged


def build(args: argparse.Namespace) -> Result:
    """Write the image layout described by `args`; return what the summary needs."""
    labels = imageconfig.assignments(imageconfig.pairs_file(args.labels_file, "labels"), "labels")
    annotations = imageconfig.assignments(
        imageconfig.pairs_file(args.annotations_file, "annotations"), "annotations"
    )
    for tar in args.tar:
        if not os.path.isfile(tar):
            raise ImageError(f"layer not found: {tar}")
    if args.tar_scan and len(args.tar_scan) != len(args.tar):
        raise ImageError(
            f"{len(args.tar_scan)} --tar-scan for {len(args.tar)} --tar: give one each"
        )
    base = None
    if args.base:
        if not os.path.isdir(args.base):
            raise ImageError(f"base image not found: {args.base}")
        base = layout.read_image(args.base, verify_layers=False)
    platform = _platform(args, base)
    if args.created_file:
        created = imageconfig.check_created(
            imageconfig.read_file(args.created_file, "created").strip()
        )
    elif base:
        created = base.config.get("created") or imageconfig.EPOCH
    else:
        created = imageconfig.EPOCH

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
    if base:
        annotations = {**(base.manifest.get("annotations") or {}), **annotations}

    with layout.staged_dir(args.output) as staging:
        layers: list[LayerInfo] = []
        if base:
            diff_ids = base.config["rootfs"]["diff_ids"]
            for i, (descriptor, diff_id) in enumerate(zip(base.layers, diff_ids, strict=True), 1):
                scan = layout.scan_layer(
                    base.blob(descriptor["digest"]), f"base layer {i}", args.zstd
                )
                if scan.digest != descriptor["digest"] or scan.size != descriptor["size"]:
                    raise ImageError(f"base layer {i}: blob does not match its descriptor")
                if scan.diff_id is not None and scan.diff_id != diff_id:
                    raise ImageError(f"base layer {i}: content does not match the config diff_id")
                layout.copy_blob(base.root, staging, descriptor["digest"])
                media_type = layout.LAYER_TYPES[descriptor["mediaType"]]
                fields = {"mediaType": media_type, "digest": scan.digest, "size": scan.size}
                layers.append(LayerInfo(fields, diff_id, scan.uncompressed_size, "base"))
        scans: list[str | None] = list(args.tar_scan) or [None] * len(args.tar)
        new_layers = [
            _add_layer(tar, scan, staging, args.zstd)
            for tar, scan in zip(args.tar, scans, strict=True)
        ]
        layers.extend(new_layers)

        history = list(config.get("history") or []) if base else []
        history.extend(
            {"created": created, "created_by": f"oci_image: layer {layer.source}"}
            for layer in new_layers
        )
        config["history"] = history
        config["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}
        digest = layout.finish_layout(
            staging, config, [layer.descriptor for layer in layers], platform, annotations
        )
    if args.digest_file:
        layout.write_file_atomic(args.digest_file, (digest + "\n").encode())
    return Result(digest, platform, layers)


def main(argv: list[str] | None = None) -> int:
    """Build the image (or `scan` one layer); print the summary, or one error line and exit 1."""
    if argv is None:
        argv = sys.argv[1:]
    scanning = argv[:1] == ["scan"]
    args = parse_scan_args(argv[1:]) if scanning else parse_args(argv)
    try:
        if scanning:
            scan(args)
            return 0
        result = build(args)
    except (ImageError, tarball.LayerError, OSError) as err:
        return cli.fail(PROG, err)
    print(summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
