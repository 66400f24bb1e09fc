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
