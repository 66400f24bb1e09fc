"""HTTP clients that misbehave on purpose, over raw sockets: for the launcher's tests and probes.

What they do cannot be asked of an HTTP library: send a head that never ends, a body far over a
limit, or half a request and then nothing.
"""

from __future__ import annotations

import selectors
import socket
import time

CHUNK = b"a" * 65536


def flood(port: int, head: bytes, total: int, timeout: float = 30.0) -> bytes:
    """Send `head`, then up to `total` bytes of 'a' until the server hangs up; return its answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head)
        sent = 0
        while sent < total:
            sock.sendall(CHUNK)
            sent += len(CHUNK)
    except OSError:
        pass  # the server answered and closed: the point
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except OSError:
        pass
    sock.close()
    return answer


def half_open(port: int, count: int) -> list[socket.socket]:
    """`count` connections that each send part of a request head and then nothing."""
    held = []
    for i in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
        except OSError:
            break
        held.append(sock)
    return held


def answered(socks: list[socket.socket], prefix: bytes, seconds: float = 10.0) -> int:
    """How many of `socks` receive an answer starting with `prefix` within `seconds`; closes all."""
    count = 0
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                try:
                    count += key.fileobj.recv(100).startswith(prefix)  # type: ignore[union-attr]
                except OSError:
                    pass
                selector.unregister(key.fileobj)
    for sock in socks:
        sock.close()
    return count
