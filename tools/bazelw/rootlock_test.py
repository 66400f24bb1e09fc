"""rootlock: the lock format, the diff a relock prints, fetch's checks, and the installed-set check.

fetch runs against a mirror in a temporary folder (file:// URLs). Its InRelease is checked by a
stand-in for gpgv that accepts one exact signed file and rejects everything else, because making
a real OpenPGP signature needs gpg, which the managed root does not ship; that gpgv is called, and
that its verdict and output are what fetch trusts, is what these tests pin down.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import subprocess
import tarfile
from pathlib import Path

import pytest

from tools.bazelw import rootlock

SHA = "ab" * 32


def pkg(name: str, version: str = "1.0-1", sha: str = SHA) -> rootlock.Package:
    return rootlock.Package(name, version, "amd64", sha, f"pool/main/{name[0]}/{name}/{name}.deb")


def test_lock_round_trips_sorted_with_header(tmp_path: Path) -> None:
    lock = tmp_path / "root.lock"
    lock.write_text(rootlock.render_lock({"suite": "forky"}, [pkg("zsh"), pkg("bash")]))
    header, packages = rootlock.read_lock(lock)
    assert header == {"suite": "forky"}
    assert [p.name for p in packages] == ["bash", "zsh"]


def test_malformed_lock_line_names_the_line(tmp_path: Path) -> None:
    lock = tmp_path / "root.lock"
    lock.write_text("# suite: forky\nbash 5.2 amd64 short pool/b.deb\n")
    with pytest.raises(rootlock.LockError, match=r"root.lock:2: expected"):
        rootlock.read_lock(lock)


def test_empty_lock_says_how_to_relock(tmp_path: Path) -> None:
    lock = tmp_path / "root.lock"
    lock.write_text("# suite: forky\n")
    with pytest.raises(rootlock.LockError, match=r"relock: \./bazelw --relock"):
        rootlock.read_lock(lock)


def test_diff_names_added_removed_and_changed() -> None:
    old = [pkg("a"), pkg("b"), pkg("c", "1")]
    new = [pkg("b"), pkg("c", "2"), pkg("d")]
    assert rootlock.diff(old, new) == ["- a 1.0-1", "~ c 1 -> 2", "+ d 1.0-1"]
    assert rootlock.diff(new, new) == []


def test_apt_show_stanzas_become_packages() -> None:
    text = (
        "Package: libc6\nVersion: 2.41-6\nArchitecture: amd64\nDescription: GNU C\n"
        " continued line\nFilename: pool/main/g/glibc/libc6_2.41-6_amd64.deb\n"
        f"SHA256: {SHA}\n\nPackage: tzdata\nVersion: 2025b-1\nArchitecture: all\n"
        f"Filename: pool/main/t/tzdata/tzdata_2025b-1_all.deb\nSHA256: {SHA}\n"
    )
    got = rootlock.from_apt_show(text)
    assert [(p.name, p.arch, p.filename.rsplit("/", 1)[1]) for p in got] == [
        ("libc6", "amd64", "libc6_2.41-6_amd64.deb"),
        ("tzdata", "all", "tzdata_2025b-1_all.deb"),
    ]
    with pytest.raises(rootlock.LockError, match="without 'SHA256'"):
        rootlock.from_apt_show("Package: x\nVersion: 1\nArchitecture: all\nFilename: f\n")


def test_epoch_colon_is_escaped_like_apt_names_its_files() -> None:
    assert pkg("perl", "1:5.40-1").deb == "perl_1%3a5.40-1_amd64.deb"


def test_check_installed_reports_extra_and_missing(tmp_path: Path) -> None:
    lock = tmp_path / "root.lock"
    lock.write_text(rootlock.render_lock({}, [pkg("a"), pkg("b")]))
    rootlock.check_installed(lock, "a 1.0-1 amd64\nb 1.0-1 amd64\n")
    with pytest.raises(
        rootlock.LockError, match=r"1 extra, 1 missing; installed but not locked: c"
    ):
        rootlock.check_installed(lock, "a 1.0-1 amd64\nc 1.0-1 amd64\n")


# --- fetch against a mirror on disk ---


def make_deb(path: Path, name: str, version: str) -> bytes:
    """A real (tiny) .deb: ar archive of debian-binary, control.tar.gz and data.tar.gz."""

    def tgz(files: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for n, data in files.items():
                info = tarfile.TarInfo(n)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    control = f"Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: t <t@t>\n"
    control += "Description: test\n"
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", tgz({"./control": control.encode()})),
        ("data.tar.gz", tgz({})),
    ]
    out = b"!<arch>\n"
    for n, data in members:
        out += f"{n:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) % 2 else b""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)
    return out


@pytest.fixture
def mirror(tmp_path: Path) -> dict:
    """A mirror serving one package, hello 1.0-1, and a lock naming it."""
    root = tmp_path / "mirror"
    filename = "pool/main/h/hello/hello_1.0-1_amd64.deb"
    data = make_deb(root / filename, "hello", "1.0-1")
    sha = hashlib.sha256(data).hexdigest()
    packages = lzma.compress(
        f"Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nFilename: {filename}\n"
        f"SHA256: {sha}\n".encode()
    )
    index = root / "dists/forky/main/binary-amd64/Packages.xz"
    index.parent.mkdir(parents=True)
    index.write_bytes(packages)
    release = (
        "Origin: Debian\nSuite: testing\nValid-Until: Sat, 01 Nov 2025 00:00:00 UTC\nSHA256:\n"
        f" {hashlib.sha256(packages).hexdigest()} {len(packages)} main/binary-amd64/Packages.xz\n"
    )
    (root / "dists/forky/InRelease").write_text("SIGNED\n" + release)
    # gpgv's stand-in: "verifies" exactly this InRelease, writing the signed text to --output.
    gpgv = tmp_path / "gpgv"
    gpgv.write_text(
        "#!/bin/sh\nout=$5; src=$6\n"
        '[ "$(head -1 "$src")" = SIGNED ] || { echo \'gpgv: BAD signature\' >&2; exit 1; }\n'
        'tail -n +2 "$src" > "$out"\n'
    )
    gpgv.chmod(0o755)
    lock = tmp_path / "root.lock"
    lock.write_text(rootlock.render_lock(
        {"suite": "forky", "architecture": "amd64"},
        [rootlock.Package("hello", "1.0-1", "amd64", sha, filename)],
    ))  # fmt: skip
    keyring = tmp_path / "keyring.gpg"
    keyring.write_bytes(b"")
    return {"root": root, "url": root.as_uri(), "lock": lock, "gpgv": str(gpgv),
            "keyring": keyring, "cache": tmp_path / "cache", "sha": sha}  # fmt: skip


def run_fetch(m: dict) -> None:
    rootlock.fetch(m["lock"], m["cache"], m["url"], m["keyring"], m["gpgv"])


def test_fetch_downloads_verifies_and_indexes(mirror: dict, capsys) -> None:
    run_fetch(mirror)
    deb = mirror["cache"] / "debs/hello_1.0-1_amd64.deb"
    assert hashlib.sha256(deb.read_bytes()).hexdigest() == mirror["sha"]
    index = (mirror["cache"] / "debs/Packages").read_text()
    assert "Package: hello\n" in index and "Filename: ./hello_1.0-1_amd64.deb\n" in index
    assert f"SHA256: {mirror['sha']}" in index
    # The index expired (a frozen mirror): said once, explicitly, and accepted.
    assert "expired on 2025-11-01" in capsys.readouterr().err


def test_fetch_with_everything_cached_needs_no_mirror(mirror: dict) -> None:
    run_fetch(mirror)
    mirror["url"] = (mirror["root"].parent / "gone").as_uri()
    run_fetch(mirror)  # offline rebuild: nothing fetched


def test_fetch_replaces_a_corrupt_cached_file(mirror: dict) -> None:
    run_fetch(mirror)
    deb = mirror["cache"] / "debs/hello_1.0-1_amd64.deb"
    deb.write_bytes(b"tampered")
    run_fetch(mirror)
    assert hashlib.sha256(deb.read_bytes()).hexdigest() == mirror["sha"]


def test_fetch_refuses_a_bad_signature(mirror: dict) -> None:
    release = mirror["root"] / "dists/forky/InRelease"
    release.write_text(release.read_text().replace("SIGNED", "FORGED", 1))
    with pytest.raises(rootlock.LockError, match=r"signature check failed \(gpgv: BAD signature\)"):
        run_fetch(mirror)


def test_fetch_refuses_an_index_the_release_does_not_vouch_for(mirror: dict) -> None:
    index = mirror["root"] / "dists/forky/main/binary-amd64/Packages.xz"
    index.write_bytes(lzma.compress(b"Package: other\n"))
    with pytest.raises(rootlock.LockError, match="sha256 differs from the signed Release"):
        run_fetch(mirror)


def test_a_version_the_mirror_dropped_names_it_and_the_relock(mirror: dict) -> None:
    lock = mirror["lock"]
    lock.write_text(lock.read_text().replace("1.0-1", "0.9-1"))
    with pytest.raises(rootlock.LockError) as e:
        run_fetch(mirror)
    assert str(e.value) == (
        "the mirror no longer serves hello 0.9-1 (locked in root.lock); relock: ./bazelw --relock"
    )


def test_a_deb_with_other_bytes_than_locked_is_refused(mirror: dict) -> None:
    deb = mirror["root"] / "pool/main/h/hello/hello_1.0-1_amd64.deb"
    deb.write_bytes(deb.read_bytes() + b"x")
    with pytest.raises(rootlock.LockError, match="sha256 differs from the lock"):
        run_fetch(mirror)
    assert not (mirror["cache"] / "debs/hello_1.0-1_amd64.deb").exists()


def test_cli_prints_one_error_line_and_exits_1(mirror: dict, capsys) -> None:
    code = rootlock.main(["fetch", "--lock", str(mirror["lock"]), "--cache", str(mirror["cache"]),
                          "--mirror", mirror["url"], "--keyring", "/nonexistent.gpg"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bazelw: error: no Debian archive keyring")


def test_cli_write_prints_the_diff(tmp_path: Path, capsys) -> None:
    lock = tmp_path / "root.lock"
    lock.write_text(rootlock.render_lock({}, [pkg("a")]))
    stanzas = tmp_path / "stanzas"
    stanzas.write_text(f"Package: a\nVersion: 2\nArchitecture: amd64\nFilename: f\nSHA256: {SHA}\n")
    assert rootlock.main(["write", "--lock", str(lock), "--stanzas", str(stanzas),
                          "--header", "suite=forky"]) == 0  # fmt: skip
    assert capsys.readouterr().out == "~ a 1.0-1 -> 2\n"
    assert "# suite: forky" in lock.read_text()


def test_dpkg_deb_reads_the_test_deb(tmp_path: Path) -> None:
    """The fixture is a real .deb (the flat index depends on dpkg-deb reading it)."""
    make_deb(tmp_path / "x.deb", "x", "1")
    out = subprocess.run(["dpkg-deb", "--field", str(tmp_path / "x.deb"), "Package"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert out == "x\n"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
