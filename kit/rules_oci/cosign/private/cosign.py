"""Sign an image (or index) by digest, or attach an attestation to it, with cosign.

What `bazel run` of `cosign_sign` / `cosign_attest` does (rules_oci 2.3.2's names): the digest
comes from the built layout, so what is signed is exactly what `oci_push` pushed, never a tag.
`-r/--repository` replaces the rule's repository; every other argument goes to cosign (e.g.
`--key cosign.key`). Ours: `--no-tlog` signs without a transparency log (air-gapped registries;
verify with `--insecure-ignore-tlog`), and a loopback registry is allowed over plain HTTP, as
oci_push allows it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kit_lib import cli, layout
from kit_lib.layout import ImageError
from oci.private.registry import UsageError, parse_repository

PROG = "cosign"


def digest_of(image_dir: str) -> str:
    """The digest a registry gives the layout's image or index once pushed."""
    if layout.is_index(image_dir):
        return layout.read_index(image_dir, verify_layers=False).digest
    return layout.read_image(image_dir, verify_layers=False).manifest_digest


def command(args: argparse.Namespace, rest: Sequence[str]) -> list[str]:
    """The cosign command line for `args` (and the arguments meant for cosign)."""
    repository = args.repository or args.default_repository
    if not repository:
        raise UsageError("no repository: set the rule's repository or pass -r/--repository")
    repo = parse_repository(repository)  # oci_push's rules: no tag, no digest, a host
    reference = f"{repo}@{digest_of(args.image)}"
    cmd = [args.cosign, args.mode, "--yes"]
    if args.mode == "sign":
        cmd.append("--recursive")  # an index: each platform's manifest is signed too
    else:
        cmd += ["--type", args.type, "--predicate", args.predicate]
    if args.no_tlog:
        cmd += ["--use-signing-config=false", "--tlog-upload=false"]
    if repo.is_local:
        cmd.append("--allow-http-registry")
    return [*cmd, *rest, reference]


def main(argv: Sequence[str] | None = None) -> int:
    p = cli.Parser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    p.add_argument("--mode", choices=["sign", "attest"], required=True)
    p.add_argument("--cosign", required=True, help="the cosign program")
    p.add_argument("--image", required=True, help="the pushed OCI layout (image or index)")
    p.add_argument("--default-repository", default="")
    p.add_argument("--type", default="", help="attest: the predicate type, e.g. cyclonedx")
    p.add_argument("--predicate", default="", help="attest: the predicate file")
    p.add_argument("-r", "--repository", help="HOST[:PORT]/NAME the image was pushed to")
    p.add_argument("--no-tlog", action="store_true", help="no transparency log (air-gapped)")
    args, rest = p.parse_known_args(argv)
    try:
        cmd = command(args, rest)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except ImageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    if os.environ.get("BUILD_WORKING_DIRECTORY"):
        os.chdir(os.environ["BUILD_WORKING_DIRECTORY"])  # --key and --predicate paths as typed
    try:
        os.execv(cmd[0], cmd)
    except OSError as err:
        print(f"{PROG}: error: cannot run {cmd[0]}: {err.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
