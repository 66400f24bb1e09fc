"""Tests for bom.py on the kit's test image: schema, completeness, hashes, determinism, errors.

The expected package set comes from an independent walk over the image's layer tars (status.d
files and dist-info folder names), and the expected hashes from the lock files and the wheels
themselves, so the SBOM is checked against the image rather than against the code that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import subprocess
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from kit_lib import layout, tarball
from packageurl import PackageURL

from sbom.private import bom

HASH_SOURCE = "sbom:hash-source"


def runfile(var: str) -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ[var]


IMAGE = runfile("IMAGE")
DEBIAN_LOCK = runfile("DEBIAN_LOCK")
REQUIREMENTS_LOCK = runfile("REQUIREMENTS_LOCK")
SBOM = runfile("SBOM")
WHEELS = [Path(os.environ["TEST_SRCDIR"]) / p for p in os.environ["WHEELS"].split()]


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- an independent look at the image and the locks ----------------------------------------------


def manifest_digest(layout: Path) -> str:
    return json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]


def layer_paths(layout: Path) -> list[Path]:
    digest = manifest_digest(layout)
    manifest = json.loads((layout / "blobs/sha256" / digest.split(":")[1]).read_text())
    return [layout / "blobs/sha256" / layer["digest"].split(":")[1] for layer in manifest["layers"]]


def scan_image(layout: Path) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(name, version, arch) of each status.d file; (name, version) of each dist-info folder."""
    debs: set[tuple[str, str, str]] = set()
    dists: set[tuple[str, str]] = set()
    for path in layer_paths(layout):
        with tarfile.open(path) as tar:
            for member in tar:
                name = member.name.removeprefix("./").lstrip("/")
                folder, base = posixpath.split(name)
                # A plain union of layers is the final file system only without deletions.
                assert not base.startswith(".wh."), f"whiteout {name}: scan would be wrong"
                assert name != "var/lib/dpkg/status", "this scan reads status.d only"
                if folder == "var/lib/dpkg/status.d" and not base.endswith(".md5sums"):
                    text = tar.extractfile(member).read().decode()
                    fields = dict(re.findall(r"^(\w+): (.*)$", text, re.MULTILINE))
                    debs.add((fields["Package"], fields["Version"], fields["Architecture"]))
                match = re.search(r"(?:^|/)site-packages/([^/]+)-([^/-]+)\.dist-info(?:/|$)", name)
                if match:
                    dists.add((pep503(match.group(1)), match.group(2)))
    return debs, dists


def locked_hashes(text: str) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    current: tuple[str, str] | None = None
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", line)
        if pin:
            current = (pep503(pin.group(1)), pin.group(2))
            out[current] = set()
        if current:
            out[current].update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return out


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(SBOM.read_bytes())


def libraries(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Components whose purl type is `kind`, by purl."""
    return {
        c["purl"]: c
        for c in document["components"]
        if c.get("purl") and PackageURL.from_string(c["purl"]).type == kind
    }


# --- the SBOM Bazel built for the test image ------------------------------------------------


def test_validates_against_the_cyclonedx_1_6_schema() -> None:
    text = SBOM.read_text()
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(text) is None
    assert json.loads(text)["specVersion"] == "1.6"
    # The validator does reject bad documents (so the check above can fail).
    broken = json.loads(text)
    broken["components"][0]["type"] = "not-a-type"
    assert validator.validate_str(json.dumps(broken)) is not None


def test_lists_every_package_in_the_image_and_nothing_else(document: dict[str, Any]) -> None:
    debs, dists = scan_image(IMAGE)
    assert len(debs) > 10 and len(dists) > 5, "the image should hold debs and a venv"
    listed_debs = set()
    for purl in libraries(document, "deb"):
        p = PackageURL.from_string(purl)
        listed_debs.add((p.name, p.version, p.qualifiers["arch"]))
        assert p.namespace == "debian"
        assert p.qualifiers["distro"] == "debian-13"
    listed_dists = {
        (p.name, p.version) for p in map(PackageURL.from_string, libraries(document, "pypi"))
    }
    assert listed_debs == debs
    assert listed_dists == dists
    others = [
        c
        for c in document["components"]
        if not c.get("purl") or PackageURL.from_string(c["purl"]).type not in ("deb", "pypi")
    ]
    assert [(c["type"], c["name"], c["version"]) for c in others] == [
        ("operating-system", "debian", "13")
    ]
    assert len(document["components"]) == len(debs) + len(dists) + 1


def test_debian_hashes_are_those_of_the_locked_debs(document: dict[str, Any]) -> None:
    lock = {e["name"]: e for e in json.loads(DEBIAN_LOCK.read_text())}
    for purl, component in libraries(document, "deb").items():
        entry = lock[component["name"]]
        assert component["version"] == entry["version"]
        assert component["hashes"] == [{"alg": "SHA-256", "content": entry["sha256"]}], purl


def test_python_hashes_are_those_of_the_installed_wheels(document: dict[str, Any]) -> None:
    pins = locked_hashes(REQUIREMENTS_LOCK.read_text())
    for purl, component in libraries(document, "pypi").items():
        p = PackageURL.from_string(purl)
        prefix = f"{p.name.replace('-', '_')}-{p.version}-"
        wheels = [w for w in WHEELS if w.name.lower().startswith(prefix)]
        assert len(wheels) == 1, f"{purl}: wheels {wheels}"
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        assert component["hashes"] == [{"alg": "SHA-256", "content": digest}], purl
        assert digest in pins[(p.name, p.version)], f"{purl}: wheel hash not in the lock"
        source = {x["name"]: x["value"] for x in component["properties"]}[HASH_SOURCE]
        assert source == f"wheel: {wheels[0].name}"


def test_the_image_is_the_described_component(document: dict[str, Any]) -> None:
    digest = manifest_digest(IMAGE)
    root = document["metadata"]["component"]
    assert root["type"] == "container"
    assert root["version"] == digest
    assert root["hashes"] == [{"alg": "SHA-256", "content": digest.split(":")[1]}]
    purl = PackageURL.from_string(root["purl"])
    assert (purl.type, purl.version, purl.qualifiers.get("arch")) == ("oci", digest, "amd64")
    assert document["serialNumber"] == f"urn:uuid:{uuid.uuid5(bom.SERIAL_NAMESPACE, digest)}"
    assert document["metadata"]["timestamp"] == "1970-01-01T00:00:00+00:00"
    # The image depends on every component.
    (edges,) = [d for d in document["dependencies"] if d["ref"] == root["bom-ref"]]
    assert sorted(edges["dependsOn"]) == sorted(c["bom-ref"] for c in document["components"])


def test_components_are_sorted_and_unique(document: dict[str, Any]) -> None:
    refs = [c["bom-ref"] for c in document["components"]]
    assert len(set(refs)) == len(refs)
    keys = [(c["type"], c["name"], c["version"]) for c in document["components"]]
    assert keys == sorted(keys)


# --- building it again --------------------------------------------------------------------------


def build(debian_lock: Path = DEBIAN_LOCK, requirements_lock: Path = REQUIREMENTS_LOCK) -> bytes:
    return bom.render(bom.build_bom(IMAGE, debian_lock, requirements_lock, WHEELS))


def test_same_inputs_same_bytes() -> None:
    first = build()
    assert first == build()
    assert first == SBOM.read_bytes()


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_same_bytes_whatever_the_hash_seed(tmp_path: Path, seed: str) -> None:
    out = tmp_path / "sbom.json"
    args = ["--image", str(IMAGE), "--debian-lock", str(DEBIAN_LOCK)]
    args += ["--requirements-lock", str(REQUIREMENTS_LOCK), "--output", str(out)]
    args += [f"--wheel={w}" for w in WHEELS]
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-m", "sbom.private.bom", *args], check=True, env=env)
    assert out.read_bytes() == SBOM.read_bytes()


def test_without_wheels_every_locked_hash_is_listed_and_said_so() -> None:
    document = json.loads(bom.render(bom.build_bom(IMAGE, DEBIAN_LOCK, REQUIREMENTS_LOCK, [])))
    pins = locked_hashes(REQUIREMENTS_LOCK.read_text())
    for purl, component in libraries(document, "pypi").items():
        p = PackageURL.from_string(purl)
        assert {h["content"] for h in component["hashes"]} == pins[(p.name, p.version)]
        source = {x["name"]: x["value"] for x in component["properties"]}[HASH_SOURCE]
        assert source.endswith("(wheel unknown)")


# --- errors -------------------------------------------------------------------------------------


def run_main(tmp_path: Path, capsys: pytest.CaptureFixture[str], **paths: Path) -> str:
    out = tmp_path / "out.cdx.json"
    args = ["--image", str(paths.get("image", IMAGE))]
    args += ["--debian-lock", str(paths.get("debian_lock", DEBIAN_LOCK))]
    args += ["--requirements-lock", str(paths.get("requirements_lock", REQUIREMENTS_LOCK))]
    args += ["--output", str(out)]
    wheels = paths.get("wheels")
    args += [f"--wheel={w}" for w in ([wheels] if wheels else WHEELS)]
    assert bom.main(args) == 1
    assert not out.exists(), "nothing is written on error"
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def debian_lock_with(tmp_path: Path, edit: Any) -> Path:
    entries = json.loads(DEBIAN_LOCK.read_text())
    path = tmp_path / "packages.lock.json"
    path.write_text(json.dumps([e for e in map(edit, entries) if e is not None]))
    return path


def test_package_missing_from_the_debian_lock(tmp_path: Path, capsys) -> None:
    lock = debian_lock_with(tmp_path, lambda e: None if e["name"] == "libc6" else e)
    err = run_main(tmp_path, capsys, debian_lock=lock)
    assert "Debian package libc6 " in err
    assert "is in the image but not in packages.lock.json" in err


def test_package_at_another_version_in_the_debian_lock(tmp_path: Path, capsys) -> None:
    lock = debian_lock_with(
        tmp_path, lambda e: dict(e, version="9.9-9") if e["name"] == "tzdata" else e
    )
    err = run_main(tmp_path, capsys, debian_lock=lock)
    assert "Debian package tzdata: the image has " in err
    assert "packages.lock.json locks 9.9-9 (all)" in err


def requirements_without(tmp_path: Path, name: str, only_hash: str | None = None) -> Path:
    """The lock without `name`'s entry, or with only `only_hash` kept for it."""
    lines, skipping = [], False
    for line in REQUIREMENTS_LOCK.read_text().splitlines(keepends=True):
        if re.match(rf"^{re.escape(name)}==", line):
            skipping = True
            if only_hash:
                lines.append(line.split("\\")[0] + f"--hash=sha256:{only_hash}\n")
            continue
        if skipping and line.lstrip().startswith("--hash="):
            continue
        skipping = False
        lines.append(line)
    path = tmp_path / "requirements_lock.txt"
    path.write_text("".join(lines))
    return path


def test_distribution_missing_from_the_requirements_lock(tmp_path: Path, capsys) -> None:
    err = run_main(tmp_path, capsys, requirements_lock=requirements_without(tmp_path, "fastapi"))
    assert "Python distribution fastapi " in err
    assert "is in the image (/opt/venv/lib/python3.13/site-packages/fastapi-" in err
    assert "but not in requirements_lock.txt" in err


def test_wheel_whose_hash_is_not_locked(tmp_path: Path, capsys) -> None:
    lock = requirements_without(tmp_path, "fastapi", only_hash="0" * 64)
    err = run_main(tmp_path, capsys, requirements_lock=lock)
    assert re.search(r"fastapi-[^ ]+\.whl: sha256 [0-9a-f]{64} is not a hash", err)


def test_a_wheel_built_here_from_a_locked_sdist_is_hashed_by_the_sdist(tmp_path: Path) -> None:
    # As if fastapi had no wheel on the index: the lock pins only its sdist, whose hash no
    # wheel can have; uv_workspace.lock.json says it is sdist-only.
    sdist = "5" * 64
    lock = requirements_without(tmp_path, "fastapi", only_hash=sdist)
    version = next(v for (n, v) in locked_hashes(lock.read_text()) if n == "fastapi")
    uv_lock = tmp_path / "uv_workspace.lock.json"
    uv_lock.write_text(json.dumps({"sdists": {"fastapi": {"version": version, "sha256": sdist}}}))
    out = tmp_path / "out.cdx.json"
    args = ["--image", str(IMAGE), "--debian-lock", str(DEBIAN_LOCK)]
    args += ["--requirements-lock", str(lock), "--uv-lock", str(uv_lock), "--output", str(out)]
    assert bom.main(args + [f"--wheel={w}" for w in WHEELS]) == 0
    fastapi = libraries(json.loads(out.read_text()), "pypi")[f"pkg:pypi/fastapi@{version}"]
    assert fastapi["hashes"] == [{"alg": "SHA-256", "content": sdist}]
    source = next(p["value"] for p in fastapi["properties"] if p["name"] == bom.HASH_SOURCE)
    assert source.startswith(f"sdist: fastapi=={version}, hashed by the locked sdist; the wheel ")
    assert re.search(r"was built locally \(sha256 [0-9a-f]{64}\)$", source)


def test_a_wheel_that_matches_neither_wheel_nor_sdist_still_fails(tmp_path: Path, capsys) -> None:
    lock = requirements_without(tmp_path, "fastapi", only_hash="5" * 64)
    uv_lock = tmp_path / "uv_workspace.lock.json"
    uv_lock.write_text(json.dumps({"sdists": {"fastapi": {"version": "0", "sha256": "5" * 64}}}))
    out = tmp_path / "out.cdx.json"
    args = ["--image", str(IMAGE), "--debian-lock", str(DEBIAN_LOCK)]
    args += ["--requirements-lock", str(lock), "--uv-lock", str(uv_lock), "--output", str(out)]
    assert bom.main(args + [f"--wheel={w}" for w in WHEELS]) == 1
    assert "is not a hash" in capsys.readouterr().err and not out.exists()


def test_wheel_that_is_not_the_installed_one(tmp_path: Path, capsys) -> None:
    (real,) = [w for w in WHEELS if w.name.startswith("fastapi-")]
    fake = tmp_path / real.name
    metadata = "Metadata-Version: 2.1\nName: fastapi\nVersion: 0\n"
    with zipfile.ZipFile(fake, "w") as whl:
        whl.writestr(f"{real.name.split('-')[0]}-x.dist-info/METADATA", metadata)
    err = run_main(tmp_path, capsys, wheels=fake)
    assert f"{real.name}: its METADATA differs from" in err


def test_debian_packages_need_an_os_release(tmp_path: Path, capsys) -> None:
    layer = tmp_path / "layer.tar"
    status = b"Package: x\nVersion: 1\nArchitecture: amd64\n"
    tarball.write_tar([tarball.Entry("/var/lib/dpkg/status.d/x", data=status)], layer)
    layout.write_image(tmp_path / "img", [layer])
    err = run_main(tmp_path, capsys, image=tmp_path / "img")
    assert "Debian packages but no ID and VERSION_ID (or VERSION_CODENAME)" in err


def test_a_testing_suite_is_named_by_its_codename() -> None:
    forky = {"ID": "debian", "VERSION_CODENAME": "forky", "PRETTY_NAME": "Debian forky/sid"}
    component = bom.os_component(bom.Contents([], [], forky))
    assert (component.name, component.version) == ("debian", "forky")
    trixie = dict(forky, VERSION_ID="13", VERSION_CODENAME="trixie")
    assert bom.os_component(bom.Contents([], [], trixie)).version == "13"


def test_not_an_image(tmp_path: Path, capsys) -> None:
    err = run_main(tmp_path, capsys, image=tmp_path / "missing")
    assert "image layout not found" in err


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
