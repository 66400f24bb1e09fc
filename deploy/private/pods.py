"""Read rendered Kubernetes objects the way the API server and the kubelet would.

Shared by the policy check (static) and the kubelet-like run (dynamic), so that both read the
same things from the manifests: where a workload's pod spec lives, what environment a container
gets from `env`/`envFrom` with ConfigMap and Secret references resolved, which port a named probe
port means, and what a resource quantity amounts to.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""

CONTAINER_FIELDS: tuple[str, ...] = ("initContainers", "containers", "ephemeralContainers")

# Kubernetes' rule for environment variable names from envFrom (C identifiers and a bit more).
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_QUANTITY = re.compile(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)")
_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}


class SpecError(ValueError):
    """The manifests cannot be read or run as written; ``str(error)`` is one line."""


@dataclass(frozen=True)
class PodSpec:
    """A pod spec inside a workload object, with the dotted path that leads to it."""

    owner: dict[str, Any]
    path: str
    spec: dict[str, Any]

    @property
    def namespace(self) -> str:
        """The namespace the pods run in (the owner's)."""
        return namespace_of(self.owner)

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each container of any kind with its path, e.g. `spec.template.spec.containers[0]`."""
        for field in CONTAINER_FIELDS:
            for i, container in enumerate(self.spec.get(field) or ()):
                yield f"{self.path}.{field}[{i}]", container


def load_objects(text: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML stream into objects, checking each has kind and name."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}".replace("\n", " ")) from None
    for i, document in enumerate(documents):
        if not isinstance(document, dict) or not document.get("kind"):
            raise SpecError(f"document {i}: not a Kubernetes object (no kind)")
        if not isinstance(document.get("metadata"), dict) or not document["metadata"].get("name"):
            raise SpecError(f"document {i} ({document['kind']}): no metadata.name")
    return documents


def ref(obj: Mapping[str, Any]) -> str:
    """`Kind/name`, as kubectl prints it; used to start every message."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def namespace_of(obj: Mapping[str, Any]) -> str:
    """The object's namespace; "default" when unset, as `kubectl apply` would use."""
    return str(obj.get("metadata", {}).get("namespace") or "default")


def pod_spec(obj: dict[str, Any]) -> PodSpec | None:
    """The pod spec of a workload object; None for kinds that run no pods."""
    keys = POD_SPEC_PATHS.get(str(obj.get("kind")))
    if keys is None:
        return None
    spec: Any = obj
    for key in keys:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        raise SpecError(f"{ref(obj)}: {'.'.join(keys)} is missing")
    return PodSpec(owner=obj, path=".".join(keys), spec=spec)


def find(
    objects: Sequence[dict[str, Any]], kind: str, name: str, namespace: str
) -> dict[str, Any] | None:
    """The object of that kind and name in `namespace`, if the manifests hold it."""
    for obj in objects:
        if (
            obj.get("kind") == kind
            and obj["metadata"]["name"] == name
            and namespace_of(obj) == namespace
        ):
            return obj
    return None


def data_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The string data of a ConfigMap, or the decoded data of a Secret (with stringData)."""
    if obj.get("kind") == "ConfigMap":
        return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    if obj.get("kind") != "Secret":
        raise SpecError(f"{ref(obj)}: not a ConfigMap or Secret")
    data: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            data[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SpecError(f"{ref(obj)}: data.{key} is not base64 of UTF-8 text") from None
    # The API server merges stringData over data.
    data.update({str(k): str(v) for k, v in (obj.get("stringData") or {}).items()})
    return data


def _source(
    objects: Sequence[dict[str, Any]], kind: str, name: object, namespace: str, where: str
) -> dict[str, str] | None:
    if not isinstance(name, str) or not name:
        raise SpecError(f"{where}: no name")
    obj = find(objects, kind, name, namespace)
    return None if obj is None else data_of(obj)


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` escapes, rest kept."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i) and (end := value.find(")", i + 2)) != -1:
            name = value[i + 2 : end]
            out.append(env[name] if name in env else value[i : end + 1])
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def resolve_env(
    container: Mapping[str, Any], namespace: str, objects: Sequence[dict[str, Any]], where: str
) -> dict[str, str]:
    """The environment the kubelet gives `container` (without the image's own `Env`).

    `envFrom` first, then `env` in order; a missing ConfigMap, Secret or key fails as the kubelet
    fails (CreateContainerConfigError) unless the reference is `optional`. Sources the kubelet
    computes from the running pod (fieldRef, resourceFieldRef) are not supported: SpecError.
    """
    env: dict[str, str] = {}
    for i, source in enumerate(container.get("envFrom") or ()):
        at = f"{where}.envFrom[{i}]"
        prefix = str(source.get("prefix") or "")
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if field not in source:
                continue
            reference = source[field] or {}
            data = _source(objects, kind, reference.get("name"), namespace, f"{at}.{field}")
            if data is None:
                if reference.get("optional"):
                    continue
                raise SpecError(f"{at}.{field}: {kind} {reference.get('name')!r} not found")
            for key, value in data.items():
                # The kubelet skips keys that are not valid variable names.
                if _ENV_NAME.fullmatch(prefix + key):
                    env[prefix + key] = value
    for i, variable in enumerate(container.get("env") or ()):
        at = f"{where}.env[{i}]"
        name = variable.get("name")
        if not isinstance(name, str) or not name:
            raise SpecError(f"{at}.name: missing")
        value_from = variable.get("valueFrom")
        if value_from is None:
            env[name] = expand(str(variable.get("value", "")), env)
            continue
        value = _value_from(value_from, namespace, objects, f"{at}.valueFrom")
        if value is not None:
            env[name] = value
    return env


def _value_from(
    value_from: Mapping[str, Any], namespace: str, objects: Sequence[dict[str, Any]], at: str
) -> str | None:
    for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        if field not in value_from:
            continue
        selector = value_from[field] or {}
        data = _source(objects, kind, selector.get("name"), namespace, f"{at}.{field}")
        key = selector.get("key")
        if data is not None and key in data:
            return data[key]
        if selector.get("optional"):
            return None
        what = f"{kind} {selector.get('name')!r}"
        missing = "not found" if data is None else f"has no key {key!r}"
        raise SpecError(f"{at}.{field}: {what} {missing}")
    fields = ", ".join(sorted(value_from)) or "nothing"
    raise SpecError(f"{at}: unsupported source ({fields}); only configMapKeyRef and secretKeyRef")


def container_port(container: Mapping[str, Any], port: object, where: str) -> int:
    """The number a probe's or Service's `port` means: a number, or a container port's name."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or ():
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise SpecError(f"{where}: port {port!r} is not the name of a port of the container")


def quantity(value: object, where: str) -> Decimal:
    """A resource quantity ("100m", "256Mi", "1") as a number of cores or bytes."""
    match = _QUANTITY.fullmatch(str(value))
    if match is None or match.group(2) not in _SUFFIXES:
        raise SpecError(f"{where}: not a resource quantity: {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        raise SpecError(f"{where}: not a resource quantity: {value!r}") from None


def effective(pod: Mapping[str, Any], container: Mapping[str, Any], key: str) -> Any:
    """A securityContext field as it applies to `container`: its own, else the pod's."""
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.get("securityContext") or {}).get(key)
