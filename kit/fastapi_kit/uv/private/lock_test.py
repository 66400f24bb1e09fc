"""The lock tool on a team's own uv project: a uv.lock made here against a folder of wheels.

The wheels are written by the test (so the lock names file paths only, no index), the uv.lock by
uv itself, as a team would commit it; the tool must read it as it is (`--frozen`) and give each
member its runtime closure as uv resolves it: extras followed, dependency groups and other
platforms' packages left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import lock
import pytest
from kit_lib import runfiles

UV_WHEEL = os.environ["UV_WHEEL"]


def _wheel(folder: Path, name: str, requires: list[str] = (), extras: list[str] = ()) -> None:
    """A minimal pure-Python wheel: one module, METADATA with Requires-Dist lines."""
    dist = f"{name}-1.0"
    meta = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"]
    meta += [f"Provides-Extra: {e}\n" for e in extras]
    meta += [f"Requires-Dist: {r}\n" for r in requires]
    files = {
        f"{name}/__init__.py": "",
        f"{dist}.dist-info/METADATA": "".join(meta),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as zf:
        for path, text in {**files, f"{dist}.dist-info/RECORD": record}.items():
            zf.writestr(path, text)


@pytest.fixture(scope="module")
def uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runfiles.binary_from_wheel(
        runfiles.runfile(UV_WHEEL), "uv", tmp_path_factory.mktemp("uv")
    )


@pytest.fixture
def project(tmp_path: Path, uv: Path) -> Path:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "alpha", ["delta", 'beta ; extra == "fast"'], ["fast"])
    _wheel(wheels, "beta")
    _wheel(wheels, "delta")
    _wheel(wheels, "gamma")
    _wheel(wheels, "epsilon")
    root = tmp_path / "theirs"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("app = None\n")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "Theirs"\nversion = "1.0"\nrequires-python = ">=3.12"\n'
        'dependencies = ["alpha[fast]", "epsilon ; sys_platform == \'win32\'"]\n'
        '[dependency-groups]\ndev = ["gamma"]\n'
        f'[tool.uv]\nno-index = true\nfind-links = ["{wheels}"]\n'
    )
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "cache"), "UV_OFFLINE": "1"}
    subprocess.run([str(uv), "lock", "--quiet"], cwd=root, env=env, check=True)
    assert "://" not in (root / "uv.lock").read_text().replace("file://", "")
    return root


def _lock(root: Path, *extra: str) -> int:
    argv = ["--uv", UV_WHEEL, "--project", str(root), "--command", "relock-cmd", *extra]
    return lock.main(argv)


def test_a_teams_uv_lock_is_read_as_it_is(project: Path):
    before = (project / "uv.lock").read_bytes()
    assert _lock(project, "--frozen") == 0
    assert (project / "uv.lock").read_bytes() == before  # never re-resolved
    record = json.loads((project / "uv_workspace.lock.json").read_text())
    assert record["members"]["theirs"]["runtime"] == ["alpha", "beta", "delta"]
    assert record["inputs"]["uv.lock"] == hashlib.sha256(before).hexdigest()
    requirements = (project / "requirements_lock.txt").read_text()
    pins = sorted(ln.split("==")[0] for ln in requirements.splitlines() if "==" in ln)
    assert pins == ["alpha", "beta", "delta", "epsilon", "gamma"]  # every group, for pip.parse
    # uv records no hash for local wheels: the tool hashes the files themselves.
    wheel = project.parent / "wheels" / "alpha-1.0-py3-none-any.whl"
    assert f"--hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}" in requirements
    assert requirements.count("--hash=sha256:") == 5
    assert "://" not in requirements and str(project.parent) not in requirements
    # Each platform's wheel of every pin, by file name and hash, with uv.lock's edges minus
    # extras (alpha[fast] pulls beta into the member's closure, not into alpha's deps).
    wheels = record["wheels"]
    assert sorted(wheels) == [
        "linux/amd64", "linux/amd64@3.14", "linux/arm64", "linux/arm64@3.14",
    ]  # fmt: skip
    assert wheels["linux/arm64"]["alpha"] == {
        "deps": ["delta"],
        "file": "alpha-1.0-py3-none-any.whl",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "version": "1.0",
    }
    assert sorted(wheels["linux/amd64"]) == ["alpha", "beta", "delta", "epsilon", "gamma"]
    assert "://" not in json.dumps(wheels) and str(project.parent) not in json.dumps(wheels)


def test_a_closure_that_differs_on_python_314_is_recorded_for_it(project: Path, uv: Path):
    _wheel(project.parent / "wheels", "zeta")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            '"alpha[fast]",', '"alpha[fast]", "zeta ; python_version < \'3.14\'",'
        )
    )
    env = {**os.environ, "UV_CACHE_DIR": str(project.parent / "cache"), "UV_OFFLINE": "1"}
    subprocess.run([str(uv), "lock", "--quiet"], cwd=project, env=env, check=True)
    assert _lock(project, "--frozen") == 0
    member = json.loads((project / "uv_workspace.lock.json").read_text())["members"]["theirs"]
    assert member["runtime"] == ["alpha", "beta", "delta", "zeta"]
    assert member["runtime_py3.14"] == ["alpha", "beta", "delta"]
    assert member["runtime_py3.14_aarch64"] == ["alpha", "beta", "delta"]
    assert "runtime_aarch64" not in member  # the same as runtime


def test_frozen_needs_the_lock(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "uv.lock").unlink()
    assert _lock(project, "--frozen") == 1
    assert capsys.readouterr().err == f"error: --frozen: no uv.lock in {project}\n"
    assert not (project / "requirements_lock.txt").exists()


def test_requires_python_the_image_cannot_meet(project: Path, capsys: pytest.CaptureFixture[str]):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('">=3.12"', '">=3.14"'))
    assert _lock(project, "--frozen") == 1
    assert capsys.readouterr().err == (
        "error: ./pyproject.toml: requires-python '>=3.14' excludes the image's Python 3.13\n"
    )


def test_closure_evaluates_markers_for_the_image():
    export = "a==1 ; sys_platform == 'linux'\nb==1 ; sys_platform == 'win32'\n    # via x\nc==2\n"
    assert lock.closure(export, "3.13") == ["a", "c"]


def test_closure_for_an_arm64_image():
    export = "a==1\nx==1 ; platform_machine == 'x86_64'\ny==1 ; platform_machine == 'aarch64'\n"
    assert lock.closure(export, "3.13") == ["a", "x"]
    assert lock.closure(export, "3.13", "aarch64") == ["a", "y"]


def _wheel_lock(*packages: tuple[str, list[str], list[dict]]) -> dict:
    """A uv.lock of registry packages at 1.0: (name, wheel tags "py-abi-platform", deps)."""
    out = []
    for name, tags, deps in packages:
        wheels = [
            {"url": f"https://files.test/{name}-1.0-{tag}.whl", "hash": f"sha256:{name}-{tag}"}
            for tag in tags
        ]
        out.append({"name": name, "version": "1.0", "wheels": wheels, "dependencies": deps})
    return {"package": out}


def test_each_platform_gets_the_wheel_pip_would_pick(tmp_path: Path):
    uv_lock = _wheel_lock(
        ("fast", [
            "cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "cp313-cp313-manylinux_2_28_x86_64",
            "cp313-cp313-manylinux_2_41_x86_64",  # newer than the bases' glibc: never
            "cp313-cp313-musllinux_1_2_x86_64",
            "cp313-cp313-manylinux_2_17_aarch64",
            "cp314-cp314-manylinux_2_17_x86_64",
            "cp312-abi3-manylinux_2_17_x86_64",
            "py3-none-any",
        ], []),
        ("muslonly", ["cp313-cp313-musllinux_1_2_x86_64"], []),
    )  # fmt: skip
    found = lock.wheels(tmp_path, uv_lock, {"fast": "1.0", "muslonly": "1.0"}, "3.13")
    picked = {key: platform["fast"]["file"] for key, platform in found.items()}
    assert picked == {
        "linux/amd64": "fast-1.0-cp313-cp313-manylinux_2_28_x86_64.whl",
        "linux/arm64": "fast-1.0-cp313-cp313-manylinux_2_17_aarch64.whl",
        "linux/amd64@3.14": "fast-1.0-cp314-cp314-manylinux_2_17_x86_64.whl",
        "linux/arm64@3.14": "fast-1.0-py3-none-any.whl",  # no cp314 aarch64 build, no abi3 one
    }
    assert found["linux/amd64"]["fast"]["sha256"] == "fast-cp313-cp313-manylinux_2_28_x86_64"
    # No wheel a glibc image installs: absent (requirement() then names the package).
    assert all("muslonly" not in platform for platform in found.values())


def test_wheel_deps_follow_markers_per_platform(tmp_path: Path):
    uv_lock = _wheel_lock(
        ("app", ["py3-none-any"], [
            {"name": "plain"},
            {"name": "arm", "marker": "platform_machine == 'aarch64'"},
            {"name": "old", "marker": "python_full_version < '3.14'"},
            {"name": "win", "marker": "sys_platform == 'win32'"},
        ]),
        ("plain", ["py3-none-any"], []), ("arm", ["py3-none-any"], []),
        ("old", ["py3-none-any"], []), ("win", ["py3-none-any"], []),
    )  # fmt: skip
    pins = dict.fromkeys(["app", "plain", "arm", "old", "win"], "1.0")
    found = lock.wheels(tmp_path, uv_lock, pins, "3.13")
    assert found["linux/amd64"]["app"]["deps"] == ["old", "plain"]
    assert found["linux/arm64"]["app"]["deps"] == ["arm", "old", "plain"]
    assert found["linux/amd64@3.14"]["app"]["deps"] == ["plain"]


def test_a_pin_uv_lock_does_not_have_is_an_error(tmp_path: Path):
    uv_lock = _wheel_lock(("a", ["py3-none-any"], []))
    with pytest.raises(lock.LockError, match=r"^b==2\.0: not in uv.lock$"):
        lock.wheels(tmp_path, uv_lock, {"a": "1.0", "b": "2.0"}, "3.13")
    with pytest.raises(lock.LockError, match=r"^a==2\.0: not in uv.lock$"):
        lock.wheels(tmp_path, uv_lock, {"a": "2.0"}, "3.13")


def _registry_lock() -> dict:
    index = "https://index.test/simple"
    return {"package": [
        {"name": "Good_Pkg", "version": "1.0", "source": {"registry": index},
         "wheels": [{"url": "https://files.test/good_pkg-1.0-py3-none-any.whl"}]},
        {"name": "bad", "version": "2.0", "source": {"registry": index},
         "sdist": {"url": "https://files.test/bad-2.0.tar.gz"},
         "wheels": [{"url": "https://files.test/bad-2.0-py3-none-any.whl"}]},
        {"name": "theirs", "version": "1.0", "source": {"editable": "."}},
    ]}  # fmt: skip


def test_yanked_files_are_named_with_the_reason():
    asked = []

    def page(url: str) -> dict:
        asked.append(url)
        if url.endswith("/good-pkg/"):
            return {"files": [{"filename": "good_pkg-1.0-py3-none-any.whl", "yanked": False},
                              {"filename": "good_pkg-0.9.tar.gz", "yanked": True}]}  # fmt: skip
        return {"files": [{"filename": "bad-2.0-py3-none-any.whl", "yanked": "broken wheel"},
                          {"filename": "bad-2.0.tar.gz", "yanked": True}]}  # fmt: skip

    assert lock.yanked(_registry_lock(), page) == [
        "bad 2.0 (bad-2.0-py3-none-any.whl): broken wheel",
        "bad 2.0 (bad-2.0.tar.gz): no reason given",
    ]
    # One question per indexed package, by its normalized name; the member is not asked about.
    assert asked == ["https://index.test/simple/good-pkg/", "https://index.test/simple/bad/"]


def test_an_index_that_cannot_answer_is_an_error_not_a_pass():
    def page(url: str) -> dict:
        raise OSError("connection refused")

    with pytest.raises(lock.LockError, match="cannot check Good_Pkg for yanked releases"):
        lock.yanked(_registry_lock(), page)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
