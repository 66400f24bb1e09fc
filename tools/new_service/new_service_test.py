"""The scaffold: names checked, files rendered from every template, nothing overwritten."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from tools.new_service import new_service


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "MODULE.bazel").touch()
    return tmp_path


def test_renders_every_template_with_the_values():
    files = new_service.render("services/billing_api", "billing-api", 9000)
    templates = {p.name.removesuffix(".tmpl") for p in new_service.TEMPLATES.glob("*.tmpl")}
    assert set(files) == templates
    assert {"BUILD.bazel", "__init__.py", "__main__.py", "main.py", "main_test.py"} <= set(files)
    assert 'module = "services.billing_api"' in files["BUILD.bazel"]
    assert 'repository = "localhost:5000/billing-api"' in files["BUILD.bazel"]
    assert "port = 9000" in files["BUILD.bazel"]
    assert "from services.billing_api.main import app" in files["__main__.py"]
    for name, text in files.items():
        if name.endswith(".py"):
            ast.parse(text, name)  # every rendered module is valid Python
        assert "${" not in text, name


def test_writes_the_files_and_nothing_else(root: Path, capsys: pytest.CaptureFixture[str]):
    assert new_service.main(["svc/hello", "hello", "--root", str(root)]) == 0
    written = sorted(p.name for p in (root / "svc/hello").iterdir())
    assert written == sorted(new_service.render("svc/hello", "hello"))
    assert sorted(p.name for p in (root / "svc").iterdir()) == ["hello"]  # no staging left
    assert (root / "svc/hello").stat().st_mode & 0o777 == 0o755
    assert "wrote svc/hello/BUILD.bazel" in capsys.readouterr().out


def test_adds_files_to_an_existing_directory(root: Path):
    (root / "svc").mkdir()
    (root / "svc/README.md").write_text("keep me\n")
    assert new_service.main(["svc", "svc", "--root", str(root)]) == 0
    assert (root / "svc/README.md").read_text() == "keep me\n"
    assert (root / "svc/main.py").is_file()
    assert not [p for p in root.iterdir() if p.name.startswith(".svc.new-")]


def test_refuses_to_overwrite(root: Path, capsys: pytest.CaptureFixture[str]):
    (root / "svc").mkdir()
    (root / "svc/main.py").write_text("mine\n")
    assert new_service.main(["svc", "svc", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert err == "error: svc/main.py already exists; not overwriting anything\n"
    assert (root / "svc/main.py").read_text() == "mine\n"
    assert sorted(p.name for p in (root / "svc").iterdir()) == ["main.py"]


@pytest.mark.parametrize(
    ("directory", "name", "message"),
    [
        ("../out", "x", "relative path inside the workspace"),
        ("/abs", "x", "relative path inside the workspace"),
        ("svc/my-app", "x", "'my-app' is not a Python package name"),
        ("svc/class", "x", "'class' is not a Python package name"),
        ("svc//x", "x", "relative path inside the workspace"),
        ("fastapi/x", "x", "would shadow"),
        ("email", "x", "would shadow"),
        ("svc", "Bad_Name", "name must be lower-case"),
        ("svc", "a--", "name must be lower-case"),
    ],
)
def test_bad_arguments_fail_with_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], directory: str, name: str, message: str
):
    assert new_service.main([directory, name, "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in root.iterdir()) == ["MODULE.bazel"]


def test_needs_a_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch):
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    assert new_service.main(["svc", "svc"]) == 1
    assert "no workspace" in capsys.readouterr().err
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path))
    assert new_service.main(["svc", "svc"]) == 1
    assert "not a Bazel workspace" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
