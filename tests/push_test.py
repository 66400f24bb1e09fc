"""`bazel run //:push` of //:image_index to a real registry on 127.0.0.1, read back by skopeo.

The push runner runs as `bazel run` runs it, with -r and -t; skopeo (not our client) then reads
the index, so both sides of the wire are checked: linux/amd64 and linux/arm64, the amd64 entry
being //:image, and every blob there. A second push to another repository mounts every blob.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from kit_lib import layout
from oci.private.testregistry import Registry, skopeo_binary


def runfile(var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[var]


def push(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), RUNFILES_DIR=os.environ["TEST_SRCDIR"])
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    return subprocess.run(
        [str(runfile("PUSH")), *args], capture_output=True, text=True, env=env, timeout=300
    )


def skopeo(tmp: Path, *args: str) -> str:
    done = subprocess.run(
        [skopeo_binary(), "--insecure-policy", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, TMPDIR=str(tmp)),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_push_the_index_then_inspect_and_copy_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    index = layout.read_index(runfile("INDEX"), verify_layers=False)
    image_digest = layout.read_image(runfile("IMAGE"), verify_layers=False).manifest_digest
    with Registry(tmp_path / "registry") as registry:
        repo = f"{registry.host}/app"
        done = push(home, "-r", repo, "-t", "dev")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{repo}@{index.digest}"
        raw = json.loads(
            skopeo(tmp_path, "inspect", "--raw", "--tls-verify=false", f"docker://{repo}:dev")
        )
        assert raw["mediaType"] == layout.INDEX_MEDIA_TYPE
        platforms = {layout.platform_name(m["platform"]): m["digest"] for m in raw["manifests"]}
        assert platforms == {
            "linux/amd64": image_digest,
            "linux/arm64": next(
                d["digest"] for d, _ in index.images if d["platform"]["architecture"] == "arm64"
            ),
        }
        # Each platform pulls whole: skopeo fetches every blob and checks every digest.
        for arch in ("amd64", "arm64"):
            out = tmp_path / f"pulled-{arch}"
            skopeo(
                tmp_path,
                "copy",
                "--src-tls-verify=false",
                "--override-arch",
                arch,
                "--override-os",
                "linux",
                f"docker://{repo}:dev",
                f"oci:{out}:dev",
            )
            pulled = layout.read_image(out)
            assert pulled.config["architecture"] == arch

        # The same index to another repository of the registry: nothing is uploaded again.
        again = push(home, "-r", f"{registry.host}/other", "-t", "dev")
        assert again.returncode == 0, again.stderr
        assert " 0 uploaded (0 B)," in again.stderr and " mounted," in again.stderr


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
