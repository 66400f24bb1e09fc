"""policy.py: a compliant set of objects passes; each single change is caught by its field."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from deploy.private import policy

DIGEST = "sha256:" + "a" * 64
LABELS = {"app": "web"}


def good() -> list[dict[str, Any]]:
    """A small set of objects that meets every rule (a fresh copy each time)."""
    container = {
        "name": "app",
        "image": f"registry.example/app@{DIGEST}",
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [
            {"name": "PORT", "value": "8000"},
            {"name": "DATABASE_PATH", "value": "/data/todos.db"},
            {"name": "API_TOKEN_FILE", "value": "/secrets/api-token"},
            {
                "name": "TIMEOUT_GRACEFUL_SHUTDOWN",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "GRACE"}},
            },
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "256Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "startupProbe": {"httpGet": {"path": "/health", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "data", "mountPath": "/data"},
            {"name": "secrets", "mountPath": "/secrets", "readOnly": True},
        ],
    }
    pod = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "db"}},
            {
                "name": "secrets",
                "secret": {"secretName": "s", "items": [{"key": "t", "path": "api-token"}]},
            },
        ],
    }
    meta = {"namespace": "ns"}
    return [
        {
            "kind": "Namespace",
            "metadata": {
                "name": "ns",
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
        {"kind": "ConfigMap", "metadata": {"name": "cfg", **meta}, "data": {"GRACE": "10"}},
        {
            "kind": "Deployment",
            "metadata": {"name": "web", **meta},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": LABELS},
                "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod},
            },
        },
        {
            "kind": "Service",
            "metadata": {"name": "web", **meta},
            "spec": {"selector": dict(LABELS), "ports": [{"port": 80, "targetPort": "http"}]},
        },
        {
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", **meta},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}},
        },
        {
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "db", **meta},
            "spec": {"accessModes": ["ReadWriteOnce"]},
        },
    ]


def _hpa(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Add an HPA for Deployment/web (never valid here: its pod writes one SQLite volume)."""
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}],
        },
    }
    objects.append(hpa)
    return hpa


def _get(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return _get(objects, "Deployment")["spec"]["template"]["spec"]


def _c(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return _pod(objects)["containers"][0]


def _sc(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return _c(objects)["securityContext"]


def _env(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(v for v in _c(objects)["env"] if v["name"] == name)


POD = "Deployment/web: spec.template.spec"
C0 = f"{POD}.containers[0]"
Mutation = Callable[[list[dict[str, Any]]], None]


def test_the_good_objects_pass():
    objects = good()
    assert [v for o in objects for v in policy.restricted_violations(o)] == []
    assert policy.project_violations(objects) == []


RESTRICTED: list[tuple[str, Mutation, str]] = [
    ("host_network", lambda o: _pod(o).update(hostNetwork=True), f"{POD}.hostNetwork"),
    (
        "privileged",
        lambda o: _sc(o).update(privileged=True),
        f"{C0}.securityContext.privileged: must be unset or false",
    ),
    (
        "privilege_escalation",
        lambda o: _sc(o).pop("allowPrivilegeEscalation"),
        f"{C0}.securityContext.allowPrivilegeEscalation: must be false",
    ),
    (
        "run_as_non_root_unset",
        lambda o: _pod(o)["securityContext"].pop("runAsNonRoot"),
        f"{C0}.securityContext.runAsNonRoot: must be true",
    ),
    (
        "run_as_non_root_false",
        lambda o: _sc(o).update(runAsNonRoot=False),
        f"{C0}.securityContext.runAsNonRoot: must be true",
    ),
    (
        "root_user",
        lambda o: _sc(o).update(runAsUser=0),
        f"{C0}.securityContext.runAsUser: must not be 0",
    ),
    (
        "seccomp_unset",
        lambda o: _pod(o)["securityContext"].pop("seccompProfile"),
        f"{C0}.securityContext.seccompProfile.type: must be RuntimeDefault or Localhost",
    ),
    (
        "seccomp_unconfined",
        lambda o: _sc(o).update(seccompProfile={"type": "Unconfined"}),
        f"{C0}.securityContext.seccompProfile.type: must be RuntimeDefault or Localhost",
    ),
    (
        "no_drop_all",
        lambda o: _sc(o)["capabilities"].update(drop=["NET_RAW"]),
        f"{C0}.securityContext.capabilities.drop: must include ALL",
    ),
    (
        "add_sys_admin",
        lambda o: _sc(o)["capabilities"].update(add=["SYS_ADMIN"]),
        f"{C0}.securityContext.capabilities.add[0]: 'SYS_ADMIN' is not allowed (baseline)",
    ),
    (
        "add_chown",
        lambda o: _sc(o)["capabilities"].update(add=["CHOWN"]),
        f"{C0}.securityContext.capabilities.add[0]: 'CHOWN' is not allowed (restricted)",
    ),
    (
        "host_path",
        lambda o: _pod(o)["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        f"{POD}.volumes[3].hostPath: volume type not allowed",
    ),
    (
        "host_port",
        lambda o: _c(o)["ports"][0].update(hostPort=80),
        f"{C0}.ports[0].hostPort: must be unset or 0",
    ),
    (
        "proc_mount",
        lambda o: _sc(o).update(procMount="Unmasked"),
        f"{C0}.securityContext.procMount",
    ),
    (
        "unsafe_sysctl",
        lambda o: _pod(o)["securityContext"].update(sysctls=[{"name": "kernel.msgmax"}]),
        f"{POD}.securityContext.sysctls[0].name: 'kernel.msgmax' is not safe",
    ),
    (
        "selinux_user",
        lambda o: _sc(o).update(seLinuxOptions={"user": "root"}),
        f"{C0}.securityContext.seLinuxOptions.user: must be unset",
    ),
    (
        "init_container",
        lambda o: _pod(o).update(initContainers=[{"name": "init", "image": "x"}]),
        f"{POD}.initContainers[0].securityContext.allowPrivilegeEscalation: must be false",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [m[1:] for m in RESTRICTED], ids=[m[0] for m in RESTRICTED]
)
def test_restricted_violations_name_the_field(mutate, expected):
    objects = good()
    mutate(objects)
    violations = policy.restricted_violations(_get(objects, "Deployment"))
    assert any(v.startswith(expected) for v in violations), violations


def test_adding_net_bind_service_is_allowed():
    objects = good()
    _sc(objects)["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert policy.restricted_violations(_get(objects, "Deployment")) == []


def _grace_from_configmap(objects: list[dict[str, Any]]) -> None:
    _get(objects, "ConfigMap")["data"]["GRACE"] = "30"


PROJECT: list[tuple[str, Mutation, str]] = [
    (
        "writable_root",
        lambda o: _sc(o).update(readOnlyRootFilesystem=False),
        f"{C0}.securityContext.readOnlyRootFilesystem: must be true",
    ),
    (
        "image_by_tag",
        lambda o: _c(o).update(image="registry.example/app:latest"),
        f"{C0}.image: 'registry.example/app:latest' is not pinned by digest",
    ),
    (
        "no_memory_limit",
        lambda o: _c(o)["resources"]["limits"].pop("memory"),
        f"{C0}.resources.limits.memory: must be set",
    ),
    (
        "request_above_limit",
        lambda o: _c(o)["resources"]["requests"].update(cpu="2"),
        f"{C0}.resources.requests.cpu: 2 is above the limit 1",
    ),
    (
        "tmp_not_empty_dir",
        lambda o: _c(o)["volumeMounts"].pop(0),
        f"{C0}.volumeMounts: /tmp must be an emptyDir",
    ),
    (
        "probe_port",
        lambda o: _c(o)["readinessProbe"]["httpGet"].update(port=8001),
        f"{C0}.readinessProbe.httpGet.port: 8001, but the app listens on PORT 8000",
    ),
    (
        "port_env",
        lambda o: _env(o, "PORT").update(value="9000"),
        f"{C0}.ports: PORT is 9000 but no containerPort is 9000",
    ),
    (
        "probe_named_port_unknown",
        lambda o: _c(o)["startupProbe"]["httpGet"].update(port="web"),
        f"{C0}.startupProbe: port 'web' is not the name of a port",
    ),
    (
        "readiness_path",
        lambda o: _c(o)["readinessProbe"]["httpGet"].update(path="/health"),
        f"{C0}.readinessProbe.httpGet.path: must be /ready",
    ),
    ("no_liveness", lambda o: _c(o).pop("livenessProbe"), f"{C0}.livenessProbe: must be set"),
    (
        "exec_probe",
        lambda o: _c(o).update(startupProbe={"exec": {"command": ["true"]}}),
        f"{C0}.startupProbe: must be httpGet or tcpSocket",
    ),
    (
        "no_pre_stop",
        lambda o: _c(o).pop("lifecycle"),
        f"{C0}.lifecycle.preStop.sleep: must be set",
    ),
    (
        "short_grace",
        lambda o: _pod(o).update(terminationGracePeriodSeconds=15),
        f"{POD}.terminationGracePeriodSeconds: 15 must exceed preStop sleep 5 + "
        "TIMEOUT_GRACEFUL_SHUTDOWN 10",
    ),
    (
        "long_graceful_shutdown",
        _grace_from_configmap,
        f"{POD}.terminationGracePeriodSeconds: 30 must exceed preStop sleep 5 + "
        "TIMEOUT_GRACEFUL_SHUTDOWN 30",
    ),
    (
        "missing_configmap_key",
        lambda o: _get(o, "ConfigMap")["data"].pop("GRACE"),
        f"{C0}.env[3].valueFrom.configMapKeyRef: ConfigMap 'cfg' has no key 'GRACE'",
    ),
    (
        "token_twice",
        lambda o: _c(o)["env"].append({"name": "API_TOKEN", "value": "x"}),
        f"{C0}.env: API_TOKEN and API_TOKEN_FILE are both set",
    ),
    (
        "token_file_not_on_secret",
        lambda o: _env(o, "API_TOKEN_FILE").update(value="/data/token"),
        f"{C0}.env: API_TOKEN_FILE /data/token is not on a Secret volume",
    ),
    (
        "token_file_not_an_item",
        lambda o: _env(o, "API_TOKEN_FILE").update(value="/secrets/token"),
        f"{C0}.env: API_TOKEN_FILE /secrets/token: the Secret volume has no item token",
    ),
    (
        "database_on_root",
        lambda o: _env(o, "DATABASE_PATH").update(value="/var/lib/todos.db"),
        f"{C0}.volumeMounts: DATABASE_PATH /var/lib/todos.db is not on a writable volume",
    ),
    (
        "other_user",
        lambda o: _pod(o)["securityContext"].update(runAsUser=1000),
        f"{POD}.securityContext.runAsUser: must be 65532",
    ),
    (
        "service_account_token",
        lambda o: _pod(o).pop("automountServiceAccountToken"),
        f"{POD}.automountServiceAccountToken: must be false",
    ),
    (
        "service_target_port",
        lambda o: _get(o, "Service")["spec"]["ports"][0].update(targetPort="web"),
        "Service/web: spec.ports[0].targetPort: 'web' is no port of Deployment/web",
    ),
    (
        "service_selector",
        lambda o: _get(o, "Service")["spec"].update(selector={"app": "api"}),
        "Service/web: spec.selector: matches no pod template",
    ),
    (
        "pdb_selector",
        lambda o: _get(o, "PodDisruptionBudget")["spec"]["selector"].update(
            matchLabels={"app": "api"}
        ),
        "PodDisruptionBudget/web: spec.selector: matches no pod template",
    ),
    (
        "hpa_target",
        lambda o: _hpa(o)["spec"]["scaleTargetRef"].update(name="x"),
        "HorizontalPodAutoscaler/web: spec.scaleTargetRef: Deployment/x not found",
    ),
    (
        "replicas_with_hpa",
        lambda o: _hpa(o) and _get(o, "Deployment")["spec"].update(replicas=3),
        "HorizontalPodAutoscaler/web: spec.scaleTargetRef: Deployment/web sets spec.replicas",
    ),
    (
        "hpa_without_request",
        lambda o: _hpa(o) and _c(o)["resources"]["requests"].pop("cpu"),
        "HorizontalPodAutoscaler/web: spec.metrics[0]: cpu utilization needs",
    ),
    (
        "sqlite_on_an_empty_dir",
        lambda o: _pod(o)["volumes"].__setitem__(1, {"name": "data", "emptyDir": {}}),
        f"{POD}.containers[0].volumeMounts: DATABASE_PATH /data/todos.db is not on a "
        "PersistentVolumeClaim",
    ),
    (
        "two_writers",
        lambda o: _get(o, "Deployment")["spec"].update(replicas=2),
        "Deployment/web: spec.replicas: must be 1",
    ),
    (
        "rolling_update_on_one_volume",
        lambda o: _get(o, "Deployment")["spec"].update(strategy={"type": "RollingUpdate"}),
        "Deployment/web: spec.strategy.type: must be Recreate",
    ),
    (
        "hpa_on_one_volume",
        _hpa,
        "Deployment/web: HorizontalPodAutoscaler/web scales it",
    ),
    (
        "namespace_not_enforcing",
        lambda o: _get(o, "Namespace")["metadata"]["labels"].update(
            {"pod-security.kubernetes.io/enforce": "baseline"}
        ),
        "Namespace/ns: metadata.labels[pod-security.kubernetes.io/enforce]: must be restricted",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [m[1:] for m in PROJECT], ids=[m[0] for m in PROJECT]
)
def test_project_violations_name_the_field(mutate, expected):
    objects = good()
    mutate(objects)
    violations = policy.project_violations(objects)
    assert any(v.startswith(expected) for v in violations), violations


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
