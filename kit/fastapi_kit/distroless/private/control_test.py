"""Tests for control.py: deb822 parsing, dependency fields and Debian version order."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from distroless.private.control import (
    ControlError,
    Relation,
    compare_versions,
    parse_paragraphs,
    parse_relations,
    satisfies,
)

TEXT = """\
Package: a
Version: 1.0
Description: short
 long line one
 .
 long line two

Package: b
Depends: a (>= 1.0) | c, d:any
"""


def test_paragraphs_and_continuations():
    paras = list(parse_paragraphs(TEXT))
    assert [p["Package"] for p in paras] == ["a", "b"]
    assert paras[0]["Description"] == "short\n long line one\n .\n long line two"


def test_bad_line_is_an_error():
    with pytest.raises(ControlError, match="line 2"):
        list(parse_paragraphs("Package: a\nno colon here\n"))
    with pytest.raises(ControlError, match="continuation"):
        list(parse_paragraphs(" leading continuation\n"))


def test_relations():
    assert parse_relations("a (>= 1.0) | c, d:any, e (<< 2~) [amd64]") == [
        [Relation("a", ">=", "1.0"), Relation("c")],
        [Relation("d")],
        [Relation("e", "<<", "2~")],
    ]
    assert parse_relations("") == []
    with pytest.raises(ControlError, match="bad dependency"):
        parse_relations("a (>= )")


# (smaller, bigger) pairs from dpkg's rules: ~ sorts first, letters before other symbols,
# digits compare as numbers, the epoch wins, a missing revision is the smallest.
ORDERED = [
    ("1.0~rc1", "1.0"),
    ("1.0", "1.0+b1"),
    ("1.0", "1.0-1"),
    ("1.9", "1.10"),
    ("1.0a", "1.0+"),
    ("2.0", "1:0.1"),
    ("3.5.9-1~deb13u1", "3.5.9-1"),
    ("1.3.dfsg+really1.3.1-1", "1.3.dfsg+really1.3.1-1+deb13u1"),
    ("0.9", "0.09.1"),
    ("1.0~~", "1.0~"),
]


@pytest.mark.parametrize(("low", "high"), ORDERED)
def test_version_order(low, high):
    assert compare_versions(low, high) < 0
    assert compare_versions(high, low) > 0
    assert compare_versions(low, low) == 0


def test_equal_spellings():
    assert compare_versions("1.01", "1.1") == 0
    assert compare_versions("0:1.0", "1.0") == 0


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg not installed")
@pytest.mark.parametrize(("low", "high"), ORDERED)
def test_agrees_with_dpkg(low, high):
    run = subprocess.run(["dpkg", "--compare-versions", low, "lt", high], check=False)
    assert run.returncode == 0


def test_satisfies():
    assert satisfies("1.0", Relation("x"))
    assert satisfies("1.0", Relation("x", ">=", "1.0"))
    assert not satisfies("1.0", Relation("x", ">>", "1.0"))
    assert satisfies("1.0~1", Relation("x", "<<", "1.0"))
    assert satisfies("2:1", Relation("x", "=", "2:1"))
    assert not satisfies("2:1", Relation("x", "<=", "1:9"))


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
