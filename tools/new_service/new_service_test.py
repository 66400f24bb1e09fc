"""The scaffold and the adopt path: files rendered, members added, nothing overwritten."""

from __future__ import annotations

import ast
import os
import tomllib
from pathlib import Path

import pytest

from tools.new_service import new_service

WORKSPACE = """# a comment that stays
[project]
name = "root"

[tool.uv.workspace]
members = [
    "examples/*",
]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "MODULE.bazel").touch()
    (tmp_path / "pyproject.toml").write_text(WORKSPACE)
    return tmp_path


def _run(root: Path, *args: str) -> int:
    # As `bazel run` calls it: the target's own --uv=... comes before the user's words.
    return new_service.main(["--uv=unused.whl", *args, "--root", str(root), "--no-relock"])


def _members(root: Path) -> list[str]:
    return tomllib.loads((root / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]


def test_renders_every_template_with_the_values():
    files = new_service.render("services/billing_api", "billing_api", 9000)
    templates = {
        p.relative_to(new_service.TEMPLATES).as_posix().removesuffix(".tmpl")
        for p in new_service.TEMPLATES.rglob("*.tmpl")
    }
    assert set(files) == templates
    assert {"BUILD.bazel", "pyproject.toml", "app/main.py", "tests/test_main.py"} <= set(files)
    assert 'asgi = "app.main:app"' in files["BUILD.bazel"]
    # uv normalizes the project name; the BUILD file looks the member up by that form.
    assert 'requirements("billing-api")' in files["BUILD.bazel"]
    assert tomllib.loads(files["pyproject.toml"])["project"]["name"] == "billing-api"
    assert 'repository = "localhost:5000/billing_api"' in files["BUILD.bazel"]
    assert "port = 9000" in files["BUILD.bazel"]
    assert "app = FastAPI(" in files["app/main.py"]
    for name, text in files.items():
        if name.endswith(".py"):
            ast.parse(text, name)  # every rendered module is valid Python
        assert "${" not in text, name


def test_writes_the_files_and_adds_the_member(root: Path, capsys: pytest.CaptureFixture[str]):
    assert _run(root, "svc/hello", "hello") == 0
    written = sorted(
        p.relative_to(root / "svc/hello").as_posix()
        for p in (root / "svc/hello").rglob("*")
        if p.is_file()
    )
    assert written == sorted(new_service.render("svc/hello", "hello"))
    assert sorted(p.name for p in (root / "svc").iterdir()) == ["hello"]  # no staging left
    assert (root / "svc/hello").stat().st_mode & 0o777 == 0o755
    assert _members(root) == ["examples/*", "svc/hello"]
    assert (root / "pyproject.toml").read_text().startswith("# a comment that stays\n")
    out = capsys.readouterr().out
    assert "wrote svc/hello/BUILD.bazel" in out and "added svc/hello" in out


def test_a_member_glob_already_covers_it(root: Path):
    assert _run(root, "examples/one", "one") == 0
    assert _members(root) == ["examples/*"]


def test_refuses_to_overwrite(root: Path, capsys: pytest.CaptureFixture[str]):
    (root / "svc/app").mkdir(parents=True)
    (root / "svc/app/main.py").write_text("mine\n")
    assert _run(root, "svc", "svc") == 1
    err = capsys.readouterr().err
    assert err == "error: svc/app/main.py already exists; not overwriting anything\n"
    assert (root / "svc/app/main.py").read_text() == "mine\n"
    assert _members(root) == ["examples/*"]


def _project(
    root: Path, directory: str, main: str = "from fastapi import FastAPI\n\napp = FastAPI()\n"
) -> Path:
    target = root / directory
    (target / "app").mkdir(parents=True)
    (target / "pyproject.toml").write_text(
        '[project]\nname = "Their_Api"\ndependencies = ["fastapi"]\n'
    )
    (target / "app/__init__.py").write_text("")
    (target / "app/main.py").write_text(main)
    return target


def test_adopt_writes_only_the_build_file(root: Path, capsys: pytest.CaptureFixture[str]):
    target = _project(root, "theirs")
    (target / "uv.lock").write_text("version = 1\n")
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert _run(root, "adopt", "theirs") == 0
    after = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert {p.name for p in set(after) - set(before)} == {"BUILD.bazel"}
    assert all(after[p] == data for p, data in before.items())  # their files untouched
    build = (target / "BUILD.bazel").read_text()
    assert 'asgi = "app.main:app"' in build and 'requirements("their-api")' in build
    assert build.count("fastapi_image(") == 1
    assert _members(root) == ["examples/*", "theirs"]
    assert "uv.lock is not read" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("main", "args", "message"),
    [
        ("application = make()\n", [], "no `app = FastAPI(...)` in app/main.py; give --asgi"),
        ("app = FastAPI()\n", ["--asgi", "app.main"], "--asgi must be pkg.module:attr"),
        ("app = FastAPI()\n", ["--asgi", "nope.main:app"], "no nope/ or nope.py"),
    ],
)
def test_adopt_errors_are_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], main: str, args: list[str], message: str
):
    _project(root, "theirs", main)
    assert _run(root, "adopt", "theirs", *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (root / "theirs/BUILD.bazel").exists()
    assert _members(root) == ["examples/*"]


def test_adopt_needs_a_pyproject(root: Path, capsys: pytest.CaptureFixture[str]):
    (root / "bare").mkdir()
    assert _run(root, "adopt", "bare") == 1
    assert "no pyproject.toml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("directory", "name", "message"),
    [
        ("../out", "x", "relative path inside the workspace"),
        ("/abs", "x", "relative path inside the workspace"),
        ("svc/my app", "x", "'my app' is not a usable folder name"),
        ("svc//x", "x", "relative path inside the workspace"),
        ("svc", "Bad_Name", "name must be lower-case"),
        ("svc", "a--", "name must be lower-case"),
    ],
)
def test_bad_arguments_fail_with_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], directory: str, name: str, message: str
):
    assert _run(root, directory, name) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in root.iterdir()) == ["MODULE.bazel", "pyproject.toml"]


def test_needs_a_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch):
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    assert new_service.main(["svc", "svc", "--no-relock"]) == 1
    assert "no workspace" in capsys.readouterr().err
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path))
    assert new_service.main(["svc", "svc", "--no-relock"]) == 1
    assert "not a Bazel workspace" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
