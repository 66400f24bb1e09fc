"""Tests for the image extras: healthcheck specs, durations, stamping, and the config base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from image_extras.private import extras as ic
from kit_lib import layout
from kit_lib.layout import ImageError


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8), ("1.5h", 5400 * 10**9)],
)
def test_parse_duration(text: str, nanos: int) -> None:
    assert ic.parse_duration(text, "x") == nanos


@pytest.mark.parametrize("bad", ["", "30", "s", "30 s", "1d", "5s garbage", 30])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ImageError, match="bad x"):
        ic.parse_duration(bad, "x")


def test_healthcheck_full() -> None:
    spec = {
        "test": ["/usr/bin/python3", "-c", "print(1)"],
        "interval": "10s",
        "timeout": "2s",
        "retries": 5,
        "start_period": "1m",
        "start_interval": "1s",
    }
    assert ic.healthcheck(spec) == {
        "Test": ["CMD", "/usr/bin/python3", "-c", "print(1)"],
        "Interval": 10 * 10**9,
        "Timeout": 2 * 10**9,
        "Retries": 5,
        "StartPeriod": 60 * 10**9,
        "StartInterval": 10**9,
    }


def test_healthcheck_explicit_cmd_and_none() -> None:
    assert ic.healthcheck({"test": ["CMD", "/x"]}) == {"Test": ["CMD", "/x"]}
    assert ic.healthcheck({"test": ["NONE"]}) == {"Test": ["NONE"]}
    assert ic.healthcheck({"test": ["/x"], "retries": "3"})["Retries"] == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "must be an object"),
        ({"test": "/x"}, "non-empty list"),
        ({"test": []}, "non-empty list"),
        ({"test": ["/x", ""]}, "non-empty list"),
        ({"test": ["CMD"]}, "has no command"),
        ({"test": ["CMD-SHELL", "curl x"]}, "needs a shell"),
        ({"test": ["NONE"], "interval": "1s"}, "takes no options"),
        ({"test": ["/x"], "retries": -1}, "retries must be"),
        ({"test": ["/x"], "retries": True}, "retries must be"),
        ({"test": ["/x"], "interval": "10us"}, "at least 1ms"),
        ({"test": ["/x"], "period": "1s"}, "unknown healthcheck key"),
    ],
)
def test_healthcheck_rejects(spec: object, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        ic.healthcheck(spec)  # type: ignore[arg-type]


def test_stamp() -> None:
    values = {"BUILD_SCM_REVISION": "abc", "STABLE_VERSION": "1.0"}
    assert ic.stamp("rev-{BUILD_SCM_REVISION}", values) == "rev-abc"
    assert ic.stamp("{STABLE_VERSION:-0.0.0}", values) == "1.0"
    assert ic.stamp("{STABLE_VERSION:-0.0.0}", {}) == "0.0.0"
    assert ic.stamp("{BUILD_SCM_REVISION}", {}) == "unknown"
    assert ic.stamp("{BUILD_TIMESTAMP}", {}, fallback="0") == "0"
    # Only {UPPER_CASE} keys are stamp references; other braces are left alone.
    assert ic.stamp('{"a": 1} {lower} {}', values) == '{"a": 1} {lower} {}'


def test_read_stamp_files(tmp_path: Path) -> None:
    stable = tmp_path / "stable"
    stable.write_text("STABLE_X one two\nBUILD_HOST box\n\n")
    volatile = tmp_path / "volatile"
    volatile.write_text("BUILD_TIMESTAMP 123\nSTABLE_X override\n")
    values = ic.read_stamp_files([str(stable), str(volatile)])
    assert values == {"STABLE_X": "override", "BUILD_HOST": "box", "BUILD_TIMESTAMP": "123"}


def test_config_base_is_a_layerless_image_with_the_healthcheck(tmp_path: Path) -> None:
    out = tmp_path / "base"
    spec = json.dumps({"test": ["/x"], "interval": "5s"})
    argv = ["config-base", "--output", str(out), "--os", "linux", "--architecture", "arm64"]
    assert ic.main([*argv, "--variant", "v8", "--healthcheck", spec]) == 0
    image = layout.read_image(out)
    assert image.layers == []
    assert image.config["config"]["Healthcheck"] == {"Test": ["CMD", "/x"], "Interval": 5 * 10**9}
    assert (image.config["os"], image.config["architecture"], image.config["variant"]) == (
        "linux",
        "arm64",
        "v8",
    )


def test_config_base_bad_healthcheck_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["config-base", "--output", str(tmp_path / "b"), "--os", "linux"]
    assert ic.main([*argv, "--architecture", "amd64", "--healthcheck", '{"test": "x"}']) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "non-empty list" in err
    assert not (tmp_path / "b").exists()


def test_stamp_command(tmp_path: Path) -> None:
    src = tmp_path / "labels.txt"
    src.write_text("version={STABLE_VERSION:-0.0.0}\nrev={STABLE_REV}\n")
    status = tmp_path / "stable-status.txt"
    status.write_text("STABLE_VERSION 2.1\n")
    out = tmp_path / "out.txt"
    assert ic.main(["stamp", "--input", str(src), "--output", str(out)]) == 0
    assert out.read_text() == "version=0.0.0\nrev=unknown\n"
    argv = ["stamp", "--input", str(src), "--output", str(out), "--stamp-file", str(status)]
    assert ic.main(argv) == 0
    assert out.read_text() == "version=2.1\nrev=unknown\n"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
