"""Push figures: the kit's oci_push against `skopeo copy`, on the same layouts and a local registry.

For //:image and //:image_index, each run starts a fresh docker-registry on 127.0.0.1 (its start
is not timed), then times a full upload and a no-op re-push of the same layout to it, by our push
runners (exactly what `bazel run` of an oci_push execs: :push_image for //:image, //:push for
the index) and by skopeo (`copy --all` for the index), side
by side, and by crane (`crane push`, the engine rules_oci's oci_push runs). Our runner gets a
fresh HOME and cache each run, so no blob is mounted from an earlier
run. `--serve PORT_FILE` instead keeps one registry up for bench/run.sh to time
`./bazelw run //:push` against, until --watch-pid is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kit_lib import layout, runfiles
from oci.private.testregistry import Registry, skopeo_binary

from bench import common


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise common.BenchError(f"{Path(cmd[0]).name} failed: {last}")
    return elapsed


TOOLS = ("ours", "skopeo", "crane")


def measure(name: str, layout_dir: str, runner: str, crane: str, runs: int) -> dict[str, Any]:
    """Full upload and no-op re-push by each tool, `runs` times each, on fresh registries."""
    is_index = layout.is_index(layout_dir)
    skopeo = [skopeo_binary(), "--insecure-policy", "copy", "--dest-tls-verify=false"]
    skopeo += ["--all"] if is_index else []
    times: dict[str, list[float]] = {f"{t}_{k}": [] for t in TOOLS for k in ("full", "noop")}
    for _ in range(runs):
        for tool in TOOLS:
            with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
                home = Path(tmp) / "home"
                home.mkdir()
                env = dict(
                    os.environ, HOME=str(home), TMPDIR=tmp, XDG_CACHE_HOME=str(home / "cache")
                )
                env["RUNFILES_DIR"] = str(runfiles.runfile(".").resolve())
                with Registry(Path(tmp) / "registry") as registry:
                    repo = f"{registry.host}/app"
                    if tool == "ours":
                        cmd = [runner, "-r", repo, "-t", "bench"]
                    elif tool == "crane":
                        cmd = [crane, "push", "--insecure", layout_dir, f"{repo}:bench"]
                    else:
                        cmd = [*skopeo, f"oci:{layout_dir}", f"docker://{repo}:bench"]
                    times[f"{tool}_full"].append(_timed(cmd, env))
                    times[f"{tool}_noop"].append(_timed(cmd, env))
    medians = {k: statistics.median(v) for k, v in times.items()}
    size = sum(p.stat().st_size for p in (Path(layout_dir) / "blobs" / "sha256").iterdir())
    return {
        "layout": name,
        "bytes": size,
        "runs": times,
        "median": medians,
        "full_ratio": medians["ours_full"] / medians["skopeo_full"],
        "noop_ratio": medians["ours_noop"] / medians["skopeo_noop"],
        "crane_full_ratio": medians["crane_full"] / medians["skopeo_full"],
        "crane_noop_ratio": medians["crane_noop"] / medians["skopeo_noop"],
    }


def serve(port_file: Path, watch_pid: int | None) -> int:
    """One registry until SIGTERM or until `watch_pid` is gone; its host:port in `port_file`."""
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        with Registry(Path(tmp)) as registry:
            layout.write_file_atomic(port_file, registry.host.encode() + b"\n")
            while not stop:
                if watch_pid is not None:
                    try:
                        os.kill(watch_pid, 0)
                    except ProcessLookupError:
                        break
                time.sleep(0.5)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="JSON file to write")
    parser.add_argument("--runs", type=common.positive_int, default=5)
    parser.add_argument("--serve", type=Path, metavar="PORT_FILE", help="keep a registry up")
    parser.add_argument("--watch-pid", type=common.positive_int, help="stop when it is gone")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.watch_pid)
    if not args.out:
        parser.error("--out is required (or --serve)")
    crane = str(runfiles.runfile(os.environ["CRANE"]))
    try:
        # Each layout with the runner that pushes it (//:push pushes the index).
        result = {
            name: measure(
                name,
                str(runfiles.runfile(os.environ[var])),
                str(runfiles.runfile(os.environ[runner])),
                crane,
                args.runs,
            )
            for name, var, runner in (
                ("image", "IMAGE", "IMAGE_PUSH_RUNNER"),
                ("index", "INDEX", "PUSH_RUNNER"),
            )
        }
    except common.BenchError as err:
        print(f"push: error: {err}", flush=True)
        return 1
    common.write_json(args.out, result)
    for name, r in result.items():
        m = r["median"]
        print(
            f"push {name}: full {m['ours_full']:.2f} s vs skopeo {m['skopeo_full']:.2f} s "
            f"({r['full_ratio']:.2f}x); no-op {m['ours_noop']:.3f} s vs {m['skopeo_noop']:.3f} s "
            f"({r['noop_ratio']:.2f}x); crane full {m['crane_full']:.2f} s, no-op "
            f"{m['crane_noop']:.3f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
