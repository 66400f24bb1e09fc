"""Tests for push.py against a real registry (docker-registry on 127.0.0.1), read back by skopeo.

Every push runs the CLI as a subprocess, as `bazel run` does, with HOME pointing at an empty temp
directory so the machine's own credentials never leak in. A recording / fault-injecting proxy in
front of the registry shows what went over the wire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kit_lib import layout, tarball
from kit_lib.ports import free_port

from oci.private import image, index, push
from oci.private.testproxy import FAKE_PRESENT, FORWARD_THEN_RESET, HOLD, RESET, Fault, Proxy
from oci.private.testregistry import Registry, skopeo_binary

ACCEPT = f"{layout.MANIFEST_MEDIA_TYPE}, {layout.DOCKER_MANIFEST}"
USER, PASSWORD = "alice", "s3cret"
FAST = ["--retry-delay", "0.01"]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def runfile(env_var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[env_var]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("open")) as reg:
        yield reg


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("auth"), users={USER: PASSWORD}) as reg:
        yield reg


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def make_image(root: Path, name: str, layers: dict[str, bytes]) -> Path:
    """Build a small image with one layer per file, through image.py like oci_image does."""
    args = ["--output", str(root / name), "--os", "linux", "--architecture", "amd64"]
    for i, (path, data) in enumerate(layers.items()):
        tar = root / f"{name}-{i}.tar"
        tarball.write_tar([tarball.Entry(path, data=data)], tar)
        args += ["--tar", str(tar)]
    (root / f"{name}.labels").write_text(f"test={name}\n")
    assert image.main([*args, "--labels-file", str(root / f"{name}.labels")]) == 0
    return root / name


@pytest.fixture
def small_image(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    # The test's name in the content: each test pushes blobs no other test has pushed.
    return make_image(
        tmp_path,
        "small",
        {"/app/a.txt": request.node.name.encode(), "/app/b.txt": b"b" * 1000},
    )


def manifest_digest(layout_dir: Path) -> str:
    return layout.read_image(layout_dir).manifest_digest


def run_push(
    home: Path, *args: str, env: dict[str, str] | None = None, check_one_line: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run push.py as a program; an error must be exactly one line on stderr."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")
    }
    environ.update(HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path), **(env or {}))
    result = subprocess.run(
        [sys.executable, "-B", push.__file__, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 and check_one_line:
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1, result.stderr
    return result


def run_runner(var: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an oci_push runner (env var `var` names it) as `bazel run` would."""
    env = dict(os.environ, HOME=str(home), RUNFILES_DIR=os.environ["TEST_SRCDIR"])
    return subprocess.run(
        [str(runfile(var)), *args], capture_output=True, text=True, env=env, timeout=300
    )


def get(url: str, accept: str = ACCEPT, auth: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def remote_digest(host: str, repo: str, reference: str, auth: str = "") -> str:
    """Read a manifest back and hash what the registry serves."""
    status, body = get(f"http://{host}/v2/{repo}/manifests/{reference}", auth=auth)
    assert status == 200, body
    return sha(body)


def skopeo(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [skopeo_binary(), "--insecure-policy", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, TMPDIR=str(tmp)),
        timeout=300,
        check=True,
    )


def docker_config(home: Path, key: str, entry: dict[str, str]) -> Path:
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {key: entry}}))
    return path


def auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


# -- the real image, through the oci_push runner ---------------------------------------------


def test_image_push_with_runner_then_pull_with_skopeo(
    registry: Registry, home: Path, tmp_path: Path
) -> None:
    layout_dir = runfile("IMAGE")
    digest = manifest_digest(layout_dir)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/fastapi-oci"
        first = run_runner("PUSH_RUNNER", home, "-r", repo, "--insecure")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == f"{repo}@{digest}"
        blobs = len(layout.read_image(layout_dir).layers) + 1
        assert proxy.count("POST", "/blobs/uploads/") == blobs
        # remote_tags of the rule.
        for tag in ("latest", "second"):
            assert remote_digest(registry.host, "fastapi-oci", tag) == digest

        # Again, with -t: the registry has the manifest, so no blob is even asked about; only
        # the tag is added.
        before = len(proxy.seen)
        second = run_runner("PUSH_RUNNER", home, "--repository", repo, "--insecure", "-t", "dev")
        assert second.returncode == 0, second.stderr
        again = [(s.method, s.path) for s in proxy.seen[before:]]
        # Manifests only (a HEAD finds the image; crane skips a tag already at the digest).
        assert again and all(p == "/v2/" or "/manifests/" in p for _, p in again), again
        assert ("PUT", "/v2/fastapi-oci/manifests/dev") in again
        for tag in ("latest", "second", "dev"):
            assert remote_digest(registry.host, "fastapi-oci", tag) == digest
        # The plain case is crane's (the runner says so); the wire is the same as push.py's.
        assert "pushing with crane" in first.stderr and "pushing with crane" in second.stderr

    inspected = json.loads(
        skopeo(
            "inspect",
            "--tls-verify=false",
            f"docker://{registry.host}/fastapi-oci:dev",
            tmp=tmp_path,
        ).stdout
    )
    assert inspected["Digest"] == digest
    pulled = tmp_path / "pulled"
    skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"docker://{registry.host}/fastapi-oci:dev",
        f"oci:{pulled}:dev",
        tmp=tmp_path,
    )
    index = json.loads((pulled / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [digest]
    original, copy = layout.read_image(layout_dir), layout.read_image(pulled)
    assert copy.layers == original.layers
    assert copy.config_digest == original.config_digest


def test_runner_takes_push_py_for_its_own_options(registry: Registry, home: Path) -> None:
    # crane has no --retries: the runner hands the whole push to push.py.
    repo = f"{registry.host}/own-options"
    done = run_runner("PUSH_RUNNER", home, "-r", repo, "--insecure", "--retries", "2")
    assert done.returncode == 0, done.stderr
    assert "pushing with crane" not in done.stderr and " uploaded (" in done.stderr
    assert done.stdout.strip() == f"{repo}@{manifest_digest(runfile('IMAGE'))}"


def test_runner_reads_tags_file_and_needs_a_repository(registry: Registry, home: Path) -> None:
    missing = run_runner("PUSH_TAGS_FILE_RUNNER", home, "--insecure")
    assert missing.returncode == 2
    assert "no repository" in missing.stderr
    repo = f"{registry.host}/from-file"
    done = run_runner("PUSH_TAGS_FILE_RUNNER", home, "-r", repo, "--insecure")
    assert done.returncode == 0, done.stderr
    assert remote_digest(registry.host, "from-file", "from-file") == manifest_digest(
        runfile("IMAGE")
    )


# -- small synthetic images ------------------------------------------------------------------


def test_push_by_digest_then_tags(registry: Registry, home: Path, small_image: Path) -> None:
    digest = manifest_digest(small_image)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/team/small"
        result = run_push(
            home, "--image", str(small_image), "-r", repo, "--insecure", "-t", "a", "-t", "b"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"{repo}@{digest}"]
        puts = [s.path for s in proxy.seen if s.method == "PUT" and "/manifests/" in s.path]
        assert puts == [f"/v2/team/small/manifests/{ref}" for ref in (digest, "a", "b")]
    for reference in (digest, "a", "b"):
        assert remote_digest(registry.host, "team/small", reference) == digest


def test_blobs_go_several_at_a_time(registry: Registry, home: Path, small_image: Path) -> None:
    with Proxy(registry.host) as proxy:
        # The first blob upload hangs (then drops); with --jobs 2 the others go meanwhile.
        proxy.add(Fault("PUT", r"/blobs/uploads/", HOLD, times=1))
        args = ["--image", str(small_image), "-r", f"{proxy.host}/parallel", "--insecure"]
        environ = dict(os.environ, HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.Popen(
            [sys.executable, "-B", push.__file__, *args, "--jobs", "2", *FAST],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proxy.held.wait(60)
            deadline = time.monotonic() + 30
            while proxy.count("PUT", r"/blobs/uploads/") < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            # Two blobs completed while the first was still held.
            assert proxy.count("PUT", r"/blobs/uploads/") == 3
        finally:
            proxy.release.set()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert remote_digest(registry.host, "parallel", manifest_digest(small_image)) == (
        manifest_digest(small_image)
    )


def test_blobs_pushed_to_another_repository_are_mounted(
    registry: Registry, home: Path, small_image: Path
) -> None:
    digest = manifest_digest(small_image)
    with Proxy(registry.host) as proxy:
        first = run_push(
            home, "--image", str(small_image), "-r", f"{proxy.host}/team/a", "--insecure"
        )
        assert first.returncode == 0, first.stderr
        before = len(proxy.seen)
        second = run_push(
            home, "--image", str(small_image), "-r", f"{proxy.host}/team/b", "--insecure"
        )
        assert second.returncode == 0, second.stderr
        sent = proxy.seen[before:]
        mounts = [s.path for s in sent if s.method == "POST" and "mount=" in s.path]
        assert len(mounts) == 3 and all("from=team%2Fa" in m for m in mounts)
        # No blob bytes: no upload PUT or PATCH, only the manifest PUTs.
        assert not [s for s in sent if s.method in ("PUT", "PATCH") and "/blobs/" in s.path]
        assert "3 mounted" in second.stderr
    assert remote_digest(registry.host, "team/b", digest) == digest
    # Where this machine pushed what: one file per blob beside the user's other caches.
    cache = home / ".cache/oci_push/mounts" / proxy.host
    assert {p.read_text() for p in cache.iterdir()} == {"team/b\n"}
    assert len(list(cache.iterdir())) == 3


def test_a_stale_mount_source_falls_back_to_an_upload(
    registry: Registry, home: Path, small_image: Path
) -> None:
    blobs = [d["digest"] for d in layout.read_image(small_image).layers]
    with Proxy(registry.host) as proxy:
        cache = home / ".cache/oci_push/mounts" / proxy.host
        cache.mkdir(parents=True)
        for digest in blobs:
            (cache / digest.split(":")[1]).write_text("never/pushed\n")
        result = run_push(
            home, "--image", str(small_image), "-r", f"{proxy.host}/stale", "--insecure"
        )
        assert result.returncode == 0, result.stderr
        assert "3 uploaded" in result.stderr and "0 mounted" in result.stderr
    assert remote_digest(registry.host, "stale", manifest_digest(small_image)) == (
        manifest_digest(small_image)
    )


def test_index_push_then_inspect_with_skopeo(
    registry: Registry, home: Path, tmp_path: Path
) -> None:
    amd64 = make_image(tmp_path, "amd64", {"/a": b"amd64 " + os.urandom(8)})
    arm64 = tmp_path / "arm64"
    tar = tmp_path / "arm64.tar"
    tarball.write_tar([tarball.Entry("a", data=b"arm64 " + os.urandom(8))], tar)
    layout.write_image(arm64, [tar], platform={"architecture": "arm64", "os": "linux"})
    both = tmp_path / "index"
    assert index.main(["--output", str(both), "--image", str(amd64), "--image", str(arm64)]) == 0
    top = layout.read_index(both)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/multi"
        result = run_push(home, "--image", str(both), "-r", repo, "--insecure", "-t", "dev")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"{repo}@{top.digest}"]
        puts = [s.path for s in proxy.seen if s.method == "PUT" and "/manifests/" in s.path]
        # Each image's manifest before the index that points at them, then the tag.
        images = sorted(f"/v2/multi/manifests/{d['digest']}" for d, _ in top.images)
        assert sorted(puts[:2]) == images
        assert puts[2:] == [f"/v2/multi/manifests/{top.digest}", "/v2/multi/manifests/dev"]
    raw = json.loads(
        skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/multi:dev",
            tmp=tmp_path,
        ).stdout
    )
    assert raw["mediaType"] == layout.INDEX_MEDIA_TYPE
    assert [layout.platform_name(m["platform"]) for m in raw["manifests"]] == [
        "linux/amd64",
        "linux/arm64",
    ]
    assert raw["manifests"][0]["digest"] == manifest_digest(amd64)


def test_an_index_of_one_image_pushes_that_image_first(
    registry: Registry, home: Path, tmp_path: Path
) -> None:
    only = make_image(tmp_path, "only", {"/a": b"only " + os.urandom(8)})
    one = tmp_path / "one"
    assert index.main(["--output", str(one), "--image", str(only)]) == 0
    top = layout.read_index(one)
    result = run_push(home, "--image", str(one), "-r", f"{registry.host}/single", "--insecure")
    assert result.returncode == 0, result.stderr
    assert remote_digest(registry.host, "single", manifest_digest(only)) == manifest_digest(only)
    status, body = get(
        f"http://{registry.host}/v2/single/manifests/{top.digest}", accept=layout.INDEX_MEDIA_TYPE
    )
    assert status == 200 and sha(body) == top.digest


def test_basic_auth_credentials_from_the_usual_files(
    auth_registry: Registry, home: Path, small_image: Path, tmp_path: Path
) -> None:
    repo = f"{auth_registry.host}/private"
    args = ["--image", str(small_image), "-r", repo, "--insecure", *FAST]

    none = run_push(home, *args)
    assert none.returncode == 1
    assert f"{repo}: authentication failed" in none.stderr
    assert "no credentials found" in none.stderr
    assert str(home / ".docker" / "config.json") + ": missing" in none.stderr

    wrong_dir = tmp_path / "wrong"
    wrong_dir.mkdir()
    (wrong_dir / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: auth_entry(USER, "wrong")}})
    )
    wrong = run_push(home, *args, env={"DOCKER_CONFIG": str(wrong_dir)})
    assert wrong.returncode == 1
    assert "authentication failed" in wrong.stderr
    assert f"credentials of user 'alice' from {wrong_dir / 'config.json'}" in wrong.stderr

    # podman's file wins over docker's; a URL-style key as `docker login` writes it.
    podman = tmp_path / "auth.json"
    podman.write_text(
        json.dumps({"auths": {f"http://{auth_registry.host}/v1/": auth_entry(USER, PASSWORD)}})
    )
    ok = run_push(
        home, *args, env={"REGISTRY_AUTH_FILE": str(podman), "DOCKER_CONFIG": str(wrong_dir)}
    )
    assert ok.returncode == 0, ok.stderr
    digest = manifest_digest(small_image)
    assert remote_digest(auth_registry.host, "private", digest, basic(USER, PASSWORD)) == digest

    # ~/.docker/config.json when nothing else is set.
    docker_config(home, auth_registry.host, auth_entry(USER, PASSWORD))
    again = run_push(home, *args, "-t", "v1")
    assert again.returncode == 0, again.stderr
    inspected = skopeo(
        "inspect",
        "--tls-verify=false",
        f"--creds={USER}:{PASSWORD}",
        f"docker://{repo}:v1",
        tmp=tmp_path,
    )
    assert json.loads(inspected.stdout)["Digest"] == digest


def test_credential_helper(
    auth_registry: Registry, home: Path, small_image: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-testhelper"
    helper.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "assert sys.argv[1:] == ['get']\n"
        "server = sys.stdin.read().strip()\n"
        f"answer = {{'ServerURL': server, 'Username': {USER!r}, 'Secret': {PASSWORD!r}}}\n"
        "print(json.dumps(answer))\n"
    )
    helper.chmod(0o755)
    config = home / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"credHelpers": {auth_registry.host: "testhelper"}}))
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = run_push(
        home,
        "--image",
        str(small_image),
        "-r",
        f"{auth_registry.host}/helped",
        "--insecure",
        env=env,
    )
    assert result.returncode == 0, result.stderr


def test_bearer_token_flow(registry: Registry, home: Path, small_image: Path) -> None:
    with Proxy(
        registry.host, bearer=True, users={"bob": "pw"}, refresh_tokens={"refresh-1"}
    ) as proxy:
        repo = f"{proxy.host}/tokened"
        args = ["--image", str(small_image), "-r", repo, "--insecure", *FAST]

        docker_config(home, proxy.host, auth_entry("bob", "nope"))
        wrong = run_push(home, *args)
        assert wrong.returncode == 1
        assert "authentication failed at token realm" in wrong.stderr

        docker_config(home, proxy.host, auth_entry("bob", "pw"))
        ok = run_push(home, *args)
        assert ok.returncode == 0, ok.stderr
        assert proxy.token_requests[-1] == {
            "method": "GET",
            "user": "bob",
            "scope": "repository:tokened:pull,push",
        }
        # One challenge (the ping), then every request carried the token.
        unauthorized = [s for s in proxy.seen if s.status == 401]
        assert len(unauthorized) == 2  # one per run

        # An identity token (what `docker login` stores for OAuth registries): refresh grant.
        docker_config(home, proxy.host, {"identitytoken": "refresh-1"})
        token = run_push(home, *args, "-t", "oauth")
        assert token.returncode == 0, token.stderr
        assert proxy.token_requests[-1]["method"] == "POST"
    digest = manifest_digest(small_image)
    assert remote_digest(registry.host, "tokened", "oauth") == digest


def test_killed_push_completes_on_rerun(registry: Registry, home: Path, small_image: Path) -> None:
    digest = manifest_digest(small_image)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/interrupted"
        # The second blob upload hangs; the pusher is killed while waiting for it.
        proxy.add(Fault("PUT", r"/blobs/uploads/", HOLD, times=1, skip=1))
        environ = dict(os.environ, HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
        args = [sys.executable, "-B", push.__file__, "--image", str(small_image), "-r", repo]
        proc = subprocess.Popen(
            [*args, "--insecure", "--jobs", "1"],  # one at a time: one blob made it
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proxy.held.wait(60), "the push never reached its second blob"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            proxy.release.set()
        assert proc.returncode == -signal.SIGKILL
        assert get(f"http://{registry.host}/v2/interrupted/manifests/{digest}")[0] == 404

        before = proxy.count("POST", "/blobs/uploads/")
        rerun = run_push(home, "--image", str(small_image), "-r", repo, "--insecure", "-j", "1")
        assert rerun.returncode == 0, rerun.stderr
        # The blob that made it is not sent again; the other two are.
        assert proxy.count("POST", "/blobs/uploads/") - before == 2
        assert "2 uploaded" in rerun.stderr and "1 already present" in rerun.stderr
    assert remote_digest(registry.host, "interrupted", digest) == digest


def test_transient_failures_are_retried(registry: Registry, home: Path, small_image: Path) -> None:
    digest = manifest_digest(small_image)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/flaky"
        proxy.add(Fault("GET", r"^/v2/$", "status:503"))
        proxy.add(Fault("HEAD", r"/blobs/", RESET))
        proxy.add(Fault("PUT", r"/blobs/uploads/", RESET))  # first blob: never arrives
        proxy.add(Fault("PUT", r"/blobs/uploads/", FORWARD_THEN_RESET))  # stored, answer lost
        proxy.add(Fault("PUT", r"/manifests/sha256:", "status:500"))
        proxy.add(Fault("PUT", r"/manifests/latest$", FORWARD_THEN_RESET))
        result = run_push(
            home, "--image", str(small_image), "-r", repo, "--insecure", "-t", "latest", *FAST
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("retrying in") == 6
        # 3 blobs + 1 restart for the reset one; the one whose answer was lost is found by HEAD.
        assert proxy.count("POST", "/blobs/uploads/") == 4
    assert remote_digest(registry.host, "flaky", "latest") == digest


def test_failures_beyond_the_retries_fail_cleanly(
    registry: Registry, home: Path, small_image: Path
) -> None:
    with Proxy(registry.host) as proxy:
        proxy.add(Fault("PUT", r"/blobs/uploads/", RESET, times=-1))
        args = ["--image", str(small_image), "-r", f"{proxy.host}/broken", "--insecure"]
        result = run_push(home, *args, "--retries", "2", "--jobs", "1", *FAST)
        assert result.returncode == 1
        assert "giving up after 2 retries: PUT http://" in result.stderr
        # One blob tried 1 + 2 times; the push stops there, sending no other blob.
        assert proxy.count("PUT", "/blobs/uploads/") == 3


def test_chunked_upload_resumes_after_a_reset(
    registry: Registry, home: Path, tmp_path: Path
) -> None:
    big = os.urandom(300_000)  # random: gzip cannot shrink it below several chunks
    img = make_image(tmp_path, "big", {"/data/big.bin": big})
    digest = manifest_digest(img)
    with Proxy(registry.host) as proxy:
        repo = f"{proxy.host}/chunky"
        proxy.add(Fault("PATCH", r"/blobs/uploads/", RESET, skip=2))
        result = run_push(
            home,
            "--image",
            str(img),
            "-r",
            repo,
            "--insecure",
            "--chunked",
            "--chunk-size",
            "65536",
            "--jobs",
            "1",  # the chunks of one blob in order, not interleaved with the config's
            *FAST,
        )
        assert result.returncode == 0, result.stderr
        assert "resuming upload at byte 131072" in result.stderr
        ranges = [s.headers.get("Content-Range") for s in proxy.seen if s.method == "PATCH"]
        # Chunks in order; the third is sent again after the reset, never restarting at 0.
        assert ranges[:4] == ["0-65535", "65536-131071", "131072-196607", "131072-196607"]
        layer = layout.read_image(img).layers[0]
        # Every chunk of the layer, the one sent again, and the (one-chunk) config.
        assert len(ranges) == math.ceil(layer["size"] / 65536) + 1 + 1
        assert ranges.count("0-65535") == 1
        assert proxy.count("GET", r"/blobs/uploads/") == 1  # the status query
    status, body = get(f"http://{registry.host}/v2/chunky/blobs/{layer['digest']}", accept="*/*")
    assert status == 200 and sha(body) == layer["digest"]
    assert remote_digest(registry.host, "chunky", digest) == digest


def test_large_blob_is_chunked_without_asking(
    registry: Registry, home: Path, tmp_path: Path
) -> None:
    img = make_image(tmp_path, "large", {"/data/x.bin": os.urandom(100_000)})
    with Proxy(registry.host) as proxy:
        args = ["--image", str(img), "-r", f"{proxy.host}/auto", "--insecure"]
        result = run_push(home, *args, "--chunk-size", "40000")
        assert result.returncode == 0, result.stderr
        # Only the layer is larger than a chunk; the config goes in one PUT.
        size = layout.read_image(img).layers[0]["size"]
        assert size > 80_000
        assert proxy.count("PATCH") == math.ceil(size / 40000)


def test_rejected_manifest_prints_the_registry_error(
    registry: Registry, home: Path, small_image: Path
) -> None:
    layer = layout.read_image(small_image).layers[0]["digest"]
    with Proxy(registry.host) as proxy:
        # A registry that claims to hold a blob it does not: the manifest then refers to nothing.
        proxy.add(Fault("HEAD", layer, FAKE_PRESENT, times=-1))
        args = ["--image", str(small_image), "-r", f"{proxy.host}/rejected", "--insecure"]
        result = run_push(home, *args, "-t", "latest")
        assert result.returncode == 1
        assert "registry rejected the manifest" in result.stderr
        assert "MANIFEST_BLOB_UNKNOWN" in result.stderr
    # Pushed by digest first: a failure leaves no tag behind.
    assert get(f"http://{registry.host}/v2/rejected/manifests/latest")[0] == 404


def test_unreachable_registry(home: Path, small_image: Path) -> None:
    port = free_port()
    args = ["--image", str(small_image), "-r", f"127.0.0.1:{port}/x", "--insecure"]
    result = run_push(home, *args, "--retries", "1", *FAST)
    assert result.returncode == 1
    assert f"registry 127.0.0.1:{port} unreachable" in result.stderr
    assert "refused" in result.stderr.lower()


def test_loopback_registry_without_tls_is_used_like_docker(
    registry: Registry, home: Path, small_image: Path
) -> None:
    # HTTPS is tried first; only a loopback registry may then be spoken to in plain HTTP.
    result = run_push(home, "--image", str(small_image), "-r", f"{registry.host}/tls")
    assert result.returncode == 0, result.stderr
    assert "speaks plain HTTP; using it (loopback only)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "registry.example.com/app", "--insecure"], "only allowed for localhost/127.0.0.1"),
        (["-r", "app"], "is not HOST[:PORT]/NAME"),
        (["-r", "team/app"], "names no registry host"),
        (["-r", "127.0.0.1:5000/app:v1"], "must not hold a tag"),
        (["-r", "127.0.0.1:5000/app@sha256:" + "0" * 64], "must not hold a digest"),
        (["-r", "127.0.0.1:5000/App"], "is not HOST[:PORT]/NAME"),
        (["-r", "127.0.0.1:5000/app", "-t", "bad tag"], "tag 'bad tag' is invalid"),
        (["-r", "127.0.0.1:5000/app", "-t", "a", "-t", "a"], "given twice"),
        ([], "no repository"),
        (["-r", "127.0.0.1:5000/app", "--chunk-size", "0"], "--chunk-size must be positive"),
    ],
)
def test_usage_errors(home: Path, small_image: Path, args: list[str], message: str) -> None:
    result = run_push(home, "--image", str(small_image), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_not_an_image(home: Path, tmp_path: Path) -> None:
    result = run_push(home, "--image", str(tmp_path / "nope"), "-r", "127.0.0.1:1/x", "--insecure")
    assert result.returncode == 1
    assert "image layout not found" in result.stderr


def test_write_config_checks(tmp_path: Path) -> None:
    tags_file = tmp_path / "tags.txt"
    tags_file.write_text("extra\n\n")
    out = tmp_path / "push.json"
    argv = [
        "--write-config",
        str(out),
        "--repository=127.0.0.1:5000/app",
        "--tag=latest",
        "--tag=dev",
        f"--tags-file={tags_file}",
    ]
    assert push.main(argv) == 0
    assert json.loads(out.read_text()) == {
        "repository": "127.0.0.1:5000/app",
        "tags": ["latest", "dev", "extra"],
    }
    assert push.main(["--write-config", str(tmp_path / "bad.json"), "--tag=no/slash"]) == 2
    assert not (tmp_path / "bad.json").exists()
    repo_file = tmp_path / "repo.txt"
    repo_file.write_text("127.0.0.1:5000/from-file\n")
    assert push.main(["--write-config", str(out), f"--repository-file={repo_file}"]) == 0
    assert json.loads(out.read_text())["repository"] == "127.0.0.1:5000/from-file"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
