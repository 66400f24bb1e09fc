"""Tests for the venv/app split: what goes where, and that the bytes are stable."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pyimage.private import layers


def _files(tmp_path: Path, app_main: str) -> list[dict[str, str]]:
    spec = {
        "../rules_python~~pip~pypi_fastapi/site-packages/fastapi/__init__.py": "X = 1\n",
        "../rules_python~~pip~pypi_fastapi/site-packages/fastapi-1.0.dist-info/METADATA": "m\n",
        "../rules_python~~pip~pypi_fastapi/BUILD.bazel": "not shipped\n",
        # A wheel's file that does not compile (a template, say) must not stop the build.
        "../rules_python~~pip~pypi_fastapi/site-packages/fastapi/tmpl.py": "def f(:\n",
    }
    own = {"app/__init__.py": "Y = 2\n", "app/main.py": app_main, "alembic.ini": "[alembic]\n"}
    out = []
    for i, (short_path, text) in enumerate(spec.items()):
        src = tmp_path / f"src{i}"
        src.write_text(text)
        out.append({"path": str(src), "short_path": short_path})
    for i, (dest, text) in enumerate(own.items()):
        src = tmp_path / f"own{i}"
        src.write_text(text)
        out.append({"path": str(src), "short_path": f"svc/{dest}", "dest": dest})
    return out


def _build(
    tmp_path: Path, kind: str, prefix: str, name: str, app_main: str = "Z = 3\n"
) -> dict[str, tarfile.TarInfo]:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(_files(tmp_path, app_main)))
    out = tmp_path / name
    args = [kind, "--manifest", str(manifest), "--output", str(out), "--prefix", prefix]
    assert layers.main([*args, "--compile"]) == 0
    with tarfile.open(out) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_venv_holds_only_site_packages(tmp_path: Path):
    members = _build(tmp_path, "venv", "/opt/venv", "v.tar")
    site = "opt/venv/lib/python3.13/site-packages"
    assert f"{site}/fastapi/__init__.py" in members
    assert f"{site}/fastapi-1.0.dist-info/METADATA" in members
    assert f"{site}/fastapi/tmpl.py" in members  # shipped, not compiled
    # First-party files with a `dest` are site-packages content here (how the launcher ships).
    assert f"{site}/app/main.py" in members and f"{site}/alembic.ini" in members
    assert not any("BUILD.bazel" in n or n.startswith("app") for n in members)
    assert members["opt/venv/bin/python"].linkname == "/usr/bin/python3.13"
    assert members["opt/venv/pyvenv.cfg"].isfile()
    tag = sys.implementation.cache_tag
    assert f"{site}/fastapi/__pycache__/__init__.{tag}.pyc" in members


def test_app_goes_under_prefix_at_its_dest_with_pth(tmp_path: Path):
    members = _build(tmp_path, "app", "/app", "a.tar")
    assert "app/app/__init__.py" in members and "app/alembic.ini" in members
    assert "opt/venv/lib/python3.13/site-packages/_app.pth" in members
    assert not any("fastapi" in n or "svc" in n for n in members)
    tag = sys.implementation.cache_tag
    assert f"app/app/__pycache__/main.{tag}.pyc" in members


def test_syntax_error_in_first_party_code_fails_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(_files(tmp_path, "x = 1\ndef f(:\n")))
    out = tmp_path / "a.tar"
    args = ["app", "--manifest", str(manifest), "--output", str(out), "--prefix", "/app"]
    assert layers.main([*args, "--compile"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'own1'}:2: SyntaxError: ")
    assert err.count("\n") == 1
    assert not out.exists()


def test_same_inputs_same_bytes(tmp_path: Path):
    _build(tmp_path, "venv", "/opt/venv", "1.tar")
    _build(tmp_path, "venv", "/opt/venv", "2.tar")
    assert (tmp_path / "1.tar").read_bytes() == (tmp_path / "2.tar").read_bytes()


def test_a_missing_strip_is_one_line(tmp_path: Path):
    manifest = tmp_path / "m.json"
    manifest.write_text("[]")
    args = ["venv", "--manifest", str(manifest), "--output", str(tmp_path / "v.tar")]
    with pytest.raises(SystemExit, match="--strip /nope: no such program"):
        layers.main([*args, "--prefix", "/opt/venv", "--strip", "/nope"])


def test_omit_source_ships_importable_sourceless_bytecode(tmp_path: Path):
    src = tmp_path / "boom.py"
    src.write_text("def f():\n    return 1 / 0\n")
    broken = tmp_path / "tmpl.py"
    broken.write_text("def f(:\n")
    site = "../pypi_boom/site-packages"
    manifest = tmp_path / "m.json"
    manifest.write_text(
        json.dumps(
            [
                {"path": str(src), "short_path": f"{site}/boom.py"},
                {"path": str(broken), "short_path": f"{site}/tmpl.py"},
            ]
        )
    )
    out = tmp_path / "v.tar"
    args = ["venv", "--manifest", str(manifest), "--output", str(out), "--prefix", "/opt/venv"]
    assert layers.main([*args, "--compile", "--omit-source", "--no-debug-ranges"]) == 0
    root = tmp_path / "root"
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        tar.extractall(root, filter="tar")
    lib = "opt/venv/lib/python3.13/site-packages"
    assert f"{lib}/boom.pyc" in names and f"{lib}/boom.py" not in names
    assert f"{lib}/tmpl.py" in names  # did not compile: kept as it came
    assert not any("__pycache__" in n for n in names)
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import boom; boom.f()",
            str(root / lib),
        ],
        capture_output=True,
        text=True,
    )
    assert "ZeroDivisionError" in run.stderr
    # The traceback names the in-image file and line; the text of the line is not there.
    assert 'File "/opt/venv/lib/python3.13/site-packages/boom.py", line 2, in f' in run.stderr
    assert "1 / 0" not in run.stderr


def test_omit_source_needs_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    manifest = tmp_path / "m.json"
    manifest.write_text("[]")
    args = ["venv", "--manifest", str(manifest), "--output", str(tmp_path / "v.tar")]
    with pytest.raises(SystemExit):
        layers.main([*args, "--prefix", "/opt/venv", "--omit-source"])
    assert "--omit-source needs --compile" in capsys.readouterr().err
    assert not (tmp_path / "v.tar").exists()


def test_pyc_is_unchecked_hash(tmp_path: Path):
    out = tmp_path / "a.tar"
    _build(tmp_path, "app", "/app", "a.tar")
    with tarfile.open(out) as tar:
        tag = sys.implementation.cache_tag
        data = tar.extractfile(f"app/app/__pycache__/__init__.{tag}.pyc").read()
    flags = int.from_bytes(data[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off


def _section_names(path: Path) -> set[str]:
    """Section names of an ELF64 little-endian file (enough to see debug info)."""
    data = path.read_bytes()
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (
        int.from_bytes(data[o : o + 2], "little") for o in (0x3A, 0x3C, 0x3E)
    )
    headers = [data[shoff + i * shentsize : shoff + (i + 1) * shentsize] for i in range(shnum)]
    strtab = headers[shstrndx]
    str_off = int.from_bytes(strtab[0x18:0x20], "little")
    names = set()
    for h in headers:
        start = str_off + int.from_bytes(h[0:4], "little")
        names.add(data[start : data.index(b"\0", start)].decode())
    return names


def test_strip_removes_debug_info_and_exclude_drops_sources(tmp_path: Path):
    import uvloop  # its wheel ships an unstripped extension

    so = next(Path(uvloop.__file__).parent.glob("loop.*.so"))
    assert any(n.startswith(".debug_") for n in _section_names(so))
    manifest = tmp_path / "m.json"
    files = [
        {"path": str(so), "short_path": f"../pypi_uvloop/site-packages/uvloop/{so.name}"},
        {"path": str(so), "short_path": "../pypi_uvloop/site-packages/uvloop/loop.pyx"},
    ]
    manifest.write_text(json.dumps(files))
    out = tmp_path / "v.tar"
    args = ["venv", "--manifest", str(manifest), "--output", str(out), "--prefix", "/opt/venv"]
    strip = Path(os.environ["TEST_SRCDIR"]) / os.environ["STRIP"]  # the declared @binutils_strip
    assert layers.main([*args, "--strip", str(strip), "--exclude", "*.pyx"]) == 0
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert not any(n.endswith(".pyx") for n in names)
        member = next(m for m in tar.getmembers() if m.name.endswith(so.name))
        stripped = tmp_path / "stripped.so"
        stripped.write_bytes(tar.extractfile(member).read())
    sections = _section_names(stripped)
    assert not any(n.startswith(".debug_") for n in sections)
    assert ".text" in sections and ".dynsym" in sections
    assert stripped.stat().st_size < so.stat().st_size / 2


def test_a_wheel_for_another_cpu_fails_naming_it(tmp_path: Path, capsys):
    import uvloop  # an x86-64 extension, in an arm64 venv

    so = next(Path(uvloop.__file__).parent.glob("loop.*.so"))
    manifest = tmp_path / "m.json"
    files = [{"path": str(so), "short_path": f"../pypi_uvloop/site-packages/uvloop/{so.name}"}]
    manifest.write_text(json.dumps(files))
    out = tmp_path / "v.tar"
    args = ["venv", "--manifest", str(manifest), "--output", str(out), "--prefix", "/opt/venv"]
    assert layers.main([*args, "--architecture", "arm64"]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"error: /opt/venv/lib/python3.13/site-packages/uvloop/{so.name} "
        "is not built for arm64\n"
    )
    assert not out.exists()
    assert layers.main([*args, "--architecture", "amd64"]) == 0


def test_an_extension_for_another_python_fails_naming_it(tmp_path: Path, capsys):
    import uvloop  # built for this (3.13) interpreter, in a 3.14 venv

    so = next(Path(uvloop.__file__).parent.glob("loop.*.so"))
    manifest = tmp_path / "m.json"
    files = [{"path": str(so), "short_path": f"../pypi_uvloop/site-packages/uvloop/{so.name}"}]
    manifest.write_text(json.dumps(files))
    args = ["venv", "--manifest", str(manifest), "--output", str(tmp_path / "v.tar")]
    args += ["--prefix", "/opt/venv", "--python-version", "3.14"]
    assert layers.main(args) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: /opt/venv/lib/python3.14/site-packages/uvloop/{so.name} "
        "is not built for Python 3.14\n"
    )


def _app_args(tmp_path: Path, version: str) -> list[str]:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(_files(tmp_path, "Z = 3\n")))
    out = tmp_path / "a.tar"
    args = ["app", "--manifest", str(manifest), "--output", str(out), "--prefix", "/app"]
    return [*args, "--python-version", version, "--compile"]


def test_bytecode_for_another_python_needs_its_compiler(tmp_path: Path, capsys):
    assert layers.main(_app_args(tmp_path, "3.14")) == 1
    err = capsys.readouterr().err
    assert "the image's Python is 3.14 but its bytecode would be cpython-313's" in err
    assert not (tmp_path / "a.tar").exists()


def test_the_compiler_writes_its_own_versions_bytecode(tmp_path: Path):
    compiler = str(Path(os.environ["TEST_SRCDIR"]) / os.environ["PYTHON3_14"])
    assert layers.main([*_app_args(tmp_path, "3.14"), "--compiler", compiler]) == 0
    with tarfile.open(tmp_path / "a.tar") as tar:
        names = tar.getnames()
        data = tar.extractfile("app/app/__pycache__/main.cpython-314.pyc").read()
    assert not [n for n in names if "cpython-313" in n]
    # Python 3.14's magic number (3600+), not this interpreter's, and hash-based, unchecked.
    assert int.from_bytes(data[:2], "little") >= 3600
    assert data[:4] != importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))


def test_modes_come_from_content_not_from_the_inputs_bits(tmp_path: Path):
    # Bazel marks every input of a remote action executable: a local and a remote build must
    # still write the same modes. Scripts and programs are 0755, everything else 0644.
    program = Path(os.path.realpath(sys.executable)).read_bytes()
    library = next(Path(os.path.realpath(sys.executable)).parents[1].glob("lib/*/libm.so.6"))
    cases = {
        "plain.py": (b"X = 1\n", 0o755, 0o644),
        "data.json": (b"{}\n", 0o755, 0o644),
        "tool.sh": (b"#!/bin/sh\necho hi\n", 0o644, 0o755),
        "prog": (program, 0o644, 0o755),
        "libm.so.6": (library.read_bytes(), 0o755, 0o644),
    }
    files = []
    for name, (data, bits, _) in cases.items():
        src = tmp_path / name
        src.write_bytes(data)
        src.chmod(bits)
        files.append({"path": str(src), "short_path": f"svc/{name}", "dest": name})
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(files))
    out = tmp_path / "app.tar"
    assert (
        layers.main(["app", "--manifest", str(manifest), "--output", str(out), "--prefix", "app"])
        == 0
    )
    with tarfile.open(out) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert {name: modes[f"app/{name}"] for name in cases} == {n: c[2] for n, c in cases.items()}
