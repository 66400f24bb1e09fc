"""Tests for bench.report: a raw folder as run.sh leaves it, turned into JSON and Markdown."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from kit_lib import layout

from bench import report

LOG = "INFO: Elapsed time: {elapsed}s, Critical Path: 0.1s\nINFO: {line}\n"


def _image(root: Path, contents: dict[str, bytes]) -> None:
    """A layout whose layers (named by `contents`' keys) each hold one file."""
    root.mkdir(parents=True)
    descriptors, diff_ids, history = [], [], []
    for name, data in contents.items():
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(f"{name}/file")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        plain = buffer.getvalue()
        blob = gzip.compress(plain, mtime=0)
        descriptors.append({"mediaType": layout.LAYER_GZIP, **layout.write_blob(root, blob)})
        diff_ids.append(layout.sha256_bytes(plain))
        history.append({"created_by": f"oci_image: layer {name}_layer.tar"})
    config = {"rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
    manifest = {
        "schemaVersion": 2,
        "mediaType": layout.MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": layout.CONFIG_MEDIA_TYPE,
            **layout.write_blob(root, layout.canonical_json(config)),
        },
        "layers": descriptors,
    }
    desc = layout.write_blob(root, layout.canonical_json(manifest))
    index = {"schemaVersion": 2, "manifests": [{"mediaType": layout.MANIFEST_MEDIA_TYPE, **desc}]}
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


ORIGINAL = {"base": b"base", "venv": b"venv", "app": b"app"}


def _raw(tmp_path: Path, edited: dict[str, bytes], second_line: str) -> Path:
    raw = tmp_path / "raw"
    (raw / "logs").mkdir(parents=True)
    builds = [
        ("cold", 20.0, "24 processes: 19 internal, 5 processwrapper-sandbox."),
        ("cold-warm-cache-1", 12.0, "24 processes: 19 internal, 5 processwrapper-sandbox."),
        ("cold-warm-cache-2", 9.0, "24 processes: 19 internal, 5 processwrapper-sandbox."),
        ("cold-warm-cache-3", 11.0, "24 processes: 19 internal, 5 processwrapper-sandbox."),
        (
            "warm-1",
            1.0,
            "1 process: 1 internal.\nStarting local Bazel server and connecting to it...",
        ),
        ("warm-2", 3.0, "1 process: 1 internal."),
        ("warm-3", 2.0, "1 process: 1 internal."),
        ("incremental-edit-1", 5.0, "4 processes: 2 internal, 2 processwrapper-sandbox."),
        ("incremental-restore-1", 7.0, "4 processes: 2 internal, 2 processwrapper-sandbox."),
        ("remote-1", 30.0, "24 processes: 19 internal, 5 processwrapper-sandbox."),
        ("remote-2", 10.0, second_line),
    ]
    rows = []
    for name, wall, line in builds:
        (raw / "logs" / f"{name}.log").write_text(LOG.format(elapsed=wall - 0.5, line=line))
        rows.append(f"{name}\t{wall}\tlogs/{name}.log")
    (raw / "builds.tsv").write_text("\n".join(rows) + "\n")
    for name in ("cold", "incremental-restore-1", "remote-1", "remote-2"):
        _image(raw / "images" / name, ORIGINAL)
    _image(raw / "images" / "incremental-edit-1", {**ORIGINAL, **edited})
    (raw / "meta.tsv").write_text("date\t2026-11-27T10:00:00Z\nquick\t0\nrevision\tabc123\n")
    startup = {
        "runs": 2,
        "images": {
            "with_pyc": {"median": 1.0, "min": 0.9, "max": 1.1, "samples": [0.9, 1.1]},
            "without_pyc": {"median": 2.5, "min": 2.4, "max": 2.6, "samples": [2.4, 2.6]},
        },
        "stages": {
            "image": "with_pyc",
            "interpreter": {"median": 0.1, "min": 0.1, "max": 0.1, "samples": [0.1, 0.1]},
            "import_app": {"median": 0.6, "min": 0.6, "max": 0.6, "samples": [0.6, 0.6]},
            "plain_uvicorn": {"median": 0.9, "min": 0.9, "max": 0.9, "samples": [0.9, 0.9]},
            "import_by_package": {
                "fastapi": 0.2,
                "pydantic": 0.15,
                "standard library": 0.1,
                "starlette": 0.03,
                "app": 0.02,
                "anyio": 0.01,
                "h11": 0.004,
                "idna": 0.002,
            },
        },
    }
    (raw / "startup.json").write_text(json.dumps(startup))
    return raw


def test_full_report(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 5 remote cache hit, 19 internal.")
    result = report.collect(raw)
    build = result["build"]
    assert build["cold"]["wall_seconds"] == 20.0
    assert build["cold"]["executed"] == 5
    assert build["cold_warm_repository_cache"]["median_seconds"] == 11.0
    assert len(build["cold_warm_repository_cache"]["runs"]) == 3
    assert build["warm_noop"]["median_seconds"] == 2.0
    assert build["incremental"]["median_seconds"] == 6.0
    assert build["incremental"]["layers_changed_by_edit"] == ["app"]
    assert build["incremental"]["only_app_layer_changed"] is True
    assert build["incremental"]["restore_gives_original_layers"] is True
    assert [layer["name"] for layer in result["image"]["layers"]] == ["base", "venv", "app"]
    remote = result["remote_cache"]
    assert remote["second_hit_rate"] == 1.0
    assert remote["all_cacheable_actions_hit"] is True
    assert remote["time_ratio_second_to_first"] == pytest.approx(1 / 3)
    assert result["reproducibility"]["match"] is True
    text = report.markdown(result)
    assert (
        "| Remote cache | 2nd build hit rate (remote hits / cacheable processes) | 5/5 (100%) |"
        in text
    )
    assert "| Start-up | ratio without / with precompiled bytecode | 2.50x |" in text
    assert "only app: yes" in text
    assert (
        "| Build | cold `//:image` in a new output base, warm repository cache (median of 3) "
        "| 11.00 s (19 internal, 5 processwrapper-sandbox) |" in text
    )
    assert text.startswith("Measured 2026-11-27 at revision abc123, full run, on ")
    assert "2.00 s; Bazel server (re)started in 1 of 3 |" in text
    assert "runc start to first 200 on `/ready`, without .pyc (median of 2) | 2.50 s" in text
    # Each stage with what it adds to the one before; the launcher's is the with-.pyc figure.
    assert "stage by stage: runc and the interpreter alone, to `os._exit`" in text
    assert (
        "importing the app (`import app.main`), to `os._exit` (median of 2) "
        "| 0.60 s (+0.50 s) |" in text
    )
    assert "plain uvicorn serving the app, to first 200 (median of 2) | 0.90 s (+0.30 s) |" in text
    assert "the kit's launcher, to first 200 (median of 2) | 1.00 s (+0.10 s) |" in text
    assert (
        "importing the app by package: each module's own time under `-X importtime`, which adds "
        "its own (median of 2) | fastapi 200 ms, pydantic 150 ms, standard library 100 ms, "
        "starlette 30 ms, app 20 ms, anyio 10 ms, 2 more 6 ms; total 516 ms |" in text
    )
    assert "| Service | not measured |  |" in text
    assert text.count("\n| ") == len(text.splitlines()) - 2  # one header line, one blank line


def test_the_slim_image_row_against_the_image(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 5 remote cache hit, 19 internal.")
    assert report.collect(raw)["image_slim"] is None  # not built: no row
    assert "image_slim" not in report.markdown(report.collect(raw))
    # Each layer's tar is written in 10 KiB records: 3 of them for a 20,000-byte file, 1 for a
    # small one; //:image's three layers are 1 record each.
    _image(raw / "images" / "slim", {"base": bytes(20000), "venv": b"v", "app": b"app"})
    result = report.collect(raw)
    assert result["image_slim"]["total"]["uncompressed"] == 5 * 10240
    row = next(line for line in report.markdown(result).splitlines() if "image_slim" in line)
    assert "| 50.0 KiB (0.1 MB) uncompressed, " in row
    assert "; 1.67x and " in row and " of `//:image` |" in row
    kinds = [line for line in report.markdown(result).splitlines() if "bytes by kind" in line]
    assert len(kinds) == 5
    assert "| Image | bytes by kind: other files " in kinds[3]
    assert "`//:image` 0.00 MB (0.00 MB gzip), 3 files; `//:image_slim` 0.02 MB " in kinds[3]
    assert kinds[4].startswith("| Image | bytes by kind: tar framing ")


def test_bazelw_overhead_is_the_difference_of_medians(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")
    (raw / "calls.tsv").write_text(
        "bazelw\t0.300000\ndirect\t0.100000\nbazelw\t0.200000\ndirect\t0.090000\n"
        "bazelw\t0.250000\ndirect\t0.110000\n"
    )
    result = report.collect(raw)
    assert result["bazelw"]["runs"] == 3
    assert result["bazelw"]["overhead_seconds"] == pytest.approx(0.15)
    assert "0.15 s overhead (0.25 s vs 0.10 s)" in report.markdown(result)


def test_push_rows_and_the_bazel_run_overhead(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")

    def figures(ours: float, skopeo: float) -> dict:
        runs = {
            "ours_full": [ours, ours * 3],
            "skopeo_full": [skopeo, skopeo],
            "ours_noop": [0.1, 0.3],
            "skopeo_noop": [0.05, 0.05],
            "crane_full": [skopeo / 2, skopeo / 2],
            "crane_noop": [0.01, 0.01],
        }
        median = {k: sum(v) / 2 for k, v in runs.items()}
        return {
            "bytes": 20 << 20,
            "runs": runs,
            "median": median,
            "full_ratio": median["ours_full"] / median["skopeo_full"],
            "noop_ratio": median["ours_noop"] / median["skopeo_noop"],
            "crane_full_ratio": median["crane_full"] / median["skopeo_full"],
            "crane_noop_ratio": median["crane_noop"] / median["skopeo_noop"],
        }

    (raw / "push.json").write_text(
        json.dumps({"image": figures(0.2, 0.2), "index": figures(0.3, 0.4)})
    )
    (raw / "push_calls.tsv").write_text("push\t0.700000\npush\t0.500000\npush\t0.600000\n")
    result = report.collect(raw)
    assert result["push"]["bazel_run"]["overhead_seconds"] == pytest.approx(0.6 - 0.2)
    text = report.markdown(result)
    assert (
        "full upload of `//:image`, 20.0 MiB, local registry: our push vs `skopeo copy` "
        "(median of 2); crane, rules_oci's engine, beside | 0.40 s vs 0.20 s (2.00x); "
        "crane 0.10 s (0.50x)" in text
    )
    assert "no-op re-push of `//:image_index` (amd64 + arm64)" in text
    assert "0.60 s vs 0.40 s (1.50x)" in text
    assert (
        "`./bazelw run //:push` no-op, above the push runner itself (median of 3) | "
        "+0.40 s (0.60 s vs 0.20 s)" in text
    )


def test_compression_rows_against_gzip(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")
    total = {
        "gzip-6": {"bytes": 20 << 20, "seconds": 2.0, "unpack_seconds": 0.2},
        "zstd-9": {"bytes": 15 << 20, "seconds": 1.0, "unpack_seconds": 0.1},
    }
    (raw / "compression.json").write_text(
        json.dumps({"runs": 3, "default_zstd_level": 9, "layers": [], "total": total})
    )
    text = report.markdown(report.collect(raw))
    assert (
        "`//:image`'s 3 layers as zstd-9 (the kit's zstd level): size, compress, unpack "
        "(median of 3) | 15.0 MiB (0.75x of gzip), 1.00 s, 0.10 s |"
    ) in text
    assert "as gzip-6: size, compress, unpack (median of 3) | 20.0 MiB (1.00x of gzip)" in text


def test_report_shows_what_went_wrong(tmp_path: Path) -> None:
    raw = _raw(
        tmp_path,
        {"venv": b"venv edited", "app": b"app edited"},
        "24 processes: 3 remote cache hit, 19 internal, 2 processwrapper-sandbox.",
    )
    (raw / "meta.tsv").write_text("revision\t0123456789abcdef0123+dirty\n")
    result = report.collect(raw)
    assert result["build"]["incremental"]["layers_changed_by_edit"] == ["venv", "app"]
    assert result["build"]["incremental"]["only_app_layer_changed"] is False
    assert result["remote_cache"]["second_hit_rate"] == pytest.approx(0.6)
    assert result["remote_cache"]["all_cacheable_actions_hit"] is False
    text = report.markdown(result)
    assert "only app: NO" in text
    assert "at revision 0123456789ab+dirty," in text


def test_different_digests_are_reported(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"x"}, "24 processes: 5 remote cache hit, 19 internal.")
    # Replace the first remote build's image with a different one.
    for path in sorted((raw / "images" / "remote-1").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (raw / "images" / "remote-1").rmdir()
    _image(raw / "images" / "remote-1", {**ORIGINAL, "base": b"other base"})
    result = report.collect(raw)
    assert result["reproducibility"]["match"] is False
    assert "DIFFERENT" in report.markdown(result)


def test_main_writes_json_and_exits_1_on_missing_input(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"y"}, "24 processes: 5 remote cache hit, 19 internal.")
    out = tmp_path / "out" / "result.json"
    assert report.main(["--raw", str(raw), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["schema"] == 1
    (raw / "logs" / "cold.log").write_text("ERROR: build failed\n")
    assert report.main(["--raw", str(raw), "--out", str(out)]) == 1


def test_the_full_test_rerun_row(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")
    (raw / "logs" / "tests-rerun.log").write_text(
        "//deploy:kubelet_test            PASSED in 29.1s\n"
        "  Stats over 3 runs: max = 29.1s, min = 15.9s, avg = 22.1s, dev = 5.4s\n"
        "//app:api_test                   PASSED in 4.6s\n"
        "//tools/lint:style_test          PASSED in 1.0s\n"
        "INFO: Elapsed time: 70.2s, Critical Path: 31.9s\n"
        "Executed 3 out of 3 tests: 3 tests pass.\n"
    )
    (raw / "tests.tsv").write_text("tests-rerun\t71.5\tlogs/tests-rerun.log\n")
    tests = report.collect(raw)["tests"]
    assert (tests["wall_seconds"], tests["bazel_seconds"]) == (71.5, 70.2)
    assert (tests["executed"], tests["total"], tests["passed"]) == (3, 3, 3)
    assert tests["sum_of_test_seconds"] == 34.7
    assert tests["slowest"][0] == {"target": "//deploy:kubelet_test", "seconds": 29.1}
    text = report.markdown(report.collect(raw))
    assert "71.50 s (3 of 3 tests run, 3 pass" in text
    assert "//deploy:kubelet_test 29.10 s, //app:api_test 4.60 s" in text


def test_no_test_rerun_is_said(tmp_path: Path) -> None:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")
    assert "tests" not in report.collect(raw)
    assert "| Tests | full re-run | not measured |" in report.markdown(report.collect(raw))


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))


def _with_rbe(tmp_path: Path, rbe_line: str, rbe_image: dict[str, bytes], stop: str) -> Path:
    raw = _raw(tmp_path, {"app": b"app edited"}, "24 processes: 24 internal.")
    with (raw / "builds.tsv").open("a") as rows:
        for name, wall, line in (
            ("clean", 20.0, "34 processes: 27 internal, 7 linux-sandbox."),
            ("rbe", 25.0, rbe_line),
        ):
            (raw / "logs" / f"{name}.log").write_text(LOG.format(elapsed=wall - 0.5, line=line))
            rows.write(f"{name}\t{wall}\tlogs/{name}.log\n")
    _image(raw / "images" / "clean", ORIGINAL)
    _image(raw / "images" / "rbe", rbe_image)
    cluster = {"workers": 2, "jobs_per_worker": {"worker-1": 3, "worker-2": 4}}
    (raw / "rbe.json").write_text(json.dumps(cluster))
    (raw / "rbe-stop.txt").write_text(stop + "\n")
    return raw


def test_remote_execution_against_the_local_clean_build(tmp_path: Path) -> None:
    raw = _with_rbe(tmp_path, "34 processes: 27 internal, 7 remote.", ORIGINAL, "clean")
    rbe = report.collect(raw)["remote_execution"]
    assert rbe["remote_actions"] == 7
    assert rbe["all_actions_remote"] is True
    assert (rbe["workers"], rbe["workers_used"]) == (2, 2)
    assert (rbe["seconds"], rbe["local_seconds"]) == (25.0, 20.0)
    assert rbe["digest_matches_local"] is True
    assert rbe["stopped_clean"] is True
    text = report.markdown(report.collect(raw))
    assert "remote/local 1.25x" in text
    assert (
        "| every action remote; digest equals the local build's; stop left nothing running "
        "| yes; yes" in text
    )


def test_remote_execution_flags_local_actions_other_digests_and_leftovers(tmp_path: Path) -> None:
    raw = _with_rbe(
        tmp_path,
        "34 processes: 27 internal, 5 remote, 2 linux-sandbox.",
        {**ORIGINAL, "app": b"other"},
        "process 123",
    )
    rbe = report.collect(raw)["remote_execution"]
    assert rbe["all_actions_remote"] is False
    assert rbe["digest_matches_local"] is False
    assert (rbe["stopped_clean"], rbe["left_after_stop"]) == (False, "process 123")
    assert "| NO; NO (`sha256:" in report.markdown(report.collect(raw))
