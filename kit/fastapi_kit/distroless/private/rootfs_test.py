"""Tests for rootfs.py: a whole layer built from small, made-up .debs."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from distroless.private import rootfs
from distroless.private.fakedeb import F, make_deb, make_elf, make_tar

LIBDIR = "usr/lib/x86_64-linux-gnu"
LDSO = "/lib64/ld-linux-x86-64.so.2"
CERT_A = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"  # no final newline
CERT_B = b"-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"


def d(path: str, mode: int = 0o755) -> F:
    return F(path, kind="dir", mode=mode)


def link(path: str, target: str) -> F:
    return F(path, kind="symlink", mode=0o777, target=target)


def packages() -> dict[str, tuple[str, list[F], str | None]]:
    """name -> (arch, files, md5sums) of a tiny but complete distribution."""
    return {
        "base-files": (
            "amd64",
            [
                d("."),
                d("etc"),
                d("tmp", 0o1777),
                d("root", 0o700),
                d("home"),
                d("usr"),
                d("usr/bin"),
                d("usr/lib"),
                d("usr/lib64"),
                d("usr/sbin"),
                d("var"),
                d("var/tmp", 0o1777),
                F("usr/lib/os-release", b'PRETTY_NAME="Test"\n'),
                link("etc/os-release", "../usr/lib/os-release"),
                link("bin", "usr/bin"),
                link("lib", "usr/lib"),
                link("lib64", "usr/lib64"),
                link("sbin", "usr/sbin"),
                d("usr/share"),
                d("usr/share/doc"),
                d("usr/share/doc/base-files"),
                F("usr/share/doc/base-files/README", b"readme\n"),
                F("usr/share/doc/base-files/copyright", b"licence\n"),
                link("usr/share/doc/base-files/FAQ", "README"),
            ],
            None,
        ),
        "ca-certificates": (
            "all",
            [
                d("usr/share/ca-certificates/mozilla"),
                F("usr/share/ca-certificates/mozilla/B.crt", CERT_B),
                F("usr/share/ca-certificates/mozilla/A.crt", CERT_A),
                F("usr/sbin/update-ca-certificates", b"#!/bin/sh\n", 0o755),
            ],
            None,
        ),
        "libc6": (
            "amd64",
            [
                d(LIBDIR),
                F(f"{LIBDIR}/ld-linux-x86-64.so.2", make_elf([]), 0o755),
                F(f"{LIBDIR}/libc.so.6", make_elf(["ld-linux-x86-64.so.2"]), 0o755),
                link(
                    "usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
                ),
                F(f"{LIBDIR}/gconv/BIG5.so", b"big5"),
                F(f"{LIBDIR}/gconv/UTF-16.so", b"utf16"),
            ],
            None,
        ),
        "python3.13-minimal": (
            "amd64",
            [
                F("usr/bin/python3.13", make_elf(["libc.so.6"], interp=LDSO), 0o4755),
                F("usr/share/man/man1/python3.13.1.gz", b"man"),
                F("usr/lib/python3.13/os.py", b"# os\n"),
                F("usr/lib/python3.13/__pycache__/os.cpython-313.pyc", b"pyc"),
            ],
            "00000000000000000000000000000000  usr/bin/python3.13\n"
            "11111111111111111111111111111111  usr/share/man/man1/python3.13.1.gz\n",
        ),
        "dash": ("amd64", [F("bin/sh", b"#!shell", 0o755)], None),
        "tzdata": (
            "all",
            [
                F("usr/share/zoneinfo/Etc/UTC", b"TZif"),
                link("usr/share/zoneinfo/localtime", "/etc/localtime"),
            ],
            None,
        ),
    }


def write_inputs(
    tmp: Path, corrupt: str | None = None, pkgs: dict | None = None
) -> tuple[Path, list[Path]]:
    """Write the .debs and a lock for them; `corrupt` names a package whose hash is wrong."""
    lock, debs = [], []
    for name, (arch, files, md5) in sorted((pkgs or packages()).items()):
        blob = make_deb(name, files, arch=arch, md5sums=md5)
        filename = f"pool/main/x/{name}/{name}_1.0_{arch}.deb"
        path = tmp / Path(filename).name
        path.write_bytes(blob)
        digest = hashlib.sha256(blob).hexdigest()
        if name == corrupt:
            digest = "0" * 64
        lock.append(
            {"name": name, "version": "1.0", "arch": arch, "sha256": digest, "filename": filename}
        )
        debs.append(path)
    lock_path = tmp / "packages.lock.json"
    lock_path.write_text(json.dumps(lock))
    return lock_path, debs


def members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar.getmembers()}


def read(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    lock, debs = write_inputs(tmp_path)
    out = tmp_path / "base.tar"
    assert rootfs.main(["--lock", str(lock), "--out", str(out), *map(str, debs)]) == 0
    return out


def test_accounts_and_special_directories(layer):
    m = members(layer)
    assert read(layer, "etc/passwd").startswith(b"root:x:0:0:root:/root:/sbin/nologin\n")
    assert b"nonroot:x:65532:" in read(layer, "etc/group")
    home = m["home/nonroot"]
    assert (home.uid, home.gid, home.mode, home.isdir()) == (65532, 65532, 0o700, True)
    assert (m["tmp"].mode, m["root"].mode) == (0o1777, 0o700)
    assert m["var/tmp"].mode == 0o755


def test_no_shell_no_setuid_all_root_owned(layer):
    m = members(layer)
    assert "bin/sh" not in m and "usr/bin/sh" not in m
    assert "usr/sbin/update-ca-certificates" not in m
    assert m["usr/bin/python3.13"].mode == 0o755
    assert m["usr/bin/python3"].issym() and m["usr/bin/python3"].linkname == "python3.13"
    for name, info in m.items():
        if name != "home/nonroot":
            assert (info.uid, info.gid) == (0, 0), name
        assert not info.mode & 0o6000, name
        if name != "tmp" and not info.issym():
            assert not info.mode & 0o002, name


def test_docs_dropped_copyright_kept(layer):
    m = members(layer)
    assert "usr/share/doc/base-files/copyright" in m
    assert "usr/share/doc/base-files/README" not in m
    assert "usr/share/doc/base-files/FAQ" not in m  # its target was dropped
    assert "usr/share/man" not in m  # emptied by the policy
    assert not [n for n in m if "__pycache__" in n]
    assert f"{LIBDIR}/gconv/UTF-16.so" in m and f"{LIBDIR}/gconv/BIG5.so" not in m


def test_generated_files(layer):
    assert read(layer, "etc/ssl/certs/ca-certificates.crt") == CERT_A + b"\n" + CERT_B
    m = members(layer)
    assert m["usr/lib/ssl/cert.pem"].linkname == "/etc/ssl/certs/ca-certificates.crt"
    assert m["etc/localtime"].linkname == "/usr/share/zoneinfo/Etc/UTC"
    assert "usr/share/ca-certificates" not in m
    status = read(layer, "var/lib/dpkg/status.d/python3.13-minimal").decode()
    assert status.startswith("Package: python3.13-minimal\nVersion: 1.0\n")
    md5 = read(layer, "var/lib/dpkg/status.d/python3.13-minimal.md5sums").decode()
    assert md5 == "00000000000000000000000000000000  usr/bin/python3.13\n"


def test_entries_sorted_and_build_reproducible(tmp_path, layer):
    with tarfile.open(layer) as tar:
        names = tar.getnames()
        assert all(info.mtime == 0 for info in tar.getmembers())
    assert names == sorted(names)
    again = tmp_path / "again.tar"
    lock, debs = tmp_path / "packages.lock.json", sorted(tmp_path.glob("*.deb"), reverse=True)
    assert rootfs.main(["--lock", str(lock), "--out", str(again), *map(str, debs)]) == 0
    assert again.read_bytes() == layer.read_bytes()


def test_hash_mismatch_fails(tmp_path):
    lock, debs = write_inputs(tmp_path, corrupt="libc6")
    with pytest.raises(rootfs.BuildError, match=r"libc6_1.0_amd64.deb: sha256 \w+ does not match"):
        rootfs.build(lock, debs)


def test_missing_and_unknown_debs(tmp_path):
    lock, debs = write_inputs(tmp_path)
    with pytest.raises(rootfs.BuildError, match=r"no .deb given for locked package.*tzdata"):
        rootfs.build(lock, [p for p in debs if "tzdata" not in p.name])
    extra = tmp_path / "extra_1_all.deb"
    extra.write_bytes(make_deb("extra", []))
    with pytest.raises(rootfs.BuildError, match=r"extra_1_all.deb: .deb not in the lock"):
        rootfs.build(lock, [*debs, extra])


def test_version_must_match_lock(tmp_path):
    lock, debs = write_inputs(tmp_path)
    entries = json.loads(lock.read_text())
    entries[0]["version"] = "2.0"
    lock.write_text(json.dumps(entries))
    with pytest.raises(rootfs.BuildError, match=r"control Version is '1.0', lock '2.0'"):
        rootfs.build(lock, debs)


def test_optional_packages_only_with_optional(tmp_path):
    pkgs = packages()
    pkgs["libextra1"] = ("amd64", [F("usr/lib/x86_64-linux-gnu/libextra.so.1", make_elf([]))], None)
    lock, debs = write_inputs(tmp_path, pkgs=pkgs)
    entries = json.loads(lock.read_text())
    for e in entries:
        if e["name"] == "libextra1":
            e["optional"] = True
    lock.write_text(json.dumps(entries))
    assert "usr/lib/x86_64-linux-gnu/libextra.so.1" not in rootfs.build(lock, debs)
    tree = rootfs.build(lock, debs, with_optional=True)
    assert "usr/lib/x86_64-linux-gnu/libextra.so.1" in tree
    # dpkg's record of what is installed says so too (SBOM scanners read it).
    assert any("libextra1" in name for name in tree if name.startswith(rootfs.STATUS_DIR))


def test_an_amd64_lock_is_not_an_arm64_base(tmp_path):
    lock, debs = write_inputs(tmp_path)
    with pytest.raises(
        rootfs.BuildError, match=r"is locked for amd64, not arm64; give the arm64 lock"
    ):
        rootfs.build(lock, debs, arch="arm64")


def test_an_elf_file_for_another_cpu_fails(tmp_path):
    original = packages()
    arch, files, md5 = original["python3.13-minimal"]
    elf = bytearray(make_elf(["libc.so.6"], interp=LDSO))
    elf[18:20] = (183).to_bytes(2, "little")  # AArch64, in an amd64 base
    original["python3.13-minimal"] = (
        arch,
        [F("usr/bin/python3.13", bytes(elf), 0o755), *files[1:]],
        md5,
    )
    lock, debs = write_inputs(tmp_path, pkgs=original)
    with pytest.raises(
        rootfs.BuildError, match=r"python3.13 is built for ELF machine 183, not amd64"
    ):
        rootfs.build(lock, debs)


def test_missing_library_fails(tmp_path):
    original = packages()
    arch, files, md5 = original["python3.13-minimal"]
    needy = F("usr/bin/python3.13", make_elf(["libc.so.6", "libgone.so.1"], interp=LDSO), 0o755)
    original["python3.13-minimal"] = (arch, [needy, *files[1:]], md5)
    lock, debs = write_inputs(tmp_path, pkgs=original)
    with pytest.raises(rootfs.BuildError, match=r"python3.13 needs libgone.so.1"):
        rootfs.build(lock, debs)


def test_two_packages_same_file_fails():
    tree: rootfs.Tree = {}
    owners: dict[str, str] = {}
    rootfs.merge(tree, owners, "a", make_tar([F("etc/x", b"1")]))
    rootfs.merge(tree, owners, "same", make_tar([F("etc/x", b"1")]))
    with pytest.raises(rootfs.BuildError, match="/etc/x is shipped by both a and b"):
        rootfs.merge(tree, owners, "b", make_tar([F("etc/x", b"2")]))


def test_problems_finds_a_shell():
    tree: rootfs.Tree = {}
    tree["bin"] = rootfs.Entry("bin", rootfs.SYMLINK, 0o777, target="usr/bin")
    tree["usr"] = rootfs.Entry("usr", rootfs.DIR, 0o755)
    tree["usr/bin"] = rootfs.Entry("usr/bin", rootfs.DIR, 0o755)
    tree["usr/bin/dash"] = rootfs.Entry("usr/bin/dash", rootfs.FILE, 0o755, data=b"x")
    tree["usr/bin/sh"] = rootfs.Entry("usr/bin/sh", rootfs.SYMLINK, 0o777, target="dash")
    found = rootfs.problems(tree)
    assert "/bin/sh exists" in found
    assert "/usr/bin/dash is a program other than the interpreter" in found


def test_main_reports_one_line_and_writes_nothing(tmp_path, capsys):
    lock, debs = write_inputs(tmp_path, corrupt="tzdata")
    out = tmp_path / "out.tar"
    assert rootfs.main(["--lock", str(lock), "--out", str(out), *map(str, debs)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rootfs: tzdata_1.0_all.deb: sha256")
    assert not out.exists()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))


def test_precompile_adds_unchecked_hash_pycs_and_follows_links(tmp_path: Path):
    from kit_lib.tarball import DIR, FILE, SYMLINK, Entry

    dirs = ["usr", "usr/lib", "usr/lib/python3.13", "usr/lib/python3.13/json", "etc"]
    tree = {p: Entry(p, DIR, 0o755) for p in [*dirs, "etc/python3.13"]}
    tree |= {
        "usr/lib/python3.13/json/__init__.py": Entry(
            "usr/lib/python3.13/json/__init__.py", FILE, 0o644, data=b"X = 1\n"
        ),
        "etc/python3.13/sitecustomize.py": Entry(
            "etc/python3.13/sitecustomize.py", FILE, 0o644, data=b"Y = 2\n"
        ),
        "usr/lib/python3.13/sitecustomize.py": Entry(
            "usr/lib/python3.13/sitecustomize.py",
            SYMLINK,
            0o777,
            target="/etc/python3.13/sitecustomize.py",
        ),
    }
    listing = tmp_path / "list.txt"
    listing.write_text(
        "# comment\nusr/lib/python3.13/json/__init__.py\nusr/lib/python3.13/sitecustomize.py\n"
    )
    rootfs.precompile(tree, listing)
    tag = __import__("sys").implementation.cache_tag
    pyc = tree[f"usr/lib/python3.13/json/__pycache__/__init__.{tag}.pyc"].data
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never re-checked
    assert f"usr/lib/python3.13/__pycache__/sitecustomize.{tag}.pyc" in tree
    listing.write_text("usr/lib/python3.13/missing.py\n")
    with pytest.raises(rootfs.BuildError, match=r"missing\.py is not a file"):
        rootfs.precompile(tree, listing)


def test_omit_source_replaces_files_by_their_bytecode_and_keeps_links(tmp_path: Path):
    import marshal
    import sys

    from kit_lib.tarball import DIR, FILE, SYMLINK, Entry

    lib = "usr/lib/python3.13"
    tree = {p: Entry(p, DIR, 0o755) for p in ["usr", "usr/lib", lib, f"{lib}/json", "etc"]}
    tree |= {
        f"{lib}/json/__init__.py": Entry(f"{lib}/json/__init__.py", FILE, 0o644, data=b"X = 1\n"),
        "etc/sitecustomize.py": Entry("etc/sitecustomize.py", FILE, 0o644, data=b"Y = 2\n"),
        f"{lib}/sitecustomize.py": Entry(
            f"{lib}/sitecustomize.py", SYMLINK, 0o777, target="/etc/sitecustomize.py"
        ),
        f"{lib}/_sysconfig_linux.py": Entry(
            f"{lib}/_sysconfig_linux.py", FILE, 0o644, data=b"Z = 3\n"
        ),
        f"{lib}/_sysconfig.py": Entry(
            f"{lib}/_sysconfig.py", SYMLINK, 0o777, target="_sysconfig_linux.py"
        ),
    }
    listing = tmp_path / "list.txt"
    listing.write_text(
        f"{lib}/json/__init__.py\n{lib}/sitecustomize.py\n{lib}/_sysconfig_linux.py\n"
    )
    rootfs.precompile(tree, listing, omit_source=True)
    tag = sys.implementation.cache_tag
    assert f"{lib}/json/__init__.py" not in tree
    assert f"{lib}/json/__pycache__/__init__.{tag}.pyc" not in tree
    code = marshal.loads(tree[f"{lib}/json/__init__.pyc"].data[16:])
    assert code.co_filename == f"/{lib}/json/__init__.py"
    # Lines stay, columns are left out (no debug ranges).
    assert {p[0] for p in code.co_positions()} >= {1}
    assert {p[2] for p in code.co_positions()} == {None}
    # A link keeps its source; its bytecode goes to __pycache__ as before.
    assert tree[f"{lib}/sitecustomize.py"].kind == SYMLINK
    assert f"{lib}/__pycache__/sitecustomize.{tag}.pyc" in tree
    # A link to a module that lost its source now links to its bytecode.
    assert f"{lib}/_sysconfig.py" not in tree
    assert tree[f"{lib}/_sysconfig.pyc"].target == "_sysconfig_linux.pyc"


def test_omit_source_without_precompile_is_one_line(tmp_path: Path, capsys):
    lock = tmp_path / "lock.json"
    lock.write_text("[]")
    out = tmp_path / "base.tar"
    with pytest.raises(SystemExit):
        rootfs.main(["--lock", str(lock), "--out", str(out), "--omit-source", "x.deb"])
    assert "--omit-source needs --precompile" in capsys.readouterr().err
    assert not out.exists()
