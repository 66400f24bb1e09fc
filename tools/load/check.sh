#!/usr/bin/env bash
# `./bazelw run //:load` into this host's podman (or docker), then the engine must hold //:image:
# its image ID is the image's config digest. Needs podman or a docker daemon on the host.
set -euo pipefail
cd "$(dirname "$0")/../.."
./bazelw run --config=ci //:load
image=$(./bazelw cquery --config=ci --output=files //:image 2>/dev/null)
want=$(python3 - "$image" <<'PY'
import json, sys
from pathlib import Path
layout = Path(sys.argv[1])
digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
manifest = json.loads((layout / "blobs" / digest.replace(":", "/")).read_text())
print(manifest["config"]["digest"].split(":", 1)[1])
PY
)
engine=${OCI_LOAD_ENGINE:-}
if [[ -z $engine ]]; then
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
got=$("$engine" image inspect --format '{{.Id}}' fastapi-oci:latest)
got=${got#sha256:}
if [[ $got != "$want" ]]; then
  echo "load check: $engine holds fastapi-oci:latest as $got, not //:image's config $want" >&2
  exit 1
fi
echo "load check: $engine holds fastapi-oci:latest = //:image (config sha256:${want:0:12}...)"
