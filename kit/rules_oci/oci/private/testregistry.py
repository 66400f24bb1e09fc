"""Test helper: a real registry (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1.

Push tests talk to the real thing rather than a mock, so they catch what a mock would agree with
us about. Each registry gets a free port, its own config and storage in a temp directory, and is
stopped (then killed if it lingers) when the `with` block ends, also when a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import bcrypt
from kit_lib import runfiles
from kit_lib.ports import free_port

from oci.private import _test_tools

BINARY_ENV = "DOCKER_REGISTRY_BIN"


def htpasswd_line(user: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash: the only kind distribution accepts."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{hashed}"


class Registry:
    """`with Registry(workdir) as reg:` serves a registry at `reg.host` until the block ends.

    `users` turns on htpasswd basic auth ({"user": "password"}).
    """

    def __init__(self, workdir: Path, users: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.users = users
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "registry.log"

    @property
    def host(self) -> str:
        """HOST:PORT of the registry."""
        return f"127.0.0.1:{self.port}"

    def _config(self) -> dict[str, object]:
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "storage")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.users is not None:
            path = self.workdir / "htpasswd"
            path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self.users.items()))
            config["auth"] = {"htpasswd": {"realm": "test-registry", "path": str(path)}}
        return config

    def _ready(self, deadline: float) -> bool:
        """Poll /v2/ until it answers (200, or 401 with auth) or the process dies."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1):
                    return True
            except urllib.error.HTTPError as err:
                return err.code == 401
            except OSError:
                time.sleep(0.05)
        return False

    def __enter__(self) -> Registry:
        binary = os.environ.get(BINARY_ENV) or str(runfiles.runfile(_test_tools.DOCKER_REGISTRY))
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # another process may grab the free port first
            self.port = free_port()
            config = self.workdir / "config.yml"
            # JSON is YAML: no YAML library needed.
            config.write_text(json.dumps(self._config(), indent=2))
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [binary, "serve", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._ready(time.monotonic() + 15):
                return self
            self.stop()
        raise RuntimeError(f"docker-registry did not start; log:\n{self.log()[-2000:]}")

    def log(self) -> str:
        """Everything the registry logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the registry: SIGTERM, then SIGKILL after 5 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def skopeo_binary() -> str:
    """skopeo from this library's runfiles (the tests read pushed images back with it)."""
    return str(runfiles.runfile(_test_tools.SKOPEO))
