"""Turn the raw results of one `bench/run.sh` run into a JSON document and a Markdown table.

run.sh leaves in the raw folder: `builds.tsv` (name, wall seconds, log file per build), the
build logs, copies of the image layouts it built (`images/<build name>`), `startup.json`,
`service.json`, `cache.json`, `calls.tsv` (bazelw or direct, wall seconds per warm call) and
`meta.tsv` (key, value). Everything is measured there; this
only reads, computes medians and ratios, and formats. No threshold is ever asserted: numbers
depend on the machine, and the report says which machine.

Run with `./bazelw run //bench:report -- --raw DIR --out FILE` (prints the Markdown).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import buildlog, common, imagestats

COLD = "cold"
COLD_WARM_CACHE = "cold-warm-cache"  # new output bases, the repository cache warm
WARM = "warm"
EDIT = "incremental-edit"
RESTORE = "incremental-restore"
REMOTE_FIRST = "remote-1"
REMOTE_SECOND = "remote-2"
CLEAN = "clean"
RBE = "rbe"
SLIM = "slim"  # //:image_slim, copied by run.sh
TESTS_RERUN = "tests-rerun"  # the timed `test --nocache_test_results //...` (run.sh)
EDITED_FILE = "app/todos.py"
SERVER_START = "Starting local Bazel server"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(total_kib / 2**20, 1),
        "cpu": model,
        "kernel": platform.release(),
    }


def read_tsv(path: Path) -> list[list[str]]:
    """Tab-separated rows, skipping blank lines."""
    return [line.split("\t") for line in path.read_text().splitlines() if line.strip()]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def builds(raw: Path) -> dict[str, dict[str, Any]]:
    """Per build name: wall seconds, Bazel's elapsed seconds and its processes line."""
    result = {}
    for name, wall, log_name in read_tsv(raw / "builds.tsv"):
        log = (raw / log_name).read_text(errors="replace")
        processes = buildlog.parse_processes(log)
        result[name] = {
            "wall_seconds": float(wall),
            "bazel_seconds": buildlog.parse_elapsed(log),
            "processes": {"total": processes.total, **processes.kinds},
            "executed": processes.executed,
            "cacheable": processes.cacheable,
            "remote_hits": processes.remote_hits,
            # The client had to start a server: its start-up and a cold analysis are included.
            "server_started": SERVER_START in log,
        }
    return result


def _series(found: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [found[name] for name in sorted(found) if name.startswith(prefix + "-")]


def build_section(raw: Path, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cold, warm and incremental build figures, and which layers an app edit moved."""
    images = raw / "images"
    base = imagestats.layer_digests(images / COLD)
    edits, restores = [], []
    for name in sorted(found):
        if name.startswith(EDIT + "-"):
            edits.append(imagestats.changed_layers(base, imagestats.layer_digests(images / name)))
        if name.startswith(RESTORE + "-"):
            after = imagestats.layer_digests(images / name)
            restores.append(imagestats.changed_layers(base, after))
    changed = list(dict.fromkeys(layer for layers in edits for layer in layers))  # image order
    incremental = _series(found, EDIT) + _series(found, RESTORE)
    warm_cache = _series(found, COLD_WARM_CACHE)
    return {
        "cold": found[COLD],
        "cold_warm_repository_cache": {
            "median_seconds": _median([b["wall_seconds"] for b in warm_cache]),
            "runs": warm_cache,
        },
        "warm_noop": {
            "median_seconds": _median([b["wall_seconds"] for b in _series(found, WARM)]),
            "runs": _series(found, WARM),
        },
        "incremental": {
            "edited_file": EDITED_FILE,
            "median_seconds": _median([b["wall_seconds"] for b in incremental]),
            "runs": incremental,
            "layers_changed_by_edit": changed,
            "only_app_layer_changed": bool(edits) and all(c == ["app"] for c in edits),
            "restore_gives_original_layers": all(c == [] for c in restores),
        },
    }


def remote_section(found: dict[str, dict[str, Any]], cache: dict[str, Any]) -> dict[str, Any]:
    """Hit rate of the second clean build, and how much faster the cache made it."""
    first, second = found[REMOTE_FIRST], found[REMOTE_SECOND]
    hits, cacheable = second["remote_hits"], second["cacheable"]
    return {
        "first": first,
        "second": second,
        "second_hit_rate": hits / cacheable if cacheable else None,
        "all_cacheable_actions_hit": hits == cacheable,
        "time_ratio_second_to_first": second["wall_seconds"] / first["wall_seconds"],
        "server": cache,
    }


def rbe_section(
    raw: Path, found: dict[str, dict[str, Any]], cluster: dict[str, Any]
) -> dict[str, Any]:
    """The clean build on BuildGrid beside the same clean build run here.

    Both start from a new output base with the warm repository cache, so the difference is where
    the actions ran. "Every action remotely" means the processes line has no kind but internal
    and remote (a cache hit would mean the cluster was not fresh).
    """
    remote, local = found[RBE], found[CLEAN]
    kinds = {k for k in remote["processes"] if k not in ("total", buildlog.INTERNAL)}
    jobs = cluster.get("jobs_per_worker", {})
    digests = {n: imagestats.image_stats(raw / "images" / n)["digest"] for n in (RBE, CLEAN)}
    return {
        "remote_actions": remote["processes"].get("remote", 0),
        "all_actions_remote": kinds == {"remote"},
        "workers": cluster.get("workers"),
        "workers_used": sum(1 for n in jobs.values() if n > 0),
        "jobs_per_worker": jobs,
        "seconds": remote["wall_seconds"],
        "local_seconds": local["wall_seconds"],
        "ratio_to_local": remote["wall_seconds"] / local["wall_seconds"],
        "digest": digests[RBE],
        "digest_matches_local": digests[RBE] == digests[CLEAN],
        # run.sh's check after `stop`: no process, mount or listening port of the cluster left.
        "stopped_clean": _read(raw / "rbe-stop.txt") == "clean",
        "left_after_stop": _read(raw / "rbe-stop.txt"),
        "build": remote,
        "local_build": local,
    }


def tests_section(raw: Path) -> dict[str, Any] | None:
    """The full re-run of every test: wall time, counts, and the slowest targets."""
    rows = {r[0]: r for r in read_tsv(raw / "tests.tsv")} if (raw / "tests.tsv").exists() else {}
    if TESTS_RERUN not in rows:
        return None
    _, wall, log_name = rows[TESTS_RERUN]
    log = (raw / log_name).read_text(errors="replace")
    run = buildlog.parse_test_run(log)
    slowest = sorted(run.seconds.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {
        "wall_seconds": float(wall),
        "bazel_seconds": buildlog.parse_elapsed(log),
        "executed": run.executed,
        "total": run.total,
        "passed": run.passed,
        "sum_of_test_seconds": round(sum(run.seconds.values()), 1),
        "slowest": [{"target": t, "seconds": v} for t, v in slowest],
    }


def repro_section(raw: Path, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Digests of the clean builds: the cold one and the first remote one ran every action."""
    digests = {}
    for name in (COLD, REMOTE_FIRST, REMOTE_SECOND):
        if name in found:
            digests[name] = imagestats.image_stats(raw / "images" / name)["digest"]
    clean = [digests[n] for n in (COLD, REMOTE_FIRST) if n in digests]
    return {
        "digests": digests,
        "clean_builds_compared": [n for n in (COLD, REMOTE_FIRST) if n in digests],
        "match": len(clean) == 2 and clean[0] == clean[1],
        "all_match": len(set(digests.values())) == 1,
    }


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _with_kinds(path: Path) -> dict[str, Any]:
    """An image's figures, with its bytes by kind of file."""
    stats = imagestats.image_stats(path)
    stats["by_kind"] = imagestats.bytes_by_kind(path, stats["total"]["uncompressed"])
    return stats


def _image_slim(raw: Path) -> dict[str, Any] | None:
    """//:image_slim's figures: the same app with library bytecode in place of sources."""
    path = raw / "images" / SLIM
    return _with_kinds(path) if path.is_dir() else None


def collect(raw: Path) -> dict[str, Any]:
    """The whole result document."""
    meta = dict(read_tsv(raw / "meta.tsv")) if (raw / "meta.tsv").exists() else {}
    found = builds(raw)
    result: dict[str, Any] = {
        "schema": 1,
        "date": meta.get("date") or datetime.datetime.now(datetime.UTC).isoformat(),
        "quick": meta.get("quick") == "1",
        "revision": meta.get("revision", "unknown"),
        "machine": machine(),
        "build": build_section(raw, found),
        "image": _with_kinds(raw / "images" / COLD),
        "image_slim": _image_slim(raw),
        "startup": _load(raw / "startup.json"),
        "service": _load(raw / "service.json"),
    }
    if REMOTE_FIRST in found and REMOTE_SECOND in found:
        result["remote_cache"] = remote_section(found, _load(raw / "cache.json") or {})
    if RBE in found and CLEAN in found:
        result["remote_execution"] = rbe_section(raw, found, _load(raw / "rbe.json") or {})
    result["reproducibility"] = repro_section(raw, found)
    if (raw / "calls.tsv").exists():
        result["bazelw"] = bazelw_section(raw)
    if (raw / "push.json").exists():
        result["push"] = push_section(raw)
    if (raw / "compression.json").exists():
        result["compression"] = _load(raw / "compression.json")
    if (tests := tests_section(raw)) is not None:
        result["tests"] = tests
    return result


def push_section(raw: Path) -> dict[str, Any]:
    """bench/push.py's figures, plus `./bazelw run //:push` (no-op) against its own runner's."""
    section: dict[str, Any] = dict(_load(raw / "push.json"))
    calls = (
        [float(wall) for name, wall in read_tsv(raw / "push_calls.tsv")]
        if (raw / "push_calls.tsv").exists()
        else []
    )
    wrapped = _median(calls)
    runner = section.get("index", {}).get("median", {}).get("ours_noop")
    section["bazel_run"] = {
        "runs": len(calls),
        "median_seconds": wrapped,
        "runner_median_seconds": runner,
        "overhead_seconds": None if wrapped is None or runner is None else wrapped - runner,
    }
    return section


def bazelw_section(raw: Path) -> dict[str, Any]:
    """./bazelw's own cost per call: its wall time minus the same Bazel client's, medians."""
    calls: dict[str, list[float]] = {}
    for name, wall in read_tsv(raw / "calls.tsv"):
        calls.setdefault(name, []).append(float(wall))
    wrapped, direct = _median(calls.get("bazelw", [])), _median(calls.get("direct", []))
    return {
        "runs": len(calls.get("bazelw", [])),
        "median_seconds": wrapped,
        "direct_median_seconds": direct,
        "overhead_seconds": None if wrapped is None or direct is None else wrapped - direct,
    }


# --- Markdown -----------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.1f} KiB"


def secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _processes(build: dict[str, Any]) -> str:
    kinds = {k: v for k, v in build["processes"].items() if k != "total"}
    return ", ".join(f"{n} {k}" for k, n in kinds.items()) or "none"


def _restarts(runs: list[dict[str, Any]]) -> str:
    started = sum(1 for run in runs if run["server_started"])
    return f"; Bazel server (re)started in {started} of {len(runs)}" if started else ""


def _build_rows(b: dict[str, Any]) -> list[tuple[str, str, str]]:
    cold, warm, inc = b["cold"], b["warm_noop"], b["incremental"]
    cwc = b.get("cold_warm_repository_cache") or {"runs": []}
    only_app = "yes" if inc["only_app_layer_changed"] else "NO"
    restored = "yes" if inc["restore_gives_original_layers"] else "NO"
    return [
        (
            "Build",
            "cold `//:image` (empty output base and repository cache)",
            f"{secs(cold['wall_seconds'])} (Bazel {secs(cold['bazel_seconds'])}; "
            f"{_processes(cold)})",
        ),
        *(
            [
                (
                    "Build",
                    "cold `//:image` in a new output base, warm repository cache "
                    f"(median of {len(cwc['runs'])})",
                    f"{secs(cwc['median_seconds'])} ({_processes(cwc['runs'][-1])})",
                )
            ]
            if cwc["runs"]
            else []
        ),
        (
            "Build",
            f"warm no-op rebuild (median of {len(warm['runs'])})",
            secs(warm["median_seconds"]) + _restarts(warm["runs"]),
        ),
        (
            "Build",
            f"incremental after editing `{inc['edited_file']}` (median of {len(inc['runs'])})",
            f"{secs(inc['median_seconds'])}; layers changed: "
            f"{', '.join(inc['layers_changed_by_edit']) or 'none'} (only app: {only_app}; "
            f"undoing the edit restores every layer: {restored}){_restarts(inc['runs'])}",
        ),
    ]


def _bazelw_rows(b: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not b:
        return []
    return [
        (
            "Build",
            f"`./bazelw` per call, warm server (median of {b['runs']}: `./bazelw info` vs the "
            "same Bazel client entered directly)",
            f"{secs(b['overhead_seconds'])} overhead ({secs(b['median_seconds'])} vs "
            f"{secs(b['direct_median_seconds'])})",
        )
    ]


def _crane(p: dict[str, Any], m: dict[str, Any], kind: str) -> str:
    if f"crane_{kind}" not in m:
        return "not measured"
    return f"{secs(m['crane_' + kind])} ({_ratio(p['crane_' + kind + '_ratio'])})"


def _push_rows(push: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not push:
        return []
    rows = []
    for key, what in (("image", "`//:image`"), ("index", "`//:image_index` (amd64 + arm64)")):
        p = push.get(key)
        if not p:
            continue
        m, n = p["median"], len(p["runs"]["ours_full"])
        for kind, label in (("full", "full upload"), ("noop", "no-op re-push")):
            rows.append(
                (
                    "Push",
                    f"{label} of {what}, {mib(p['bytes'])}, local registry: our push vs "
                    f"`skopeo copy` (median of {n}); crane, rules_oci's engine, beside",
                    f"{secs(m['ours_' + kind])} vs {secs(m['skopeo_' + kind])} "
                    f"({_ratio(p[kind + '_ratio'])}); crane {_crane(p, m, kind)}",
                )
            )
    b = push.get("bazel_run") or {}
    if b.get("overhead_seconds") is not None:
        rows.append(
            (
                "Push",
                "`./bazelw run //:push` no-op, above the push runner itself "
                f"(median of {b['runs']})",
                f"+{secs(b['overhead_seconds'])} ({secs(b['median_seconds'])} vs "
                f"{secs(b['runner_median_seconds'])})",
            )
        )
    return rows


def _compression_rows(c: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not c:
        return []
    gzip_total = c["total"]["gzip-6"]
    rows = []
    for codec, t in c["total"].items():
        default = " (the kit's zstd level)" if codec == f"zstd-{c['default_zstd_level']}" else ""
        rows.append(
            (
                "Compression",
                f"`//:image`'s 3 layers as {codec}{default}: size, compress, unpack "
                f"(median of {c['runs']})",
                f"{mib(int(t['bytes']))} ({_ratio(t['bytes'] / gzip_total['bytes'])} of gzip), "
                f"{secs(t['seconds'])}, {secs(t['unpack_seconds'])}",
            )
        )
    return rows


def _image_rows(image: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = [
        (
            "Image",
            f"layer `{layer['name']}` ({layer['digest'][7:19]})",
            f"{mib(layer['uncompressed'])} uncompressed, {mib(layer['compressed'])} gzip, "
            f"{layer['files']} files",
        )
        for layer in image["layers"]
    ]
    total = image["total"]
    rows.append(
        (
            "Image",
            f"total ({len(image['layers'])} layers, `{image['digest'][:19]}`)",
            f"{mib(total['uncompressed'])} uncompressed, {mib(total['compressed'])} gzip, "
            f"{total['files']} files",
        )
    )
    return rows


def _slim_rows(images: tuple[dict[str, Any] | None, dict[str, Any]]) -> list[tuple[str, str, str]]:
    slim, image = images
    if not slim:
        return []
    total, full = slim["total"], image["total"]
    raw, gz = total["uncompressed"], total["compressed"]
    return [
        (
            "Image",
            f"`//:image_slim`: library bytecode without library sources "
            f"({len(slim['layers'])} layers, `{slim['digest'][:19]}`)",
            f"{mib(raw)} ({raw / 1e6:.1f} MB) uncompressed, {mib(gz)} ({gz / 1e6:.1f} MB) gzip, "
            f"{total['files']} files; {_ratio(raw / full['uncompressed'])} and "
            f"{_ratio(gz / full['compressed'])} of `//:image`",
        )
    ]


_KIND_LABELS = {
    "native code": "native code (ELF: the interpreter, shared libraries, extension modules)",
    "bytecode": "bytecode (`.pyc`)",
    "Python sources": "Python sources (`.py`)",
    "other files": "other files (data, licenses, package metadata, certificates, time zones)",
    imagestats.FRAMING: "tar framing (headers, padding, directories, links; no gzip figure)",
}


def _megabytes(kind: dict[str, Any]) -> str:
    text = f"{kind['bytes'] / 1e6:.2f} MB"
    if kind["compressed"] is not None:
        text += f" ({kind['compressed'] / 1e6:.2f} MB gzip)"
    return text + (f", {kind['files']} files" if kind["files"] else "")


def _kind_rows(images: tuple[dict[str, Any] | None, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """What `//:image` and `//:image_slim` are made of, kind by kind, side by side."""
    slim, image = images
    if "by_kind" not in image:
        return []
    rows = []
    for kind, label in _KIND_LABELS.items():
        value = f"`//:image` {_megabytes(image['by_kind'][kind])}"
        if slim and "by_kind" in slim:
            value += f"; `//:image_slim` {_megabytes(slim['by_kind'][kind])}"
        rows.append(("Image", f"bytes by kind: {label}", value))
    return rows


def _label(name: str) -> str:
    """ "without_pyc" -> "without .pyc"."""
    return name.replace("_pyc", " .pyc").replace("_", " ")


def _startup_rows(startup: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not startup:
        return [("Start-up", "not measured", "")]
    images = startup["images"]
    rows = []
    for name, figures in images.items():
        rows.append(
            (
                "Start-up",
                f"runc start to first 200 on `/ready`, {_label(name)} "
                f"(median of {startup['runs']})",
                f"{secs(figures['median'])} (min {secs(figures['min'])}, "
                f"max {secs(figures['max'])})",
            )
        )
    if "with_pyc" in images and "without_pyc" in images:
        ratio = images["without_pyc"]["median"] / images["with_pyc"]["median"]
        rows.append(("Start-up", "ratio without / with precompiled bytecode", _ratio(ratio)))
    return rows + _stage_rows(startup)


# Stages in the order they build on each other, with what each one runs.
_STAGES = (
    ("interpreter", "runc and the interpreter alone, to `os._exit`"),
    ("import_app", "importing the app (`import app.main`), to `os._exit`"),
    ("plain_uvicorn", "plain uvicorn serving the app, to first 200"),
)


def _stage_rows(startup: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Where the start-up of one image goes: each stage, and what it adds to the one before."""
    stages = startup.get("stages")
    if not stages:
        return []
    image = stages["image"]
    rows = []
    before = 0.0
    steps = [(what, stages[key]["median"]) for key, what in _STAGES]
    steps.append(("the kit's launcher, to first 200", startup["images"][image]["median"]))
    for what, median in steps:
        added = f" ({median - before:+.2f} s)" if before else ""
        rows.append(
            (
                "Start-up",
                f"{_label(image)}, stage by stage: {what} (median of {startup['runs']})",
                f"{secs(median)}{added}",
            )
        )
        before = median
    return rows + _import_rows(image, stages.get("import_by_package"), startup["runs"])


def _import_rows(
    image: str, packages: dict[str, float] | None, runs: int
) -> list[tuple[str, str, str]]:
    """Which packages importing the app spends its time in, biggest first (the top six)."""
    if not packages:
        return []
    ranked = sorted(packages.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{name} {seconds * 1000:.0f} ms" for name, seconds in ranked[:6]]
    rest = sum(seconds for _, seconds in ranked[6:])
    if rest:
        shown.append(f"{len(ranked) - 6} more {rest * 1000:.0f} ms")
    total = sum(packages.values())
    return [
        (
            "Start-up",
            f"{_label(image)}, importing the app by package: each module's own time under "
            f"`-X importtime`, which adds its own (median of {runs})",
            f"{', '.join(shown)}; total {total * 1000:.0f} ms",
        )
    ]


def _service_rows(service: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not service:
        return [("Service", "not measured", "")]
    s = service["settings"]
    how = f"{s['connections']} connections, {s['seconds']:g} s, median of {s['rounds']}"
    rows = []
    paths = list(next(iter(service["variants"].values()))["endpoints"])
    for path in paths:
        for name, variant in service["variants"].items():
            e = variant["endpoints"][path]
            errors = e["non_2xx"] + e["socket_errors"]
            rows.append(
                (
                    "Service",
                    f"GET `{path}`, {name} ({how})",
                    f"{e['rps']:,.0f} req/s, p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms"
                    + (f", {errors} errors" if errors else ""),
                )
            )
        for key in ("rps_ratio", "launcher_ratio"):
            if key in service:
                rows.append(
                    (
                        "Service",
                        f"GET `{path}` req/s ratio {service[key]['of']}",
                        _ratio(service[key]["by_endpoint"][path]),
                    )
                )
    for name, variant in service["variants"].items():
        peak = max(e["rss_peak_kib"] for e in variant["endpoints"].values())
        rows.append(
            (
                "Service",
                f"server VmRSS idle / peak under load, {name}",
                f"{mib(variant['rss_idle_kib'] * 1024)} / {mib(peak * 1024)}",
            )
        )
    return rows


def _remote_rows(remote: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not remote:
        return [("Remote cache", "not measured", "")]
    first, second = remote["first"], remote["second"]
    rate = remote["second_hit_rate"]
    return [
        (
            "Remote cache",
            "1st clean build, empty nginx WebDAV cache (uploads)",
            f"{secs(first['wall_seconds'])} (Bazel {secs(first['bazel_seconds'])}; "
            f"{_processes(first)})",
        ),
        (
            "Remote cache",
            "2nd clean build: new output base, other checkout path",
            f"{secs(second['wall_seconds'])} (Bazel {secs(second['bazel_seconds'])}; "
            f"{_processes(second)})",
        ),
        (
            "Remote cache",
            "2nd build hit rate (remote hits / cacheable processes)",
            f"{second['remote_hits']}/{second['cacheable']}"
            + ("" if rate is None else f" ({rate:.0%})"),
        ),
        (
            "Remote cache",
            "time ratio 2nd / 1st",
            _ratio(remote["time_ratio_second_to_first"]),
        ),
    ]


def _rbe_rows(rbe: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not rbe:
        return [("Remote execution", "not measured", "")]
    jobs = ", ".join(f"{w} {n}" for w, n in sorted(rbe["jobs_per_worker"].items()))
    return [
        (
            "Remote execution",
            f"clean `//:image` on BuildGrid, {rbe['workers']} buildbox workers (loopback)",
            f"{secs(rbe['seconds'])} ({_processes(rbe['build'])}; jobs: {jobs or 'none'})",
        ),
        (
            "Remote execution",
            "the same clean build run here (new output base, warm repository cache)",
            f"{secs(rbe['local_seconds'])} (remote/local {_ratio(rbe['ratio_to_local'])})",
        ),
        (
            "Remote execution",
            "every action remote; digest equals the local build's; stop left nothing running",
            f"{'yes' if rbe['all_actions_remote'] else 'NO'}; "
            f"{'yes' if rbe['digest_matches_local'] else 'NO'} (`{rbe['digest'][:19]}`); "
            f"{'yes' if rbe['stopped_clean'] else 'NO'}",
        ),
    ]


def _tests_rows(tests: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if not tests:
        return [("Tests", "full re-run", "not measured")]
    slowest = ", ".join(f"{t['target']} {secs(t['seconds'])}" for t in tests["slowest"])
    return [
        (
            "Tests",
            "full re-run: `./bazelw test --nocache_test_results //...` after a first `test //...`",
            f"{secs(tests['wall_seconds'])} ({tests['executed']} of {tests['total']} tests run,"
            f" {tests['passed']} pass; test times add up to {secs(tests['sum_of_test_seconds'])})",
        ),
        ("Tests", "the five slowest targets (a sharded one: its slowest shard)", slowest),
    ]


def _repro_rows(repro: dict[str, Any]) -> list[tuple[str, str, str]]:
    digests = repro["digests"]
    shown = ", ".join(f"{name} `{digest[:19]}`" for name, digest in digests.items())
    verdict = "identical" if repro["match"] else "DIFFERENT"
    return [
        ("Reproducibility", "digests of two clean builds (cold, remote-1)", f"{verdict}: {shown}")
    ]


def _short(revision: str) -> str:
    """ "0123456789abcdef...+dirty" -> "0123456789ab+dirty"."""
    commit, plus, rest = revision.partition("+")
    return commit[:12] + plus + rest


def markdown(result: dict[str, Any]) -> str:
    """One table, preceded by a line saying where and when it was measured."""
    m = result["machine"]
    rows: list[tuple[str, str, str]] = []
    sections: list[tuple[Callable[[Any], list[tuple[str, str, str]]], Any]] = [
        (_build_rows, result["build"]),
        (_bazelw_rows, result.get("bazelw")),
        (_image_rows, result["image"]),
        (_slim_rows, (result.get("image_slim"), result["image"])),
        (_kind_rows, (result.get("image_slim"), result["image"])),
        (_startup_rows, result.get("startup")),
        (_service_rows, result.get("service")),
        (_remote_rows, result.get("remote_cache")),
        (_rbe_rows, result.get("remote_execution")),
        (_push_rows, result.get("push")),
        (_compression_rows, result.get("compression")),
        (_tests_rows, result.get("tests")),
        (_repro_rows, result["reproducibility"]),
    ]
    for make, section in sections:
        rows.extend(make(section))
    kind = "quick smoke run (1 iteration)" if result["quick"] else "full run"
    lines = [
        f"Measured {result['date'][:10]} at revision {_short(result['revision'])}, {kind}, on "
        f"{m['nproc']} CPUs ({m['cpu'] or 'unknown CPU'}), {m['memory_gib']} GiB memory, "
        f"Linux {m['kernel']}.",
        "",
        "| Area | Measure | Value |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report", description=__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True, help="the raw folder run.sh filled")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    args = parser.parse_args(argv)
    try:
        result = collect(Path(args.raw))
    except (buildlog.BuildLogError, common.BenchError, OSError, KeyError, ValueError) as err:
        print(f"report: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    text = markdown(result)
    common.write_json(Path(args.out), result)
    if args.markdown:
        tmp = Path(args.markdown + ".tmp")
        tmp.write_text(text)
        tmp.replace(args.markdown)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
