"""`bazel run //:sign -- --key FILE` after `bazel run //:push`, checked by cosign itself.

A registry on 127.0.0.1, a key pair cosign generates here, the index pushed, then signed and its
SBOMs attached by //:sign; `cosign verify` and `cosign verify-attestation` with the public key
must accept the index (and, signed recursively, each platform's manifest), and reject them with
another key. No transparency log can be reached here, so //:sign runs with --no-tlog and
verification with --insecure-ignore-tlog.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
from kit_lib import layout
from oci.private.testregistry import Registry


def runfile(var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[var]


def run(*cmd: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert done.returncode == 0, f"{cmd[0]}: {done.stderr[-2000:]}"
    return done


def cosign(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(str(runfile("COSIGN")), *args, env=env, check=check)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sign")
    home = tmp / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), COSIGN_PASSWORD="test-only")
    env["RUNFILES_DIR"] = os.environ["TEST_SRCDIR"]
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        env.pop(name, None)
    for pair in ("ours", "other"):
        (tmp / pair).mkdir()
        cosign(env, "generate-key-pair", "--output-key-prefix", str(tmp / pair / "cosign"))
    with Registry(tmp / "registry") as registry:
        repo = f"{registry.host}/app"
        run(str(runfile("PUSH")), "-r", repo, env=env)
        run(
            str(runfile("SIGN")),
            "-r",
            repo,
            "--key",
            str(tmp / "ours/cosign.key"),
            "--no-tlog",
            env=env,
        )
        yield env, repo, tmp


def verify(env: dict[str, str], key: Path, reference: str, check: bool = True):
    args = ["--key", str(key), "--insecure-ignore-tlog=true", "--allow-http-registry", reference]
    return cosign(env, "verify", *args, check=check)


def test_the_index_and_each_platform_are_signed(signed) -> None:
    env, repo, tmp = signed
    index = layout.read_index(runfile("INDEX"), verify_layers=False)
    references = [index.digest] + [d["digest"] for d, _ in index.images]
    for digest in references:
        done = verify(env, tmp / "ours/cosign.pub", f"{repo}@{digest}")
        claims = json.loads(done.stdout)
        assert claims[0]["critical"]["image"]["docker-manifest-digest"] == digest
    # Another key must not verify: the check can fail.
    assert (
        verify(env, tmp / "other/cosign.pub", f"{repo}@{index.digest}", check=False).returncode != 0
    )


def test_both_sboms_are_attested_to_the_index(signed) -> None:
    env, repo, tmp = signed
    index = layout.read_index(runfile("INDEX"), verify_layers=False)
    args = ["--key", str(tmp / "ours/cosign.pub"), "--insecure-ignore-tlog=true"]
    args += ["--allow-http-registry", "--type", "cyclonedx", f"{repo}@{index.digest}"]
    done = cosign(env, "verify-attestation", *args)
    statements = [
        json.loads(base64.b64decode(json.loads(line)["payload"]))
        for line in done.stdout.splitlines()
        if line.strip()
    ]
    assert {s["predicateType"] for s in statements} == {"https://cyclonedx.org/bom"}
    assert all(
        s["subject"][0]["digest"]["sha256"] == index.digest.removeprefix("sha256:")
        for s in statements
    )
    arches = set()
    for s in statements:
        purls = [c.get("purl", "") for c in s["predicate"]["components"]]
        arches |= {
            p.split("arch=")[1].split("&")[0]
            for p in purls
            if p.startswith("pkg:deb/") and "arch=" in p and "arch=all" not in p
        }
    assert arches == {"amd64", "arm64"}
    wrong = cosign(
        env, "verify-attestation", "--key", str(tmp / "other/cosign.pub"), *args[2:], check=False
    )
    assert wrong.returncode != 0


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
