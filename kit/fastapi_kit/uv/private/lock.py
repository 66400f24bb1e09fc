"""Turn a uv workspace (pyproject.toml files, and uv.lock) into the two files Bazel reads.

`requirements_lock.txt` is `uv export` of the whole workspace, every member and dependency group,
hash-pinned (what rules_python's pip.parse reads, and the SBOM checks hashes against).
`uv_workspace.lock.json` holds, per member, the runtime closure exactly as uv resolves it (extras
followed, dependency groups left out), its `requires-python`, the sha256 of every input, so a test
can tell that a pyproject.toml changed without a relock, and per image platform the one wheel of
each package that platform installs (file name, sha256, dependencies), which `uv.wheels` fetches
by hash through Bazel's downloader. Neither file names a package index: uv.lock records index and
file URLs, so it stays out of a repository that must not name them (or is the team's own
committed input, with `--frozen`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit_lib import cli, runfiles
from kit_lib.layout import write_file_atomic
from kit_lib.tarball import sha256_file
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

# The image's interpreter and platform: markers are evaluated for it.
IMAGE_ENVIRONMENT = {
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "sys_platform": "linux",
}


# The kit's other base (fastapi_image(python = "3.14")): closures are recorded for it too.
OTHER_PYTHONS = ("3.14",)


# The image platforms wheels are chosen for ({"linux/amd64", "linux/arm64"}[@python]: CPU), and
# the newest manylinux glibc they accept: 2.39, the oldest glibc among the kit's bases, so one
# choice holds on each of them.
MACHINES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
MANYLINUX_GLIBC = 39
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(python: str, machine: str) -> list[Tag]:
    """The wheel tags a CPython `python` ("3.13") on glibc Linux `machine` installs, best first.

    The order is pip's: the interpreter's own ABI, then abi3, then pure wheels; within each, the
    newest manylinux first.
    """
    minor = int(python.split(".")[1])
    platforms = []
    for n in range(MANYLINUX_GLIBC, 4, -1):
        platforms.append(f"manylinux_2_{n}_{machine}")
        if n in _LEGACY_MANYLINUX:
            platforms.append(f"{_LEGACY_MANYLINUX[n]}_{machine}")
    interpreter = f"cp3{minor}"
    return [
        *cpython_tags((3, minor), abis=[interpreter], platforms=platforms),
        *compatible_tags((3, minor), interpreter, platforms),
    ]


def runtime_key(lock_python: str, python: str, machine: str) -> str:
    """The lock record's key of a closure: runtime, runtime_aarch64, runtime_py3.14[_aarch64]."""
    key = "runtime" if python == lock_python else f"runtime_py{python}"
    return key + ("_aarch64" if machine == "aarch64" else "")


class LockError(Exception):
    """A problem with the workspace; `str()` is one line."""


@dataclass(frozen=True)
class Member:
    name: str
    path: str  # relative to the workspace root, "." for the root project
    requires_python: str

    @property
    def python_spec(self) -> SpecifierSet:
        """requires-python (checked by `members`), as a set `"3.14" in` answers."""
        return SpecifierSet(self.requires_python)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{path}: cannot read: {exc}") from None


def members(root: Path, python_version: str) -> list[Member]:
    """The workspace's projects: the root (with a [project]) and [tool.uv.workspace] members."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise LockError(f"no pyproject.toml in {root}")
    data = _read_toml(pyproject)
    workspace = data.get("tool", {}).get("uv", {}).get("workspace", {})
    dirs = [root] if "project" in data else []
    excluded = {p.resolve() for pat in workspace.get("exclude", []) for p in root.glob(pat)}
    for pattern in workspace.get("members", []):
        found = sorted(p for p in root.glob(pattern) if (p / "pyproject.toml").is_file())
        dirs += [p for p in found if p.resolve() not in excluded]
    found_members = []
    for d in dirs:
        project = _read_toml(d / "pyproject.toml").get("project", {})
        rel = d.relative_to(root).as_posix() or "."
        if "name" not in project:
            raise LockError(f"{rel}/pyproject.toml: [project] has no name")
        requires = project.get("requires-python", "")
        check_python(f"{rel}/pyproject.toml", requires, python_version)
        found_members.append(Member(str(canonicalize_name(project["name"])), rel, requires))
    if not found_members:
        raise LockError(f"{pyproject}: neither [project] nor [tool.uv.workspace] members")
    return found_members


def check_python(where: str, requires: str, python_version: str) -> None:
    """Refuse a project the image's Python cannot run, in one line."""
    if not requires:
        return
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        raise LockError(
            f"{where}: requires-python {requires!r} is not a version specifier"
        ) from None
    if not spec.contains(python_version, prereleases=True):
        raise LockError(
            f"{where}: requires-python {requires!r} excludes the image's Python {python_version}"
        )


def closure(export: str, python_version: str, machine: str = "x86_64") -> list[str]:
    """Package names in a `uv export` for one member, markers evaluated for the image's CPU."""
    env = dict(
        IMAGE_ENVIRONMENT,
        platform_machine=machine,
        python_version=python_version,
        python_full_version=python_version,
    )
    names = set()
    for line in export.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            req = Requirement(line.split(" \\")[0])
        except InvalidRequirement:
            raise LockError(f"uv export gave a line this tool cannot read: {line!r}") from None
        if req.url:
            raise LockError(f"{req.name}: direct URL dependencies are not supported; use an index")
        if req.marker is None or Marker(str(req.marker)).evaluate(env):
            names.add(str(canonicalize_name(req.name)))
    return sorted(names)


def local_hashes(root: Path, uv_lock: dict, name: str, version: str) -> list[str]:
    """sha256 of a package's files in uv.lock: its recorded hashes, or of local wheel paths.

    uv records no hash for wheels it found in a local folder (find-links); those files are
    here, so they are hashed here, and the lock stays hash-pinned.
    """
    canonical = str(canonicalize_name(name))
    for package in uv_lock.get("package", []):
        if (
            str(canonicalize_name(package["name"])) != canonical
            or package.get("version") != version
        ):
            continue
        files = list(package.get("wheels", [])) + ([package["sdist"]] if "sdist" in package else [])
        return sorted({h for h in (_file_hash(root, f) for f in files) if h})
    return []


def sdist_only(uv_lock: dict) -> dict[str, dict[str, str]]:
    """Packages uv.lock offers no wheel for: pip builds those wheels here, from the sdist.

    The SBOM then records the sdist's hash and that the wheel was built locally (the built
    wheel's own hash can never be one the index published).
    """
    out = {}
    for package in uv_lock.get("package", []):
        sdist = package.get("sdist") or {}
        if package.get("wheels") or "hash" not in sdist:
            continue
        name = str(canonicalize_name(package["name"]))
        out[name] = {"version": package["version"], "sha256": sdist["hash"].removeprefix("sha256:")}
    return dict(sorted(out.items()))


def _file_hash(root: Path, f: dict) -> str | None:
    """sha256 of a uv.lock file entry: its recorded hash, or the local file's (find-links)."""
    if "hash" in f:
        return f["hash"].removeprefix("sha256:")
    if "path" in f:
        path = Path(f["path"])
        return sha256_file(path if path.is_absolute() else root / path)
    return None


def _files(root: Path, package: dict) -> dict[str, str]:
    """{wheel file name: sha256} of a uv.lock package (local wheels hashed here)."""
    out = {}
    for w in package.get("wheels", []):
        where = w.get("url") or w.get("path") or w.get("filename")
        sha = _file_hash(root, w)
        if where and sha:
            out[where.rsplit("/", 1)[-1].split("#", 1)[0]] = sha
    return out


def pinned(export: str) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of a `uv export`."""
    out = {}
    for line in export.splitlines():
        head = line.strip().split(" \\")[0]
        if head and not head.startswith(("#", "-")) and "==" in head:
            req = Requirement(head)
            out[str(canonicalize_name(req.name))] = str(next(iter(req.specifier)).version)
    return out


def wheels(root: Path, uv_lock: dict, pins: dict[str, str], python_version: str) -> dict:
    """Per image platform, the one wheel each pinned package installs there, and its deps.

    {"linux/amd64": {name: {version, file, sha256, deps}}, "linux/arm64": ...,
    "linux/amd64@3.14": ...}: the best wheel by `platform_tags`, as pip would pick it; deps are
    uv.lock's dependency edges whose markers hold there (extras left to the members' closures,
    as pip.parse does). A package with no wheel for a platform is absent from that platform.
    """
    packages = {}
    for package in uv_lock.get("package", []):
        name = str(canonicalize_name(package["name"]))
        if pins.get(name) == package.get("version"):
            packages[name] = package
    missing = sorted(set(pins) - set(packages))
    if missing:
        raise LockError(f"{missing[0]}=={pins[missing[0]]}: not in uv.lock")
    out = {}
    for python in dict.fromkeys((python_version, *OTHER_PYTHONS)):
        for platform, machine in MACHINES.items():
            key = platform if python == python_version else f"{platform}@{python}"
            rank = {tag: i for i, tag in reversed(list(enumerate(platform_tags(python, machine))))}
            env = dict(
                IMAGE_ENVIRONMENT,
                platform_machine=machine,
                python_version=python,
                python_full_version=python,
            )
            chosen = {}
            for name, package in sorted(packages.items()):
                best = None
                for file, sha in _files(root, package).items():
                    try:
                        tags = parse_wheel_filename(file)[3]
                    except InvalidWheelFilename:
                        raise LockError(
                            f"{name}: uv.lock names a wheel {file!r} that is not one"
                        ) from None
                    score = min((rank[t] for t in tags if t in rank), default=None)
                    if score is not None and (best is None or (score, file) < best[:2]):
                        best = (score, file, sha)
                if best:
                    chosen[name] = {
                        "version": package["version"],
                        "file": best[1],
                        "sha256": best[2],
                    }
            for name, entry in chosen.items():
                deps = set()
                for dep in packages[name].get("dependencies", []):
                    marker = dep.get("marker")
                    if marker is None or Marker(marker).evaluate(env):
                        deps.add(str(canonicalize_name(dep["name"])))
                entry["deps"] = sorted(d for d in deps if d in chosen and d != name)
            out[key] = chosen
    return out


def pin_hashes(export: str, root: Path, uv_lock: dict) -> str:
    """Give every requirement of `export` its --hash lines; fail for one with no known file."""
    out = []
    for line in export.splitlines():
        head = line.strip()
        if head and not head.startswith(("#", "-")) and not line.endswith("\\") and "==" in head:
            req = Requirement(head)
            version = str(next(iter(req.specifier)).version)
            hashes = local_hashes(root, uv_lock, req.name, version)
            if not hashes:
                raise LockError(f"{req.name}=={version}: uv.lock records no file to hash")
            out.append(line + " \\")
            out += [
                f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "")
                for i, h in enumerate(hashes)
            ]
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def inputs(root: Path, found: list[Member], frozen: bool) -> dict[str, str]:
    """sha256 of each file the lock was made from (uv.lock too when it is the team's input)."""
    files = [f"{m.path}/pyproject.toml" if m.path != "." else "pyproject.toml" for m in found]
    if "." not in [m.path for m in found]:
        files.insert(0, "pyproject.toml")
    if frozen:
        files.append("uv.lock")
    return {f: sha256_file(root / f) for f in files}


# PEP 691: the simple index as JSON, which carries each file's yanked flag (PEP 592).
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def _simple_page(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": SIMPLE_JSON})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def yanked(uv_lock: dict, page: Callable[[str], dict] = _simple_page) -> list[str]:
    """Locked files their index marks as yanked, as "name version (file): reason" lines.

    uv does not pick a yanked release, unless a pin asks for exactly that version; a lock made
    before the yank keeps it too. Each index is asked about the files the lock names, and a file
    the index cannot answer for is an error, never a silent "nothing yanked".
    """
    found = []
    for package in uv_lock.get("package", []):
        registry = (package.get("source") or {}).get("registry")
        if not registry:
            continue  # workspace members, local paths: no index to ask
        files = {Path(w["url"]).name for w in package.get("wheels", []) if "url" in w}
        if "sdist" in package and "url" in package["sdist"]:
            files.add(Path(package["sdist"]["url"]).name)
        url = f"{registry.rstrip('/')}/{canonicalize_name(package['name'])}/"
        try:
            listing = {f["filename"]: f.get("yanked", False) for f in page(url).get("files", [])}
        except (OSError, ValueError, KeyError) as exc:
            raise LockError(
                f"cannot check {package['name']} for yanked releases on its index: {exc}"
            ) from exc
        for name in sorted(files):
            reason = listing.get(name, False)
            if reason:
                why = reason if isinstance(reason, str) else "no reason given"
                found.append(f"{package['name']} {package['version']} ({name}): {why}")
    return found


class Uv:
    """uv, run in the workspace root."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.binary, self.root = binary, root

    def run(self, *args: str) -> str:
        env = dict(os.environ)
        index = env.get("PIP_INDEX_URL")
        if index and "UV_DEFAULT_INDEX" not in env and "UV_INDEX_URL" not in env:
            env["UV_DEFAULT_INDEX"] = index  # the machine's pip mirror, as pip would use it
        cmd = [str(self.binary), *args, "--native-tls", "--quiet"]
        result = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
            detail = lines[-1].strip() if lines else f"exit {result.returncode}"
            raise LockError(f"uv {args[0]} failed: {detail}")
        return result.stdout

    def export(self, *args: str) -> str:
        return self.run("export", "--frozen", "--no-header", "--no-emit-workspace", *args)


def header(command: str) -> str:
    return f"# Written by `{command}` from the uv workspace. Do not edit by hand.\n"


def lock(
    uv: Uv,
    root: Path,
    python_version: str,
    frozen: bool,
    command: str,
    requirements_name: str = "requirements_lock.txt",
) -> tuple[str, str]:
    """The text of requirements_lock.txt and of uv_workspace.lock.json."""
    found = members(root, python_version)
    if frozen:
        if not (root / "uv.lock").is_file():
            raise LockError(f"--frozen: no uv.lock in {root}")
    else:
        uv.run("lock", "--python", python_version)
    uv_lock = tomllib.loads((root / "uv.lock").read_text(encoding="utf-8"))
    if not frozen:
        bad = yanked(uv_lock)
        if bad:
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            fix = "pin a release that is not yanked"
            raise LockError(f"yanked on the index: {bad[0]}{more}; {fix}")
    everything = pin_hashes(uv.export("--all-packages", "--all-groups"), root, uv_lock)
    if "://" in everything:
        raise LockError("the export names a URL (a direct or VCS dependency); use an index")
    members_json = {}
    for m in found:
        export = uv.export("--package", m.name, "--no-dev", "--no-hashes")
        members_json[m.name] = {
            "path": m.path,
            "requires_python": m.requires_python,
            "runtime": closure(export, python_version),
        }
        # Other platforms' and Pythons' closures (an arm64 image, a Python 3.14 base), recorded
        # only where a `platform_machine` or `python_version` marker changes them.
        for python in dict.fromkeys((python_version, *OTHER_PYTHONS)):
            for machine in ("x86_64", "aarch64"):
                key = runtime_key(python_version, python, machine)
                if key != "runtime" and python in m.python_spec:
                    other = closure(export, python, machine)
                    if other != members_json[m.name]["runtime"]:
                        members_json[m.name][key] = other
    record = {
        "comment": header(command).strip("# \n"),
        "python_version": python_version,
        "relock": command,
        # Beside this file: what pip.parse reads (and the SBOM checks hashes against).
        "requirements": requirements_name,
        "inputs": inputs(root, found, frozen),
        "members": members_json,
        "sdists": sdist_only(uv_lock),
        "wheels": wheels(root, uv_lock, pinned(everything), python_version),
    }
    return header(command) + everything, json.dumps(record, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(prog="uv-lock", description=__doc__.splitlines()[0])
    parser.add_argument("--uv", required=True, help="rlocationpath of the uv wheel")
    parser.add_argument("--project", help="workspace root (default: the Bazel workspace)")
    parser.add_argument("--requirements", default="requirements_lock.txt")
    parser.add_argument("--members", default="uv_workspace.lock.json")
    parser.add_argument("--python-version", default="3.13")
    parser.add_argument("--frozen", action="store_true", help="read the committed uv.lock as it is")
    parser.add_argument(
        "--command", default="bazel run @fastapi_kit//uv:lock", help="shown in headers"
    )
    args = parser.parse_args(argv)
    base = Path(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."))
    root = (base / args.project) if args.project else base
    try:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = runfiles.runfile(args.uv)
            uv = Uv(runfiles.binary_from_wheel(wheel, "uv", Path(tmp)), root)
            requirements, record = lock(
                uv,
                root,
                args.python_version,
                args.frozen,
                args.command,
                Path(args.requirements).name,
            )
        # Both written only when both were made; each atomically.
        write_file_atomic(root / args.requirements, requirements.encode())
        write_file_atomic(root / args.members, record.encode())
    except LockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {root / args.requirements} and {root / args.members}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
