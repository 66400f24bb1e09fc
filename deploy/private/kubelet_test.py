"""kubelet.py without runc: what plan_pod derives from a pod spec, and how a probe is judged.

The runs under runc are in //deploy:kubelet_test, on the rendered manifests.
"""

from __future__ import annotations

import base64
import http.server
import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.private import kubelet, pods


def objects() -> list[dict[str, Any]]:
    container = {
        "name": "app",
        "image": "app@sha256:" + "b" * 64,
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [
            {"name": "PORT", "value": "8000"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
        ],
        "resources": {"limits": {"memory": "64Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "startupProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 1},
        "readinessProbe": {"tcpSocket": {"port": 8000}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 3}}},
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "secrets", "mountPath": "/run/secrets/app", "readOnly": True},
        ],
    }
    pod = {
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 20,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000},
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {}},
            {
                "name": "secrets",
                "secret": {
                    "secretName": "s",
                    "defaultMode": 0o400,
                    "items": [{"key": "token", "path": "api-token"}],
                },
            },
        ],
    }
    token = base64.b64encode(b"s3cret").decode()
    return [
        {"kind": "Secret", "metadata": {"name": "s"}, "data": {"token": token}},
        {
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": pod}},
        },
    ]


def _pod(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return objs[1]["spec"]["template"]["spec"]


def _c(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return _pod(objs)["containers"][0]


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="fsGroup ownership needs root")


@needs_root
def test_plan_follows_the_pod_spec(tmp_path):
    plan = kubelet.plan_pod(objects(), "65532:65532", tmp_path)
    run = plan.run
    assert run.user == "1000:65532"  # runAsUser, and the image's gid as no runAsGroup is set
    assert list(run.groups) == [2000]
    assert run.capabilities == [] and run.no_new_privileges and run.read_only
    assert run.network_namespace
    assert list(run.tmpfs) == ["/tmp"]
    assert run.env["TOKEN"] == "s3cret" and run.env["PORT"] == "8000"
    assert plan.pre_stop_sleep == 3 and plan.grace_period == 20
    assert plan.memory_limit == 64 << 20
    startup = plan.probes["startupProbe"]
    assert (startup.port, startup.path, startup.period, startup.failure_threshold) == (
        8000,
        "/health",
        1.0,
        3,
    )
    assert plan.probes["readinessProbe"].path is None  # tcpSocket


@needs_root
def test_secret_volume_files_get_mode_and_fs_group(tmp_path):
    plan = kubelet.plan_pod(objects(), "", tmp_path)
    directory = Path(plan.run.files["/run/secrets/app"])
    token = directory / "api-token"
    assert token.read_text() == "s3cret"
    info = token.stat()
    # defaultMode 0400, plus group read: the kubelet's fsGroup handling of read-only volumes.
    assert stat.S_IMODE(info.st_mode) == 0o440 and info.st_gid == 2000 and info.st_uid == 0
    objs = objects()
    del _pod(objs)["securityContext"]["fsGroup"]
    plan = kubelet.plan_pod(objs, "", tmp_path / "no-fs-group")
    token = Path(plan.run.files["/run/secrets/app"]) / "api-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o400 and token.stat().st_gid == 0


def test_capabilities_without_drop_all_keep_the_runtime_defaults(tmp_path):
    objs = objects()
    _c(objs)["securityContext"]["capabilities"] = {"drop": ["NET_RAW"], "add": ["SYS_TIME"]}
    _pod(objs)["volumes"][1]["secret"]["items"] = []
    del _pod(objs)["securityContext"]["fsGroup"]
    caps = kubelet.plan_pod(objs, "", tmp_path).run.capabilities
    assert "NET_RAW" not in caps and "CHOWN" in caps and caps[-1] == "SYS_TIME"


def test_allow_privilege_escalation_unset_means_no_no_new_privs(tmp_path):
    objs = objects()
    del _c(objs)["securityContext"]["allowPrivilegeEscalation"]
    del _pod(objs)["securityContext"]["fsGroup"]
    assert kubelet.plan_pod(objs, "", tmp_path).run.no_new_privileges is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda o: _pod(o)["securityContext"].update(runAsUser=0),
            "runAsNonRoot is true but the container would run as uid 0",
        ),
        (
            lambda o: _c(o).update(command=["/bin/sh"]),
            "spec.template.spec.containers[0]: command: not emulated",
        ),
        (
            lambda o: _pod(o).update(hostNetwork=True),
            "spec.template.spec: hostNetwork: not emulated",
        ),
        (
            lambda o: _pod(o).pop("enableServiceLinks"),
            "spec.template.spec.enableServiceLinks: must be false here",
        ),
        (
            lambda o: _c(o)["volumeMounts"][0].update(subPath="x"),
            "spec.template.spec.containers[0].volumeMounts[0]: subPath: not emulated",
        ),
        (
            lambda o: _c(o).update(livenessProbe={"exec": {"command": ["true"]}}),
            "livenessProbe: only httpGet and tcpSocket probes are emulated",
        ),
        (
            lambda o: _c(o).update(lifecycle={"preStop": {"exec": {"command": ["sleep", "5"]}}}),
            "lifecycle.preStop: exec: not emulated",
        ),
        (
            lambda o: _pod(o)["volumes"][1]["secret"].update(secretName="absent"),
            "volumeMounts[1]: Secret 'absent' not found",
        ),
        (
            lambda o: _pod(o)["volumes"][1]["secret"]["items"][0].update(key="nope"),
            "spec.template.spec.volumes[secrets]: no key 'nope'",
        ),
        (
            lambda o: _c(o)["startupProbe"].update(successThreshold=2),
            "startupProbe.successThreshold: must be 1",
        ),
    ],
)
def test_what_cannot_be_run_as_written_is_refused(tmp_path, change, message):
    objs = objects()
    del _pod(objs)["securityContext"]["fsGroup"]
    change(objs)
    with pytest.raises(pods.SpecError) as caught:
        kubelet.plan_pod(objs, "", tmp_path)
    assert message in str(caught.value)


def test_exactly_one_workload():
    with pytest.raises(pods.SpecError, match="expected exactly one workload to run, found none"):
        kubelet.plan_pod(objects()[:1], "", Path("/nonexistent"))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = int(self.path.strip("/"))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    # On 0.0.0.0 like the app; the probes go to POD_IP, not 127.0.0.1.
    httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "0.0.0.0", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _http_probe(port: int, path: str) -> kubelet.Probe:
    return kubelet.Probe("livenessProbe", port, path, (), 0, 1, 1, 1, 3)


@pytest.mark.parametrize(("status", "ok"), [(200, True), (302, True), (404, False), (503, False)])
def test_http_probe_success_is_2xx_or_3xx(server, status, ok):
    _, port = server
    result, detail = kubelet.probe_once(_http_probe(port, f"/{status}"))
    assert result is ok, detail


def test_probe_of_a_closed_port_fails(server):
    _, port = server
    closed = kubelet.Probe("startupProbe", port + 1 if port < 65535 else 1, None, (), 0, 1, 1, 1, 3)
    ok, detail = kubelet.probe_once(closed)
    assert not ok and detail.startswith(f"TCP {kubelet.POD_IP}:")


def test_a_loopback_only_server_fails_the_probe():
    # The app's own default HOST: such a pod answers on 127.0.0.1 but not on its pod IP.
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    try:
        ok, detail = kubelet.probe_once(_http_probe(httpd.server_address[1], "/200"))
    finally:
        httpd.server_close()
    assert not ok and "Connection refused" in detail


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
