"""Debian control data: deb822 paragraphs, dependency fields and version order.

The lock and the layer both read Debian metadata (the archive's Packages index, each .deb's
control file). Doing it here with the standard library keeps the build free of dpkg, which a
distroless build machine need not have, and lets the tests feed made-up paragraphs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

Paragraph = dict[str, str]


class ControlError(ValueError):
    """Malformed control data; the message is one line."""


def parse_paragraphs(text: str) -> Iterator[Paragraph]:
    """Yield the paragraphs of a deb822 text (Packages index, control file) as ordered dicts.

    Continuation lines (starting with a space or tab) are kept verbatim, joined by newlines, so
    that a paragraph can be written back unchanged (the dpkg status files need that).
    """
    para: Paragraph = {}
    key: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if para:
                yield para
            para, key = {}, None
            continue
        if line.startswith("#") and not para:
            continue
        if line[0] in " \t":
            if key is None:
                raise ControlError(f"line {lineno}: continuation line before any field")
            para[key] += "\n" + line
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name:
            raise ControlError(f"line {lineno}: expected 'Field: value', got {line[:60]!r}")
        key = name
        para[key] = value.strip()
    if para:
        yield para


@dataclass(frozen=True)
class Relation:
    """One alternative of a dependency: `name (op version)`."""

    name: str
    op: str | None = None
    version: str | None = None


_RELATION = re.compile(
    r"^\s*(?P<name>[a-z0-9][a-z0-9+.\-]*)(?::[a-z0-9]+)?\s*"
    r"(?:\(\s*(?P<op><<|<=|=|>=|>>)\s*(?P<version>[^\s)]+)\s*\))?\s*"
    r"(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$"
)


def parse_relations(field: str) -> list[list[Relation]]:
    """Parse a Depends-style field into groups of alternatives.

    `"a (>= 1) | b, c:any"` gives `[[a >= 1, b], [c]]`. Architecture qualifiers (`:any`) are
    dropped: the lock holds one architecture.
    """
    groups: list[list[Relation]] = []
    for group in field.replace("\n", " ").split(","):
        if not group.strip():
            continue
        alts = []
        for alt in group.split("|"):
            m = _RELATION.match(alt)
            if not m:
                raise ControlError(f"bad dependency {alt.strip()!r} in {field.strip()[:80]!r}")
            alts.append(Relation(m["name"], m["op"], m["version"]))
        groups.append(alts)
    return groups


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate non-digit runs (by `_order`) and digit runs (numerically)."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_version(v: str) -> tuple[int, str, str]:
    epoch, sep, rest = v.partition(":")
    if not sep:
        epoch, rest = "0", v
    if not epoch.isdigit():
        raise ControlError(f"bad version epoch in {v!r}")
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def compare_versions(a: str, b: str) -> int:
    """Compare two Debian versions like `dpkg --compare-versions`: <0, 0 or >0."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def satisfies(version: str, relation: Relation) -> bool:
    """Tell whether `version` meets the relation's version constraint (if it has one)."""
    if relation.op is None or relation.version is None:
        return True
    cmp = compare_versions(version, relation.version)
    return {
        "<<": cmp < 0,
        "<=": cmp <= 0,
        "=": cmp == 0,
        ">=": cmp >= 0,
        ">>": cmp > 0,
    }[relation.op]
