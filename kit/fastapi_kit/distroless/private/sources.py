"""Find the Debian archive mirror from the machine's own apt configuration.

The repo must never name a registry host: the mirror is whatever this machine already uses (a
corporate mirror, a snapshot, the public archive), or DEBIAN_MIRROR when set. apt sources come in
two syntaxes, one-line `sources.list` files and deb822 `*.sources` files; both are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from distroless.private.control import ControlError, parse_paragraphs

ENV = "DEBIAN_MIRROR"
SECURITY_ENV = "DEBIAN_SECURITY_MIRROR"

# Suites of the Debian archive proper; `-security` suites live in another archive and are skipped.
_DEBIAN_SUITES = {
    "stable",
    "testing",
    "unstable",
    "oldstable",
    "sid",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
}


class SourcesError(ValueError):
    """No usable mirror; the message is one line."""


@dataclass(frozen=True)
class Source:
    """One `deb` entry of the apt sources."""

    uri: str
    suites: tuple[str, ...]
    origin: str


def _one_line(path: Path) -> list[Source]:
    out = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 2:
            out.append(Source(words[0], (words[1],), str(path)))
    return out


def _deb822(path: Path) -> list[Source]:
    text = "\n".join(
        line
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not line.lstrip().startswith("#")
    )
    try:
        paragraphs = list(parse_paragraphs(text))
    except ControlError as e:
        raise SourcesError(f"{path}: {e}") from None
    out = []
    for para in paragraphs:
        if para.get("Enabled", "yes").strip().lower() == "no":
            continue
        if "deb" not in para.get("Types", "").split():
            continue
        suites = tuple(para.get("Suites", "").split())
        for uri in para.get("URIs", "").split():
            out.append(Source(uri, suites, str(path)))
    return out


def read_sources(etc_apt: Path) -> list[Source]:
    """Return every `deb` source under `etc_apt`, main file first, then the parts dir sorted."""
    out: list[Source] = []
    main = etc_apt / "sources.list"
    if main.is_file():
        out += _one_line(main)
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                out += _one_line(path)
            elif path.suffix == ".sources":
                out += _deb822(path)
    return out


_SUFFIXES = ("", "-updates", "-backports", "-backports-sloppy", "-proposed-updates")


def _is_debian_suite(suite: str) -> bool:
    return any(suite == name + suffix for name in _DEBIAN_SUITES for suffix in _SUFFIXES)


def _is_debian_archive(src: Source) -> bool:
    if not src.uri.startswith(("http://", "https://", "file:/")):
        return False
    return bool(src.suites) and all(_is_debian_suite(s) for s in src.suites)


def find_mirror(environ: dict[str, str], etc_apt: Path = Path("/etc/apt")) -> str:
    """Return the Debian archive mirror, without a trailing slash.

    DEBIAN_MIRROR wins; otherwise the first `deb` source whose suites are Debian release suites
    (not the security archive).
    """
    if environ.get(ENV):
        return environ[ENV].rstrip("/")
    for src in read_sources(etc_apt):
        if _is_debian_archive(src):
            return src.uri.rstrip("/")
    raise SourcesError(
        f"no Debian archive in {etc_apt}/sources.list or sources.list.d; set {ENV} to a mirror URL"
    )


def security_mirror(environ: dict[str, str], mirror: str) -> str:
    """The security archive: DEBIAN_SECURITY_MIRROR, else `<mirror>-security`.

    Debian serves it beside the main archive by that convention (`.../debian` and
    `.../debian-security`, on the public archive and on the usual mirrors of it).
    """
    return (environ.get(SECURITY_ENV) or mirror.rstrip("/") + "-security").rstrip("/")


if __name__ == "__main__":
    print(find_mirror(dict(os.environ)))
