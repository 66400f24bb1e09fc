"""Tests for contents.py: packages as the container's final file system has them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kit_lib import layout, tarball

from sbom.private import contents

SITE = "/opt/venv/lib/python3.13/site-packages"


def status(name: str, version: str, source: str = "") -> bytes:
    text = f"Package: {name}\nVersion: {version}\nArchitecture: amd64\n"
    if source:
        text += f"Source: {source}\n"
    return (text + "Description: a package\n that does things\n").encode()


def metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n\nLong text.\n".encode()


def layer(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    path = tmp_path / name
    tarball.write_tar([tarball.Entry(p, data=d) for p, d in files.items()], path)
    return path


def make_image(tmp_path: Path, *layers: dict[str, bytes]) -> Path:
    out = tmp_path / "image"
    tars = [layer(tmp_path, f"layer{i}.tar", files) for i, files in enumerate(layers)]
    layout.write_image(out, tars)
    return out


def scan(tmp_path: Path, *layers: dict[str, bytes]) -> contents.Contents:
    return contents.read_contents(make_image(tmp_path, *layers))[1]


def test_status_d_packages_and_sources(tmp_path: Path) -> None:
    found = scan(
        tmp_path,
        {
            "/var/lib/dpkg/status.d/libc6": status("libc6", "2.41-12", "glibc"),
            "/var/lib/dpkg/status.d/libc6.md5sums": b"0" * 32 + b"  usr/lib/x\n",
            "/var/lib/dpkg/status.d/zlib1g": status("zlib1g", "1:1.3-1", "zlib (1.3-0)"),
            "/var/lib/dpkg/status.d/tzdata": status("tzdata", "2026f-0"),
            "/etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 13"\nID=debian\nVERSION_ID="13"\n',
        },
    )
    assert [(p.name, p.version, p.source, p.source_version) for p in found.debs] == [
        ("libc6", "2.41-12", "glibc", "2.41-12"),
        ("tzdata", "2026f-0", "tzdata", "2026f-0"),
        ("zlib1g", "1:1.3-1", "zlib", "1.3-0"),
    ]
    assert found.debs[0].location == "/var/lib/dpkg/status.d/libc6"
    assert found.os_release["ID"] == "debian"
    assert found.os_release["VERSION_ID"] == "13"
    assert found.dists == []


def test_dpkg_status_file_keeps_installed_only(tmp_path: Path) -> None:
    text = (
        status("a", "1").decode()
        + "Status: install ok installed\n\n"
        + status("b", "2").decode()
        + "Status: deinstall ok config-files\n"
    )
    found = scan(tmp_path, {"/var/lib/dpkg/status": text.encode()})
    assert [p.name for p in found.debs] == ["a"]
    assert found.os_release == {}


def test_python_dists_from_metadata(tmp_path: Path) -> None:
    found = scan(
        tmp_path,
        {
            f"{SITE}/fastapi-0.1.dist-info/METADATA": metadata("fastapi", "0.1"),
            f"{SITE}/fastapi-0.1.dist-info/RECORD": b"",
            f"{SITE}/Typing_Extensions-4.0.dist-info/METADATA": metadata(
                "typing_extensions", "4.0"
            ),
            "/usr/lib/python3/dist-packages/six-1.0.dist-info/METADATA": metadata("six", "1.0"),
            "/app/not-site/x-1.dist-info/METADATA": metadata("x", "1"),
        },
    )
    assert [(d.name, d.version) for d in found.dists] == [
        ("fastapi", "0.1"),
        ("six", "1.0"),
        ("typing_extensions", "4.0"),
    ]
    assert found.dists[0].location == f"{SITE}/fastapi-0.1.dist-info"
    assert found.dists[0].metadata == metadata("fastapi", "0.1")


def test_later_layers_replace_and_delete(tmp_path: Path) -> None:
    found = scan(
        tmp_path,
        {
            "/var/lib/dpkg/status.d/a": status("a", "1"),
            "/var/lib/dpkg/status.d/b": status("b", "1"),
            f"{SITE}/old-1.dist-info/METADATA": metadata("old", "1"),
            f"{SITE}/keep-1.dist-info/METADATA": metadata("keep", "1"),
            "/opt/other/site-packages/gone-1.dist-info/METADATA": metadata("gone", "1"),
        },
        {
            "/var/lib/dpkg/status.d/a": status("a", "2"),  # upgraded in place
            "/var/lib/dpkg/status.d/.wh.b": b"",  # removed
            f"{SITE}/.wh.old-1.dist-info": b"",  # a whole dist-info removed
            f"{SITE}/new-2.dist-info/METADATA": metadata("new", "2"),
            "/opt/other/site-packages/.wh..wh..opq": b"",  # folder emptied
        },
    )
    assert [(p.name, p.version) for p in found.debs] == [("a", "2")]
    assert [(d.name, d.version) for d in found.dists] == [("keep", "1"), ("new", "2")]


def test_symlink_hides_the_file_below(tmp_path: Path) -> None:
    base = {"/etc/os-release": b"ID=debian\nVERSION_ID=13\n"}
    out = tmp_path / "image"
    first = layer(tmp_path, "a.tar", base)
    second = tmp_path / "b.tar"
    tarball.write_tar(
        [tarball.Entry("/etc/os-release", tarball.SYMLINK, 0o777, target="/nowhere")], second
    )
    layout.write_image(out, [first, second])
    assert contents.read_contents(out)[1].os_release == {}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"/var/lib/dpkg/status.d/x": b"Package: x\nArchitecture: amd64\n"},
            "/var/lib/dpkg/status.d/x: dpkg status has no Version field",
        ),
        (
            {"/var/lib/dpkg/status.d/x": status("x", "1") + b"\n" + status("y", "1")},
            "expected one package, found 2",
        ),
        (
            {"/var/lib/dpkg/status.d/x": b"garbage line\n"},
            "line 1 is not a 'Field: value' line",
        ),
        (
            {
                "/var/lib/dpkg/status.d/x": status("x", "1"),
                "/var/lib/dpkg/status": status("x", "1") + b"Status: install ok installed\n",
            },
            "Debian package x is recorded twice",
        ),
        (
            {f"{SITE}/x-1.dist-info/METADATA": b"Metadata-Version: 2.4\nName: x\n"},
            "x-1.dist-info/METADATA: no Name or Version field",
        ),
    ],
)
def test_bad_records(tmp_path: Path, files: dict[str, bytes], message: str) -> None:
    with pytest.raises(contents.ContentsError, match=re.escape(message)):
        scan(tmp_path, files)


def test_unreadable_layer(tmp_path: Path) -> None:
    out = make_image(tmp_path, {"/a": b"a"})
    img = contents.layout.read_image(out)
    blob = img.blob(img.layers[0]["digest"])
    blob.chmod(0o644)
    blob.write_bytes(b"\x1f\x8b" + b"\0" * 100)  # a broken gzip in place of the layer
    with pytest.raises(contents.ContentsError, match=r"layer 1 .* not a readable tar"):
        contents.read_files(img)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
