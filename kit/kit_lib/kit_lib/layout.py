"""Reading and writing OCI image layouts: the on-disk format every oci_* tool exchanges.

An image made by `image.py` is a directory with `oci-layout`, `index.json` and content-addressed
blobs. Both `image.py` (for `--base`) and `load.py` read it back through `read_image`, which checks
every digest it follows, so a corrupt or hand-edited layout fails loudly instead of producing an
image whose manifest lies about its content.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit_lib import zstd as zstd_tool

OCI_LAYOUT = "oci-layout"
INDEX = "index.json"
LAYOUT_VERSION = "1.0.0"

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
# Docker's names for the same bytes; a base written by other tools may use them.
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"

# Layer media type as found in a base -> the OCI media type our manifest uses for it.
LAYER_TYPES = {
    LAYER_GZIP: LAYER_GZIP,
    LAYER_TAR: LAYER_TAR,
    LAYER_ZSTD: LAYER_ZSTD,
    DOCKER_LAYER_GZIP: LAYER_GZIP,
    DOCKER_LAYER_TAR: LAYER_TAR,
}

# OCI whiteouts (image-spec, layer changesets): an entry `.wh.NAME` deletes NAME as lower layers
# have it; `.wh..wh..opq` in a folder deletes everything lower layers put in that folder.
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImageError(ValueError):
    """Bad image input; the message is one line and names what is wrong."""


def member_path(name: str) -> str:
    """A tar member name in one form: no "./", no leading or trailing "/" ("" is the root)."""
    return posixpath.normpath("/" + name).lstrip("/")


def whiteout(path: str) -> tuple[str, bool] | None:
    """For a whiteout entry (a `member_path`): the path it deletes and whether only that
    folder's contents go (opaque); None for an ordinary entry."""
    folder, base = posixpath.split(path)
    if base == OPAQUE:
        return folder, True
    if base.startswith(WHITEOUT):
        return posixpath.join(folder, base[len(WHITEOUT) :]), False
    return None


def canonical_json(value: Any) -> bytes:
    """Serialize JSON the one way we always do: sorted keys, no spaces, UTF-8.

    Digests are taken over these bytes, so any freedom here (key order, spacing) would make the
    same image come out with different digests.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_bytes(data: bytes) -> str:
    """Return the `sha256:<hex>` digest of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: object, what: str) -> str:
    """Return `digest` if it is a well-formed sha256 digest, else raise.

    Digests become file names under `blobs/`; a strict check keeps a crafted `../` out.
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageError(f"{what}: not a sha256 digest: {digest!r}")
    return digest


def blob_path(root: str | os.PathLike[str], digest: str) -> Path:
    """Return where the blob `digest` lives in the layout at `root`."""
    return Path(root) / "blobs" / "sha256" / check_digest(digest, "blob")[len("sha256:") :]


@dataclass(frozen=True)
class Image:
    """One image read from a layout: its manifest and config, and where its blobs are."""

    root: Path
    manifest: dict[str, Any]
    manifest_digest: str
    config: dict[str, Any]
    config_digest: str

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Layer descriptors of the manifest, in order (lowest first)."""
        return list(self.manifest.get("layers", []))

    @property
    def blob_digests(self) -> list[str]:
        """Every blob of the image: its manifest, its config and its layers."""
        return [self.manifest_digest, self.config_digest] + [x["digest"] for x in self.layers]

    def blob(self, digest: str) -> Path:
        """Path of one of this image's blobs."""
        return blob_path(self.root, digest)


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ImageError(f"{what}: missing {path}") from None
    except (OSError, ValueError) as err:
        raise ImageError(f"{what}: cannot read {path}: {err}") from None


def _read_blob(root: Path, descriptor: Any, what: str) -> bytes:
    if not isinstance(descriptor, dict):
        raise ImageError(f"{what}: descriptor is not an object")
    digest = check_digest(descriptor.get("digest"), what)
    path = blob_path(root, digest)
    try:
        data = path.read_bytes()
    except OSError:
        raise ImageError(f"{what}: blob {digest} is missing from {root}") from None
    if sha256_bytes(data) != digest:
        raise ImageError(f"{what}: blob {digest} in {root} does not match its digest")
    if descriptor.get("size") != len(data):
        raise ImageError(
            f"{what}: blob {digest} has size {len(data)}, descriptor says {descriptor.get('size')}"
        )
    return data


def verify_blob(root: Path, descriptor: dict[str, Any], what: str) -> None:
    """Check that a (possibly large) blob exists and matches its descriptor, reading in chunks."""
    digest = check_digest(descriptor.get("digest"), what)
    path = blob_path(root, digest)
    if not path.is_file():
        raise ImageError(f"{what}: blob {digest} is missing from {root}")
    size = path.stat().st_size
    if descriptor.get("size") != size:
        raise ImageError(
            f"{what}: blob {digest} has size {size}, descriptor says {descriptor.get('size')}"
        )
    with path.open("rb") as f:
        actual = "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
    if actual != digest:
        raise ImageError(f"{what}: blob {digest} in {root} does not match its digest")


def _read_layout_entry(path: Path) -> dict[str, Any]:
    """The one descriptor of the layout's index.json (an image manifest or an image index)."""
    if not path.is_dir():
        raise ImageError(f"image layout not found: {path} is not a directory")
    layout = _load_json(path / OCI_LAYOUT, "image layout")
    if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != LAYOUT_VERSION:
        raise ImageError(
            f"{path}: {OCI_LAYOUT} does not declare imageLayoutVersion {LAYOUT_VERSION}"
        )
    index = _load_json(path / INDEX, "image layout")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or len(manifests) != 1:
        count = len(manifests) if isinstance(manifests, list) else 0
        raise ImageError(f"{path}: {INDEX} must list exactly one manifest, found {count}")
    if not isinstance(manifests[0], dict):
        raise ImageError(f"{path}: {INDEX} entry is not an object")
    return manifests[0]


def is_index(root: str | os.PathLike[str]) -> bool:
    """Tell whether the layout at `root` holds an image index (several platforms)."""
    return _read_layout_entry(Path(root)).get("mediaType") == INDEX_MEDIA_TYPE


def read_image(root: str | os.PathLike[str], verify_layers: bool = True) -> Image:
    """Read the single image of the OCI layout at `root`, checking what it points to.

    Only layouts holding exactly one image manifest are accepted: that is what `image.py`
    writes, and picking one of several silently would build on the wrong platform.
    """
    path = Path(root)
    descriptor = _read_layout_entry(path)
    media_type = descriptor.get("mediaType")
    if media_type == INDEX_MEDIA_TYPE:
        raise ImageError(
            f"{path}: is an image index (several platforms); give one platform's oci_image"
        )
    if media_type not in (MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST):
        raise ImageError(f"{path}: index entry is {media_type!r}, not an image manifest")
    return _read_manifest(path, descriptor, verify_layers)


def _read_manifest(path: Path, descriptor: dict[str, Any], verify_layers: bool) -> Image:
    raw_manifest = _read_blob(path, descriptor, f"{path}: manifest")
    manifest = json.loads(raw_manifest)
    config_descriptor = manifest.get("config")
    if not isinstance(config_descriptor, dict) or config_descriptor.get("mediaType") not in (
        CONFIG_MEDIA_TYPE,
        DOCKER_CONFIG,
    ):
        raise ImageError(f"{path}: manifest has no image config")
    config = json.loads(_read_blob(path, config_descriptor, f"{path}: config"))
    layers = manifest.get("layers", [])
    if not isinstance(layers, list):
        raise ImageError(f"{path}: manifest layers is not a list")
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    if len(diff_ids) != len(layers):
        raise ImageError(f"{path}: config lists {len(diff_ids)} diff_ids for {len(layers)} layers")
    for i, layer in enumerate(layers, 1):
        if not isinstance(layer, dict) or layer.get("mediaType") not in LAYER_TYPES:
            kind = layer.get("mediaType") if isinstance(layer, dict) else layer
            raise ImageError(f"{path}: layer {i} has unsupported media type {kind!r}")
        if verify_layers:
            verify_blob(path, layer, f"{path}: layer {i}")
    return Image(
        root=path,
        manifest=manifest,
        manifest_digest=descriptor["digest"],
        config=config,
        config_digest=config_descriptor["digest"],
    )


@dataclass(frozen=True)
class Index:
    """An image index read from a layout: the index, its digest, and each platform's image."""

    root: Path
    index: dict[str, Any]
    digest: str
    # (the index's descriptor of the image, with its platform; the image)
    images: list[tuple[dict[str, Any], Image]]

    def blob(self, digest: str) -> Path:
        """Path of one of this index's blobs."""
        return blob_path(self.root, digest)


def platform_name(platform: dict[str, Any]) -> str:
    """ "linux/arm64/v8" from an OCI platform object."""
    parts = [platform.get("os", "?"), platform.get("architecture", "?")]
    return "/".join(parts + ([platform["variant"]] if platform.get("variant") else []))


def read_index(root: str | os.PathLike[str], verify_layers: bool = True) -> Index:
    """Read the image index of the layout at `root` and every image it lists."""
    path = Path(root)
    descriptor = _read_layout_entry(path)
    if descriptor.get("mediaType") != INDEX_MEDIA_TYPE:
        raise ImageError(f"{path}: holds one image, not an image index")
    index = json.loads(_read_blob(path, descriptor, f"{path}: image index"))
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ImageError(f"{path}: the image index lists no manifests")
    images = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("mediaType") not in (
            MANIFEST_MEDIA_TYPE,
            DOCKER_MANIFEST,
        ):
            raise ImageError(f"{path}: an image index entry is not an image manifest")
        images.append((entry, _read_manifest(path, entry, verify_layers)))
    return Index(root=path, index=index, digest=descriptor["digest"], images=images)


def write_index(
    staging: Path, images: list[str | os.PathLike[str]], annotations: dict[str, str] | None = None
) -> str:
    """Write an image index of single-image layouts into a staged layout; return its digest.

    Each image's blobs are copied (a blob shared by two platforms, once) and its descriptor
    keeps the platform its layout declares. Two images of one platform are an error: a
    runtime would pick one of them silently.
    """
    descriptors: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for image_dir in images:
        descriptor = _read_layout_entry(Path(image_dir))
        image = read_image(image_dir, verify_layers=False)
        platform = descriptor.get("platform") or {
            k: image.config[k] for k in ("os", "architecture", "variant") if image.config.get(k)
        }
        name = platform_name(platform)
        if name in seen:
            raise ImageError(f"{image_dir}: a second image for {name} (the first: {seen[name]})")
        seen[name] = str(image_dir)
        for digest in image.blob_digests:
            copy_blob(image.root, staging, digest)
        size = image.blob(image.manifest_digest).stat().st_size
        descriptors.append(
            {
                "mediaType": image.manifest.get("mediaType") or MANIFEST_MEDIA_TYPE,
                "digest": image.manifest_digest,
                "size": size,
                "platform": platform,
            }
        )
    index = _index(descriptors)
    if annotations:
        index["annotations"] = annotations
    blob = write_blob(staging, canonical_json(index))
    _write_top(staging, {"mediaType": INDEX_MEDIA_TYPE, **blob})
    return str(blob["digest"])


def _index(descriptors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": descriptors}


def _write_top(staging: Path, descriptor: dict[str, Any]) -> None:
    """The layout's `oci-layout` and its `index.json` pointing at `descriptor`."""
    (staging / OCI_LAYOUT).write_bytes(canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
    (staging / INDEX).write_bytes(canonical_json(_index([descriptor])))


@contextmanager
def open_layer(
    image: Image, descriptor: dict[str, Any], zstd: str | None = None
) -> Iterator[tarfile.TarFile]:
    """The layer as a tar that can be read in any order: a plain tar as it is; gzip and zstd
    inflated once into a temporary file (zstd through the zstd program: `zstd`, else $KIT_ZSTD).

    tarfile over a gzip stream inflates it again from the start on every backward seek, so
    `getmembers()` then `extractall()` paid for the layer twice (an unpack of the demo image
    took 0.9 s, half of it in zlib). A gzip stream that does not inflate raises
    tarfile.ReadError, as tarfile itself would.
    """
    path = image.blob(descriptor["digest"])
    zstd_layer = LAYER_TYPES.get(descriptor.get("mediaType", "")) == LAYER_ZSTD
    with path.open("rb") as raw:
        gzip_layer = not zstd_layer and raw.read(2) == _GZIP_MAGIC
    if not zstd_layer and not gzip_layer:
        with tarfile.open(path, "r:") as tar:
            yield tar
        return
    with tempfile.TemporaryFile() as plain:
        if zstd_layer:
            try:
                with zstd_tool.decompressed(path, zstd) as stream:
                    shutil.copyfileobj(stream, plain, 1 << 20)
            except zstd_tool.ZstdError as err:
                raise ImageError(str(err)) from None
        else:
            try:
                with gzip.open(path) as stream:
                    shutil.copyfileobj(stream, plain, 1 << 20)
            except (OSError, EOFError, zlib.error) as err:
                raise tarfile.ReadError(f"{path}: not a valid gzip stream: {err}") from None
        plain.seek(0)
        with tarfile.open(fileobj=plain, mode="r:") as tar:
            yield tar


def write_blob(root: Path, data: bytes) -> dict[str, Any]:
    """Store `data` as a blob of the layout at `root`; return its digest and size."""
    digest = sha256_bytes(data)
    path = blob_path(root, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def copy_blob(src_root: Path, dst_root: Path, digest: str) -> None:
    """Copy one blob between layouts (a copy, not a link: Bazel outputs may be read-only)."""
    dst = blob_path(dst_root, digest)
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(blob_path(src_root, digest), dst)


_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class LayerScan:
    """What one pass over a layer file learns: its digest, and the digest of its tar.

    `compression` is "gzip", "zstd" or "" (a plain tar).
    """

    compression: str
    digest: str
    size: int
    diff_id: str | None
    uncompressed_size: int | None


def _check_tar_start(block: bytes, what: str) -> None:
    """Fail unless `block` starts a tar archive (a valid header, or the all-zero end marker)."""
    if len(block) < tarfile.BLOCKSIZE:
        raise ImageError(f"{what}: not a tar archive (only {len(block)} bytes)")
    header = block[: tarfile.BLOCKSIZE]
    if header == bytes(tarfile.BLOCKSIZE):
        return
    try:
        tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        raise ImageError(f"{what}: not a tar archive") from None


def scan_layer(path: str | os.PathLike[str], what: str, zstd: str | None = None) -> LayerScan:
    """Hash a layer file, and through its compression the tar inside it, reading the file once.

    This both gives the diff_id a config needs and proves the file is a (possibly compressed)
    tar, so a stray zip or text file in `tars` fails the build here with its name. A zstd file
    is decompressed by the zstd program (`zstd`, else $KIT_ZSTD).
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as err:
        raise ImageError(f"{what}: cannot read {path}: {err.strerror}") from None
    if magic == zstd_tool.MAGIC:
        return _scan_zstd(path, what, zstd)
    outer = hashlib.sha256()
    inner = hashlib.sha256()
    size = usize = 0
    head = b""
    with open(path, "rb") as f:
        first = f.read(1 << 20)
        compression = "gzip" if first.startswith(_GZIP_MAGIC) else ""
        inflater = zlib.decompressobj(wbits=31)
        chunk = first
        try:
            while chunk:
                outer.update(chunk)
                size += len(chunk)
                if compression == "gzip":
                    data = inflater.decompress(chunk)
                    # A gzip file may hold several members; each needs a fresh decompressor.
                    while inflater.eof and inflater.unused_data:
                        rest = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
                        data += inflater.decompress(rest)
                else:
                    data = chunk
                if len(head) < tarfile.BLOCKSIZE:
                    head += data[: tarfile.BLOCKSIZE]
                inner.update(data)
                usize += len(data)
                chunk = f.read(1 << 20)
        except zlib.error as err:
            raise ImageError(f"{what}: corrupt gzip data in {path}: {err}") from None
    if compression == "gzip" and not inflater.eof:
        raise ImageError(f"{what}: truncated gzip data in {path}")
    _check_tar_start(head, f"{what} ({path})")
    return LayerScan(
        compression,
        "sha256:" + outer.hexdigest(),
        size,
        "sha256:" + inner.hexdigest(),
        usize,
    )


def _scan_zstd(path: str | os.PathLike[str], what: str, zstd: str | None) -> LayerScan:
    """scan_layer for a zstd file: the file hashed as it is, the tar through `zstd -d`."""
    with open(path, "rb") as f:
        outer = "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
    size = os.path.getsize(path)
    inner = hashlib.sha256()
    usize = 0
    head = b""
    try:
        with zstd_tool.decompressed(path, zstd) as stream:
            while chunk := stream.read(1 << 20):
                if len(head) < tarfile.BLOCKSIZE:
                    head += chunk[: tarfile.BLOCKSIZE]
                inner.update(chunk)
                usize += len(chunk)
    except zstd_tool.ZstdError as err:
        raise ImageError(f"{what}: {err}") from None
    _check_tar_start(head, f"{what} ({path})")
    return LayerScan("zstd", outer, size, "sha256:" + inner.hexdigest(), usize)


def _open_modes(root: Path) -> None:
    """Make a staged tree world-readable (0755 dirs, 0644 files) whatever mkdtemp/umask chose."""
    root.chmod(0o755)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


@contextmanager
def staged_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temp directory beside `final`; on success it replaces `final` whole.

    Bazel may have created `final` (a declared directory) empty before the action runs; it is
    removed first so the rename can take its place. On any error the temp directory is deleted
    and `final` is left as it was.
    """
    final_path = Path(final)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final_path.name}.tmp-", dir=final_path.parent))
    try:
        yield tmp
        _open_modes(tmp)
        if final_path.is_dir() and not final_path.is_symlink():
            shutil.rmtree(final_path)
        elif final_path.exists() or final_path.is_symlink():
            final_path.unlink()
        os.replace(tmp, final_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_file_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` through a temp file and a rename, never half-written."""
    final_path = Path(path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final_path.name}.tmp-", dir=final_path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, final_path)
    except BaseException:
        os.unlink(tmp)
        raise


def finish_layout(
    staging: Path,
    config: dict[str, Any],
    layers: list[dict[str, Any]],
    platform: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> str:
    """Write config, manifest, `index.json` and `oci-layout` into a staged layout.

    `layers` are the manifest's layer descriptors, whose blobs are already in `staging`. Returns
    the manifest digest. One writer for every tool, so every layout has the same canonical form.
    """
    config_blob = write_blob(staging, canonical_json(config))
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, **config_blob},
        "layers": layers,
    }
    if annotations:
        manifest["annotations"] = annotations
    manifest_blob = write_blob(staging, canonical_json(manifest))
    _write_top(staging, {"mediaType": MANIFEST_MEDIA_TYPE, **manifest_blob, "platform": platform})
    return str(manifest_blob["digest"])


_MEDIA_TYPE_OF = {"gzip": LAYER_GZIP, "zstd": LAYER_ZSTD, "": LAYER_TAR}


def add_layer(
    staging: Path, path: str | os.PathLike[str], zstd: str | None = None
) -> tuple[dict[str, Any], LayerScan]:
    """Copy one layer file into a staged layout as it is; return its descriptor and its scan.

    Compression comes from the magic bytes and is kept (rules_oci's rule): a gzip layer stays
    gzip, a zstd one zstd (read through the `zstd` program), a plain tar an uncompressed layer.
    """
    return add_scanned_layer(staging, path, scan_layer(path, "layer", zstd))


def add_scanned_layer(
    staging: Path, path: str | os.PathLike[str], scan: LayerScan
) -> tuple[dict[str, Any], LayerScan]:
    """`add_layer` for a layer whose scan was made before (by a cached action): only copied."""
    dst = blob_path(staging, scan.digest)
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dst)
    media_type = _MEDIA_TYPE_OF.get(scan.compression)
    if media_type is None:
        raise ImageError(f"{path}: unknown compression {scan.compression!r} in its scan")
    return {"mediaType": media_type, "digest": scan.digest, "size": scan.size}, scan


def write_image(
    final: str | os.PathLike[str],
    layer_files: list[str | os.PathLike[str]],
    config: dict[str, Any] | None = None,
    platform: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    """Write a small image layout from layer files as they are (no recompression).

    For tests and tools that need a real layout without the build rules. `config` is the
    `config` object (Env, Labels, ...). Returns the manifest digest.
    """
    platform = platform or {"architecture": "amd64", "os": "linux"}
    with staged_dir(final) as staging:
        descriptors: list[dict[str, Any]] = []
        diff_ids: list[str] = []
        for path in layer_files:
            descriptor, scan = add_layer(staging, path)
            descriptors.append(descriptor)
            diff_ids.append(str(scan.diff_id))
        image_config = {
            **platform,
            "config": config or {},
            "created": "1970-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        return finish_layout(staging, image_config, descriptors, platform, annotations)
