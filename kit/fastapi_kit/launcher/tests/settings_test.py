"""The launcher's settings: bounds, `_FILE` secrets and one-line errors naming the variable."""

import os
import sys
from pathlib import Path

import pytest
from fastapi_kit_launcher import settings


def test_defaults_when_nothing_is_set() -> None:
    assert settings.load({}, cpus=2) == settings.Settings()


def test_values_are_parsed() -> None:
    got = settings.load(
        {
            "PORT": "9000",
            "WEB_CONCURRENCY": "8",
            "ACCESS_LOG": "off",
            "LOG_LEVEL": "WARNING",
            "MAX_BODY_SIZE": "10",
            "LIMIT_CONCURRENCY": "50",
            "HTTP": "h11",
        },
        cpus=2,
    )
    assert (got.port, got.workers, got.access_log, got.log_level) == (9000, 8, False, "warning")
    assert (got.max_body_size, got.limit_concurrency, got.http) == (10, 50, "h11")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "99999999999999999999"),
        ("WEB_CONCURRENCY", "9"),  # over 4 x 2 CPUs
        ("WEB_CONCURRENCY", "0"),
        ("PORT", "+80"),
        ("PORT", "65536"),
        ("TIMEOUT_REQUEST", "0"),
        ("MAX_HEADER_SIZE", "10"),
        ("ACCESS_LOG", "maybe"),
        ("HTTP", "h2"),
        ("HOST", " 0.0.0.0"),
        ("FORWARDED_ALLOW_IPS", ""),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        settings.load({name: value}, cpus=2)
    message = str(err.value)
    assert message.startswith(f"{name}: ") and "\n" not in message


def test_file_variant_is_read_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "port"
    secret.write_text("8123\n")
    assert settings.load({"PORT_FILE": str(secret)}, cpus=1).port == 8123


def test_file_and_value_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match=r"^PORT: set either PORT or PORT_FILE"):
        settings.load({"PORT": "1", "PORT_FILE": str(tmp_path / "x")}, cpus=1)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match=r"^PORT_FILE: cannot read"):
        settings.load({"PORT_FILE": str(tmp_path / "missing")}, cpus=1)


def test_file_variant_drops_one_newline_only(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.write_text("0.0.0.0\n\n")
    with pytest.raises(settings.ConfigError, match=r"^HOST: must be non-empty"):
        settings.load({"HOST_FILE": str(host)}, cpus=1)
    host.write_bytes(b"0.0.0.0\r\n")
    assert settings.load({"HOST_FILE": str(host)}, cpus=1).host == "0.0.0.0"


@pytest.mark.parametrize("content", [b"\xff\xfe", None])
def test_undecodable_or_directory_file_is_named(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "value"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(settings.ConfigError, match=r"^PORT_FILE: cannot read "):
        settings.load({"PORT_FILE": str(path)}, cpus=1)


def test_empty_file_path_is_an_error() -> None:
    with pytest.raises(settings.ConfigError, match=r"^PORT_FILE: must be a file path, got ''$"):
        settings.load({"PORT_FILE": ""}, cpus=1)


def test_long_bad_value_is_cut_in_the_message() -> None:
    with pytest.raises(settings.ConfigError) as err:
        settings.load({"PORT": "9" * 500}, cpus=1)
    assert len(str(err.value)) < 120 and str(err.value).endswith("...'")


def test_cgroup_quota_lowers_the_cpu_count(tmp_path: Path) -> None:
    cpu_max, v1 = tmp_path / "cpu.max", tmp_path / "v1"
    cpu_max.write_text("50000 100000\n")  # half a CPU: rounds up to one
    assert settings.cpu_limit(cpu_max, v1) == 1
    cpu_max.write_text("max 100000\n")
    assert settings.cpu_limit(cpu_max, v1) == len(os.sched_getaffinity(0))


def test_cgroup_v1_quota_is_read_too(tmp_path: Path) -> None:
    v1 = tmp_path / "cpu"
    v1.mkdir()
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert settings.cpu_limit(tmp_path / "absent", v1) == 1
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert settings.cpu_limit(tmp_path / "absent", v1) == len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
