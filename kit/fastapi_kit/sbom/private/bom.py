"""Write the CycloneDX 1.6 SBOM of an OCI image layout: what is in the image, with hashes.

    bom.py --image DIR --debian-lock packages.lock.json --requirements-lock requirements_lock.txt
           [--wheel WHEEL]... [--name NAME] [--repository URL] --output sbom.cdx.json

Components come from the image's own files (contents.py); the locks only add hashes and are
checked against the image: a package installed but not locked, or locked at another version, is
an error rather than an SBOM that quietly disagrees with the image. The bytes depend only on the
inputs (the timestamp is the image's `created`, the serial number is derived from its digest),
so the same image always gets the same SBOM.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.output.json import JsonV1Dot6
from kit_lib import layout
from packageurl import PackageURL

from sbom.private.contents import Contents, ContentsError, DebPackage, PyDist, read_contents
from sbom.private.locks import (
    DebLock,
    LockError,
    PyLock,
    normalize,
    read_debian_lock,
    read_requirements_lock,
    read_wheel,
    wheel_name_version,
)

# uuid5 namespace of serial numbers: a fixed name, so serial = f(image digest) everywhere.
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fastapi-oci:sbom")
HASH_SOURCE = "sbom:hash-source"
TOP_LEVEL_ORDER = ("$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SbomError(ValueError):
    """The image and its locks disagree; the message is one line and names the package."""


def _sha256(hex_digest: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=hex_digest)


def _found_at(location: str) -> ComponentEvidence:
    return ComponentEvidence(occurrences=[Occurrence(location=location)])


def _created(config: dict[str, object]) -> datetime:
    """The image's `created` time (whole seconds), the SBOM's timestamp; the epoch if unset."""
    value = config.get("created")
    if not isinstance(value, str) or not value:
        return EPOCH
    # RFC 3339 in UTC may carry nanoseconds, too many for fromisoformat; seconds are enough.
    text = value[:19] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SbomError(f"image config: created is not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def deb_component(pkg: DebPackage, lock: dict[str, DebLock], distro: str, where: Path) -> Component:
    """A Debian package, hashed by the .deb its lock entry pins."""
    locked = lock.get(pkg.name)
    if locked is None:
        raise SbomError(
            f"Debian package {pkg.name} {pkg.version} ({pkg.arch}) is in the image "
            f"but not in {where.name}"
        )
    if (locked.version, locked.arch) != (pkg.version, pkg.arch):
        raise SbomError(
            f"Debian package {pkg.name}: the image has {pkg.version} ({pkg.arch}), "
            f"{where.name} locks {locked.version} ({locked.arch})"
        )
    namespace, _, _ = distro.partition("-")
    qualifiers = {"arch": pkg.arch, "distro": distro}
    if (pkg.source, pkg.source_version) != (pkg.name, pkg.version):
        # Scanners match Debian's security tracker by source package (syft writes the same).
        upstream = pkg.source
        if pkg.source_version != pkg.version:
            upstream += "@" + pkg.source_version
        qualifiers["upstream"] = upstream
    purl = PackageURL(
        type="deb", namespace=namespace, name=pkg.name, version=pkg.version, qualifiers=qualifiers
    )
    return Component(
        type=ComponentType.LIBRARY,
        name=pkg.name,
        version=pkg.version,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=[_sha256(locked.sha256)],
        evidence=_found_at(pkg.location),
        properties=[Property(name=HASH_SOURCE, value=f"deb: {where.name}")],
    )


def _wheel_index(wheels: Iterable[Path]) -> dict[tuple[str, str], list[Path]]:
    index: dict[tuple[str, str], list[Path]] = {}
    for path in wheels:
        index.setdefault(wheel_name_version(path), []).append(path)
    return index


def read_sdists(path: Path | None) -> dict[str, dict[str, str]]:
    """`sdists` of a uv_workspace.lock.json: {name: {version, sha256}} of sdist-only packages."""
    if path is None:
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")).get("sdists", {}))
    except (OSError, ValueError, AttributeError) as err:
        raise SbomError(f"{path}: cannot read its sdists: {err}") from None


def py_component(
    dist: PyDist,
    lock: dict[str, PyLock],
    wheels: dict[tuple[str, str], list[Path]],
    where: Path,
    sdists: dict[str, dict[str, str]] | None = None,
) -> Component:
    """A Python distribution, hashed by its wheel when known, else by every locked hash."""
    key = normalize(dist.name)
    locked = lock.get(key)
    if locked is None:
        raise SbomError(
            f"Python distribution {dist.name} {dist.version} is in the image "
            f"({dist.location}) but not in {where.name}"
        )
    if locked.version != dist.version:
        raise SbomError(
            f"Python distribution {dist.name}: the image has {dist.version}, "
            f"{where.name} pins {locked.version}"
        )
    candidates = [read_wheel(p) for p in wheels.get((key, dist.version), [])]
    hashes = sorted({w.sha256 for w in candidates})
    if len(hashes) > 1:
        raise SbomError(f"{dist.name} {dist.version}: several different wheels were given")
    if candidates:
        wheel = candidates[0]
        if wheel.metadata != dist.metadata:
            raise SbomError(
                f"{wheel.path.name}: its METADATA differs from {dist.location}/METADATA "
                "in the image (not the wheel that was installed)"
            )
        sdist = (sdists or {}).get(key, {})
        built_here = sdist.get("version") == locked.version and sdist.get("sha256") in locked.hashes
        if wheel.sha256 in locked.hashes:
            source = f"wheel: {wheel.path.name}"
        elif built_here:
            # No wheel was published: the one installed was built here from the locked sdist,
            # so the hash that can be checked against the index is the sdist's.
            hashes = [sdist["sha256"]]
            source = (
                f"sdist: {key}=={locked.version}, hashed by the locked sdist; the wheel "
                f"{wheel.path.name} was built locally (sha256 {wheel.sha256})"
            )
        else:
            raise SbomError(
                f"{wheel.path.name}: sha256 {wheel.sha256} is not a hash {where.name} "
                f"locks for {key}=={locked.version}"
            )
    else:
        hashes = list(locked.hashes)
        source = f"lock: all hashes of {key}=={locked.version} in {where.name} (wheel unknown)"
    purl = PackageURL(type="pypi", name=key, version=dist.version)
    return Component(
        type=ComponentType.LIBRARY,
        name=dist.name,
        version=dist.version,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=[_sha256(h) for h in hashes],
        evidence=_found_at(dist.location),
        properties=[Property(name=HASH_SOURCE, value=source)],
    )


def os_component(contents: Contents) -> Component | None:
    """The distribution named by /etc/os-release, which scanners use to pick a vuln feed."""
    fields = contents.os_release
    # Debian's testing suite (forky) has no VERSION_ID, only its codename.
    version = fields.get("VERSION_ID") or fields.get("VERSION_CODENAME")
    if not fields.get("ID") or not version:
        return None
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=fields["ID"],
        version=version,
        description=fields.get("PRETTY_NAME"),
        bom_ref=f"os:{fields['ID']}@{version}",
        evidence=_found_at("/etc/os-release"),
    )


def image_component(image: layout.Image, name: str, repository: str) -> Component:
    """The image itself: a container component identified by its manifest digest."""
    annotations = image.manifest.get("annotations") or {}
    name = name or annotations.get("org.opencontainers.image.title") or "image"
    qualifiers = {}
    if image.config.get("architecture"):
        qualifiers["arch"] = str(image.config["architecture"])
    if repository:
        qualifiers["repository_url"] = repository
    purl = PackageURL(
        type="oci", name=name.lower(), version=image.manifest_digest, qualifiers=qualifiers
    )
    return Component(
        type=ComponentType.CONTAINER,
        name=name,
        version=image.manifest_digest,
        description=annotations.get("org.opencontainers.image.description"),
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=[_sha256(image.manifest_digest.removeprefix("sha256:"))],
        properties=[Property(name="oci:config-digest", value=image.config_digest)],
    )


def build_bom(
    image_dir: Path,
    debian_lock: Path,
    requirements_lock: Path,
    wheels: Iterable[Path] = (),
    name: str = "",
    repository: str = "",
    uv_lock: Path | None = None,
) -> Bom:
    """The SBOM of the image at `image_dir`; raises SbomError, LockError or ContentsError."""
    image, contents = read_contents(image_dir)
    debs = read_debian_lock(debian_lock)
    pins = read_requirements_lock(requirements_lock)
    components = []
    os_comp = os_component(contents)
    if contents.debs:
        if os_comp is None:
            raise SbomError(
                "the image has Debian packages but no ID and VERSION_ID (or VERSION_CODENAME) "
                "in /etc/os-release"
            )
        distro = f"{os_comp.name}-{os_comp.version}"
        components += [deb_component(p, debs, distro, debian_lock) for p in contents.debs]
    index = _wheel_index(wheels)
    sdists = read_sdists(uv_lock)
    components += [py_component(d, pins, index, requirements_lock, sdists) for d in contents.dists]
    refs = [str(c.bom_ref) for c in components]
    duplicates = sorted({r for r in refs if refs.count(r) > 1})
    if duplicates:
        raise SbomError(f"the image holds {duplicates[0]} more than once")
    if os_comp is not None:
        components.append(os_comp)
    root = image_component(image, name, repository)
    tool = Component(
        type=ComponentType.LIBRARY,
        name="cyclonedx-python-lib",
        version=importlib.metadata.version("cyclonedx-python-lib"),
    )
    bom = Bom(
        components=components,
        metadata=BomMetaData(component=root, timestamp=_created(image.config)),
        serial_number=uuid.uuid5(SERIAL_NAMESPACE, image.manifest_digest),
    )
    bom.metadata.tools.components.add(tool)
    bom.register_dependency(root, components)
    return bom


def render(bom: Bom) -> bytes:
    """CycloneDX 1.6 JSON, two-space indented, with a final newline.

    The library appends `$schema`, `bomFormat` and `specVersion` last; they are moved first, where
    readers (and `head`) expect them. Everything below keeps the library's sorted order.
    """
    document = json.loads(JsonV1Dot6(bom).output_as_string())
    ordered = {key: document.pop(key) for key in TOP_LEVEL_ORDER if key in document}
    ordered.update(sorted(document.items()))
    return (json.dumps(ordered, indent=2, ensure_ascii=False) + "\n").encode()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, fromfile_prefix_chars="@")
    parser.add_argument("--image", type=Path, required=True, help="OCI image layout directory")
    parser.add_argument("--debian-lock", type=Path, required=True, help="packages.lock.json")
    parser.add_argument(
        "--requirements-lock", type=Path, required=True, help="requirements_lock.txt"
    )
    parser.add_argument(
        "--wheel", type=Path, action="append", default=[], help="a locked wheel (repeatable)"
    )
    parser.add_argument(
        "--uv-lock", type=Path, help="uv_workspace.lock.json: which packages are sdist-only"
    )
    parser.add_argument("--name", default="", help="image name (default: its title annotation)")
    parser.add_argument("--repository", default="", help="repository_url qualifier of the purl")
    parser.add_argument("--output", type=Path, required=True, help="the .cdx.json to write")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        bom = build_bom(
            args.image,
            args.debian_lock,
            args.requirements_lock,
            args.wheel,
            args.name,
            args.repository,
            args.uv_lock,
        )
        data = render(bom)
    except (SbomError, LockError, ContentsError, layout.ImageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    layout.write_file_atomic(args.output, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
