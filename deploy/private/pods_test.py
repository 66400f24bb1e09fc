"""pods.py: reading objects, resolving a container's environment, ports and quantities."""

from __future__ import annotations

import base64
import re
import sys
from decimal import Decimal

import pytest

from deploy.private import pods


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "config", "namespace": "ns"},
    "data": {"LOG_LEVEL": "debug", "PORT": "8000", "not a name": "x"},
}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "secret", "namespace": "ns"},
    "data": {"token": _b64("s3cret"), "user": _b64("old")},
    "stringData": {"user": "new"},
}
OBJECTS = [CONFIG, SECRET]


def _env(container: dict) -> dict[str, str]:
    return pods.resolve_env(container, "ns", OBJECTS, "spec.containers[0]")


def test_load_objects_reads_a_stream_and_skips_empty_documents():
    text = "---\nkind: A\nmetadata: {name: a}\n---\n---\nkind: B\nmetadata: {name: b}\n"
    assert [pods.ref(o) for o in pods.load_objects(text)] == ["A/a", "B/b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: A\nmetadata: {}\n", "document 0 (A): no metadata.name"),
        ("- 1\n", "document 0: not a Kubernetes object"),
        ("kind: [\n", "invalid YAML"),
    ],
)
def test_load_objects_rejects_bad_input(text, message):
    with pytest.raises(pods.SpecError, match=re.escape(message)):
        pods.load_objects(text)


def test_pod_spec_paths():
    cron = {"kind": "CronJob", "metadata": {"name": "c"}}
    cron["spec"] = {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}
    spec = pods.pod_spec(cron)
    assert spec is not None and spec.path == "spec.jobTemplate.spec.template.spec"
    assert pods.pod_spec({"kind": "Service", "metadata": {"name": "s"}}) is None
    with pytest.raises(pods.SpecError, match=r"Deployment/d: spec.template.spec is missing"):
        pods.pod_spec({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {}})


def test_secret_data_is_decoded_and_string_data_wins():
    assert pods.data_of(SECRET) == {"token": "s3cret", "user": "new"}
    bad = {**SECRET, "data": {"token": "not base64!"}, "stringData": {}}
    with pytest.raises(pods.SpecError, match=r"data\.token is not base64"):
        pods.data_of(bad)


def test_env_from_then_env_in_order_with_references_resolved():
    container = {
        "envFrom": [{"configMapRef": {"name": "config"}, "prefix": "APP_"}],
        "env": [
            {"name": "APP_PORT", "value": "9000"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "secret", "key": "token"}}},
            {
                "name": "LEVEL",
                "valueFrom": {"configMapKeyRef": {"name": "config", "key": "LOG_LEVEL"}},
            },
            {"name": "URL", "value": "http://x:$(APP_PORT)/$(UNKNOWN)/$$(APP_PORT)"},
        ],
    }
    assert _env(container) == {
        "APP_LOG_LEVEL": "debug",
        "APP_PORT": "9000",  # env overrides envFrom
        "TOKEN": "s3cret",
        "LEVEL": "debug",
        "URL": "http://x:9000/$(UNKNOWN)/$(APP_PORT)",
    }  # "APP_not a name" is skipped, as the kubelet skips invalid names


def test_optional_references_may_be_missing():
    container = {
        "envFrom": [{"secretRef": {"name": "absent", "optional": True}}],
        "env": [
            {
                "name": "X",
                "valueFrom": {
                    "configMapKeyRef": {"name": "config", "key": "NOPE", "optional": True}
                },
            }
        ],
    }
    assert _env(container) == {}


@pytest.mark.parametrize(
    ("value_from", "message"),
    [
        (
            {"configMapKeyRef": {"name": "config", "key": "NOPE"}},
            "spec.containers[0].env[0].valueFrom.configMapKeyRef: "
            "ConfigMap 'config' has no key 'NOPE'",
        ),
        (
            {"secretKeyRef": {"name": "absent", "key": "token"}},
            "spec.containers[0].env[0].valueFrom.secretKeyRef: Secret 'absent' not found",
        ),
        (
            {"fieldRef": {"fieldPath": "metadata.name"}},
            "spec.containers[0].env[0].valueFrom: unsupported source (fieldRef)",
        ),
    ],
)
def test_unresolvable_references_fail_like_the_kubelet(value_from, message):
    with pytest.raises(pods.SpecError) as caught:
        _env({"env": [{"name": "X", "valueFrom": value_from}]})
    assert str(caught.value).startswith(message)


def test_references_do_not_cross_namespaces():
    with pytest.raises(pods.SpecError, match="ConfigMap 'config' not found"):
        pods.resolve_env({"envFrom": [{"configMapRef": {"name": "config"}}]}, "other", OBJECTS, "c")


def test_container_port_resolves_names_and_numbers():
    container = {"ports": [{"name": "http", "containerPort": 8000}]}
    assert pods.container_port(container, "http", "p") == 8000
    assert pods.container_port(container, 8001, "p") == 8001
    assert pods.container_port(container, "8002", "p") == 8002
    with pytest.raises(pods.SpecError, match="p: port 'web' is not the name of a port"):
        pods.container_port(container, "web", "p")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100m", Decimal("0.1")),
        ("1", Decimal(1)),
        ("256Mi", Decimal(268435456)),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
    ],
)
def test_quantity(value, expected):
    assert pods.quantity(value, "r") == expected


@pytest.mark.parametrize("value", ["", "1X", "Mi", "1.2.3"])
def test_bad_quantity(value):
    with pytest.raises(pods.SpecError, match="r: not a resource quantity"):
        pods.quantity(value, "r")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
