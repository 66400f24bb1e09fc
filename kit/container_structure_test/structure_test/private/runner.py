"""Run container-structure-test for one container_structure_test target and report per test.

The binary writes its JUnit report to a file and then prints nothing but "FAIL", so this wrapper
hands the report to Bazel (`$XML_OUTPUT_FILE`, written whole through a rename) and prints one
PASS/FAIL line per config test, with the failure messages, for the test log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from kit_lib import scratch

PROG = "container_structure_test"
SPEC_ENV = "CONTAINER_STRUCTURE_TEST_SPEC"


class RunnerError(Exception):
    """A problem with the test setup (not a failing config test); one line."""


@dataclass(frozen=True)
class Spec:
    """What the rule passes: runfiles paths of the binary, image tarball and configs."""

    binary: Path
    image: Path
    configs: list[Path]
    driver: str


@dataclass(frozen=True)
class Case:
    """One config test from the JUnit report."""

    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """A case passes when the report records no failure or error for it."""
        return not self.failures


def runfiles_root() -> Path:
    """The runfiles tree this test runs in (Bazel sets both variables for tests)."""
    root = os.environ.get("RUNFILES_DIR") or os.environ.get("TEST_SRCDIR")
    if not root:
        raise RunnerError("no runfiles: run this through `bazel test`")
    return Path(root)


def load_spec(text: str | None, root: Path) -> Spec:
    """Parse the JSON spec from the rule and resolve its paths under `root`."""
    if not text:
        raise RunnerError(f"${SPEC_ENV} is not set; this runs only as a container_structure_test")
    try:
        raw = json.loads(text)
        spec = Spec(
            binary=root / raw["binary"],
            image=root / raw["image"],
            configs=[root / c for c in raw["configs"]],
            driver=raw["driver"],
        )
    except (ValueError, KeyError, TypeError) as err:
        raise RunnerError(f"malformed ${SPEC_ENV}: {err}") from None
    for what, path in [("binary", spec.binary), ("image", spec.image)] + [
        ("config", c) for c in spec.configs
    ]:
        if not path.is_file():
            raise RunnerError(f"{what} not found in runfiles: {path}")
    if not spec.configs:
        raise RunnerError("no configs given")
    return spec


def command(spec: Spec, report: Path) -> list[str]:
    """The container-structure-test command line for `spec`, writing JUnit to `report`."""
    cmd = [str(spec.binary), "test", "--driver", spec.driver, "--image", str(spec.image)]
    for config in spec.configs:
        cmd += ["--config", str(config)]
    return [*cmd, "--output", "junit", "--test-report", str(report), "--no-color"]


def parse_report(data: bytes) -> list[Case]:
    """The test cases of a JUnit report, in order."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise RunnerError(f"unreadable JUnit report: {err}") from None
    cases = []
    for case in root.iter("testcase"):
        messages = [
            (problem.text or problem.get("message") or problem.tag).strip()
            for problem in case
            if problem.tag in ("failure", "error")
        ]
        cases.append(Case(case.get("name", "?"), messages))
    return cases


def summary(cases: list[Case]) -> str:
    """Lines for the test log: each case, its failure messages, and the totals."""
    lines = []
    for case in cases:
        lines.append(f"{'PASS' if case.passed else 'FAIL'}: {case.name}")
        lines.extend(f"    {message}" for message in case.failures)
    failed = sum(not c.passed for c in cases)
    lines.append(f"{len(cases)} test(s), {len(cases) - failed} passed, {failed} failed")
    return "\n".join(lines)


def run(spec: Spec, xml_output: Path | None) -> int:
    """Run the binary; hand its report to Bazel; print the summary; return the exit status."""
    with (
        tempfile.TemporaryDirectory(prefix="cst-") as tmp,
        # The tar driver unpacks the whole image again for every single test: in RAM if it has
        # room (on this project's disks seconds per test, in RAM a fraction of a second).
        scratch.tree("cst-", scratch.RAM_FACTOR * spec.image.stat().st_size) as unpack_dir,
    ):
        report = Path(tmp) / "report.xml"
        proc = subprocess.run(
            command(spec, report),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TMPDIR": str(unpack_dir)},
        )
        if not report.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {proc.returncode}"
            raise RunnerError(f"container-structure-test wrote no report: {reason}")
        data = report.read_bytes()
        cases = parse_report(data)
        if xml_output is not None:
            xml_output.parent.mkdir(parents=True, exist_ok=True)
            staged = xml_output.with_name(f".{xml_output.name}.tmp")
            staged.write_bytes(data)
            os.replace(staged, xml_output)
    print(f"image: {spec.image.name}, configs: {', '.join(c.name for c in spec.configs)}")
    print(summary(cases))
    if not cases:
        raise RunnerError("the configs hold no tests")
    failed = any(not c.passed for c in cases)
    if failed != (proc.returncode != 0):
        raise RunnerError(
            f"container-structure-test exited {proc.returncode} but its report says "
            f"{'some' if failed else 'no'} test failed"
        )
    return 1 if failed else 0


def main() -> int:
    """Entry point of every container_structure_test target."""
    try:
        spec = load_spec(os.environ.get(SPEC_ENV), runfiles_root())
        xml_output = os.environ.get("XML_OUTPUT_FILE")
        return run(spec, Path(xml_output) if xml_output else None)
    except RunnerError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
