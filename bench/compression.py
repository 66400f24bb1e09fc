"""gzip against zstd on //:image's own layers: size, compression and decompression time.

Each layer's tar is compressed the way the kit's layer actions do it (gzip level 6 through
kit_lib.tarball, zstd through the declared zstd program at kit_lib.zstd.LEVEL and, for
comparison, levels 3 and 19), `runs` times, and unpacked again (gzip by Python's zlib as runc's
bundle does, zstd by the program). Medians; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kit_lib import layout, runfiles, tarball, zstd

from bench import common

LEVELS = (3, zstd.LEVEL, 19)


def _median_time(runs: int, action: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(runs):
        start = time.monotonic()
        action(*args)
        times.append(time.monotonic() - start)
    return statistics.median(times)


def measure(image_dir: str, program: str, runs: int) -> dict[str, Any]:
    image = layout.read_image(image_dir)
    layers = []
    with tempfile.TemporaryDirectory(prefix="bench-compression-") as tmp:
        for n, descriptor in enumerate(image.layers, 1):
            plain = Path(tmp) / f"{n}.tar"
            with gzip.open(image.blob(descriptor["digest"])) as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            row: dict[str, Any] = {"layer": n, "tar_bytes": plain.stat().st_size}
            out = Path(tmp) / f"{n}.tar.gz"
            row["gzip-6"] = {
                "seconds": _median_time(runs, tarball.gzip_file, plain, out),
                "bytes": out.stat().st_size,
                "unpack_seconds": _median_time(runs, _drain_gzip, out),
            }
            for level in LEVELS:
                packed = Path(tmp) / f"{n}.{level}.tar.zst"
                row[f"zstd-{level}"] = {
                    "seconds": _median_time(
                        runs, zstd.compress_file, plain, packed, program, level
                    ),
                    "bytes": packed.stat().st_size,
                    "unpack_seconds": _median_time(runs, _drain_zstd, packed, program),
                }
            layers.append(row)
    total: dict[str, dict[str, float]] = {}
    for codec in ["gzip-6"] + [f"zstd-{level}" for level in LEVELS]:
        total[codec] = {
            key: sum(row[codec][key] for row in layers)
            for key in ("seconds", "bytes", "unpack_seconds")
        }
    return {"runs": runs, "default_zstd_level": zstd.LEVEL, "layers": layers, "total": total}


def _drain_gzip(path: Path) -> None:
    with gzip.open(path) as f:
        while f.read(1 << 20):
            pass


def _drain_zstd(path: Path, program: str) -> None:
    with zstd.decompressed(path, program) as f:
        while f.read(1 << 20):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--runs", type=common.positive_int, default=3)
    args = parser.parse_args(argv)
    image = str(runfiles.runfile(os.environ["IMAGE"]))
    program = str(runfiles.runfile(os.environ["ZSTD"]))
    try:
        result = measure(image, program, args.runs)
    except (zstd.ZstdError, layout.ImageError, OSError) as err:
        print(f"compression: error: {err}")
        return 1
    common.write_json(args.out, result)
    for codec, t in result["total"].items():
        print(
            f"{codec}: {t['bytes'] / 2**20:.1f} MiB, {t['seconds']:.2f} s to compress, "
            f"{t['unpack_seconds']:.2f} s to unpack"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
