"""`bazel run //deploy:apply`: hand the rendered manifests to `kubectl apply -f -`.

Arguments after `--` go to kubectl, e.g. `bazel run //deploy:apply -- --context kind-dev` or
`-- --dry-run=server`. $KUBECTL overrides the kubectl found by Bazel (for instance one that knows
your cluster's credential plugins); kubectl reads $KUBECONFIG as usual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from kit_lib import runfiles

USAGE = "usage: apply.py MANIFESTS KUBECTL [KUBECTL_ARG...]"


def command(kubectl: str, extra: Sequence[str]) -> list[str]:
    """The kubectl command line; the manifests come on stdin."""
    return [kubectl, "apply", "-f", "-", *extra]


def main(argv: Sequence[str]) -> int:
    """Replace this process with kubectl, its stdin reading the manifests."""
    if len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    manifests = runfiles.runfile(argv[0])
    kubectl = os.environ.get("KUBECTL") or str(runfiles.runfile(argv[1]))
    try:
        fd = os.open(manifests, os.O_RDONLY)
    except OSError as exc:
        print(f"error: cannot read the manifests {manifests}: {exc.strerror}", file=sys.stderr)
        return 1
    os.dup2(fd, 0)
    os.close(fd)
    cmd = command(kubectl, argv[2:])
    # `bazel run` starts us in the runfiles tree: relative KUBECONFIG entries mean the user's dir.
    where = os.environ.get("BUILD_WORKING_DIRECTORY")
    if where and os.environ.get("KUBECONFIG"):
        os.environ["KUBECONFIG"] = os.pathsep.join(
            os.path.join(where, p) if p else p for p in os.environ["KUBECONFIG"].split(os.pathsep)
        )
    print(f"+ {' '.join(cmd)} < {manifests.name}", file=sys.stderr)
    try:
        os.execv(kubectl, cmd)
    except OSError as exc:
        print(f"error: cannot run kubectl {kubectl!r}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
