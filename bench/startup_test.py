"""bench.startup's reading of `-X importtime`, on what this machine's Python prints."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import startup


def test_real_importtime_output_is_grouped_by_package() -> None:
    result = subprocess.run(
        # -I -S: no site hooks (sitecustomize, which Debian's is), only what the code imports.
        [sys.executable, "-I", "-S", "-X", "importtime", "-c", "import json, email.message"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    modules = [line.rsplit("|", 1)[1].strip() for line in lines[1:]]  # the first is a header
    assert "json" in modules and "email.message" in modules
    totals = startup.parse_importtime(result.stderr)
    # Everything imported is the standard library's, and each module's own time counts once.
    assert set(totals) == {startup.STDLIB}
    own = sum(int(line.split("|")[0].split(":")[1]) for line in lines[1:])
    assert totals[startup.STDLIB] == pytest.approx(own / 1e6)


def test_third_party_and_first_party_modules_count_under_their_top_package() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       120 |        120 |     typing",
            "import time:      2000 |       2500 |       pydantic._internal._config",
            "import time:       500 |       3000 |     pydantic",
            "import time:      7000 |      10000 |   app.todos",
            "import time:       300 |      10300 | app",
            "Traceback (most recent call last):",
        ]
    )
    assert startup.parse_importtime(text) == {
        startup.STDLIB: pytest.approx(0.00012),
        "pydantic": pytest.approx(0.0025),
        "app": pytest.approx(0.0073),
    }
    assert startup.package_of("_ssl") == startup.STDLIB
    assert startup.package_of("fastapi.openapi.models") == "fastapi"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
