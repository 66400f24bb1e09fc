"""Tests for policy.py: what the base layer leaves out of the packages."""

from __future__ import annotations

import pytest

from distroless.private.policy import reason_to_drop

DROPPED = [
    "usr/share/doc/libc6/changelog.Debian.gz",
    "usr/share/doc/libc6",
    "usr/share/man/man1/python3.13.1.gz",
    "usr/share/lintian/overrides/libc6",
    "usr/share/locale/de/LC_MESSAGES/libc.mo",
    "usr/bin/perl",
    "usr/sbin/update-ca-certificates",
    "usr/lib/python3.13/__pycache__",
    "usr/lib/python3.13/json/__pycache__/decoder.cpython-313.pyc",
    "usr/lib/python3.13/ensurepip/__init__.py",
    "usr/lib/python3.13/test/support/__init__.py",
    "usr/lib/python3.13/lib-dynload/_testcapi.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/python3.13/lib-dynload/_curses.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/python3.13/lib-dynload/readline.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/x86_64-linux-gnu/gconv/BIG5.so",
    "usr/lib/x86_64-linux-gnu/gconv/libJIS.so",
    "usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
    "etc/update-motd.d/10-uname",
]

KEPT = [
    "usr/share/doc/libc6/copyright",
    "usr/bin/python3.13",
    "usr/lib/python3.13/json/decoder.py",
    "usr/lib/python3.13/lib-dynload/_ssl.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/python3.13/lib-dynload/_sqlite3.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/python3.13/lib-dynload/_uuid.cpython-313-x86_64-linux-gnu.so",
    "usr/lib/python3.13/testing.py",
    "usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
    "usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf",
    "usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",
    "usr/lib/x86_64-linux-gnu/libc.so.6",
    "usr/lib/x86_64-linux-gnu/libssl.so.3",
    "usr/share/zoneinfo/Europe/Paris",
    "etc/mime.types",
    "usr/bin",
]


@pytest.mark.parametrize("path", DROPPED)
def test_dropped(path):
    assert reason_to_drop(path)


@pytest.mark.parametrize("path", KEPT)
def test_kept(path):
    assert reason_to_drop(path) is None


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
