"""Tests for image.py: reproducible digests, base inheritance, rules_oci semantics, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from kit_lib import layout, tarball

from oci.private import image


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    tarball.write_tar([tarball.Entry(name, data=data) for name, data in files.items()], path)
    return path


_PAIRS = {"--env": "--env-file", "--label": "--labels-file", "--annotation": "--annotations-file"}
_LISTS = {"--exposed-port": "--exposed-ports-file", "--volume": "--volumes-file"}
_JSON = {"--entrypoint": "--entrypoint-file", "--cmd": "--cmd-file"}


def file_args(out: Path, args: tuple[str, ...]) -> list[str]:
    """Write repeated `--env K=V`-style values into the files image.py takes, as the rule does.

    Without `--base`, linux/amd64 is given, as oci_image requires os and architecture then.
    """
    pairs: dict[str, list[str]] = {}
    result: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in _PAIRS or arg in _LISTS:
            pairs.setdefault(arg, []).append(next(it))
        elif arg in _JSON:
            path = out.parent / f"{out.name}{arg}.txt"
            path.write_text(",".join(json.loads(next(it))) + "\n")
            result += [_JSON[arg], str(path)]
        elif arg == "--created":
            path = out.parent / f"{out.name}.created.txt"
            path.write_text(next(it) + "\n")
            result += ["--created-file", str(path)]
        else:
            result.append(arg)
    for flag, values in pairs.items():
        path = out.parent / f"{out.name}{flag}.txt"
        sep = "\n" if flag in _PAIRS else ","
        path.write_text(sep.join(values) + "\n")
        result += [_PAIRS.get(flag) or _LISTS[flag], str(path)]
    if "--base" not in args:
        for flag, value in (("--os", "linux"), ("--architecture", "amd64")):
            if flag not in args:
                result += [flag, value]
    return result


def run(out: Path, *args: str) -> int:
    return image.main(
        ["--output", str(out), "--digest-file", f"{out}.digest", *file_args(out, args)]
    )


def build(out: Path, *args: str) -> str:
    assert run(out, *args) == 0
    return Path(f"{out}.digest").read_text().strip()


def read(out: Path) -> layout.Image:
    return layout.read_image(out)


def cfg(out: Path) -> dict[str, Any]:
    return read(out).config["config"]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def layers(tmp_path: Path) -> dict[str, Path]:
    return {
        "a": make_tar(tmp_path / "a.tar", {"/app/a.txt": b"a\n"}),
        "b": make_tar(tmp_path / "b.tar", {"/app/b.txt": b"b\n"}),
        "a2": make_tar(tmp_path / "a2.tar", {"/app/a.txt": b"A\n"}),
    }


def test_same_inputs_give_same_bytes(tmp_path: Path, layers: dict[str, Path]) -> None:
    args = ["--tar", str(layers["a"]), "--tar", str(layers["b"]), "--env", "A=1", "--label", "x=y"]
    first = build(tmp_path / "one", *args)
    second = build(tmp_path / "two", *args)
    assert first == second
    assert first.startswith("sha256:") and len(first) == 71
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_layer_content_and_order_change_the_digest(tmp_path: Path, layers: dict[str, Path]) -> None:
    base = build(tmp_path / "x", "--tar", str(layers["a"]), "--tar", str(layers["b"]))
    changed = build(tmp_path / "y", "--tar", str(layers["a2"]), "--tar", str(layers["b"]))
    swapped = build(tmp_path / "z", "--tar", str(layers["b"]), "--tar", str(layers["a"]))
    assert len({base, changed, swapped}) == 3


def test_layout_is_complete_and_consistent(tmp_path: Path, layers: dict[str, Path]) -> None:
    digest = build(tmp_path / "img", "--tar", str(layers["a"]))
    out = tmp_path / "img"
    assert json.loads((out / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    img = read(out)  # checks every digest and size it follows
    assert img.manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert img.manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    (layer,) = img.layers
    # rules_oci: a plain tar stays an uncompressed layer.
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    raw = img.blob(layer["digest"]).read_bytes()
    assert raw == layers["a"].read_bytes()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert img.config["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}
    assert img.config["created"] == "1970-01-01T00:00:00Z"
    assert img.config["history"][0]["created_by"] == "oci_image: layer a.tar"
    # Nothing but the layout is left beside the output (no temp dirs).
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.tar",
        "a2.tar",
        "b.tar",
        "img",
        "img.digest",
    ]


def test_gzipped_input_is_used_as_is(tmp_path: Path, layers: dict[str, Path]) -> None:
    gz = tmp_path / "a.tar.gz"
    tarball.gzip_file(layers["a"], gz)
    plain = build(tmp_path / "plain", "--tar", str(layers["a"]))
    zipped = build(tmp_path / "zipped", "--tar", str(gz))
    layer = read(tmp_path / "zipped").layers[0]
    assert layer["digest"] == "sha256:" + tarball.sha256_file(gz)
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    # Same content, so the same diff_id; the plain one stays plain.
    assert read(tmp_path / "plain").config["rootfs"] == read(tmp_path / "zipped").config["rootfs"]
    assert read(tmp_path / "plain").layers[0]["mediaType"].endswith(".tar")
    assert plain != zipped


def test_base_is_inherited(tmp_path: Path, layers: dict[str, Path]) -> None:
    base_digest = build(
        tmp_path / "base",
        "--tar",
        str(layers["a"]),
        "--env",
        "PATH=/usr/bin:/bin",
        "--env",
        "LANG=C.UTF-8",
        "--cmd",
        '["serve"]',
        "--user",
        "65532",
        "--label",
        "from=base",
        "--label",
        "keep=1",
        "--exposed-port",
        "80",
    )
    build(
        tmp_path / "child",
        "--base",
        str(tmp_path / "base"),
        "--tar",
        str(layers["b"]),
        "--env",
        "PATH=/opt/venv/bin:$PATH",
        "--label",
        "from=child",
        "--exposed-port",
        "8000/tcp",
    )
    base, child = read(tmp_path / "base"), read(tmp_path / "child")
    assert child.layers[:1] == base.layers
    assert len(child.layers) == 2
    assert child.config["rootfs"]["diff_ids"][:1] == base.config["rootfs"]["diff_ids"]
    assert len(child.config["history"]) == 2
    c = child.config["config"]
    assert c["Env"] == ["PATH=/opt/venv/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    assert c["Cmd"] == ["serve"]
    assert c["User"] == "65532"
    assert c["Labels"] == {"from": "child", "keep": "1"}
    assert c["ExposedPorts"] == {"80/tcp": {}, "8000/tcp": {}}
    # rules_oci adds no base-digest annotation; the base's own annotations are inherited.
    assert "annotations" not in child.manifest and base_digest
    # The child's blobs are self-contained: the base directory is not needed any more.
    assert (tmp_path / "child" / "blobs" / "sha256" / base.layers[0]["digest"][7:]).is_file()


def test_base_without_new_layers_changes_only_config(
    tmp_path: Path, layers: dict[str, Path]
) -> None:
    build(tmp_path / "base", "--tar", str(layers["a"]))
    build(tmp_path / "child", "--base", str(tmp_path / "base"), "--workdir", "/app")
    base, child = read(tmp_path / "base"), read(tmp_path / "child")
    assert child.layers == base.layers
    assert child.config["config"]["WorkingDir"] == "/app"
    assert child.manifest_digest != base.manifest_digest


def test_entrypoint_resets_base_cmd(tmp_path: Path, layers: dict[str, Path]) -> None:
    base = tmp_path / "base"
    build(base, "--tar", str(layers["a"]), "--entrypoint", '["/bin/sh"]', "--cmd", '["-c", "x"]')
    build(tmp_path / "ep", "--base", str(base), "--entrypoint", '["/usr/bin/python3"]')
    assert cfg(tmp_path / "ep") == {"Entrypoint": ["/usr/bin/python3"]}
    build(tmp_path / "both", "--base", str(base), "--entrypoint", '["/py"]', "--cmd", '["-m", "a"]')
    assert cfg(tmp_path / "both") == {"Entrypoint": ["/py"], "Cmd": ["-m", "a"]}
    build(tmp_path / "cmd", "--base", str(base), "--cmd", '["-V"]')
    assert cfg(tmp_path / "cmd") == {"Entrypoint": ["/bin/sh"], "Cmd": ["-V"]}
    build(tmp_path / "clear", "--base", str(base), "--entrypoint", "[]")
    assert cfg(tmp_path / "clear") == {}


def test_config_fields(tmp_path: Path, layers: dict[str, Path]) -> None:
    build(
        tmp_path / "img",
        "--tar",
        str(layers["a"]),
        "--user",
        "65532:65532",
        "--workdir",
        "/app",
        "--volume",
        "/data",
        "--exposed-port",
        "53/udp",
        "--annotation",
        "org.opencontainers.image.title=demo",
        "--architecture",
        "arm64",
        "--variant",
        "v8",
        "--created",
        "2024-01-02T03:04:05Z",
    )
    img = read(tmp_path / "img")
    assert img.config["architecture"] == "arm64" and img.config["variant"] == "v8"
    assert img.config["created"] == "2024-01-02T03:04:05Z"
    c = img.config["config"]
    assert c["User"] == "65532:65532" and c["WorkingDir"] == "/app"
    assert c["Volumes"] == {"/data": {}} and c["ExposedPorts"] == {"53/udp": {}}
    assert img.manifest["annotations"] == {"org.opencontainers.image.title": "demo"}


def test_platform_is_inherited_from_base(tmp_path: Path, layers: dict[str, Path]) -> None:
    build(tmp_path / "base", "--tar", str(layers["a"]), "--architecture", "arm64")
    build(tmp_path / "child", "--base", str(tmp_path / "base"))
    assert read(tmp_path / "child").config["architecture"] == "arm64"


def test_existing_output_is_replaced(tmp_path: Path, layers: dict[str, Path]) -> None:
    out = tmp_path / "img"
    out.mkdir()
    (out / "stale").write_text("old")
    build(out, "--tar", str(layers["a"]))
    assert not (out / "stale").exists()
    assert (out / "index.json").is_file()


def test_summary_lists_digest_and_layer_sizes(
    tmp_path: Path, layers: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    digest = build(tmp_path / "img", "--tar", str(layers["a"]), "--tar", str(layers["b"]))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"oci_image: {digest} linux/amd64, 2 layer(s)")
    img = read(tmp_path / "img")
    for line, layer, name in zip(out[1:], img.layers, ["a.tar", "b.tar"], strict=True):
        assert layer["digest"][:19] in line
        assert f"{layers['a'].stat().st_size // 1024}.0 KiB ->" in line
        assert line.endswith(name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--os", "linuz"], "unknown os 'linuz'"),
        (["--architecture", "x86_64"], "unknown architecture 'x86_64'"),
        (["--architecture", "amd64", "--variant", "v9"], "unknown variant 'v9'"),
        (["--env", "NOVALUE"], "malformed env 'NOVALUE'"),
        (["--env", "1BAD=x"], "'1BAD' is not a valid variable name"),
        (["--env", "A=${oops"], "malformed variable reference"),
        (["--exposed-port", "http"], "bad exposed port 'http'"),
        (["--exposed-port", "70000"], "port must be 1-65535"),
        (["--exposed-port", "80/icmp"], "protocol must be one of"),
        (["--volume", "data"], "volume must be an absolute path"),
        (["--workdir", "app"], "workdir must be an absolute path"),
        (["--user", "a b"], "bad user 'a b'"),
        (["--label", "=x"], "malformed labels '=x'"),
        (["--created", "yesterday"], "bad created 'yesterday'"),
        (["--created", "2024-13-40T00:00:00Z"], "not a real date"),
        (["--env-file", "/nonexistent/env"], "cannot read the env file /nonexistent/env"),
        (["--os", "linux"], "os and architecture are mandatory"),
        (["--base", "/nonexistent/base"], "base image not found: /nonexistent/base"),
        (["--tar", "/nonexistent/layer.tar"], "layer not found: /nonexistent/layer.tar"),
    ],
)
def test_bad_input_fails_with_one_line(
    tmp_path: Path,
    layers: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "img"
    if args == ["--os", "linux"]:
        code = image.main(["--output", str(out), "--tar", str(layers["a"]), *args])
    else:
        code = run(out, "--tar", str(layers["a"]), *args)
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("oci_image: error: ") and err.count("\n") == 1
    assert message in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".img")]


def _scan(tmp_path: Path, tar: Path) -> Path:
    out = tmp_path / f"{tar.name}.scan.json"
    assert image.main(["scan", str(tar), str(out)]) == 0
    return out


def test_layers_scanned_beforehand_give_the_same_image(
    tmp_path: Path, layers: dict[str, Path]
) -> None:
    gz = tmp_path / "b.tar.gz"
    gz.write_bytes(tarball.gzip_bytes(layers["b"].read_bytes()))
    tars = [layers["a"], gz]
    plain = build(tmp_path / "plain", *[a for t in tars for a in ("--tar", str(t))])
    scans = [_scan(tmp_path, t) for t in tars]
    assert json.loads(scans[1].read_text())["compression"] == "gzip"
    scanned = build(
        tmp_path / "scanned",
        *[a for t in tars for a in ("--tar", str(t))],
        *[a for f in scans for a in ("--tar-scan", str(f))],
    )
    assert scanned == plain
    assert tree(tmp_path / "scanned") == tree(tmp_path / "plain")


def test_a_scan_that_does_not_fit_its_tar_is_refused(
    tmp_path: Path, layers: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scan_b = _scan(tmp_path, layers["b"])
    big = make_tar(tmp_path / "big.tar", {"/app/big.txt": b"x" * 20000})
    assert run(tmp_path / "one", "--tar", str(big), "--tar-scan", str(scan_b)) == 1
    assert "has another size" in capsys.readouterr().err
    assert run(tmp_path / "two", "--tar", str(layers["a"]), "--tar", str(big),
               "--tar-scan", str(scan_b)) == 1  # fmt: skip
    assert "1 --tar-scan for 2 --tar" in capsys.readouterr().err
    bad = tmp_path / "bad.scan.json"
    bad.write_text('{"digest": "sha256:00"}')
    assert run(tmp_path / "three", "--tar", str(layers["a"]), "--tar-scan", str(bad)) == 1
    assert "not what `scan` writes" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name in ("one", "two", "three")]


def test_scan_of_a_non_tar_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.tar"
    bogus.write_bytes(b"not a tar\n" * 100)
    assert image.main(["scan", str(bogus), str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("oci_image: error: ") and err.count("\n") == 1
    assert not (tmp_path / "s.json").exists()
    layer = make_tar(tmp_path / "l.tar", {"/a": b"a"})
    (tmp_path / "file").write_text("a file, not a folder\n")
    assert image.main(["scan", str(layer), str(tmp_path / "file" / "s.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("oci_image: error: ") and err.count("\n") == 1


def test_not_a_tar_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.tar"
    bogus.write_bytes(b"just some text, not a tar archive\n" * 40)
    assert run(tmp_path / "img", "--tar", str(bogus)) == 1
    assert f"({bogus}): not a tar archive" in capsys.readouterr().err


def test_platform_is_refused_with_a_base(
    tmp_path: Path, layers: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    build(tmp_path / "base", "--tar", str(layers["a"]))
    code = image.main(
        ["--output", str(tmp_path / "c"), "--base", str(tmp_path / "base"), "--os", "linux"]
    )
    assert code == 1
    assert "os must not be set with a base" in capsys.readouterr().err


def test_corrupt_base_is_rejected(
    tmp_path: Path, layers: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base"
    gz = tmp_path / "a.tar.gz"
    tarball.gzip_file(layers["a"], gz)
    build(base, "--tar", str(gz))
    blob = read(base).blob(read(base).layers[0]["digest"])
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[-9] ^= 0xFF  # the last byte of the compressed stream
    blob.write_bytes(bytes(data))
    code = image.main(["--output", str(tmp_path / "c"), "--base", str(base)])
    err = capsys.readouterr().err
    assert code == 1 and "base layer 1" in err


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        image.main(["--tar", "x.tar"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--output" in err


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
