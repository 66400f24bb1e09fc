"""Turn an OCI image layout into a runc bundle configured the way Kubernetes would run it.

Kubernetes' "restricted" profile is the bar: a non-root user, read-only root filesystem, a tmpfs
at /tmp, no capabilities, no new privileges. Tests and `bazel run //:run` both go through here,
so what is tested is what a user runs.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import tarfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit_lib import layout, runfiles, scratch

from runtime import _tools


@dataclass(frozen=True)
class RunSpec:
    """How to run the image: what the kubelet would take from a Pod's container spec."""

    env: Mapping[str, str] = field(default_factory=dict)
    # In-image path -> host file, mounted read-only (Secret volumes).
    files: Mapping[str, str] = field(default_factory=dict)
    # In-image path -> host folder, mounted read-write (a PersistentVolumeClaim's volume).
    volumes: Mapping[str, str] = field(default_factory=dict)
    command: Sequence[str] | None = None  # replaces the entrypoint (and cmd), as `command` does
    args: Sequence[str] | None = None  # replaces the image's cmd, as a Pod's `args` does
    user: str | None = None  # "uid:gid"; default: the image's user
    groups: Sequence[int] = ()  # supplementary gids besides the primary one (a Pod's fsGroup)
    read_only: bool = True
    tmpfs: Sequence[str] = ("/tmp",)
    capabilities: Sequence[str] = ()
    no_new_privileges: bool = True
    # A memory limit in bytes, enforced by the kernel (a cgroup), as a Pod's limits.memory is.
    memory_limit: int | None = None
    # A network namespace of its own (loopback only, like a Pod's): ports cannot clash with the
    # host's. Default: share the host's network, so that a test reaches the container on loopback.
    network_namespace: bool = False
    # Host path of a static user-mode emulator (qemu-aarch64) for an image of another CPU: it
    # is mounted read-only at EMULATOR and runs the process (no binfmt registration needed).
    emulator: str | None = None


# Where RunSpec.emulator appears in the container.
EMULATOR = "/.emulator"


def _zstd() -> str:
    """The declared zstd program, for zstd layers."""
    return str(runfiles.runfile(_tools.ZSTD))


def _checked(name: str) -> str:
    """`name` if it stays below the root as written (relative, no ".."), else ImageError."""
    if name.startswith("/") or ".." in name.split("/"):
        raise layout.ImageError(f"layer member escapes the root: {name!r}")
    return name


def _resolved_inside(rootfs: Path, name: str) -> Path:
    """The directory `name` of `rootfs`, its symlinks followed, if that stays in `rootfs`."""
    root = rootfs.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise layout.ImageError(f"layer path leads out of the root through a symlink: {name!r}")
    return path


def _masked(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's "tar" filter for a member whose path holds no symlink (see `unpack`): no
    setuid or group/other write bits. Names were checked by `_checked`, so there is nothing
    else to check, and no per-member realpath (a third of an unpack's CPU time) to pay."""
    if member.mode is not None and member.mode & ~0o755:
        return member.replace(mode=member.mode & 0o755, deep=False)
    return member


def _through_symlink(name: str, symlinks: set[str]) -> bool:
    """Whether a directory on the way to `name` (a `layout.member_path`) is one of `symlinks`."""
    parts = name.split("/")[:-1]
    return any("/".join(parts[: i + 1]) in symlinks for i in range(len(parts)))


def unpack(image: layout.Image, rootfs: Path) -> None:
    """Apply the image's layers in order into `rootfs`, honouring OCI whiteouts.

    Into an empty `rootfs`, only what the layers made is there: its names are kept, so a member
    whose path was never extracted needs no look at the disk, and the only way out is through a
    symlink among them. A layer with a member (or hard link target) below one is extracted with
    tarfile's "tar" filter, which resolves every path; other layers skip that cost.
    """
    rootfs.mkdir(parents=True, exist_ok=True)
    # In a directory that held something before, any path may hold a symlink.
    fresh = not any(rootfs.iterdir())
    made: set[str] = set()  # what earlier layers extracted, as member paths
    symlinks: set[str] = set()  # the symlinks among them, this layer's included
    for descriptor in image.layers:
        with layout.open_layer(image, descriptor, _zstd()) as tar:
            kept: list[tarfile.TarInfo] = []
            for m in tar.getmembers():
                deleted = layout.whiteout(layout.member_path(_checked(m.name)))
                if deleted is None:
                    kept.append(m)
                    continue
                path, opaque = deleted
                if opaque:
                    folder = _resolved_inside(rootfs, path)
                    for child in folder.iterdir() if folder.is_dir() else ():
                        _remove(child)
                else:
                    parent, base = os.path.split(path)
                    _remove(_resolved_inside(rootfs, parent) / base)
            names = [layout.member_path(m.name) for m in kept]
            symlinks.update(name for name, m in zip(names, kept, strict=True) if m.issym())
            targets = [layout.member_path(_checked(m.linkname)) for m in kept if m.islnk()]
            resolve = not fresh or any(_through_symlink(n, symlinks) for n in names + targets)
            for name in names:
                if fresh and name not in made:
                    continue  # nothing there yet
                parent, base = os.path.split(name)
                existing = (_resolved_inside(rootfs, parent) if resolve else rootfs / parent) / base
                if existing.is_symlink() or (existing.exists() and not existing.is_dir()):
                    existing.unlink()
            made.update(names)
            # "tar" keeps owners but refuses anything that would land outside rootfs (e.g. via an
            # absolute symlink); it drops setuid and group/other write bits, which we never ship.
            safe: Any = "tar" if resolve else _masked
            tar.extractall(rootfs, members=kept, numeric_owner=True, filter=safe)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _user(spec: str) -> dict[str, int]:
    uid, _, gid = spec.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise layout.ImageError(f"image user must be numeric uid[:gid], got {spec!r}")
    return {"uid": int(uid), "gid": int(gid or uid)}


def runtime_config(image: layout.Image, run: RunSpec, hostname: str = "app") -> dict[str, Any]:
    """The OCI runtime config.json for `image` run as `run` says.

    Unless `run.network_namespace`, the container shares the host's network namespace, so the
    test can reach it on loopback.
    """
    cfg = image.config.get("config", {})
    env = dict(e.split("=", 1) for e in cfg.get("Env", []))
    env.update(run.env)
    if run.command is not None:
        # Kubernetes: `command` replaces the entrypoint, and the image's cmd goes with it.
        args = list(run.command) + list(run.args or [])
    else:
        args = list(cfg.get("Entrypoint") or []) + list(
            run.args if run.args is not None else cfg.get("Cmd") or []
        )
    if not args:
        raise layout.ImageError("image has neither entrypoint nor cmd")
    if run.emulator:
        args = [EMULATOR, *args]
    user = _user(run.user or cfg.get("User") or "0")
    caps = [f"CAP_{c.upper().removeprefix('CAP_')}" for c in run.capabilities]
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        _sys_mount(),
    ]
    namespaces = ["pid", "ipc", "uts", "mount"] + (["network"] if run.network_namespace else [])
    for path in run.tmpfs:
        mounts.append(
            {
                "destination": path,
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=65536k"],
            }
        )
    if run.emulator:
        mounts.append(
            {
                "destination": EMULATOR,
                "type": "bind",
                "source": run.emulator,
                "options": ["rbind", "ro"],
            }
        )
    for dest, src in sorted(run.files.items()):
        mounts.append(
            {"destination": dest, "type": "bind", "source": src, "options": ["rbind", "ro"]}
        )
    for dest, src in sorted(run.volumes.items()):
        mounts.append(
            {"destination": dest, "type": "bind", "source": src, "options": ["rbind", "rw"]}
        )
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {**user, "additionalGids": list(dict.fromkeys([user["gid"], *run.groups]))},
            "args": args,
            "env": [f"{k}={v}" for k, v in env.items()],
            "cwd": cfg.get("WorkingDir") or "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": run.no_new_privileges,
            # Soft 1024 as containerd 2 sets it (systemd's default), hard as this host allows
            # (containerd: 524288); the launcher lifts soft to hard.
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": _nofile_hard(), "soft": 1024}],
        },
        "root": {"path": "rootfs", "readonly": run.read_only},
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            **({"resources": {"memory": {"limit": run.memory_limit}}} if run.memory_limit else {}),
            "namespaces": [{"type": t} for t in namespaces],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"],
        },
    }


def in_user_namespace(uid_map: str = "/proc/self/uid_map") -> bool:
    """Whether this process runs in a user namespace (./bazelw as a normal user), not real root."""
    try:
        lines = Path(uid_map).read_text().split("\n")
    except OSError:
        return False
    return [line.split() for line in lines if line.strip()] != [["0", "0", "4294967295"]]


def _sys_mount() -> dict[str, Any]:
    """/sys read-only. A new sysfs needs the network namespace's owner, which a container started
    from a user namespace is not (rootless runc): there /sys is bind-mounted, as `runc spec
    --rootless` writes it; the container sees the same read-only files either way."""
    if in_user_namespace():
        return {"destination": "/sys", "type": "none", "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}  # fmt: skip
    return {"destination": "/sys", "type": "sysfs", "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"]}  # fmt: skip


def _nofile_hard() -> int:
    return max(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


class SharedRoots:
    """Unpacked roots that this process's read-only containers of one image share.

    Unpacking is most of what starting a container costs (0.5 to 1.5 CPU-s for the demo image),
    and a test often starts the same image several times. A read-only container cannot change
    its root; runc only adds the mount points it is given, as empty files and directories. So
    containers of the same image with the same mount points get the same tree, unpacked once.
    The trees are removed when the process exits. They go to RAM when it has room for the
    first image (kit_lib.scratch: unpacking image after image onto ext4 makes each new inode
    dearer), else to the default temporary folder.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._roots: dict[tuple[str, ...], Path] = {}

    def root(self, image: layout.Image, config: dict[str, Any]) -> Path:
        """The shared root for `image` with `config`'s mount points, unpacked on first use."""
        key = (image.manifest_digest, *sorted(m["destination"] for m in config["mounts"]))
        with self._lock:
            if key not in self._roots:
                if self._dir is None:
                    size = sum(int(layer.get("size", 0)) for layer in image.layers)
                    self._dir = scratch.make_dir("oci-roots-", scratch.RAM_FACTOR * size)
                    atexit.register(self.close)
                rootfs = self._dir / str(len(self._roots))
                try:
                    unpack(image, rootfs)
                except BaseException:
                    shutil.rmtree(rootfs, ignore_errors=True)
                    raise
                self._roots[key] = rootfs
            return self._roots[key]

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
            self._dir, self._roots = None, {}


SHARED_ROOTS = SharedRoots()


def make_bundle(
    image_dir: str | os.PathLike[str],
    bundle: Path,
    run: RunSpec,
    shared: SharedRoots | None = SHARED_ROOTS,
) -> dict[str, Any]:
    """Write `bundle/config.json` and give it a root; return the config.

    A read-only container gets its image's root from `shared` (None: never shared); any other
    gets its own, unpacked into `bundle/rootfs`.
    """
    image = layout.read_image(image_dir)
    config = runtime_config(image, run)
    if run.read_only and shared is not None:
        config["root"]["path"] = str(shared.root(image, config))
    else:
        unpack(image, bundle / "rootfs")
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(config, indent=2))
    return config
