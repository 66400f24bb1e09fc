"""Policy checks on rendered manifests, each violation naming the offending field.

Two sets of rules:

- `restricted_violations`: the Pod Security Standards "restricted" profile (which includes
  "baseline"), as the API server's Pod Security admission enforces it in a namespace labelled
  `pod-security.kubernetes.io/enforce: restricted`. Checking it here fails the build instead of
  the rollout.
- `project_violations`: this service's own rules, which admission does not know: read-only root
  with an emptyDir at /tmp, the image's uid 65532, an image pinned by digest, probes on the ports
  the app listens on, a grace period longer than preStop plus the app's graceful shutdown, and
  Services, PodDisruptionBudgets and HorizontalPodAutoscalers that point at something real.

Messages read `Kind/name: field.path: problem`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from deploy.private import pods

IMAGE_UID = 65532
"""uid and gid of the image's "nonroot" user (//:image `user`)."""

DEFAULT_GRACE_PERIOD = 30
DEFAULT_GRACEFUL_SHUTDOWN = 10
"""The app's TIMEOUT_GRACEFUL_SHUTDOWN default (app/config.py)."""
DEFAULT_DATABASE_PATH = "/tmp/app/todos.db"
"""The app's DATABASE_PATH default (app/config.py)."""
READINESS_PATH = "/ready"
LIVENESS_PATH = "/health"

_BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
_RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ping_group_range",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_syncookies",
    }
)
_SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_PINNED = re.compile(r"[^@\s]+@sha256:[0-9a-f]{64}")


def _security_context_checks(context: Any, at: str) -> Iterator[str]:
    """Rules that apply alike to the pod's and to each container's securityContext."""
    if not isinstance(context, dict):
        return
    if (context.get("windowsOptions") or {}).get("hostProcess"):
        yield f"{at}.windowsOptions.hostProcess: must be unset or false (baseline)"
    selinux = context.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in _SELINUX_TYPES:
        yield f"{at}.seLinuxOptions.type: {selinux['type']!r} is not allowed (baseline)"
    for key in ("user", "role"):
        if selinux.get(key):
            yield f"{at}.seLinuxOptions.{key}: must be unset (baseline)"
    apparmor = (context.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in _SECCOMP_TYPES:
        yield f"{at}.appArmorProfile.type: must be RuntimeDefault or Localhost (baseline)"
    if context.get("runAsUser") == 0:
        yield f"{at}.runAsUser: must not be 0 (restricted)"


def _pod_restricted(pod: pods.PodSpec, annotations: Mapping[str, Any]) -> Iterator[str]:
    spec, at = pod.spec, pod.path
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield f"{at}.{key}: must be unset or false (baseline)"
    context = spec.get("securityContext") or {}
    yield from _security_context_checks(context, f"{at}.securityContext")
    for i, sysctl in enumerate(context.get("sysctls") or ()):
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            yield f"{at}.securityContext.sysctls[{i}].name: {sysctl.get('name')!r} is not safe"
    for key, value in annotations.items():
        if str(key).startswith(_APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or str(value).startswith("localhost/")
        ):
            yield f"metadata.annotations[{key}]: {value!r} is not allowed (baseline)"
    for i, volume in enumerate(spec.get("volumes") or ()):
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in _RESTRICTED_VOLUMES:
                yield f"{at}.volumes[{i}].{kind}: volume type not allowed (restricted)"
    pod_non_root = context.get("runAsNonRoot") is True
    pod_seccomp = (context.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in _SECCOMP_TYPES:
        yield f"{at}.securityContext.seccompProfile.type: must be RuntimeDefault or Localhost"
    for where, container in pod.containers():
        sc = container.get("securityContext") or {}
        sc_at = f"{where}.securityContext"
        yield from _security_context_checks(sc, sc_at)
        if sc.get("privileged"):
            yield f"{sc_at}.privileged: must be unset or false (baseline)"
        if sc.get("procMount", "Default") != "Default":
            yield f"{sc_at}.procMount: must be unset or Default (baseline)"
        for j, port in enumerate(container.get("ports") or ()):
            if port.get("hostPort"):
                yield f"{where}.ports[{j}].hostPort: must be unset or 0 (baseline)"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{sc_at}.allowPrivilegeEscalation: must be false (restricted)"
        non_root = sc.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            yield (
                f"{sc_at}.runAsNonRoot: must be true, here or in "
                f"{at}.securityContext.runAsNonRoot (restricted)"
            )
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp is None:
            yield (
                f"{sc_at}.seccompProfile.type: must be RuntimeDefault or Localhost, here or in "
                f"{at}.securityContext.seccompProfile (restricted)"
            )
        elif seccomp is not None and seccomp not in _SECCOMP_TYPES:
            yield f"{sc_at}.seccompProfile.type: must be RuntimeDefault or Localhost (restricted)"
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or ()):
            yield f"{sc_at}.capabilities.drop: must include ALL (restricted)"
        for j, cap in enumerate(capabilities.get("add") or ()):
            if str(cap).upper().removeprefix("CAP_") not in _RESTRICTED_CAPABILITIES:
                level = "baseline" if cap not in _BASELINE_CAPABILITIES else "restricted"
                yield f"{sc_at}.capabilities.add[{j}]: {cap!r} is not allowed ({level})"


def _template_metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata of the pods a workload creates (the object's own for a Pod)."""
    meta: Any = obj
    for key in pods.POD_SPEC_PATHS.get(str(obj.get("kind")), ("spec",))[:-1]:
        meta = meta.get(key) if isinstance(meta, dict) else None
    meta = meta.get("metadata") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def restricted_violations(obj: dict[str, Any]) -> list[str]:
    """Violations of the "restricted" Pod Security Standard by a workload object."""
    pod = pods.pod_spec(obj)
    if pod is None:
        return []
    annotations = _template_metadata(obj).get("annotations") or {}
    return [f"{pods.ref(obj)}: {v}" for v in _pod_restricted(pod, annotations)]


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A Service's selector map, or a label selector's matchLabels, against pod labels.

    matchExpressions are not evaluated (none are used here): a selector with them matches nothing,
    which makes the wiring check fail loudly rather than pass blindly.
    """
    if "matchLabels" in selector or "matchExpressions" in selector:
        if selector.get("matchExpressions"):
            return False
        selector = selector.get("matchLabels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _template_labels(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_template_metadata(obj).get("labels") or {})


def _mount_for(container: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """The volumeMount whose directory holds `path` (the deepest one)."""
    best: dict[str, Any] | None = None
    for mount in container.get("volumeMounts") or ():
        mount_path = PurePosixPath(str(mount.get("mountPath", "")))
        target = PurePosixPath(path)
        if (target == mount_path or mount_path in target.parents) and (
            best is None or len(mount_path.parts) > len(PurePosixPath(best["mountPath"]).parts)
        ):
            best = mount
    return best


def _volume(spec: Mapping[str, Any], name: object) -> dict[str, Any]:
    return next((v for v in spec.get("volumes") or () if v.get("name") == name), {})


def _container_checks(
    pod: pods.PodSpec, where: str, container: dict[str, Any], objects: Sequence[dict[str, Any]]
) -> Iterator[str]:
    sc = container.get("securityContext") or {}
    if sc.get("readOnlyRootFilesystem") is not True:
        yield f"{where}.securityContext.readOnlyRootFilesystem: must be true"
    if _PINNED.fullmatch(str(container.get("image", ""))) is None:
        yield f"{where}.image: {container.get('image')!r} is not pinned by digest (@sha256:...)"
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if (resources.get(kind) or {}).get(resource) is None:
                yield f"{where}.resources.{kind}.{resource}: must be set"
    for resource in ("cpu", "memory"):
        request = (resources.get("requests") or {}).get(resource)
        limit = (resources.get("limits") or {}).get(resource)
        at = f"{where}.resources"
        if request is not None and limit is not None:
            if pods.quantity(request, at) > pods.quantity(limit, at):
                yield f"{at}.requests.{resource}: {request} is above the limit {limit}"
    tmp = _mount_for(container, "/tmp/x")
    if (
        tmp is None
        or tmp["mountPath"] != "/tmp"
        or "emptyDir" not in _volume(pod.spec, tmp["name"])
    ):
        yield f"{where}.volumeMounts: /tmp must be an emptyDir (the root filesystem is read-only)"
    if where.split(".")[-1].startswith("containers["):
        yield from _app_container_checks(pod, where, container, objects)


def _app_container_checks(
    pod: pods.PodSpec, where: str, container: dict[str, Any], objects: Sequence[dict[str, Any]]
) -> Iterator[str]:
    env = pods.resolve_env(container, pod.namespace, objects, where)
    port = env.get("PORT")
    declared = {int(p["containerPort"]) for p in container.get("ports") or ()}
    if port is not None and port.isdigit() and int(port) not in declared:
        yield f"{where}.ports: PORT is {port} but no containerPort is {port}"
    for kind, path in (
        ("startupProbe", None),
        ("readinessProbe", READINESS_PATH),
        ("livenessProbe", LIVENESS_PATH),
    ):
        probe = container.get(kind)
        if not probe:
            yield f"{where}.{kind}: must be set"
            continue
        handler = probe.get("httpGet") or probe.get("tcpSocket")
        if handler is None:
            yield f"{where}.{kind}: must be httpGet or tcpSocket (the image has no shell for exec)"
            continue
        try:
            number = pods.container_port(container, handler.get("port"), f"{where}.{kind}")
        except pods.SpecError as exc:
            yield str(exc)
            continue
        kind_at = f"{where}.{kind}.{'httpGet' if 'httpGet' in probe else 'tcpSocket'}"
        if port is not None and str(number) != port:
            yield f"{kind_at}.port: {number}, but the app listens on PORT {port}"
        if path is not None and "httpGet" in probe and probe["httpGet"].get("path") != path:
            yield f"{where}.{kind}.httpGet.path: must be {path}"
    pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep")
    if not pre_stop:
        yield (
            f"{where}.lifecycle.preStop.sleep: must be set (keep serving while endpoints "
            "drop the pod; the image has no shell for an exec sleep)"
        )
    sleep = int((pre_stop or {}).get("seconds", 0))
    graceful = env.get("TIMEOUT_GRACEFUL_SHUTDOWN", str(DEFAULT_GRACEFUL_SHUTDOWN))
    grace = pod.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD)
    if graceful.isdigit() and int(grace) <= sleep + int(graceful):
        yield (
            f"{pod.path}.terminationGracePeriodSeconds: {grace} must exceed preStop sleep {sleep}"
            f" + TIMEOUT_GRACEFUL_SHUTDOWN {graceful}"
        )
    if "API_TOKEN" in env and "API_TOKEN_FILE" in env:
        yield f"{where}.env: API_TOKEN and API_TOKEN_FILE are both set; the app refuses that"
    if "API_TOKEN_FILE" in env:
        yield from _secret_file_checks(pod, where, container, env["API_TOKEN_FILE"])
    database = env.get("DATABASE_PATH", DEFAULT_DATABASE_PATH)
    mount = _mount_for(container, database)
    volume = _volume(pod.spec, mount["name"]) if mount else {}
    if not ({"emptyDir", "persistentVolumeClaim", "ephemeral"} & set(volume)) or (
        mount and mount.get("readOnly")
    ):
        yield f"{where}.volumeMounts: DATABASE_PATH {database} is not on a writable volume"
    elif "persistentVolumeClaim" not in volume:
        # The todos are the service's state: an emptyDir (or ephemeral) volume loses them with
        # the pod, and each replica would have its own.
        yield f"{where}.volumeMounts: DATABASE_PATH {database} is not on a PersistentVolumeClaim"


def _secret_file_checks(
    pod: pods.PodSpec, where: str, container: Mapping[str, Any], path: str
) -> Iterator[str]:
    mount = _mount_for(container, path)
    secret = _volume(pod.spec, mount["name"]).get("secret") if mount else None
    if mount is None or secret is None:
        yield f"{where}.env: API_TOKEN_FILE {path} is not on a Secret volume"
        return
    relative = str(PurePosixPath(path).relative_to(mount["mountPath"]))
    items = secret.get("items")
    if items is not None and relative not in {item.get("path") for item in items}:
        yield f"{where}.env: API_TOKEN_FILE {path}: the Secret volume has no item {relative}"


def _single_writer_checks(obj: dict[str, Any], objects: Sequence[dict[str, Any]]) -> Iterator[str]:
    """A Deployment whose pods mount a ReadWriteOnce claim (the SQLite file) runs one pod.

    Two pods would each write their own view of the file (or fail to attach the volume), and a
    rolling update would start the new pod beside the old one: one replica, Recreate, no HPA.
    """
    pod = pods.pod_spec(obj)
    if obj.get("kind") != "Deployment" or pod is None:
        return
    claims = [v for v in pod.spec.get("volumes") or () if "persistentVolumeClaim" in v]
    if not claims:
        return
    spec = obj.get("spec") or {}
    if spec.get("replicas", 1) != 1:
        yield "spec.replicas: must be 1: the pods share one ReadWriteOnce volume (SQLite)"
    if (spec.get("strategy") or {}).get("type") != "Recreate":
        yield "spec.strategy.type: must be Recreate: a rolling update runs two pods on the volume"
    for other in objects:
        target = (other.get("spec") or {}).get("scaleTargetRef") or {}
        name = (obj.get("metadata") or {}).get("name")
        if other.get("kind") == "HorizontalPodAutoscaler" and target.get("name") == name:
            yield f"{pods.ref(other)} scales it: a single-writer volume cannot be scaled out"


def _pod_checks(pod: pods.PodSpec) -> Iterator[str]:
    context = pod.spec.get("securityContext") or {}
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        if context.get(key) != IMAGE_UID:
            yield f"{pod.path}.securityContext.{key}: must be {IMAGE_UID} (the image's user)"
    if pod.spec.get("automountServiceAccountToken") is not False:
        yield f"{pod.path}.automountServiceAccountToken: must be false (no API access needed)"


def _wiring_checks(obj: dict[str, Any], objects: Sequence[dict[str, Any]]) -> Iterator[str]:
    """Services, PDBs and HPAs must point at workloads that exist in the same namespace."""
    namespace = pods.namespace_of(obj)
    workloads = [
        o for o in objects if pods.pod_spec(o) is not None and pods.namespace_of(o) == namespace
    ]
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Service" and spec.get("selector"):
        matched = [w for w in workloads if _selects(spec["selector"], _template_labels(w))]
        if not matched:
            yield "spec.selector: matches no pod template"
        for i, port in enumerate(spec.get("ports") or ()):
            target = port.get("targetPort", port.get("port"))
            for workload in matched:
                pod = pods.pod_spec(workload)
                assert pod is not None
                containers = pod.spec.get("containers") or ()
                if not any(_resolves(c, target) for c in containers):
                    owner = pods.ref(workload)
                    yield f"spec.ports[{i}].targetPort: {target!r} is no port of {owner}"
    elif kind == "PodDisruptionBudget":
        selector = spec.get("selector") or {}
        if not any(_selects(selector, _template_labels(w)) for w in workloads):
            yield "spec.selector: matches no pod template"
    elif kind == "HorizontalPodAutoscaler":
        target = spec.get("scaleTargetRef") or {}
        workload = pods.find(objects, str(target.get("kind")), str(target.get("name")), namespace)
        if workload is None:
            yield f"spec.scaleTargetRef: {target.get('kind')}/{target.get('name')} not found"
            return
        if "replicas" in (workload.get("spec") or {}):
            owner = pods.ref(workload)
            yield f"spec.scaleTargetRef: {owner} sets spec.replicas, which fights the HPA"
        pod = pods.pod_spec(workload)
        for i, metric in enumerate(spec.get("metrics") or ()):
            resource = (metric.get("resource") or {}).get("name")
            if metric.get("type") != "Resource" or pod is None:
                continue
            for where, container in pod.containers():
                if not ((container.get("resources") or {}).get("requests") or {}).get(resource):
                    yield (
                        f"spec.metrics[{i}]: {resource} utilization needs "
                        f"{where}.resources.requests.{resource} in {pods.ref(workload)}"
                    )
    elif kind == "Namespace":
        labels = obj["metadata"].get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            yield "metadata.labels[pod-security.kubernetes.io/enforce]: must be restricted"


def _resolves(container: Mapping[str, Any], port: object) -> bool:
    try:
        number = pods.container_port(container, port, "")
    except pods.SpecError:
        return False
    if isinstance(port, str) and not port.isdigit():
        return True
    return number in {int(p["containerPort"]) for p in container.get("ports") or ()}


def project_violations(objects: Sequence[dict[str, Any]]) -> list[str]:
    """Violations of this project's rules by the whole set of rendered objects."""
    found: list[str] = []
    for obj in objects:
        pod = pods.pod_spec(obj)
        messages: list[str] = []
        if pod is not None:
            messages.extend(_pod_checks(pod))
            for where, container in pod.containers():
                try:
                    messages.extend(_container_checks(pod, where, container, objects))
                except pods.SpecError as exc:
                    messages.append(str(exc))
        messages.extend(_wiring_checks(obj, objects))
        messages.extend(_single_writer_checks(obj, objects))
        found.extend(f"{pods.ref(obj)}: {m}" for m in messages)
    return found
