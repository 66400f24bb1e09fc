"""Run a rendered pod spec under runc the way the kubelet would, without a cluster.

`plan_pod` turns the one workload of the manifests into what a kubelet derives from it: the
container's user, groups, capabilities, no_new_privs and read-only root from `securityContext`;
its environment from `env`/`envFrom` with ConfigMap and Secret references resolved; Secret and
ConfigMap volumes written to files with the kubelet's modes and fsGroup ownership; emptyDir
volumes as tmpfs; and the probes, preStop sleep and grace period. `run_pod` then runs the image
under runc (`//runtime`) in a network namespace of its own, as a pod has, and acts as the kubelet:
startupProbe until it succeeds or reaches failureThreshold, then readiness and liveness probes
on their periods with their thresholds, then deletion: the preStop sleep, SIGTERM, and the end
of the grace period. Every way the kubelet would restart the container, keep the pod out of
its Service or kill it raises KubeletError with one line that says why.

Probes connect to POD_IP inside the pod's network namespace, on the port the probe names, so
the container listens on the manifest's own PORT (8000): nothing is remapped, nothing clashes
with the host. POD_IP is not 127.0.0.1, so a server bound to loopback only fails here as it
would against a real pod IP.

Anything in the spec that changes how the container runs and is not emulated (a `command`,
subPath mounts, exec probes, fieldRef variables, host namespaces, ...) raises SpecError instead
of being skipped: the run must be the pod as written or nothing. Not emulated but harmless to
the app and reported in `PodPlan.notes`: the seccomp filter and resource limits (memory use is
compared with limits.memory instead).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime import bundle, container

from deploy.private import pods

POD_IP = "127.0.0.2"
"""The address probes use inside the pod's network namespace (not the loopback default)."""
PROBE_USER_AGENT = "kube-probe/1.34"
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
"""What containerd and CRI-O grant a container unless `capabilities.drop` removes it."""

_POD_FIELDS = frozenset(
    {
        "containers",
        "securityContext",
        "volumes",
        "terminationGracePeriodSeconds",
        "automountServiceAccountToken",
        "enableServiceLinks",
    }
)
# Scheduling and API-side settings: they do not change how the container runs on its node.
_POD_FIELDS_IGNORED = frozenset(
    {
        "affinity",
        "dnsPolicy",
        "imagePullSecrets",
        "nodeSelector",
        "preemptionPolicy",
        "priority",
        "priorityClassName",
        "restartPolicy",
        "schedulerName",
        "serviceAccount",
        "serviceAccountName",
        "tolerations",
        "topologySpreadConstraints",
    }
)
_CONTAINER_FIELDS = frozenset(
    {
        "name",
        "image",
        "imagePullPolicy",
        "args",
        "ports",
        "env",
        "envFrom",
        "resources",
        "securityContext",
        "startupProbe",
        "readinessProbe",
        "livenessProbe",
        "lifecycle",
        "volumeMounts",
        "terminationMessagePath",
        "terminationMessagePolicy",
    }
)
_POD_SECURITY_FIELDS = frozenset(
    {
        "runAsNonRoot",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "fsGroupChangePolicy",
        "supplementalGroups",
        "seccompProfile",
    }
)
_CONTAINER_SECURITY_FIELDS = frozenset(
    {
        "allowPrivilegeEscalation",
        "capabilities",
        "readOnlyRootFilesystem",
        "runAsNonRoot",
        "runAsUser",
        "runAsGroup",
        "seccompProfile",
    }
)
_PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}
_PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")
_SECRET_DEFAULT_MODE = 0o644


class KubeletError(RuntimeError):
    """The kubelet would not get this pod Ready, would restart it or kill it; one line."""


@dataclass(frozen=True)
class Probe:
    """One probe with the kubelet's defaults filled in and its port resolved to a number."""

    kind: str
    port: int
    path: str | None  # None: a tcpSocket probe
    headers: tuple[tuple[str, str], ...]
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    def describe(self) -> str:
        """What the probe does, as in the kubelet's events."""
        if self.path is None:
            return f"TCP {POD_IP}:{self.port}"
        return f"GET http://{POD_IP}:{self.port}{self.path}"


@dataclass(frozen=True)
class PodPlan:
    """What the kubelet derives from a pod spec: how to run the container and how to watch it."""

    workload: str
    image: str
    run: bundle.RunSpec
    probes: Mapping[str, Probe]
    pre_stop_sleep: int
    grace_period: int
    memory_limit: int | None
    notes: tuple[str, ...] = ()


@dataclass
class ProbeStats:
    """How a probe fared while the pod was watched."""

    attempts: int = 0
    failures: int = 0
    consecutive_successes: int = 0
    consecutive_failures: int = 0
    last_detail: str = ""


@dataclass
class PodReport:
    """What happened, for the test log."""

    started_after: float = 0.0
    startup_attempts: int = 0
    ready_after: float | None = None
    stats: dict[str, ProbeStats] = field(default_factory=dict)
    rss_bytes: int = 0
    terminated_after: float = 0.0
    exit_code: int | None = None


def _unsupported(where: str, keys: Sequence[str], known: frozenset[str]) -> None:
    extra = sorted(set(keys) - known)
    if extra:
        raise pods.SpecError(f"{where}: {', '.join(extra)}: not emulated by this kubelet-like run")


def _image_ids(image_user: str) -> tuple[int, int]:
    uid, _, gid = (image_user or "0").partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise pods.SpecError(f"image user {image_user!r}: only numeric uid[:gid] is emulated")
    return int(uid), int(gid or 0)


def _capabilities(sc: Mapping[str, Any]) -> list[str]:
    caps = sc.get("capabilities") or {}
    drop = {str(c).upper().removeprefix("CAP_") for c in caps.get("drop") or ()}
    add = [str(c).upper().removeprefix("CAP_") for c in caps.get("add") or ()]
    kept = [] if "ALL" in drop else [c for c in DEFAULT_CAPABILITIES if c not in drop]
    return list(dict.fromkeys(kept + add))


def _probe(kind: str, spec: Mapping[str, Any], c: Mapping[str, Any], where: str) -> Probe:
    at = f"{where}.{kind}"
    values = {k: spec.get(k, default) for k, default in _PROBE_DEFAULTS.items()}
    if kind != "readinessProbe" and values["successThreshold"] != 1:
        raise pods.SpecError(f"{at}.successThreshold: must be 1 for a {kind}")
    if "httpGet" in spec:
        action = spec["httpGet"] or {}
        _unsupported(f"{at}.httpGet", list(action), frozenset({"path", "port", "httpHeaders"}))
        path = str(action.get("path") or "/")
        headers = tuple((str(h["name"]), str(h["value"])) for h in action.get("httpHeaders") or ())
    elif "tcpSocket" in spec:
        action = spec["tcpSocket"] or {}
        _unsupported(f"{at}.tcpSocket", list(action), frozenset({"port"}))
        path, headers = None, ()
    else:
        raise pods.SpecError(f"{at}: only httpGet and tcpSocket probes are emulated")
    return Probe(
        kind=kind,
        port=pods.container_port(c, action.get("port"), at),
        path=path,
        headers=headers,
        initial_delay=float(values["initialDelaySeconds"]),
        period=float(values["periodSeconds"]),
        timeout=float(values["timeoutSeconds"]),
        success_threshold=int(values["successThreshold"]),
        failure_threshold=int(values["failureThreshold"]),
    )


def _write_volume(
    directory: Path,
    data: Mapping[str, str],
    source: Mapping[str, Any],
    fs_group: int | None,
    at: str,
) -> None:
    """Write a Secret/ConfigMap volume as the kubelet does: items or all keys, modes, fsGroup."""
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    default_mode = int(source.get("defaultMode", _SECRET_DEFAULT_MODE))
    items = source.get("items")
    wanted = (
        [(str(i["key"]), str(i["path"]), int(i.get("mode", default_mode))) for i in items]
        if items is not None
        else [(key, key, default_mode) for key in data]
    )
    for key, relative, mode in wanted:
        if key not in data:
            if source.get("optional"):
                continue
            raise pods.SpecError(f"{at}: no key {key!r} (the pod would not start)")
        target = directory / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise pods.SpecError(f"{at}: item path {relative!r} leaves the volume")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data[key], encoding="utf-8")
        if fs_group is not None:
            # The kubelet gives fsGroup ownership and group read to files of read-only volumes.
            os.chown(target, 0, fs_group)
            mode |= 0o440
        target.chmod(mode)


def plan_pod(
    objects: Sequence[dict[str, Any]], image_user: str, workdir: Path, workload: str | None = None
) -> PodPlan:
    """The run of the single workload in `objects` (or the one named `Kind/name`)."""
    candidates = [
        o
        for o in objects
        if pods.pod_spec(o) is not None and (workload is None or pods.ref(o) == workload)
    ]
    if len(candidates) != 1:
        names = ", ".join(pods.ref(o) for o in candidates) or "none"
        raise pods.SpecError(f"expected exactly one workload to run, found {names}")
    owner = candidates[0]
    pod = pods.pod_spec(owner)
    assert pod is not None
    spec, at = pod.spec, pod.path
    _unsupported(at, [k for k in spec if k not in _POD_FIELDS_IGNORED], _POD_FIELDS)
    if len(spec.get("containers") or ()) != 1:
        raise pods.SpecError(f"{at}.containers: exactly one container is emulated")
    c = spec["containers"][0]
    where = f"{at}.containers[0]"
    _unsupported(where, list(c), _CONTAINER_FIELDS)
    pod_sc = spec.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    _unsupported(f"{at}.securityContext", list(pod_sc), _POD_SECURITY_FIELDS)
    _unsupported(f"{where}.securityContext", list(sc), _CONTAINER_SECURITY_FIELDS)
    if spec.get("enableServiceLinks") is not False:
        raise pods.SpecError(
            f"{at}.enableServiceLinks: must be false here (the kubelet would add variables for "
            "every Service, which this run does not emulate)"
        )

    image_uid, image_gid = _image_ids(image_user)
    run_as_user = pods.effective(spec, c, "runAsUser")
    run_as_group = pods.effective(spec, c, "runAsGroup")
    uid = int(run_as_user) if run_as_user is not None else image_uid
    gid = int(run_as_group) if run_as_group is not None else image_gid
    if pods.effective(spec, c, "runAsNonRoot") and uid == 0:
        raise pods.SpecError(
            f"{where}: runAsNonRoot is true but the container would run as uid 0 "
            "(the kubelet refuses to start it)"
        )
    fs_group = pod_sc.get("fsGroup")
    groups = ([int(fs_group)] if fs_group is not None else []) + [
        int(g) for g in pod_sc.get("supplementalGroups") or ()
    ]

    env = pods.resolve_env(c, pod.namespace, objects, where)
    # Always set by the kubelet, whatever enableServiceLinks says.
    env.setdefault("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    env.setdefault("KUBERNETES_SERVICE_PORT", "443")
    env.setdefault("HOSTNAME", f"{owner['metadata']['name']}-pod")

    volumes = {v.get("name"): v for v in spec.get("volumes") or ()}
    tmpfs: list[str] = []
    files: dict[str, str] = {}
    claims: dict[str, str] = {}
    for i, mount in enumerate(c.get("volumeMounts") or ()):
        m_at = f"{where}.volumeMounts[{i}]"
        _unsupported(m_at, list(mount), frozenset({"name", "mountPath", "readOnly"}))
        volume = volumes.get(mount.get("name"))
        if volume is None:
            raise pods.SpecError(f"{m_at}.name: no volume {mount.get('name')!r} in the pod")
        kind = next((k for k in volume if k != "name"), None)
        if kind == "emptyDir":
            tmpfs.append(str(mount["mountPath"]))
        elif kind in ("secret", "configMap"):
            source = volume[kind] or {}
            object_kind = "Secret" if kind == "secret" else "ConfigMap"
            name = source.get("secretName" if kind == "secret" else "name")
            obj = pods.find(objects, object_kind, str(name), pod.namespace)
            if obj is None and not source.get("optional"):
                raise pods.SpecError(f"{m_at}: {object_kind} {name!r} not found")
            data = pods.data_of(obj) if obj is not None else {}
            directory = workdir / "volumes" / str(mount["name"])
            _write_volume(directory, data, source, fs_group, f"{at}.volumes[{mount['name']}]")
            files[str(mount["mountPath"])] = str(directory)
        elif kind == "persistentVolumeClaim":
            name = (volume[kind] or {}).get("claimName")
            if pods.find(objects, "PersistentVolumeClaim", str(name), pod.namespace) is None:
                raise pods.SpecError(f"{m_at}: PersistentVolumeClaim {name!r} not found")
            # The claim's volume: a folder that outlives the pod (workdir/claims/<name>), owned
            # as a provisioner with fsGroup leaves it: group fsGroup, group-writable, setgid.
            directory = workdir / "claims" / str(name)
            directory.mkdir(parents=True, exist_ok=True)
            if fs_group is not None:
                os.chown(directory, 0, int(fs_group))
                directory.chmod(0o2770)
            claims[str(mount["mountPath"])] = str(directory)
        else:
            raise pods.SpecError(f"{m_at}: {kind} volumes are not emulated")

    probes = {k: _probe(k, c[k], c, where) for k in _PROBE_KINDS if c.get(k)}
    lifecycle = c.get("lifecycle") or {}
    _unsupported(f"{where}.lifecycle", list(lifecycle), frozenset({"preStop"}))
    pre_stop = lifecycle.get("preStop") or {}
    _unsupported(f"{where}.lifecycle.preStop", list(pre_stop), frozenset({"sleep"}))
    limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
    notes = ["resources are not enforced (no cgroup limits); memory use is compared instead"]
    if pods.effective(spec, c, "seccompProfile"):
        notes.append("seccompProfile is not applied (runc runs here without a seccomp filter)")
    return PodPlan(
        workload=pods.ref(owner),
        image=str(c.get("image", "")),
        run=bundle.RunSpec(
            env=env,
            files=files,
            volumes=claims,
            args=[str(a) for a in c["args"]] if "args" in c else None,
            user=f"{uid}:{gid}",
            groups=groups,
            read_only=sc.get("readOnlyRootFilesystem") is True,
            tmpfs=tmpfs,
            capabilities=_capabilities(sc),
            no_new_privileges=sc.get("allowPrivilegeEscalation") is False,
            network_namespace=True,
        ),
        probes=probes,
        pre_stop_sleep=int((pre_stop.get("sleep") or {}).get("seconds", 0)),
        grace_period=int(spec.get("terminationGracePeriodSeconds", 30)),
        memory_limit=int(pods.quantity(limit, f"{where}.resources")) if limit else None,
        notes=tuple(notes),
    )


def _enter_network_namespace(pid: int) -> None:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        os.setns(fd, os.CLONE_NEWNET)
    finally:
        os.close(fd)


def probe_once(probe: Probe) -> tuple[bool, str]:
    """One attempt, judged as the kubelet judges it: HTTP 200-399, or a TCP connect."""
    try:
        if probe.path is None:
            with socket.create_connection((POD_IP, probe.port), timeout=probe.timeout):
                return True, "connected"
        conn = http.client.HTTPConnection(POD_IP, probe.port, timeout=probe.timeout)
        try:
            headers = {"User-Agent": PROBE_USER_AGENT, "Accept": "*/*", "Connection": "close"}
            headers.update(dict(probe.headers))
            conn.request("GET", probe.path, headers=headers)
            status = conn.getresponse().status
        finally:
            conn.close()
    except OSError as exc:
        return False, f"{probe.describe()}: {exc.strerror or exc}"
    if 200 <= status < 400:
        return True, f"HTTP {status}"
    return False, f"{probe.describe()}: HTTP probe failed with statuscode: {status}"


class _Prober:
    """Runs probes from a thread that has joined the pod's network namespace."""

    def __init__(self, pid: int) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, initializer=_enter_network_namespace, initargs=(pid,)
        )

    def __call__(self, probe: Probe) -> tuple[bool, str]:
        try:
            return self._executor.submit(probe_once, probe).result()
        except concurrent.futures.BrokenExecutor as exc:
            raise KubeletError(f"cannot enter the pod's network namespace: {exc}") from None

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _last_line(c: container.Container) -> str:
    lines = [line for line in c.output().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def _wait_until(c: container.Container, deadline: float, phase: str) -> None:
    """Sleep until `deadline`, failing as soon as the container exits."""
    while True:
        if not c.running():
            code = c.wait(timeout=5)
            raise KubeletError(f"container exited with code {code} {phase}: {_last_line(c)}")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def _rss_bytes(c: container.Container) -> int:
    total = 0
    for pid in c.pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _startup(
    c: container.Container,
    prober: Callable[[Probe], tuple[bool, str]],
    plan: PodPlan,
    started: float,
    report: PodReport,
) -> None:
    probe = plan.probes.get("startupProbe")
    if probe is None:
        return
    stats = report.stats.setdefault(probe.kind, ProbeStats())
    due = started + probe.initial_delay
    while True:
        _wait_until(c, due, "before its startupProbe succeeded")
        ok, detail = prober(probe)
        stats.attempts += 1
        stats.last_detail = detail
        if ok:
            report.started_after = time.monotonic() - started
            report.startup_attempts = stats.attempts
            return
        stats.failures += 1
        if stats.failures >= probe.failure_threshold:
            raise KubeletError(
                f"startupProbe failed {stats.failures} times in {time.monotonic() - started:.0f} s"
                f" (failureThreshold {probe.failure_threshold} x periodSeconds "
                f"{probe.period:g}); the kubelet would restart the container: {detail}"
            )
        due += probe.period


def _watch(
    c: container.Container,
    prober: Callable[[Probe], tuple[bool, str]],
    plan: PodPlan,
    started: float,
    periods: int,
    report: PodReport,
) -> None:
    """Readiness and liveness on their own periods for `periods` of the slower one."""
    watched = [plan.probes[k] for k in ("readinessProbe", "livenessProbe") if k in plan.probes]
    now = time.monotonic()
    end = now + periods * max((p.period for p in watched), default=0)
    due = {p.kind: max(now, started + p.initial_delay) for p in watched}
    ready = "readinessProbe" not in plan.probes
    if ready:
        report.ready_after = now - started
    while watched:
        probe = min(watched, key=lambda p: due[p.kind])
        if due[probe.kind] > end:
            break
        _wait_until(c, due[probe.kind], "while the kubelet watched it")
        due[probe.kind] += probe.period
        ok, detail = prober(probe)
        stats = report.stats.setdefault(probe.kind, ProbeStats())
        stats.attempts += 1
        stats.last_detail = detail
        if ok:
            stats.consecutive_successes += 1
            stats.consecutive_failures = 0
        else:
            stats.failures += 1
            stats.consecutive_failures += 1
            stats.consecutive_successes = 0
        if probe.kind == "livenessProbe" and stats.consecutive_failures >= probe.failure_threshold:
            raise KubeletError(
                f"livenessProbe failed {stats.consecutive_failures} times in a row; the kubelet "
                f"would restart the container: {detail}"
            )
        if probe.kind == "readinessProbe":
            if not ready and stats.consecutive_successes >= probe.success_threshold:
                ready = True
                report.ready_after = time.monotonic() - started
            elif ready and stats.consecutive_failures >= probe.failure_threshold:
                raise KubeletError(
                    f"readinessProbe failed {stats.consecutive_failures} times in a row after the"
                    f" pod was Ready; its Service would stop sending it traffic: {detail}"
                )
    if not ready:
        stats = report.stats.get("readinessProbe", ProbeStats())
        raise KubeletError(
            f"readinessProbe never succeeded in {time.monotonic() - started:.0f} s "
            f"({stats.failures} of {stats.attempts} attempts failed); the pod would never get "
            f"traffic: {stats.last_detail}"
        )


def _terminate(
    c: container.Container, prober: Callable[[Probe], tuple[bool, str]], plan: PodPlan
) -> tuple[float, int]:
    """Delete the pod: preStop sleep, SIGTERM, and SIGKILL at the end of the grace period."""
    began = time.monotonic()
    _wait_until(c, began + plan.pre_stop_sleep, "during the preStop sleep")
    check = plan.probes.get("livenessProbe") or plan.probes.get("readinessProbe")
    if check is not None:
        ok, detail = prober(check)
        if not ok:
            raise KubeletError(f"stopped answering during the preStop sleep: {detail}")
    c.signal(signal.SIGTERM)
    left = plan.grace_period - (time.monotonic() - began)
    try:
        code = c.wait(timeout=max(left, 0.0))
    except subprocess.TimeoutExpired:
        raise KubeletError(
            f"still running {plan.grace_period} s after deletion began "
            f"(terminationGracePeriodSeconds); the kubelet would SIGKILL it"
        ) from None
    return time.monotonic() - began, code


def run_pod(image_dir: str, plan: PodPlan, periods: int = 2) -> PodReport:
    """Start, probe, watch for `periods` of the slowest probe, then delete the pod."""
    report = PodReport()
    with container.Container(image_dir, plan.run, name="pod") as c:
        pid = c.init_pid()
        started = time.monotonic()
        prober = _Prober(pid)
        try:
            _startup(c, prober, plan, started, report)
            _watch(c, prober, plan, started, periods, report)
            report.rss_bytes = _rss_bytes(c)
            if plan.memory_limit is not None and report.rss_bytes > plan.memory_limit:
                raise KubeletError(
                    f"the container uses {report.rss_bytes} bytes, above limits.memory "
                    f"{plan.memory_limit}: it would be OOM-killed"
                )
            report.terminated_after, report.exit_code = _terminate(c, prober, plan)
        finally:
            prober.close()
    return report
