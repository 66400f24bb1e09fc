"""The documented results, read from the layout with the standard library only.

The plain tar is an uncompressed layer (its own sha256 is the layer digest), env `$PATH` of a
scratch image expands to "", labels come from the file, and `<name>.digest` holds the manifest
digest and a newline.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def main(layout: str, digest_file: str, layer: str) -> int:
    """Check and print one closing line; non-zero exit when a check fails."""
    failures = []
    text = Path(digest_file).read_text()
    digest = text.strip()
    if not (digest.startswith("sha256:") and text.endswith("\n")):
        failures.append(f"digest file holds {text!r}")
    manifest = json.loads((Path(layout) / "blobs/sha256" / digest.split(":")[-1]).read_bytes())
    layer_digest = "sha256:" + hashlib.sha256(Path(layer).read_bytes()).hexdigest()
    (entry,) = manifest["layers"]
    if entry != {
        "digest": layer_digest,
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "size": Path(layer).stat().st_size,
    }:
        failures.append(f"the plain tar is not an uncompressed layer: {entry}")
    config = json.loads(
        (Path(layout) / "blobs/sha256" / manifest["config"]["digest"][7:]).read_bytes()
    )
    checks = {
        "os/architecture": (config["os"], config["architecture"]) == ("linux", "amd64"),
        "env": config["config"]["Env"] == ["PATH=/opt/bin:"],
        "labels": config["config"]["Labels"]
        == {"org.opencontainers.image.title": "smoke", "org.opencontainers.image.version": "1.0"},
        "created": config["created"] == "1970-01-01T00:00:00Z",
    }
    failures += [name for name, ok in checks.items() if not ok]
    for failure in failures:
        print(f"FAIL: {failure}")
    total = len(checks) + 2
    print(f"{total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
