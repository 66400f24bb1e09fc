"""Run the rendered Deployment under runc exactly as its pod spec says, as a kubelet would.

The pod runs //:image with the manifest's user, groups, capabilities, no_new_privs, read-only
root, environment (ConfigMap and Secret references resolved), Secret volume files, the claim's
volume (a folder that outlives the pod) and emptyDir
tmpfs mounts, in a network namespace of its own: the app listens on the manifest's PORT 8000 and
the probes go to that port, resolved from the probe spec (named port -> containerPort), as the
kubelet resolves it. Nothing is remapped, so a port that the app does not listen on fails here as
it fails on a cluster.

Then: startupProbe until it succeeds within failureThreshold x periodSeconds, readiness and
liveness for two periods of the slower one with their thresholds, and deletion: the preStop
sleep, SIGTERM, exit within terminationGracePeriodSeconds. Mutated copies of the Deployment
that the image cannot honour must fail, each with the kubelet's reason.

The first case waits out the manifest's real probe periods; the broken copies probe every second
(see `_short_probes`). Bazel runs them in shards (see `_Shards`).
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit_lib import layout

from deploy.private import kubelet, pods


def _runfile(variable: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[variable]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return pods.load_objects(_runfile("MANIFESTS").read_text())


@pytest.fixture(scope="module")
def image() -> tuple[str, layout.Image]:
    path = _runfile("IMAGE")
    return str(path), layout.read_image(path, verify_layers=False)


def _plan(
    objects: list[dict[str, Any]], image: tuple[str, layout.Image], workdir: Path
) -> kubelet.PodPlan:
    _, built = image
    plan = kubelet.plan_pod(objects, built.config.get("config", {}).get("User", ""), workdir)
    # The manifest must name the image that is run here.
    assert plan.image.partition("@")[2] == built.manifest_digest, plan.image
    return plan


def test_the_pod_starts_serves_and_stops_in_time(objects, image, tmp_path):
    plan = _plan(objects, image, tmp_path)
    assert plan.run.network_namespace and plan.run.read_only and plan.run.capabilities == []
    for note in plan.notes:
        print(f"note: {note}")
    report = kubelet.run_pod(image[0], plan)
    print(
        f"started after {report.started_after:.2f} s ({report.startup_attempts} startupProbe "
        f"attempts), Ready after {report.ready_after:.2f} s, RSS {report.rss_bytes >> 20} MiB "
        f"(limit {(plan.memory_limit or 0) >> 20} MiB), terminated {report.terminated_after:.2f}"
        f" s after deletion (preStop {plan.pre_stop_sleep} s, grace {plan.grace_period} s)"
    )
    for kind, stats in report.stats.items():
        print(f"{kind}: {stats.attempts} attempts, {stats.failures} failures")
    assert report.stats["readinessProbe"].attempts >= 2
    assert report.stats["livenessProbe"].attempts >= 2
    assert plan.pre_stop_sleep <= report.terminated_after < plan.grace_period
    # The app stops cleanly on SIGTERM (the kit's launcher), within its graceful-shutdown timeout.
    assert report.exit_code == 0
    # The todos outlive the pod: the SQLite file is on the claim's volume, not in the container.
    database = tmp_path / "claims" / "fastapi-oci-data" / "todos.db"
    assert database.is_file() and database.stat().st_size > 0


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _set_container_port(objects: list[dict[str, Any]]) -> None:
    _container(objects)["ports"][0]["containerPort"] = 8001


def _set_readiness_port(objects: list[dict[str, Any]]) -> None:
    _container(objects)["readinessProbe"]["httpGet"]["port"] = 8001


def _listen_on_loopback_only(objects: list[dict[str, Any]]) -> None:
    env = _container(objects)["env"]
    next(v for v in env if v["name"] == "HOST")["value"] = "127.0.0.1"


def _drop_data_volume(objects: list[dict[str, Any]]) -> None:
    mounts = _container(objects)["volumeMounts"]
    mounts[:] = [m for m in mounts if m["name"] != "data"]


def _rename_secret_item(objects: list[dict[str, Any]]) -> None:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    next(v for v in volumes if v["name"] == "secrets")["secret"]["items"][0]["path"] = "token"


# The broken copies fail on what they break, not on timing: they probe every second, start-up
# gives up after SHORT_STARTUP_TRIES, the preStop sleep is 1 s. An unbroken copy with the same
# probes must pass (test_short_probes_pass_an_unbroken_pod), so a failure is the mutation's.
SHORT_STARTUP_TRIES = 8


def _short_probes(objects: list[dict[str, Any]]) -> None:
    c = _container(objects)
    c["startupProbe"].update(periodSeconds=1, failureThreshold=SHORT_STARTUP_TRIES)
    for kind in ("readinessProbe", "livenessProbe"):
        c[kind].update(periodSeconds=1, timeoutSeconds=1)
    c["lifecycle"]["preStop"]["sleep"]["seconds"] = 1


MUTATIONS: list[tuple[str, Callable[[list[dict[str, Any]]], None], str]] = [
    # containerPort 8001 while PORT stays 8000: the named probe port points at nothing.
    (
        "container_port_8001",
        _set_container_port,
        f"startupProbe failed {SHORT_STARTUP_TRIES} times",
    ),
    # Startup passes on the right port; the readiness probe asks the wrong one.
    ("readiness_port_8001", _set_readiness_port, "readinessProbe never succeeded"),
    # The app's own default: reachable on loopback only, not on the pod IP.
    (
        "host_127_0_0_1",
        _listen_on_loopback_only,
        f"startupProbe failed {SHORT_STARTUP_TRIES} times",
    ),
    # DATABASE_PATH then lies on the read-only root: the app refuses to start (exit 2).
    (
        "no_data_volume",
        _drop_data_volume,
        "container exited with code 2 before its startupProbe succeeded: error: DATABASE_PATH",
    ),
    # API_TOKEN_FILE names a file the Secret volume no longer has: bad config (exit 2).
    ("secret_item_renamed", _rename_secret_item, "container exited with code 2"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS]
)
def test_a_pod_the_image_cannot_honour_fails(objects, image, tmp_path, mutate, expected):
    broken = copy.deepcopy(objects)
    _short_probes(broken)
    mutate(broken)
    plan = _plan(broken, image, tmp_path)
    with pytest.raises(kubelet.KubeletError) as caught:
        kubelet.run_pod(image[0], plan)
    print(f"kubelet-like run failed as expected: {caught.value}")
    assert expected in str(caught.value)


def test_short_probes_pass_an_unbroken_pod(objects, image, tmp_path):
    quick = copy.deepcopy(objects)
    _short_probes(quick)
    report = kubelet.run_pod(image[0], _plan(quick, image, tmp_path))
    print(f"started after {report.started_after:.2f} s ({report.startup_attempts} attempts)")
    assert report.startup_attempts <= SHORT_STARTUP_TRIES and report.exit_code == 0
    assert report.stats["livenessProbe"].attempts >= 2


class _Shards:
    """Bazel test sharding (shard_count in BUILD): the first case, which waits out the real
    probe periods (~30 s), has shard 0 to itself; the quick cases share the other shards."""

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        total = int(os.environ.get("TEST_TOTAL_SHARDS", "1"))
        index = int(os.environ.get("TEST_SHARD_INDEX", "0"))
        if status := os.environ.get("TEST_SHARD_STATUS_FILE"):
            Path(status).touch()
        if total > 1:
            first, rest = items[:1], items[1:]
            mine = first if index == 0 else rest[index - 1 :: total - 1]
            items[:] = mine


if __name__ == "__main__":
    args = [__file__, "-q", "-s", "-p", "no:cacheprovider", *sys.argv[1:]]
    if only := os.environ.get("TESTBRIDGE_TEST_ONLY"):  # bazel test --test_filter=...
        args += ["-k", only]
    sys.exit(pytest.main(args, plugins=[_Shards()]))
