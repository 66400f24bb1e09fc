"""Accounts and name-service files of the base, exactly as Google's distroless images have them.

Tools and Kubernetes policies are written against distroless' accounts (nonroot is 65532, its
home is /home/nonroot), so the same names, ids and homes are used here. Nobody can log in: the
shell is /sbin/nologin, which does not even exist in the image.
"""

from __future__ import annotations

from dataclasses import dataclass

NOLOGIN = "/sbin/nologin"
NONROOT_UID = 65532


@dataclass(frozen=True)
class User:
    """One /etc/passwd line; the user's primary group has the same id."""

    name: str
    uid: int
    home: str


@dataclass(frozen=True)
class Group:
    """One /etc/group line."""

    name: str
    gid: int


USERS = (
    User("root", 0, "/root"),
    User("nobody", 65534, "/nonexistent"),
    User("nonroot", NONROOT_UID, "/home/nonroot"),
)

GROUPS = (
    Group("root", 0),
    Group("nobody", 65534),
    Group("tty", 5),
    Group("staff", 50),
    Group("nonroot", NONROOT_UID),
)


def passwd(users: tuple[User, ...] = USERS) -> str:
    """Return /etc/passwd: `name:x:uid:gid:name:home:/sbin/nologin` per user."""
    return "".join(f"{u.name}:x:{u.uid}:{u.uid}:{u.name}:{u.home}:{NOLOGIN}\n" for u in users)


def group(groups: tuple[Group, ...] = GROUPS) -> str:
    """Return /etc/group: `name:x:gid:` per group, no members."""
    return "".join(f"{g.name}:x:{g.gid}:\n" for g in groups)


# glibc without nsswitch.conf asks DNS before /etc/hosts; containers rely on /etc/hosts first.
NSSWITCH = """\
passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      files
services:       files
ethers:         files
rpc:            files
"""
