"""Test helper: an HTTP proxy in front of a test registry that records, breaks and guards traffic.

The real registry decides what is stored; the proxy lets a test see every request the pusher
made (to prove a second push uploads nothing), inject the failures real networks have (a reset
connection, a 503, an answer lost after the registry acted, a request that hangs until the
pusher is killed), and stand in for a token server (the Bearer challenge flow of the
distribution token spec), which Debian's registry cannot do without a PKI.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import socket
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)
# Actions a fault can take instead of (or after) forwarding a request.
RESET = "reset"  # drop the connection without an answer; the registry never sees the request
FORWARD_THEN_RESET = "forward-then-reset"  # the registry acts, but its answer is lost
HOLD = "hold"  # hang until released (or 60 s), then drop: for killing the client mid-push
FAKE_PRESENT = "fake-present"  # answer 200 to a HEAD: a registry that lies about a blob
_NAME = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs|manifests|tags)/")


@dataclass
class Fault:
    """Apply `action` to requests whose method is `method` and path matches `path`.

    `skip` matching requests pass first; then the fault fires `times` times (-1: always).
    An action "status:503" answers with that status.
    """

    method: str
    path: str
    action: str
    times: int = 1
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request, counting it down if so."""
        if method != self.method or not re.search(self.path, path) or self.times == 0:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times > 0:
            self.times -= 1
        return True


@dataclass(frozen=True)
class Seen:
    """One request that reached the proxy, and what was answered ("reset" for none)."""

    method: str
    path: str
    status: int | str
    headers: dict[str, str] = field(default_factory=dict)


class Proxy:
    """`with Proxy(upstream) as p:` forwards http://p.host to the registry at `upstream`.

    `bearer=True` demands Bearer tokens, issued by `/token` to `users` (any caller if None) or
    to a holder of one of `refresh_tokens`.
    """

    def __init__(
        self,
        upstream: str,
        bearer: bool = False,
        users: dict[str, str] | None = None,
        refresh_tokens: set[str] | None = None,
    ) -> None:
        self.upstream = upstream
        self.bearer = bearer
        self.users = users
        self.refresh_tokens = refresh_tokens or set()
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.token_requests: list[dict[str, str]] = []
        self.tokens: dict[str, list[str]] = {}
        self.held = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """HOST:PORT the proxy listens on."""
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        with self._lock:
            self.faults.append(fault)

    def count(self, method: str, path: str = "") -> int:
        """How many `method` requests whose path matches `path` were seen."""
        with self._lock:
            return sum(1 for s in self.seen if s.method == method and re.search(path, s.path))

    def record(self, seen: Seen) -> None:
        """Remember one request."""
        with self._lock:
            self.seen.append(seen)

    def fault_for(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this request, if any."""
        with self._lock:
            return next((f for f in self.faults if f.matches(method, path)), None)

    def __enter__(self) -> Proxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Proxy

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, as a crashed proxy or a flaky network would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._reply(status, body, {"Content-Type": "application/json", **headers})

    def _token(self, body: bytes) -> None:
        """The token endpoint: check the caller, issue a token for the scopes asked."""
        proxy = self.owner
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if self.command == "POST":
            query = urllib.parse.parse_qs(body.decode())
        scopes = [s for value in query.get("scope", []) for s in value.split(" ")]
        user = ""
        allowed = proxy.users is None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            allowed = proxy.users is not None and proxy.users.get(user) == password
        if query.get("grant_type") == ["refresh_token"]:
            allowed = query.get("refresh_token", [""])[0] in proxy.refresh_tokens
        with proxy._lock:
            proxy.token_requests.append(
                {"method": self.command, "user": user, "scope": " ".join(scopes)}
            )
        if not allowed:
            self._error(401, "UNAUTHORIZED", "bad credentials", {})
            return
        token = secrets.token_hex(16)
        with proxy._lock:
            proxy.tokens[token] = scopes
        reply = {"token": token, "access_token": token, "expires_in": 300}
        self._reply(200, json.dumps(reply).encode(), {"Content-Type": "application/json"})

    def _bearer_ok(self, path: str) -> bool:
        """Whether the request carries a token whose scopes allow it; else answer 401."""
        proxy = self.owner
        match = _NAME.match(path)
        name = match.group("name") if match else ""
        action = "pull" if self.command in ("GET", "HEAD") else "push"
        auth = self.headers.get("Authorization", "")
        with proxy._lock:
            scopes = proxy.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if scopes is not None:
            if not name:
                return True
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                scope_name, _, actions = rest.rpartition(":")
                if kind == "repository" and scope_name == name and action in actions.split(","):
                    return True
        challenge = f'Bearer realm="http://{proxy.host}/token",service="test-proxy"'
        if name:
            challenge += f',scope="repository:{name}:pull,push"'
        self._error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": challenge})
        return False

    def _forward(self, path: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.owner.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if self.owner.bearer:
                headers.pop("Authorization", None)
            conn.request(self.command, path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _handle(self) -> None:
        proxy = self.owner
        path = self.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        if path.startswith("/token"):
            self._token(body)
            return
        if proxy.bearer and not self._bearer_ok(urllib.parse.urlsplit(path).path):
            proxy.record(Seen(self.command, path, 401, headers))
            return
        fault = proxy.fault_for(self.command, path)
        action = fault.action if fault else ""
        if action == RESET:
            proxy.record(Seen(self.command, path, "reset", headers))
            self._reset()
            return
        if action == HOLD:
            proxy.record(Seen(self.command, path, "hold", headers))
            proxy.held.set()
            proxy.release.wait(60)
            self._reset()
            return
        if action.startswith("status:"):
            status = int(action.split(":", 1)[1])
            proxy.record(Seen(self.command, path, status, headers))
            self._error(status, "UNAVAILABLE", "injected failure", {"Retry-After": "0"})
            return
        if action == FAKE_PRESENT:
            proxy.record(Seen(self.command, path, 200, headers))
            self._reply(200, b"", {"Content-Type": "application/octet-stream"})
            return
        status, upstream_headers, data = self._forward(path, body)
        if action == FORWARD_THEN_RESET:
            proxy.record(Seen(self.command, path, "reset", headers))
            self._reset()
            return
        proxy.record(Seen(self.command, path, status, headers))
        self.send_response(status)
        for key, value in upstream_headers:
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        declared = dict((k.lower(), v) for k, v in upstream_headers).get("content-length")
        size = (declared or "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", size)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
