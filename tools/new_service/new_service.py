"""Scaffold or adopt a FastAPI service in this uv workspace and Bazel workspace.

    ./bazelw run //tools/new_service -- DIR NAME [--port N]     a new service, from templates/
    ./bazelw run //tools/new_service -- adopt DIR [--asgi M:A]  an existing project folder

A new service is a uv project (pyproject.toml, app/main.py with `app = FastAPI()`, a test) and a
BUILD file with one `fastapi_image` call: exactly the shape of examples/hello, which a golden
test keeps equal to `new_service examples/hello hello`. Adopting writes only the BUILD file for a
folder that already has pyproject.toml and its app. Both add the folder to the workspace's
members (root pyproject.toml) and relock (`--no-relock` to skip). Existing files are never
overwritten, and nothing is half-written: files go to a temporary directory and are moved in
only when all are complete; pyproject.toml is replaced atomically.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import string
import sys
import tempfile
import tomllib
from pathlib import Path

from kit_lib.layout import write_file_atomic

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE_SUFFIX = ".tmpl"
ADOPT_TEMPLATE = Path(__file__).with_name("adopt.BUILD.bazel.tmpl")

# A repository path component, as registries accept it (lower case, separators inside).
NAME_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
DIR_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
ASGI_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
FASTAPI_APP_RE = re.compile(r"^app\s*(:\s*FastAPI\s*)?=\s*FastAPI\(", re.M)


class ScaffoldError(Exception):
    """Bad arguments or a conflict with existing files; the message is one line."""


def check_dir(directory: str) -> str:
    """A workspace-relative directory that can be a Bazel package."""
    path = Path(directory)
    if not directory or path.is_absolute() or directory != path.as_posix() or ".." in path.parts:
        raise ScaffoldError(f"dir must be a relative path inside the workspace, got {directory!r}")
    for part in path.parts:
        if not DIR_PART_RE.fullmatch(part):
            raise ScaffoldError(f"dir {directory!r}: {part!r} is not a usable folder name")
    return directory


def project_name(name: str) -> str:
    """uv's (PEP 503) normalized form, which `requirements()` looks members up by."""
    return re.sub(r"[-_.]+", "-", name).lower()


def render(directory: str, name: str, port: int = 8000) -> dict[str, str]:
    """Relative file path -> content of the service, rendered from the templates."""
    if not NAME_RE.fullmatch(name):
        raise ScaffoldError(
            f"name must be lower-case letters and digits, with . _ - inside, got {name!r}"
        )
    if not 1 <= port <= 65535:
        raise ScaffoldError(f"port must be in 1..65535, got {port}")
    values = {
        "dir": check_dir(directory),
        "name": name,
        "port": str(port),
        "project": project_name(name),
    }
    files = {}
    for template in sorted(TEMPLATES.rglob("*" + TEMPLATE_SUFFIX)):
        text = string.Template(template.read_text(encoding="utf-8")).substitute(values)
        files[template.relative_to(TEMPLATES).as_posix().removesuffix(TEMPLATE_SUFFIX)] = text
    if not files:
        raise ScaffoldError(f"no templates found in {TEMPLATES}")
    return files


def write_files(root: Path, directory: str, files: dict[str, str]) -> Path:
    """Write `files` into root/directory, all or nothing, refusing to replace any file."""
    target = root / directory
    for file_name in sorted(files):
        existing = target / file_name
        if existing.exists() or existing.is_symlink():
            raise ScaffoldError(f"{directory}/{file_name} already exists; not overwriting anything")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        for file_name, text in files.items():
            (staging / file_name).parent.mkdir(parents=True, exist_ok=True)
            (staging / file_name).write_text(text, encoding="utf-8")
            (staging / file_name).chmod(0o644)
        for sub in staging.rglob("*"):
            if sub.is_dir():
                sub.chmod(0o755)
        if not target.exists():
            staging.chmod(0o755)
            staging.rename(target)  # atomic: the directory appears complete or not at all
            return target
        moved: list[Path] = []
        try:
            for file_name in sorted(files):
                (target / file_name).parent.mkdir(parents=True, exist_ok=True)
                # link() fails instead of replacing a file that appeared meanwhile.
                os.link(staging / file_name, target / file_name)
                moved.append(target / file_name)
        except FileExistsError as err:
            for path in moved:
                path.unlink()
            raise ScaffoldError(
                f"{directory}/{Path(err.filename2 or err.filename).name} appeared while writing; "
                "nothing written"
            ) from None
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def add_member(root: Path, directory: str) -> bool:
    """Add `directory` to [tool.uv.workspace] members unless a member glob covers it.

    Returns whether pyproject.toml changed. The edit is textual (comments stay) and atomic.
    """
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ScaffoldError(f"no pyproject.toml in {root}: not a uv workspace")
    text = pyproject.read_text(encoding="utf-8")
    try:
        workspace = tomllib.loads(text).get("tool", {}).get("uv", {}).get("workspace")
    except tomllib.TOMLDecodeError as exc:
        raise ScaffoldError(f"{pyproject}: {exc}") from None
    if workspace is None:
        text = text.rstrip("\n") + f'\n\n[tool.uv.workspace]\nmembers = ["{directory}"]\n'
    else:
        members = workspace.get("members", [])
        if any(fnmatch.fnmatch(directory, pattern) for pattern in members):
            return False
        section = re.search(r"^\[tool\.uv\.workspace\]\s*$", text, re.M)
        assert section is not None
        found = re.compile(r"^members\s*=\s*\[(.*?)\]", re.M | re.S).search(text, section.end())
        if found is None:
            raise ScaffoldError(f"{pyproject}: cannot find the members list to add {directory}")
        items = found.group(1).rstrip().rstrip(",")
        new = (
            f'members = [{items}, "{directory}"]' if items.strip() else f'members = ["{directory}"]'
        )
        text = text[: found.start()] + new + text[found.end() :]
    write_file_atomic(pyproject, text.encode())
    return True


def adopt_files(root: Path, directory: str, asgi: str | None, port: int) -> dict[str, str]:
    """The BUILD file for an existing project folder (pyproject.toml and its app)."""
    target = root / check_dir(directory)
    pyproject = target / "pyproject.toml"
    if not pyproject.is_file():
        raise ScaffoldError(f"{directory}: no pyproject.toml; adopt needs a Python project")
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise ScaffoldError(f"{directory}/pyproject.toml: {exc}") from None
    if "name" not in project:
        raise ScaffoldError(f"{directory}/pyproject.toml: [project] has no name")
    if asgi is None:
        main = target / "app" / "main.py"
        if not (main.is_file() and FASTAPI_APP_RE.search(main.read_text(encoding="utf-8"))):
            raise ScaffoldError(
                f"{directory}: no `app = FastAPI(...)` in app/main.py; give --asgi pkg.module:app"
            )
        asgi = "app.main:app"
    if not ASGI_RE.fullmatch(asgi):
        raise ScaffoldError(f"--asgi must be pkg.module:attr, got {asgi!r}")
    package = asgi.split(".")[0].split(":")[0]
    if not (target / package).is_dir() and not (target / f"{package}.py").is_file():
        raise ScaffoldError(f"{directory}: no {package}/ or {package}.py for --asgi {asgi}")
    name = Path(directory).name.lower()
    values = {
        "asgi": asgi,
        "dir": directory,
        "name": name if NAME_RE.fullmatch(name) else project_name(project["name"]),
        "package": package,
        "port": str(port),
        "project": project_name(project["name"]),
    }
    text = string.Template(ADOPT_TEMPLATE.read_text(encoding="utf-8")).substitute(values)
    return {"BUILD.bazel": text}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="new_service", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port the app listens on")
    parser.add_argument("--root", help="workspace root (default: $BUILD_WORKSPACE_DIRECTORY)")
    parser.add_argument("--uv", help="rlocationpath of the uv wheel, for the relock")
    parser.add_argument("--no-relock", action="store_true", help="only write the files")
    return parser


_VALUED = frozenset({"--port", "--root", "--uv", "--asgi"})


def _take_adopt(argv: list[str]) -> bool:
    """Remove `adopt` when it is the first positional word (`bazel run` puts --uv=... first)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in _VALUED:
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            if word == "adopt":
                del argv[i]
                return True
            return False
    return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    adopting = _take_adopt(argv)
    if adopting:
        parser.add_argument("dir", help="the project folder, relative to the workspace")
        parser.add_argument("--asgi", help="the app as pkg.module:attr (default: app.main:app)")
    else:
        parser.add_argument("dir", help="workspace-relative directory, e.g. services/billing")
        parser.add_argument("name", help="service and image name, e.g. billing")
    args = parser.parse_args(argv)
    root = args.root or os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    try:
        if not root:
            raise ScaffoldError("no workspace: use `./bazelw run //tools/new_service -- DIR NAME`")
        if not (Path(root) / "MODULE.bazel").is_file():
            raise ScaffoldError(f"{root} is not a Bazel workspace (no MODULE.bazel)")
        if adopting:
            files = adopt_files(Path(root), args.dir, args.asgi, args.port)
        else:
            files = render(args.dir, args.name, args.port)
        write_files(Path(root), args.dir, files)
        added = add_member(Path(root), args.dir)
    except (ScaffoldError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for file_name in sorted(files):
        print(f"wrote {args.dir}/{file_name}")
    if added:
        print(f"added {args.dir} to the workspace members in pyproject.toml")
    if adopting and (Path(root) / args.dir / "uv.lock").is_file():
        print(f"note: {args.dir}/uv.lock is not read: a uv workspace has one lock for all members")
    if not args.no_relock:
        if not args.uv:
            print("error: --uv is missing (run this through bazel)", file=sys.stderr)
            return 1
        from tools.lock import relock

        if relock.main([args.uv]) != 0:
            return 1
    print(f"next: ./bazelw test //{args.dir}/...  (then ./bazelw run //{args.dir}:run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
