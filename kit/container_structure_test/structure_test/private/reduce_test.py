"""Tests of the cut image: what it keeps, and that the real binary judges it as the whole image."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout, zstd

from structure_test.private import reduce, runner, to_tarball


def _entry(tar: tarfile.TarFile, name: str, kind: bytes = tarfile.REGTYPE, **kw: object) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    data = kw.pop("data", None)
    for key, value in kw.items():
        setattr(info, key, value)
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def _layer(build) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    return out.getvalue()


def _lower(tar: tarfile.TarFile) -> None:
    _entry(tar, "./usr", tarfile.DIRTYPE)
    _entry(tar, "./usr/bin", tarfile.DIRTYPE)
    _entry(tar, "./usr/bin/python3.13", data=b"\x7fELF python", mode=0o755)
    _entry(tar, "./usr/bin/python3", tarfile.SYMTYPE, linkname="python3.13")
    _entry(tar, "./usr/lib", tarfile.DIRTYPE)
    _entry(tar, "./usr/lib/big.so", data=b"x" * 4096, mode=0o644)
    _entry(tar, "./usr/lib/gone.txt", data=b"deleted above")
    _entry(tar, "./etc", tarfile.DIRTYPE)
    _entry(tar, "./etc/os-release", data=b"ID=debian\n")
    _entry(tar, "./etc/issue", tarfile.LNKTYPE, linkname="./etc/os-release")
    _entry(tar, "./usr/lib/motd", data=b"welcome\n")
    _entry(tar, "./etc/motd", tarfile.SYMTYPE, linkname="../usr/lib/motd")
    _entry(tar, "./bin", tarfile.SYMTYPE, linkname="usr/bin")
    _entry(tar, "./old", tarfile.DIRTYPE)
    _entry(tar, "./old/file", data=b"hidden by an opaque folder")
    _entry(tar, "./var", tarfile.DIRTYPE)
    _entry(tar, "./var/cache", tarfile.DIRTYPE)
    _entry(tar, "./var/cache/stale", data=b"hidden: its folder became a file above")


def _upper(tar: tarfile.TarFile) -> None:
    _entry(tar, "usr/lib/.wh.gone.txt")
    _entry(tar, "var/cache", data=b"a file where a folder was\n")
    _entry(tar, "old", tarfile.DIRTYPE)
    _entry(tar, "old/.wh..wh..opq")
    _entry(tar, "old/new", data=b"only this")
    _entry(tar, "app", tarfile.DIRTYPE)
    _entry(tar, "app/main.py", data=b"print('hi')\n", mode=0o644)
    _entry(tar, "srv/implied/notes.txt", data=b"no folder entries above me\n")


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    root = tmp_path / "layout"
    _write(root, [_layer(_lower), _layer(_upper)])
    return root


def _write(root: Path, layers: list[bytes], zstd_program: str | None = None) -> None:
    """A layout of plain tar layers, or zstd ones when given the program."""
    files = []
    for n, data in enumerate(layers):
        plain = root.parent / f"{root.name}-{n}.tar"
        plain.write_bytes(data)
        if zstd_program:
            packed = plain.with_suffix(".tar.zst")
            zstd.compress_file(plain, packed, zstd_program)
            plain = packed
        files.append(plain)
    config = {"User": "65532", "Env": ["A=b"], "Entrypoint": ["/usr/bin/python3"]}
    layout.write_image(root, files, config)


def test_flatten_applies_whiteouts_and_opaque_folders(image_dir: Path):
    tree = reduce.flatten(layout.read_image(image_dir))
    assert "usr/lib/gone.txt" not in tree
    assert "old/file" not in tree and "old/new" in tree
    assert "var/cache/stale" not in tree and tree["var/cache"].info.isreg()
    assert tree["usr/bin/python3"].info.issym()


def test_closure_follows_links_and_keeps_folders_on_the_way(image_dir: Path):
    tree = reduce.flatten(layout.read_image(image_dir))
    keep = reduce.closure(
        tree, {"/bin/python3", "/etc/issue", "/etc/motd", "/no/such/file", "/usr/lib/gone.txt"}
    )
    assert keep == {
        "etc/motd",  # a link up and over: ../usr/lib/motd
        "usr/lib",
        "usr/lib/motd",
        "bin",  # a link to usr/bin, followed
        "usr",
        "usr/bin",
        "usr/bin/python3",  # a link to python3.13, followed
        "usr/bin/python3.13",
        "etc",
        "etc/issue",  # a hard link: its file comes along
        "etc/os-release",
    }


def test_a_config_with_other_tests_gets_the_whole_image():
    assert reduce.tested_paths([{"fileExistenceTests": [{"path": "/a"}]}]) == {"/a"}
    assert reduce.tested_paths([{"licenseTests": [{"debian": True}]}]) is None
    assert reduce.tested_paths([{"commandTests": [{"command": "true"}]}]) is None
    assert reduce.tested_paths([{"fileContentTests": [{"name": "no path"}]}]) is None


def test_only_content_tests_read_bytes():
    configs = [
        {"fileExistenceTests": [{"path": "/a"}], "fileContentTests": [{"path": "/b"}]},
        {"fileContentTests": [{"path": "/c"}]},
    ]
    assert reduce.tested_paths(configs) == {"/a", "/b", "/c"}
    assert reduce.read_paths(configs) == {"/b", "/c"}


CONFIG = """\
schemaVersion: "2.0.0"
metadataTest:
  user: "65532"
  entrypoint: ["/usr/bin/python3"]
  envVars: [{key: A, value: b}]
fileExistenceTests:
  - {name: python via two links, path: /bin/python3, shouldExist: true}
  - {name: the interpreter, path: /usr/bin/python3.13, shouldExist: true, isExecutableBy: any}
  - {name: whited out, path: /usr/lib/gone.txt, shouldExist: false}
  - {name: hidden by opaque, path: /old/file, shouldExist: false}
  - {name: under a folder made a file, path: /var/cache/stale, shouldExist: false}
  - {name: no shell, path: /bin/sh, shouldExist: false}
  - {name: app, path: /app/main.py, shouldExist: true, permissions: "-rw-r--r--"}
  - {name: wrong mode, path: /app/main.py, shouldExist: true, permissions: "-rwxrwxrwx"}
  - {name: missing, path: /app/absent.py, shouldExist: true}
  - {name: a library that is there, path: /usr/lib/big.so, shouldExist: false}
fileContentTests:
  - {name: os-release through a hard link, path: /etc/issue, expectedContents: ["ID=debian"]}
  - {name: new file, path: /old/new, expectedContents: ["only this"], excludedContents: ["hidden"]}
  - {name: wrong content, path: /etc/os-release, expectedContents: ["ID=ubuntu"]}
  - {name: through a link up, path: /etc/motd, expectedContents: ["welcome"]}
  - {name: folders only implied, path: /srv/implied/notes.txt, expectedContents: ["no folder"]}
"""


def _verdicts(tmp_path: Path, tarball: Path) -> dict[str, bool]:
    binary = Path(os.environ["TEST_SRCDIR"]) / os.environ["CST_BINARY"]
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    xml = tmp_path / f"{tarball.stem}.xml"
    runner.run(runner.Spec(binary=binary, image=tarball, configs=[config], driver="tar"), xml)
    return {case.name: case.passed for case in runner.parse_report(xml.read_bytes())}


def _cut_files(tarball: Path) -> dict[str, tuple[int, bytes]]:
    """Each entry of the cut's one layer: its mode and, for a regular file, its bytes."""
    with tarfile.open(tarball) as tar:
        (layer,) = [m for m in tar.getmembers() if m.name.startswith("blobs/") and m.size > 1000]
        with tarfile.open(fileobj=tar.extractfile(layer)) as inner:
            return {
                m.name: (m.mode, inner.extractfile(m).read() if m.isreg() else b"")  # type: ignore[union-attr]
                for m in inner.getmembers()
            }


def _cut_names(tarball: Path) -> set[str]:
    return set(_cut_files(tarball))


def test_the_binary_judges_the_cut_image_as_the_whole_one(tmp_path: Path, image_dir: Path):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    whole, cut = tmp_path / "whole.tar", tmp_path / "cut.tar"
    assert to_tarball.main([str(image_dir), str(whole)]) == 0
    assert to_tarball.main([str(image_dir), str(cut), str(config)]) == 0
    files = _cut_files(cut)
    names = set(files)
    assert "usr/lib/big.so" in names  # named by a test
    assert "app" in names and "app/main.py" in names
    assert not {"old/file", "usr/lib/gone.txt"} & names
    # Files only existence tests name come empty, with their type, mode and owner.
    assert files["usr/bin/python3.13"] == (0o755, b"")
    assert files["app/main.py"] == (0o644, b"")
    assert files["usr/lib/big.so"] == (0o644, b"")
    # Files a content test reads keep their bytes, reached directly, through a hard link
    # (/etc/issue) or through a symbolic link (/etc/motd).
    assert files["etc/os-release"][1] == files["etc/issue"][1] == b"ID=debian\n"
    assert files["usr/lib/motd"][1] == b"welcome\n"
    assert files["old/new"][1] == b"only this"
    got_whole, got_cut = _verdicts(tmp_path, whole), _verdicts(tmp_path, cut)
    # The one difference: the binary's own unpacking (go-containerregistry's mutate.Extract)
    # ignores opaque folders, so in the whole image it still sees /old/file; the cut hides it,
    # as a runtime does.
    opaque = "File Existence Test: hidden by opaque"
    assert got_cut.pop(opaque) is True
    got_whole.pop(opaque)
    assert got_cut == got_whole
    assert sorted(k.split(": ", 1)[1] for k, ok in got_cut.items() if not ok) == [
        "a library that is there",
        "missing",
        "wrong content",
        "wrong mode",
    ]  # the four meant to fail, and only they


def test_zstd_layers_are_cut_as_the_same_image_in_plain_tar(
    tmp_path: Path, image_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    program = str(Path(os.environ["TEST_SRCDIR"]) / os.environ["ZSTD"])
    monkeypatch.setenv(zstd.ENV, program)  # the layout writer reads zstd layers' diff_ids
    packed = tmp_path / "packed"
    _write(packed, [_layer(_lower), _layer(_upper)], program)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    plain_cut, zstd_cut = tmp_path / "plain.tar", tmp_path / "zstd.tar"
    assert to_tarball.main([str(image_dir), str(plain_cut), str(config)]) == 0
    assert to_tarball.main([f"--zstd={program}", str(packed), str(zstd_cut), str(config)]) == 0
    assert _cut_names(zstd_cut) == _cut_names(plain_cut)
    assert "usr/bin/python3.13" in _cut_names(zstd_cut)
    assert _verdicts(tmp_path, zstd_cut) == _verdicts(tmp_path, plain_cut)


def test_an_unreadable_config_is_one_error_line(tmp_path: Path, image_dir: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    assert to_tarball.main([str(image_dir), str(tmp_path / "o.tar"), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("to_tarball: error: ") and "bad.yaml" in err and err.count("\n") == 1
    assert not (tmp_path / "o.tar").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
