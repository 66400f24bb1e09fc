"""Tests for sources.py: finding the Debian archive in one-line and deb822 apt sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from distroless.private.sources import SourcesError, find_mirror, read_sources

DEB822 = """\
Types: deb
# http://snapshot.example.invalid/archive/debian/20250520T000000Z
URIs: http://mirror.example.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.invalid/debian-security
Suites: bookworm-security
Components: main
"""


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_deb822(tmp_path):
    write(tmp_path, "sources.list.d/debian.sources", DEB822)
    assert find_mirror({}, tmp_path) == "http://mirror.example.invalid/debian"


def test_security_first_is_skipped(tmp_path):
    security_first = "\n\n".join(reversed(DEB822.split("\n\n")))
    write(tmp_path, "sources.list.d/debian.sources", security_first)
    assert find_mirror({}, tmp_path) == "http://mirror.example.invalid/debian"


def test_one_line_with_options(tmp_path):
    write(
        tmp_path,
        "sources.list",
        "# comment\n"
        "deb-src http://src.example.invalid/debian trixie main\n"
        "deb http://sec.example.invalid/debian-security trixie-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example.invalid/debian/ trixie main\n",
    )
    assert find_mirror({}, tmp_path) == "http://one.example.invalid/debian"


def test_third_party_sources_are_skipped(tmp_path):
    write(
        tmp_path, "sources.list.d/a.list", "deb https://vendor.example.invalid/apt stable-x main\n"
    )
    write(
        tmp_path,
        "sources.list.d/b.sources",
        "Types: deb\nURIs: https://node.example.invalid/node_20.x\nSuites: nodistro\n",
    )
    write(
        tmp_path, "sources.list.d/c.list.disabled", "deb http://x.example.invalid/debian sid main\n"
    )
    with pytest.raises(SourcesError, match="DEBIAN_MIRROR"):
        find_mirror({}, tmp_path)


def test_disabled_deb822_entry(tmp_path):
    write(tmp_path, "sources.list.d/d.sources", "Enabled: no\n" + DEB822.split("\n\n")[0])
    assert read_sources(tmp_path) == []


def test_environment_wins(tmp_path):
    write(tmp_path, "sources.list.d/debian.sources", DEB822)
    env = {"DEBIAN_MIRROR": "https://corp.example.invalid/deb/"}
    assert find_mirror(env, tmp_path) == "https://corp.example.invalid/deb"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
