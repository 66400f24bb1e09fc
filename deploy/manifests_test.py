"""The rendered manifests, checked without a cluster.

- Every object against the OpenAPI schemas of the pinned Kubernetes versions (kubernetes-validate
  ships them, so this runs offline), in strict mode: an unknown or misspelt field fails, as
  `kubectl apply --validate=strict` would.
- The "restricted" Pod Security Standard and the project's rules (deploy/private/policy.py).
- The image is the digest of the //:image that Bazel built, nothing else.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kit_lib import layout

from deploy.private import pods, policy

KUBERNETES_VERSIONS = ("1.34", "1.37")
"""Oldest supported version (`preStop.sleep` is GA since 1.34) and the newest schemas locked."""

EXPECTED_KINDS = {
    "Namespace",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "PodDisruptionBudget",
    "PersistentVolumeClaim",
}


def _runfile(variable: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[variable]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return pods.load_objects(_runfile("MANIFESTS").read_text())


@pytest.fixture(scope="module")
def image() -> layout.Image:
    return layout.read_image(_runfile("IMAGE"), verify_layers=False)


def _schema_errors(obj: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        field = ".".join(str(p) for p in exc.path) or "(top)"
        return [f"{pods.ref(obj)}: {field}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{pods.ref(obj)}: {exc.message}"]
    return []


def test_the_overlay_renders_every_kind(objects):
    assert {o["kind"] for o in objects} == EXPECTED_KINDS


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_matches_the_api_schema(objects, version):
    errors = [e for obj in objects for e in _schema_errors(obj, version)]
    assert errors == []


def test_the_schema_check_rejects_a_misspelt_field(objects):
    # Proof that strict validation bites: one typo in a field name fails it.
    deployment = copy.deepcopy(next(o for o in objects if o["kind"] == "Deployment"))
    context = deployment["spec"]["template"]["spec"]["securityContext"]
    context["runAsNonroot"] = context.pop("runAsNonRoot")
    errors = _schema_errors(deployment, KUBERNETES_VERSIONS[0])
    assert len(errors) == 1 and "runAsNonroot" in errors[0], errors


def test_the_pods_meet_the_restricted_profile(objects):
    assert [v for obj in objects for v in policy.restricted_violations(obj)] == []


def test_the_manifests_meet_the_project_rules(objects):
    assert policy.project_violations(objects) == []


def test_every_container_runs_the_built_image_by_digest(objects, image):
    images = [
        c.get("image", "")
        for obj in objects
        if (pod := pods.pod_spec(obj)) is not None
        for _, c in pod.containers()
    ]
    assert images, "no container in the manifests"
    for reference in images:
        repository, _, digest = reference.partition("@")
        assert repository and digest == image.manifest_digest, reference


if __name__ == "__main__":
    args = [__file__, "-q", "-p", "no:cacheprovider", *sys.argv[1:]]
    if only := os.environ.get("TESTBRIDGE_TEST_ONLY"):  # bazel test --test_filter=...
        args += ["-k", only]
    sys.exit(pytest.main(args))
