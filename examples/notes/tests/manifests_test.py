"""The notes manifests (deploy/), rendered with the image's digest, checked without a cluster.

Every object against the Kubernetes API schemas (strict), the pods against the "restricted"
profile, and the migration pattern: the Job runs Alembic from the very image the Deployment
serves, with the same database settings and the password from the same Secret file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kit_lib import layout

from deploy.private import pods, policy


def _runfile(variable: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[variable]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return pods.load_objects(_runfile("MANIFESTS").read_text())


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("version", ["1.34", "1.37"])
def test_every_object_matches_the_api_schema(objects, version) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_pods_meet_the_restricted_profile(objects) -> None:
    assert [v for obj in objects for v in policy.restricted_violations(obj)] == []


def test_the_job_migrates_with_the_served_image(objects) -> None:
    digest = layout.read_image(_runfile("IMAGE"), verify_layers=False).manifest_digest
    job, deployment = _one(objects, "Job"), _one(objects, "Deployment")
    migrate, app = _container(job), _container(deployment)
    assert migrate["image"] == app["image"] and migrate["image"].endswith("@" + digest)
    assert migrate["command"] == ["/opt/venv/bin/python", "-m", "alembic", "upgrade", "head"]
    assert migrate["envFrom"] == app["envFrom"]
    password = {e["name"]: e["value"] for e in migrate["env"]}["DATABASE_PASSWORD_FILE"]
    assert password == {e["name"]: e["value"] for e in app["env"]}["DATABASE_PASSWORD_FILE"]
    mounts = {m["mountPath"]: m["name"] for m in migrate["volumeMounts"]}
    secret = next(
        v["secret"] for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets"
    )
    folder, _, item = password.rpartition("/")
    assert mounts[folder] == "secrets" and [i["path"] for i in secret["items"]] == [item]
    # The readiness probe is what holds traffic back until the schema is there.
    assert app["readinessProbe"]["httpGet"]["path"] == "/ready"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
