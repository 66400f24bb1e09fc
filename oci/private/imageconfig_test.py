"""Tests for imageconfig.py: each config field's parsing and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit_lib.layout import ImageError

from oci.private import imageconfig as ic


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/opt/venv/bin:$PATH", "/opt/venv/bin:/usr/bin"),
        ("${PATH}:/extra", "/usr/bin:/extra"),
        ("$HOME/x", "/home/nonroot/x"),
        ("$UNSET", ""),
        ("cost: $$5", "cost: $5"),
        ("$ alone and 5$", "$ alone and 5$"),
        ("$PATHX", ""),
        ("${PATH}X", "/usr/binX"),
    ],
)
def test_expand(value: str, expected: str) -> None:
    env = {"PATH": "/usr/bin", "HOME": "/home/nonroot"}
    assert ic.expand(value, env) == expected


def test_expand_rejects_unclosed_brace() -> None:
    with pytest.raises(ImageError, match="malformed variable reference"):
        ic.expand("${PATH", {"PATH": "/bin"})


def test_merge_env_keeps_order_and_replaces_in_place() -> None:
    base = ["PATH=/usr/bin", "LANG=C.UTF-8", "EMPTY"]
    merged = ic.merge_env(base, ["NEW=1", "PATH=/venv/bin:$PATH", "BOTH=$NEW-$LANG"])
    assert merged == [
        "PATH=/venv/bin:/usr/bin",
        "LANG=C.UTF-8",
        "EMPTY=",
        "NEW=1",
        "BOTH=1-C.UTF-8",
    ]


def test_merge_env_values_may_contain_equals() -> None:
    assert ic.merge_env([], ["OPTS=a=b=c"]) == ["OPTS=a=b=c"]


@pytest.mark.parametrize("bad", ["NOEQUALS", "=value", "A-B=1", "1A=x", "A B=1"])
def test_merge_env_rejects_malformed(bad: str) -> None:
    with pytest.raises(ImageError, match="malformed env"):
        ic.merge_env([], [bad])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8000", "8000/tcp"), ("8000/tcp", "8000/tcp"), ("53/udp", "53/udp"), (" 1/sctp ", "1/sctp")],
)
def test_parse_port(text: str, expected: str) -> None:
    assert ic.parse_port(text) == expected


@pytest.mark.parametrize("bad", ["", "0", "65536", "80/TCP", "80/icmp", "80-90", "http", "-1"])
def test_parse_port_rejects(bad: str) -> None:
    with pytest.raises(ImageError, match="bad exposed port"):
        ic.parse_port(bad)


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


def test_check_platform() -> None:
    ic.check_platform("linux", "amd64", None)
    ic.check_platform("linux", "arm64", "v8")
    ic.check_platform("linux", "arm", "v7")
    for args, message in [
        (("Linux", "amd64", None), "unknown os"),
        (("linux", "aarch64", None), "unknown architecture"),
        (("linux", "arm64", "v7"), "unknown variant"),
        (("linux", "s390x", "v1"), "takes no variant"),
    ]:
        with pytest.raises(ImageError, match=message):
            ic.check_platform(*args)


def test_check_created() -> None:
    assert ic.check_created("1970-01-01T00:00:00Z") == "1970-01-01T00:00:00Z"
    assert ic.check_created("2024-05-06T07:08:09.123+02:00") == "2024-05-06T07:08:09.123+02:00"
    assert ic.check_created("0") == "1970-01-01T00:00:00Z"
    assert ic.check_created("86400") == "1970-01-02T00:00:00Z"
    for bad in ["2024-05-06", "2024-05-06 07:08:09Z", "2024-02-30T00:00:00Z", "unknown"]:
        with pytest.raises(ImageError, match="bad created"):
            ic.check_created(bad)


def test_check_user_and_absolute() -> None:
    for good in ["65532", "65532:65532", "nonroot", "app-user:staff"]:
        assert ic.check_user(good) == good
    for bad in ["", "a b", ":1", "1:", "a:b:c"]:
        with pytest.raises(ImageError, match="bad user"):
            ic.check_user(bad)
    assert ic.check_absolute("/app", "workdir") == "/app"
    with pytest.raises(ImageError, match="workdir must be an absolute path"):
        ic.check_absolute("app", "workdir")


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


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
