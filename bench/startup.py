"""Start-up time: from `runc run` to the first 200 from /ready, as a kubelet's probe sees it.

Each run starts the image afresh under runc the way a pod runs it (uid 65532, read-only root,
tmpfs /tmp, no capabilities) and polls /ready every 20 ms. Images are measured in turns (A, B,
A, B, ...) so that a slow spell of the machine hits both alike and their ratio stays fair.

Run with `./bazelw run //bench:startup -- --out FILE [--runs N]` (needs root and runc, which
./bazelw's managed root has).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from runtime import bundle, container

from bench import common

READY_PATH = "/ready"
READY_TIMEOUT = 60.0


def start_to_ready(image_dir: str) -> float:
    """Seconds from launching the container to its first 200 on READY_PATH."""
    port = container.free_port()
    run = bundle.RunSpec(env={"PORT": str(port)}, read_only=True)
    with container.Container(image_dir, run, name="bench-startup") as c:
        # The bundle is unpacked in __enter__; the clock starts when runc is launched.
        return c.wait_http(port, READY_PATH, timeout=READY_TIMEOUT)


def measure(images: dict[str, str], runs: int) -> dict[str, Any]:
    """Median, min and max start-up seconds per image, measured in turns."""
    samples: dict[str, list[float]] = {name: [] for name in images}
    for i in range(runs):
        # Alternate who goes first, so neither always follows the other's teardown.
        order = list(images.items()) if i % 2 == 0 else list(reversed(images.items()))
        for name, image_dir in order:
            seconds = start_to_ready(image_dir)
            samples[name].append(seconds)
            print(f"startup: {name} run {i + 1}/{runs}: {seconds:.3f} s", file=sys.stderr)
    return {
        name: {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "samples": values,
        }
        for name, values in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="startup", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--runs", type=common.positive_int, default=10)
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="NAME=LAYOUT",
        help="an image layout to measure (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        images = common.named_paths(args.image)
        results = {"runs": args.runs, "images": measure(images, args.runs)}
    except (common.BenchError, container.ContainerError, OSError) as err:
        print(f"startup: error: {err}", file=sys.stderr)
        return 1
    common.write_json(Path(args.out), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
