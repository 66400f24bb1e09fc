"""`./bazelw run //tools/new_service -- <dir> <name>`: write a new FastAPI service into <dir>.

The service is a BUILD file (a py_library, its test and a fastapi_image), a minimal app with
/health and its pytest, rendered from templates/ -- exactly the shape of examples/hello, which a
golden test keeps equal to `new_service examples/hello hello`. Existing files are never
overwritten, and nothing is half-written: the files are written to a temporary directory beside
<dir> and moved in only when all of them are complete.
"""

from __future__ import annotations

import argparse
import keyword
import os
import re
import shutil
import string
import sys
import tempfile
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE_SUFFIX = ".tmpl"

# Third-party modules the templates import: a top-level package of that name would shadow them.
TEMPLATE_IMPORTS = frozenset({"fastapi", "httpx", "pydantic", "pytest", "starlette", "uvicorn"})

# A repository path component, as registries accept it (lower case, separators inside).
NAME_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


class ScaffoldError(Exception):
    """Bad arguments or a conflict with existing files; the message is one line."""


def module_for(directory: str) -> str:
    """The Python module of a workspace-relative directory: "examples/hello" -> examples.hello."""
    path = Path(directory)
    if not directory or path.is_absolute() or directory != path.as_posix() or ".." in path.parts:
        raise ScaffoldError(f"dir must be a relative path inside the workspace, got {directory!r}")
    for part in path.parts:
        if not part.isidentifier() or keyword.iskeyword(part) or not part.isascii():
            raise ScaffoldError(
                f"dir {directory!r}: {part!r} is not a Python package name "
                "(letters, digits, underscores; the app runs as `python -m` of the dir)"
            )
    top = path.parts[0]
    if top in sys.stdlib_module_names or top in TEMPLATE_IMPORTS:
        raise ScaffoldError(f"dir {directory!r}: a top-level {top!r} would shadow that module")
    return ".".join(path.parts)


def render(directory: str, name: str, port: int = 8000) -> dict[str, str]:
    """File name -> content of the service, rendered from the templates."""
    if not NAME_RE.fullmatch(name):
        raise ScaffoldError(
            f"name must be lower-case letters and digits, with . _ - inside, got {name!r}"
        )
    if not 1 <= port <= 65535:
        raise ScaffoldError(f"port must be in 1..65535, got {port}")
    values = {"dir": directory, "module": module_for(directory), "name": name, "port": str(port)}
    files = {}
    for template in sorted(TEMPLATES.glob("*" + TEMPLATE_SUFFIX)):
        text = string.Template(template.read_text(encoding="utf-8")).substitute(values)
        files[template.name.removesuffix(TEMPLATE_SUFFIX)] = text
    if not files:
        raise ScaffoldError(f"no templates found in {TEMPLATES}")
    return files


def write_service(root: Path, directory: str, files: dict[str, str]) -> Path:
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
            (staging / file_name).write_text(text, encoding="utf-8")
            (staging / file_name).chmod(0o644)
        if not target.exists():
            staging.chmod(0o755)
            staging.rename(target)  # atomic: the directory appears complete or not at all
            return target
        moved: list[Path] = []
        try:
            for file_name in sorted(files):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="new_service",
        description="Write a new FastAPI service (BUILD, app, test) into DIR of the workspace.",
    )
    parser.add_argument("dir", help="workspace-relative directory, e.g. services/billing")
    parser.add_argument("name", help="service and image name, e.g. billing")
    parser.add_argument("--port", type=int, default=8000, help="port the app listens on")
    parser.add_argument(
        "--root",
        help="workspace root (default: $BUILD_WORKSPACE_DIRECTORY, which `bazel run` sets)",
    )
    args = parser.parse_args(argv)
    root = args.root or os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    try:
        if not root:
            raise ScaffoldError("no workspace: use `./bazelw run //tools/new_service -- DIR NAME`")
        if not (Path(root) / "MODULE.bazel").is_file():
            raise ScaffoldError(f"{root} is not a Bazel workspace (no MODULE.bazel)")
        files = render(args.dir, args.name, args.port)
        write_service(Path(root), args.dir, files)
    except (ScaffoldError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for file_name in sorted(files):
        print(f"wrote {args.dir}/{file_name}")
    print(f"next: ./bazelw test //{args.dir}/...  (then ./bazelw run //{args.dir}:run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
