"""Start-up time: from `runc run` to the first 200 from /ready, as a kubelet's probe sees it.

Each run starts the image afresh under runc the way a pod runs it (uid 65532, read-only root,
tmpfs /tmp, no capabilities) and polls /ready every 5 ms. Images are measured in turns (A, B,
A, B, ...) so that a slow spell of the machine hits both alike and their ratio stays fair.

With `--stages NAME`, the same turns also run that image's stages: runc with the interpreter
doing nothing, then importing the app, then plain uvicorn serving it. Each does a little less
than the launcher's full start, so their differences say where its start-up time goes. They
also import the app under `-X importtime`, which says which packages that import spends its
time in (the flag's own bookkeeping makes that run slower, so it is not timed as a stage).

Run with `./bazelw run //bench:startup -- --out FILE [--runs N]` (needs root and runc, which
./bazelw's managed root has).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime import bundle, container

from bench import common, service

READY_PATH = "/ready"
READY_TIMEOUT = 60.0
# Finer than the runtime's default 20 ms, which would add about 10 ms to every figure.
POLL_SECONDS = 0.005
PYTHON = "/opt/venv/bin/python"


@dataclass(frozen=True)
class Stage:
    """A command run in the image instead of its entrypoint, timed to its exit or to ready."""

    command: tuple[str, ...]
    until_ready: bool


# Run in the image's working directory (/app), where `import app.main` finds the app. They
# leave by os._exit: tearing down what the import built would add time no server start has.
STAGES: dict[str, Stage] = {
    "interpreter": Stage((PYTHON, "-c", "import os; os._exit(0)"), until_ready=False),
    "import_app": Stage((PYTHON, "-c", "import os, app.main; os._exit(0)"), until_ready=False),
    "plain_uvicorn": Stage(tuple(service.PLAIN_COMMAND), until_ready=True),
}


# `python -X importtime` prints, per module: "import time: SELF_US | CUMULATIVE_US | NAME".
PROFILE = (PYTHON, "-X", "importtime", "-c", "import os, app.main; os._exit(0)")
_IMPORT_TIME = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \|\s*([\w.]+)\s*$")
STDLIB = "standard library"


def package_of(module: str) -> str:
    """The group a module's import time counts under: its top-level package, or STDLIB."""
    top = module.split(".", 1)[0]
    return STDLIB if top in sys.stdlib_module_names else top


def parse_importtime(text: str) -> dict[str, float]:
    """Seconds of import time per package (each module's own, not what it imported)."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _IMPORT_TIME.match(line)
        if match:
            group = package_of(match.group(2))
            totals[group] = totals.get(group, 0.0) + int(match.group(1)) / 1e6
    return totals


def import_profile(image_dir: str) -> dict[str, float]:
    """Import the app in the image under `-X importtime`; seconds per package."""
    run = bundle.RunSpec(read_only=True, command=list(PROFILE))
    with container.Container(image_dir, run, name="bench-imports") as c:
        _until_exit(c, PROFILE)
        output = c.output()
    totals = parse_importtime(output)
    if not totals:
        raise container.ContainerError(
            f"{' '.join(PROFILE)} printed no import times: {output[-2000:]}"
        )
    return totals


def _package_medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds per package over the runs (0 where a run did not import it)."""
    names = {name for totals in runs for name in totals}
    return {n: statistics.median(t.get(n, 0.0) for t in runs) for n in names}


def start_to_ready(image_dir: str, stage: Stage | None = None) -> float:
    """Seconds from launching the container to its first 200 on READY_PATH (or to its exit)."""
    port = container.free_port()
    command = None
    if stage is not None:
        command = (
            [*stage.command, "--port", str(port)] if stage.until_ready else list(stage.command)
        )
    run = bundle.RunSpec(env={"PORT": str(port)}, read_only=True, command=command)
    with container.Container(image_dir, run, name="bench-startup") as c:
        # The bundle is unpacked in __enter__; the clock starts when runc is launched.
        if stage is None or stage.until_ready:
            return c.wait_http(port, READY_PATH, timeout=READY_TIMEOUT, interval=POLL_SECONDS)
        return _until_exit(c, stage.command)


def _until_exit(c: container.Container, command: Sequence[str]) -> float:
    """Seconds until the container's `command` exits; an error unless it exits 0."""
    # Polled here: Popen.wait(timeout) sleeps up to 50 ms between its own polls.
    start = time.monotonic()
    while c.running():
        if time.monotonic() - start > READY_TIMEOUT:
            raise container.ContainerError(f"{command[-1]} still running after {READY_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
    seconds = time.monotonic() - start
    code = c.wait(timeout=1)
    if code != 0:
        raise container.ContainerError(f"{' '.join(command)} exited {code}: {c.output()[-2000:]}")
    return seconds


def _figures(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": values,
    }


def measure(images: dict[str, str], runs: int, stages_of: str | None = None) -> dict[str, Any]:
    """Median, min and max start-up seconds per image (and per stage of one), in turns."""
    if stages_of is not None and stages_of not in images:
        raise common.BenchError(f"--stages {stages_of!r} names no --image")
    jobs: list[tuple[str, str, Stage | None]] = [(name, d, None) for name, d in images.items()]
    if stages_of is not None:
        jobs += [(f"stage:{name}", images[stages_of], s) for name, s in STAGES.items()]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
    profiles: list[dict[str, float]] = []
    for i in range(runs):
        # Alternate who goes first, so neither always follows the other's teardown.
        for name, image_dir, stage in jobs if i % 2 == 0 else reversed(jobs):
            seconds = start_to_ready(image_dir, stage)
            samples[name].append(seconds)
            print(f"startup: {name} run {i + 1}/{runs}: {seconds:.3f} s", file=sys.stderr)
        if stages_of is not None:
            profiles.append(import_profile(images[stages_of]))
    result: dict[str, Any] = {
        "images": {n: _figures(v) for n, v in samples.items() if not n.startswith("stage:")}
    }
    if stages_of is not None:
        result["stages"] = {
            "image": stages_of,
            **{n: _figures(samples[f"stage:{n}"]) for n in STAGES},
            "import_by_package": _package_medians(profiles),
        }
    return result


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
    parser.add_argument(
        "--stages", metavar="NAME", help="also time the start-up stages of this --image"
    )
    args = parser.parse_args(argv)
    try:
        images = common.named_paths(args.image)
        results = {"runs": args.runs, **measure(images, args.runs, args.stages)}
    except (common.BenchError, container.ContainerError, OSError) as err:
        print(f"startup: error: {err}", file=sys.stderr)
        return 1
    common.write_json(Path(args.out), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
