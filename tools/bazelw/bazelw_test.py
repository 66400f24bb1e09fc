"""bazelw's pure parts (sourced with BAZELW_SOURCE_ONLY=1) and its early error paths (run whole).

Each case runs bash on the real ./bazelw, so what is tested is the script users run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BAZELW = Path(os.environ.get("TEST_SRCDIR", "."), "_main", "bazelw").resolve()


def bash(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `script` after sourcing bazelw's functions; the result's stdout/stderr as text."""
    return subprocess.run(
        ["bash", "-c", f'BAZELW_SOURCE_ONLY=1 source "{BAZELW}"; set +e; {script}'],
        capture_output=True, text=True, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_mirror_from_deb822_and_one_line_sources_without_security(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://archive.test/debian\nSuites: trixie trixie-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://archive.test/debian-security\n"
        "Suites: trixie-security\nComponents: main\n"
    )
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://other.test/debian trixie main\n"
        "deb http://other.test/debian-security trixie-security main\n"
    )
    r = bash("host_mirror", {"BAZELW_APT_DIR": str(tmp_path)})
    assert r.stdout.split() == ["http://archive.test/debian", "http://other.test/debian"]
    r = bash("debian_mirror", {"BAZELW_APT_DIR": str(tmp_path)})
    assert r.stdout == "http://archive.test/debian\n"


def test_mirror_override_and_missing_mirror(tmp_path: Path) -> None:
    r = bash(
        "debian_mirror",
        {"BAZELW_APT_DIR": str(tmp_path), "BAZELW_DEBIAN_MIRROR": "http://m.test/d/"},
    )
    assert r.stdout == "http://m.test/d\n"
    r = bash("debian_mirror", {"BAZELW_APT_DIR": str(tmp_path), "BAZELW_DEBIAN_MIRROR": ""})
    assert r.returncode == 1
    assert r.stderr == (
        "bazelw: error: no Debian mirror found in this machine's apt sources; "
        "set BAZELW_DEBIAN_MIRROR\n"
    )


def test_subordinate_range_by_name_or_uid(tmp_path: Path) -> None:
    subuid = tmp_path / "subuid"
    subuid.write_text("alice:100000:65536\n1001:300000:70000\nbob:200000:0\n")
    assert bash(f"subid_range alice {subuid} 1000").stdout == "100000 65536\n"
    assert bash(f"subid_range carol {subuid} 1001").stdout == "300000 70000\n"
    assert bash(f"subid_range bob {subuid} 1002").stdout == ""  # an empty range is none


def test_split_args_puts_repo_env_after_the_command() -> None:
    r = bash(
        "REPO_ENV=(--repo_env=A=1); split_args --output_base=/o build --config=ci //:x; "
        'printf "%s|" "${STARTUP[@]}" ; echo; printf "%s|" "${ARGS[@]}"; echo; echo "$COMMAND"'
    )
    assert r.stdout.splitlines() == [
        "--output_base=/o|",
        "build|--repo_env=A=1|--config=ci|//:x|",
        "build",
    ]
    r = bash('REPO_ENV=(--repo_env=A=1); split_args shutdown; printf "%s|" "${ARGS[@]}"')
    assert r.stdout == "shutdown|"  # a command that takes no repository settings


def test_safe_dir_accepts_a_private_folder_and_refuses_others(tmp_path: Path) -> None:
    me = os.getuid()
    ok = tmp_path / "ok"
    ok.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    assert bash(f"check_safe_dir {ok} {me}").returncode == 0
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    r = bash(f"check_safe_dir {tmp_path / 'open'} {me}")
    assert (
        r.returncode == 1 and r.stdout == f"{tmp_path / 'open'} is writable by others (mode 777)\n"
    )
    (tmp_path / "link").symlink_to(ok)
    assert bash(f"check_safe_dir {tmp_path / 'link'} {me}").stdout.endswith("is a symbolic link\n")
    # A folder inside one that another user may write: they could swap it.
    (tmp_path / "open/inner").mkdir(mode=0o755)
    r = bash(f"check_safe_dir {tmp_path / 'open/inner'} {me}")
    assert r.returncode == 1 and "open is writable by others" in r.stdout


def test_safe_dir_refuses_a_folder_of_another_user(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder of another user needs root (of this namespace)")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    os.chown(theirs, 4321, 4321)
    r = bash(f"check_safe_dir {theirs} 0")
    assert r.returncode == 1 and r.stdout == f"{theirs} belongs to uid 4321, not to you or root\n"


def copy_of_bazelw(tmp_path: Path) -> Path:
    """bazelw in a workspace of its own (it finds its lock and helper next to itself)."""
    ws = tmp_path / "ws"
    (ws / "tools/bazelw").mkdir(parents=True)
    shutil.copy(BAZELW, ws / "bazelw")
    return ws / "bazelw"


def run_bazelw(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BAZELW_HOME": str(home), "HOME": str(home.parent)}
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env)


def test_an_unsafe_cache_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    script = copy_of_bazelw(tmp_path)
    tmp_path.chmod(0o755)
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(0o777)
    r = run_bazelw(script, home, "version")
    assert r.returncode == 1
    assert r.stderr == (
        f"bazelw: error: unsafe cache folder: {home} is writable by others (mode 777); "
        "set BAZELW_HOME to a folder only you can write\n"
    )


def test_a_missing_lock_names_the_relock(tmp_path: Path) -> None:
    script = copy_of_bazelw(tmp_path)
    tmp_path.chmod(0o755)
    r = run_bazelw(script, tmp_path / "cache", "version")
    assert r.returncode == 1
    assert r.stderr.endswith(
        f"no {script.parent}/tools/bazelw/root.lock; make it with: {script} --relock\n"
    )
    assert r.stderr.count("\n") == 1


def test_the_committed_lock_matches_the_package_list() -> None:
    """root.lock was resolved for exactly bazelw's PACKAGES (bootstrap stops otherwise)."""
    lock = Path(os.environ.get("TEST_SRCDIR", "."), "_main", "tools/bazelw/root.lock")
    want = bash("packages_id").stdout.strip()
    assert f"# packages: {want}\n" in lock.read_text()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
