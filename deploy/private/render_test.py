"""render.py with the real kustomize: the pin lands in the output, bad input fails in one line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deploy.private import render

DIGEST = "sha256:" + "c" * 64
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: my-app
"""


@pytest.fixture
def kustomize() -> str:
    return str(Path(os.environ["TEST_SRCDIR"]) / os.environ["KUSTOMIZE"])


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    files = {
        "base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "base/deployment.yaml": DEPLOYMENT,
        "overlays/dev/kustomization.yaml": "resources: [../../base]\nnamespace: dev\n",
    }
    paths = {}
    for relative, text in files.items():
        # Flat and renamed on purpose: the stage step must rebuild the tree.
        path = tmp_path / "in" / relative.replace("/", "__")
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        paths[relative] = path
    (tmp_path / "digest").write_text(DIGEST + "\n")
    return paths


def _args(kustomize: str, sources: dict[str, Path], tmp_path: Path, **changes: str) -> list[str]:
    options = {
        "kustomize": kustomize,
        "overlay": "overlays/dev",
        "image-name": "my-app",
        "repository": "registry.example:5000/team/my-app",
        "digest-file": str(tmp_path / "digest"),
        "output": str(tmp_path / "out" / "manifests.yaml"),
    }
    options.update({k.replace("_", "-"): v for k, v in changes.items()})
    args = [f"--{k}={v}" for k, v in options.items()]
    return args + [f"--src={path}={relative}" for relative, path in sources.items()]


def test_renders_the_overlay_with_the_image_pinned(kustomize, sources, tmp_path):
    assert render.main(_args(kustomize, sources, tmp_path)) == 0
    output = (tmp_path / "out" / "manifests.yaml").read_text()
    assert f"image: registry.example:5000/team/my-app@{DIGEST}\n" in output
    assert "namespace: dev\n" in output
    assert output.startswith("# Rendered by kustomize from overlays/dev;")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["manifests.yaml"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image_name": "other"}, "no container has image 'other'"),
        ({"repository": "registry.example/app:1.0"}, "repository: expected a name like"),
        ({"repository": "Registry.example/App"}, "repository: expected a name like"),
        ({"repository": f"registry.example/app@{DIGEST}"}, "repository: expected a name like"),
        ({"overlay": "overlays/prod"}, "overlay 'overlays/prod': no kustomization.yaml"),
        ({"overlay": "../x"}, "must be relative and inside the package"),
    ],
)
def test_bad_input_fails_with_one_line(kustomize, sources, tmp_path, capsys, changes, message):
    assert render.main(_args(kustomize, sources, tmp_path, **changes)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out" / "manifests.yaml").exists()


def test_bad_digest_file(kustomize, sources, tmp_path, capsys):
    (tmp_path / "digest").write_text("sha256:abc\n")
    assert render.main(_args(kustomize, sources, tmp_path)) == 1
    assert "expected 'sha256:<64 hex digits>'" in capsys.readouterr().err


def test_a_kustomize_error_is_reported_in_one_line(kustomize, sources, tmp_path, capsys):
    sources["base/kustomization.yaml"].write_text("resources: [missing.yaml]\n")
    assert render.main(_args(kustomize, sources, tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: kustomize build failed: Error:") and err.count("\n") == 1, err
    assert "missing.yaml" in err


def test_an_image_left_unpinned_is_caught():
    rendered = DEPLOYMENT.replace("image: my-app", "image: my-app:1.0")
    with pytest.raises(render.RenderError, match=r"Deployment/web: image 'my-app:1.0' was not"):
        render.check_pinned(rendered, "my-app", f"r/my-app@{DIGEST}")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
