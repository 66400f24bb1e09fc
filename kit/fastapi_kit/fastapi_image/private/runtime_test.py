"""The generic runtime test of a fastapi_image (`<name>_runtime_test`): the image really serves.

The image runs under runc the way Kubernetes runs it (image user, read-only root, tmpfs /tmp, no
capabilities); the test waits for HEALTH_PATH to answer 200, runs the image's healthcheck command
if it has one, and checks that SIGTERM stops the server with exit code 0, which is what a rolling
update relies on. App-specific behaviour belongs in the app's own tests.

Environment (set by the macro): IMAGE (rlocationpath of the layout), HEALTH_PATH, CONTAINER_ENV
(JSON object of extra container environment), and for an image of another CPU EMULATOR
(rlocationpath of qemu's static user-mode emulator, which then runs every process of it).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kit_lib import layout
from runtime import bundle, container

START_TIMEOUT = 60.0
# Under user-mode emulation the interpreter runs 5-20x slower.
EMULATED_START_TIMEOUT = 240.0
PYTHON_IN_IMAGE = "/usr/bin/python3"
STOP_TIMEOUT = 30.0


def _image_dir() -> str:
    return str(Path(os.environ["TEST_SRCDIR"]) / os.environ["IMAGE"])


def _container_env() -> dict[str, str]:
    env = json.loads(os.environ.get("CONTAINER_ENV") or "{}")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise SystemExit("error: CONTAINER_ENV must be a JSON object of strings")
    return env


@pytest.fixture(scope="module")
def image_config() -> dict:
    return layout.read_image(_image_dir()).config["config"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[container.Container, int]]:
    port = container.free_port()
    emulator = os.environ.get("EMULATOR")
    if emulator:
        emulator = str(Path(os.environ["TEST_SRCDIR"]) / emulator)
    run = bundle.RunSpec(env={**_container_env(), "PORT": str(port)}, emulator=emulator)
    timeout = EMULATED_START_TIMEOUT if emulator else START_TIMEOUT
    with container.Container(_image_dir(), run, name="fastapi-image") as c:
        ready = c.wait_http(port, os.environ["HEALTH_PATH"], timeout=timeout)
        print(f"start-to-healthy: {ready:.3f} s")
        yield c, port


def test_health_path_answers_200(server: tuple[container.Container, int]):
    _, port = server
    status, body = container.request(port, os.environ["HEALTH_PATH"])
    assert status == 200, body


def test_runs_the_image_cpu(server: tuple[container.Container, int], image_config: dict):
    # Under an emulator, the server must be the image's own (foreign) interpreter, emulated.
    c, _ = server
    machine = c.exec(PYTHON_IN_IMAGE, "-c", "import platform; print(platform.machine())")
    assert machine.returncode == 0, machine.stderr
    want = {"amd64": "x86_64", "arm64": "aarch64"}[
        layout.read_image(_image_dir()).config["architecture"]
    ]
    assert machine.stdout.strip() == want


def test_runs_the_base_python_the_image_was_built_for(server: tuple[container.Container, int]):
    # The venv's interpreter is the base's (PYTHON_VERSION: the macro's `python`).
    c, _ = server
    code = "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"
    result = c.exec("/opt/venv/bin/python", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [os.environ["PYTHON_VERSION"], "/opt/venv/bin/python"]


def test_ctypes_finds_the_bases_libraries(server: tuple[container.Container, int]):
    # find_library runs /sbin/ldconfig -p, which prints the base's /etc/ld.so.cache.
    if os.environ.get("EMULATOR"):
        pytest.skip("an emulated process cannot exec another foreign program (no binfmt)")
    c, _ = server
    code = "import ctypes, ctypes.util as u; n = u.find_library('ssl'); ctypes.CDLL(n); print(n)"
    result = c.exec(PYTHON_IN_IMAGE, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "libssl.so.3"


def test_runs_as_the_image_user_without_capabilities(
    server: tuple[container.Container, int], image_config: dict
):
    c, _ = server
    uid, _, gid = image_config["User"].partition(":")
    pids = c.pids()
    assert pids, "runc ps found no process"
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split()[:2] == [uid, uid]
        assert fields["Gid"].split()[:2] == [gid or uid, gid or uid]
        assert int(fields["CapEff"].strip(), 16) == 0


def test_healthcheck_command_passes(server: tuple[container.Container, int], image_config: dict):
    test = (image_config.get("Healthcheck") or {}).get("Test") or ["NONE"]
    if test[0] == "NONE":
        pytest.skip("the image has no healthcheck")
    c, _ = server
    assert test[0] == "CMD", test
    result = c.exec(*test[1:])
    assert result.returncode == 0, result.stderr


def test_sigterm_stops_with_exit_code_0(server: tuple[container.Container, int]):
    # Last: it ends the server the other tests share.
    c, _ = server
    c.signal(signal.SIGTERM)
    code = c.wait(timeout=STOP_TIMEOUT)
    assert code == 0, f"exit code {code} after SIGTERM: {c.output()[-2000:]}"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
