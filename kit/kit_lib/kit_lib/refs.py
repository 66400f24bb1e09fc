"""Image references: the one grammar every tool checks names, tags and digests against.

The distribution project's reference grammar, reduced to what the kit needs: a registry host
(name, IPv4 or bracketed IPv6, optional port), lower-case path components, tags of 1-128
characters, sha256 digests. ASCII only: a name a push would refuse is refused everywhere.
"""

from __future__ import annotations

import re

_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
HOST = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH = rf"{COMPONENT}(?:/{COMPONENT})*"

# HOST/PATH: what a push needs (no implicit default registry).
REPOSITORY = re.compile(rf"(?P<host>{HOST})/(?P<path>{PATH})")
# [HOST/]PATH: a name as docker and Kubernetes accept it.
NAME = re.compile(rf"(?:{HOST}/)?{PATH}")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def is_tag(text: str) -> bool:
    """True if `text` is a valid tag."""
    return TAG.fullmatch(text) is not None


def is_name(text: str) -> bool:
    """True if `text` is a repository name, with or without a registry host."""
    return NAME.fullmatch(text) is not None


def split_name_tag(reference: str) -> tuple[str, str | None]:
    """`name[:tag]` -> (name, tag or None); a port's colon is not a tag's."""
    slash, colon = reference.rfind("/"), reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, None
