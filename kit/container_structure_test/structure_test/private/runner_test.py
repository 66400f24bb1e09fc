"""Tests of the container_structure_test runner, with the real binary on a tiny image."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from structure_test.private import runner


def _binary() -> Path:
    return Path(os.environ["TEST_SRCDIR"]) / os.environ["CST_BINARY"]


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def make_image(path: Path) -> Path:
    """Write a one-layer docker-save tarball: /etc/greeting, user 65532, entrypoint /hello."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "etc")
        _add(tar, "etc/greeting", b"hello\nworld\n")
        _add(tar, "hello", b"\x7fELF", 0o755)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"User": "65532", "Entrypoint": ["/hello"], "Env": ["A=b"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config_bytes = json.dumps(config).encode()
    manifest = [{"Config": "config.json", "RepoTags": ["tiny:latest"], "Layers": ["layer.tar"]}]
    with tarfile.open(path, "w") as tar:
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, "config.json", config_bytes)
        _add(tar, "layer.tar", layer_bytes)
    return path


PASSING = """\
schemaVersion: "2.0.0"
metadataTest:
  user: "65532"
  entrypoint: ["/hello"]
  envVars: [{key: A, value: b}]
fileExistenceTests:
  - {name: greeting, path: /etc/greeting, shouldExist: true}
  - {name: no shell, path: /bin/sh, shouldExist: false}
fileContentTests:
  - {name: world, path: /etc/greeting, expectedContents: ['(?m)^world$']}
"""

FAILING = """\
schemaVersion: "2.0.0"
metadataTest:
  user: root
fileExistenceTests:
  - {name: greeting, path: /etc/greeting, shouldExist: true}
  - {name: wants a shell, path: /bin/sh, shouldExist: true}
"""


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return make_image(tmp_path / "image.tar")


def _spec(tmp_path: Path, image: Path, config: str) -> runner.Spec:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    return runner.Spec(binary=_binary(), image=image, configs=[path], driver="tar")


def test_passing_config_writes_junit_and_passes(tmp_path, image, capsys):
    xml = tmp_path / "out" / "test.xml"
    assert runner.run(_spec(tmp_path, image, PASSING), xml) == 0
    cases = runner.parse_report(xml.read_bytes())
    assert len(cases) == 4  # one metadata test, two file existence tests, one content test
    assert all(c.passed for c in cases)
    out = capsys.readouterr().out
    assert "PASS: File Existence Test: greeting" in out
    assert "4 test(s), 4 passed, 0 failed" in out
    assert not list(xml.parent.glob(".*tmp"))


def test_failing_config_fails_and_names_the_test(tmp_path, image, capsys):
    xml = tmp_path / "test.xml"
    assert runner.run(_spec(tmp_path, image, FAILING), xml) == 1
    out = capsys.readouterr().out
    assert "FAIL: File Existence Test: wants a shell" in out
    assert "PASS: File Existence Test: greeting" in out
    assert "FAIL: Metadata Test" in out
    assert "3 test(s), 1 passed, 2 failed" in out
    assert any(not c.passed for c in runner.parse_report(xml.read_bytes()))


def test_config_without_tests_is_an_error(tmp_path, image):
    with pytest.raises(runner.RunnerError, match="no tests"):
        runner.run(_spec(tmp_path, image, 'schemaVersion: "2.0.0"\n'), None)


def test_unreadable_image_fails_every_test(tmp_path, capsys):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tarball")
    assert runner.run(_spec(tmp_path, bad, PASSING), None) == 1
    out = capsys.readouterr().out
    assert "FAIL: Metadata Test" in out
    assert "processing tar image reference" in out
    assert "0 passed, 4 failed" in out


def test_spec_paths_are_checked(tmp_path):
    spec = json.dumps({"binary": "b", "image": "i.tar", "configs": ["c.yaml"], "driver": "tar"})
    with pytest.raises(runner.RunnerError, match="binary not found"):
        runner.load_spec(spec, tmp_path)
    with pytest.raises(runner.RunnerError, match="not set"):
        runner.load_spec(None, tmp_path)
    with pytest.raises(runner.RunnerError, match="malformed"):
        runner.load_spec("{}", tmp_path)


def test_parse_report_reads_failures_and_errors():
    report = b"""<?xml version="1.0"?><testsuites><testsuite name="s">
      <testcase name="ok"></testcase>
      <testcase name="bad"><failure>boom</failure></testcase>
      <testcase name="err"><error message="kaput"/></testcase>
    </testsuite></testsuites>"""
    cases = runner.parse_report(report)
    assert [(c.name, c.failures) for c in cases] == [
        ("ok", []),
        ("bad", ["boom"]),
        ("err", ["kaput"]),
    ]
    assert runner.summary(cases).endswith("3 test(s), 1 passed, 2 failed")


def test_command_line():
    spec = runner.Spec(Path("/b"), Path("/i.tar"), [Path("/a.yaml"), Path("/b.yaml")], "tar")
    cmd = runner.command(spec, Path("/r.xml"))
    assert cmd[:6] == ["/b", "test", "--driver", "tar", "--image", "/i.tar"]
    assert cmd.count("--config") == 2
    assert cmd[cmd.index("--test-report") + 1] == "/r.xml"
    assert cmd[cmd.index("--output") + 1] == "junit"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
