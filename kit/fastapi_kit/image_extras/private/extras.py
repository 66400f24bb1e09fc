"""The kit's image extras beyond rules_oci: inline stamping and a healthcheck base.

rules_oci 2.3.2 has neither: it stamps through files (`expand_template`) and has no HEALTHCHECK.
This tool gives both while the image itself is still made by `oci_image`:

- `stamp`: expand `{KEY}` / `{KEY:-default}` in a file with Bazel's workspace status values, so
  the result can be passed to oci_image's `labels`/`annotations` or oci_push's `remote_tags`;
- `config-base`: write a layout with no layers whose config carries a Docker-style `Healthcheck`
  (and the platform), for `oci_image(base = ...)`, which inherits the config.

Errors are one line naming the bad value, exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from kit_lib import cli, layout
from kit_lib.layout import ImageError

PROG = "image_extras"
EPOCH = "1970-01-01T00:00:00Z"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# {KEY} or {KEY:-fallback}: upper-case keys only, so JSON-like text in a label stays untouched.
_STAMP_REF = re.compile(r"\{(?P<key>[A-Z][A-Z0-9_]*)(?::-(?P<fallback>[^{}]*))?\}")
STAMP_FALLBACK = "unknown"


def parse_duration(text: object, what: str) -> int:
    """Parse a Go-style duration ("30s", "1m30s", "500ms") into nanoseconds."""
    if not isinstance(text, str) or not text:
        raise ImageError(f"bad {what} {text!r}: expected a duration like '30s'")
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise ImageError(f"bad {what} {text!r}: expected a duration like '30s' or '1m30s'")
    return int(total)


_HEALTHCHECK_DURATIONS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start_period": "StartPeriod",
    "start_interval": "StartInterval",
}


def healthcheck(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a healthcheck spec into the Docker-style config `Healthcheck` object.

    `test` is an exec-form argv (the image has no shell, so shell form is refused); `["NONE"]`
    disables a healthcheck inherited from the base. Docker and podman run it; Kubernetes ignores
    it and uses the pod's probes instead.
    """
    if not isinstance(spec, Mapping):
        raise ImageError("healthcheck must be an object with a 'test' list")
    unknown = sorted(set(spec) - {"test", "retries", *_HEALTHCHECK_DURATIONS})
    if unknown:
        raise ImageError(
            f"unknown healthcheck key(s) {unknown}; expected test, interval, "
            "timeout, retries, start_period, start_interval"
        )
    test = spec.get("test")
    if (
        not isinstance(test, list)
        or not test
        or not all(isinstance(arg, str) and arg for arg in test)
    ):
        raise ImageError("healthcheck test must be a non-empty list of non-empty strings")
    if test[0] == "CMD-SHELL":
        raise ImageError("healthcheck test in shell form (CMD-SHELL) needs a shell; use exec form")
    if test == ["NONE"]:
        if len(spec) > 1:
            raise ImageError("healthcheck test ['NONE'] disables the check and takes no options")
        return {"Test": ["NONE"]}
    if test[0] == "CMD":
        test = test[1:]
        if not test:
            raise ImageError("healthcheck test ['CMD'] has no command")
    result: dict[str, Any] = {"Test": ["CMD", *test]}
    for key, field in _HEALTHCHECK_DURATIONS.items():
        if key in spec:
            nanos = parse_duration(spec[key], f"healthcheck {key}")
            if nanos and nanos < 1_000_000:
                raise ImageError(f"healthcheck {key} must be 0 or at least 1ms")
            if nanos:
                result[field] = nanos
    if "retries" in spec:
        retries = spec["retries"]
        if isinstance(retries, str) and retries.isdigit():
            retries = int(retries)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ImageError(f"healthcheck retries must be a non-negative integer, got {retries!r}")
        if retries:
            result["Retries"] = retries
    return result


def read_stamp_files(paths: Iterable[str]) -> dict[str, str]:
    """Read Bazel workspace status files ("KEY value" lines) into one dict."""
    values: dict[str, str] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as err:
            raise ImageError(f"cannot read stamp file {path}: {err.strerror}") from None
        for line in lines:
            key, _, value = line.partition(" ")
            if key:
                values[key] = value
    return values


def stamp(value: str, values: Mapping[str, str], fallback: str = STAMP_FALLBACK) -> str:
    """Replace `{KEY}` / `{KEY:-default}` with workspace status values.

    A key that is not known (always the case in an unstamped build) becomes its `:-default`, or
    `fallback`: unstamped builds stay reproducible instead of carrying a time or a commit.
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group("key")
        if key in values:
            return values[key]
        default = match.group("fallback")
        return fallback if default is None else default

    return _STAMP_REF.sub(replace, value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; see `--help`."""
    p = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stamp", help="expand {KEY:-default} in a file")
    s.add_argument("--input", required=True, help="file to expand")
    s.add_argument("--output", required=True, help="file to write")
    s.add_argument("--stamp-file", action="append", default=[], help="Bazel status file")
    c = sub.add_parser("config-base", help="a layer-less layout carrying a healthcheck")
    c.add_argument("--output", required=True, help="OCI layout directory to write")
    c.add_argument("--os", required=True)
    c.add_argument("--architecture", required=True)
    c.add_argument("--variant")
    c.add_argument("--healthcheck", required=True, help="JSON object: test, interval, ...")
    return p.parse_args(argv)


def config_base(args: argparse.Namespace) -> str:
    """Write the layer-less base image; return its manifest digest."""
    try:
        spec = json.loads(args.healthcheck)
    except ValueError:
        raise ImageError(f"healthcheck must be a JSON object, got {args.healthcheck!r}") from None
    platform = {"architecture": args.architecture, "os": args.os}
    if args.variant:
        platform["variant"] = args.variant
    config = {
        **platform,
        "config": {"Healthcheck": healthcheck(spec)},
        "created": EPOCH,
        "history": [],
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    with layout.staged_dir(args.output) as staging:
        return layout.finish_layout(staging, config, [], platform)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print one error line and exit 1 on bad input."""
    args = parse_args(argv)
    try:
        if args.command == "stamp":
            values = read_stamp_files(args.stamp_file)
            try:
                with open(args.input, encoding="utf-8") as f:
                    text = f.read()
            except OSError as err:
                raise ImageError(f"cannot read {args.input}: {err.strerror}") from None
            layout.write_file_atomic(args.output, stamp(text, values).encode())
        else:
            config_base(args)
    except ImageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
