"""Tests for users.py: the account files must match distroless' exactly."""

from __future__ import annotations

import pytest

from distroless.private import users


def rows(text: str) -> list[list[str]]:
    assert text.endswith("\n")
    return [line.split(":") for line in text.splitlines()]


def test_passwd_is_distroless():
    assert users.passwd() == (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )


def test_group_is_distroless():
    assert users.group() == (
        "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
    )


def test_every_user_has_its_group_and_no_shell():
    groups = {int(r[2]): r[0] for r in rows(users.group())}
    for name, _pw, uid, gid, _gecos, _home, shell in rows(users.passwd()):
        assert uid == gid
        assert groups[int(gid)] == name
        assert shell == "/sbin/nologin"


def test_nsswitch_reads_hosts_file_first():
    hosts = next(line for line in users.NSSWITCH.splitlines() if line.startswith("hosts:"))
    assert hosts.split()[1:] == ["files", "dns"]


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
