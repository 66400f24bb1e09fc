"""apply.py: kubectl gets `apply -f -`, the user's arguments, and the manifests on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.private import apply

FAKE_KUBECTL = """#!{python}
import json, sys
with open({record!r}, "w") as f:
    json.dump({{"argv": sys.argv[1:], "stdin": sys.stdin.read()}}, f)
sys.exit(7)
"""


def _run(*args: str, kubectl: Path | None = None) -> subprocess.CompletedProcess[str]:
    # As the py_binary's launcher does: the workspace root on the path, so `tools` imports.
    root = Path(apply.__file__).parents[2]
    path = os.pathsep.join([str(root), *sys.path])
    env = {"PYTHONPATH": path, **({"KUBECTL": str(kubectl)} if kubectl else {})}
    return subprocess.run(
        [sys.executable, apply.__file__, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def fake(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "record.json"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.format(python=sys.executable, record=str(record)))
    kubectl.chmod(0o755)
    return kubectl, record


def test_manifests_go_to_kubectl_apply_on_stdin(tmp_path, fake):
    kubectl, record = fake
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text("kind: Namespace\n")
    result = _run(str(manifests), "/unused", "--context", "kind-dev", kubectl=kubectl)
    assert result.returncode == 7, result.stderr  # kubectl's own exit code
    seen = json.loads(record.read_text())
    assert seen == {
        "argv": ["apply", "-f", "-", "--context", "kind-dev"],
        "stdin": "kind: Namespace\n",
    }


def test_missing_manifests(tmp_path, fake):
    kubectl, record = fake
    result = _run(str(tmp_path / "absent.yaml"), "/unused", kubectl=kubectl)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the manifests")
    assert not record.exists()


def test_missing_kubectl(tmp_path):
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text("")
    result = _run(str(manifests), str(tmp_path / "no-kubectl"))
    assert result.returncode == 1 and "error: cannot run kubectl" in result.stderr


def test_usage():
    result = _run()
    assert result.returncode == 2 and result.stderr.startswith("usage:")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
