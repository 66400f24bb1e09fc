"""A small client for the OCI distribution API (v2): exactly what pushing an image needs.

Standard library only, so `bazel run` of an oci_push target needs no crane, no Go toolchain and
no pip install. It speaks HTTP/1.1 over `http.client` with one kept-alive connection per host,
authenticates the way docker does (ping `/v2/`, then Basic, or a Bearer token from the realm the
challenge names), and treats the network as unreliable: 5xx, 429 and dropped connections are
retried with exponential backoff, a chunked upload resumes from the offset the registry reports,
and a blob whose upload failed half-way is checked for (HEAD) before it is sent again.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from kit_lib import refs

from oci.private.credentials import Lookup

OCTET_STREAM = "application/octet-stream"
USER_AGENT = "oci_push (bazel; python)"
# Hosts where plain HTTP cannot leak anything: the traffic never leaves the machine.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_DELAY = 30.0

_CHALLENGE_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class RegistryError(Exception):
    """A push cannot go on; the message is one line that says why."""


class UsageError(RegistryError):
    """The request itself is wrong (bad repository, tag or flag): exit status 2."""


class TransientError(RegistryError):
    """A failure worth retrying: a dropped connection, a timeout, 5xx or 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(RegistryError):
    """The registry refused our credentials (401) or our access (403)."""


@dataclass(frozen=True)
class Repository:
    """A repository at a registry, e.g. host `127.0.0.1:5000` and path `team/app`."""

    host: str
    path: str

    def __str__(self) -> str:
        return f"{self.host}/{self.path}"

    @property
    def hostname(self) -> str:
        """The host without its port (IPv6 keeps its brackets)."""
        if self.host.startswith("["):
            return self.host[: self.host.index("]") + 1]
        return self.host.rsplit(":", 1)[0] if ":" in self.host else self.host

    @property
    def is_local(self) -> bool:
        """True for registries on this machine, the only ones plain HTTP is allowed for."""
        return self.hostname.lower() in LOCAL_HOSTS


def parse_repository(text: str) -> Repository:
    """Parse `host[:port]/path` strictly; tags, digests and a missing host are errors.

    A registry host is required (no implicit default registry): a push must never go somewhere
    the user did not name.
    """
    if "@" in text:
        raise UsageError(f"repository {text!r} must not hold a digest (@sha256:...)")
    match = refs.REPOSITORY.fullmatch(text)
    if match is None:
        last = text.rsplit("/", 1)[-1]
        if "/" in text and ":" in last:
            raise UsageError(
                f"repository {text!r} must not hold a tag; give tags with remote_tags or --tag"
            )
        raise UsageError(
            f"repository {text!r} is not HOST[:PORT]/NAME (NAME: lower case letters, digits, "
            "'.', '_', '-', '/'), e.g. 127.0.0.1:5000/app"
        )
    host = match.group("host")
    first = host.split(":")[0]
    if not ("." in first or ":" in host or first == "localhost" or host.startswith("[")):
        raise UsageError(
            f"repository {text!r} names no registry host (first part {host!r} has no '.' or "
            "':'); write it in full, e.g. registry.example.com/team/app"
        )
    return Repository(host=host, path=match.group("path"))


def check_tag(tag: str) -> str:
    """Return `tag` if the distribution API accepts it as a tag, else raise."""
    if not refs.is_tag(tag):
        raise UsageError(
            f"tag {tag!r} is invalid (1-128 of letters, digits, '_', '.', '-'; "
            "not starting with '.' or '-')"
        )
    return tag


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split `WWW-Authenticate: Bearer realm="...",service="..."` into scheme and params."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


@dataclass
class Options:
    """How to talk to the registry; the defaults suit a real registry over the internet."""

    insecure: bool = False
    retries: int = 5
    retry_delay: float = 0.5
    timeout: float = 120.0
    chunk_size: int = 64 << 20
    chunked: bool = False


@dataclass
class Response:
    """A fully read HTTP response."""

    status: int
    reason: str
    headers: Message
    body: bytes
    url: str

    def header(self, name: str) -> str:
        """The value of one header, or ""."""
        return self.headers.get(name) or ""

    def error_text(self) -> str:
        """The registry's error codes and messages, e.g. "MANIFEST_INVALID: manifest invalid"."""
        try:
            errors = json.loads(self.body).get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        parts = []
        for err in errors if isinstance(errors, list) else []:
            if not isinstance(err, dict):
                continue
            text = f"{err.get('code', 'UNKNOWN')}: {err.get('message', '')}".rstrip(": ")
            detail = err.get("detail")
            if detail:
                detail = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)
                text += f" ({detail[:200]})"
            parts.append(text)
        if parts:
            return "; ".join(parts)
        body = self.body.decode(errors="replace").strip().replace("\n", " ")[:200]
        return f"{self.status} {self.reason}" + (f": {body}" if body else "")


def _retry_after(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _with_query(url: str, **params: str) -> str:
    """Add query parameters to an upload URL that may already carry the registry's state."""
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client of the process: loading the CA bundle takes a while."""
    return ssl.create_default_context()


def _first_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0] if text.strip() else type(err).__name__


class Client:
    """One repository at one registry: ping, check and upload blobs, put manifests."""

    def __init__(
        self,
        repository: Repository,
        lookup: Lookup,
        options: Options,
        log: Callable[[str], None] = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if options.insecure and not repository.is_local:
            raise UsageError(
                f"--insecure (plain HTTP) is only allowed for localhost/127.0.0.1 registries, "
                f"not {repository.host}; use HTTPS"
            )
        self.repository = repository
        self.lookup = lookup
        self.options = options
        self.log = log
        self.sleep = sleep
        self.scheme = "http" if options.insecure else "https"
        self.base = f"{self.scheme}://{repository.host}"
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self._authorization = ""
        self._auth_scheme = ""
        self.requests = 0

    def clone(self) -> Client:
        """A second client of the same repository, for another thread: its own connections,
        the credentials this one has already negotiated (no second challenge or token)."""
        other = Client(self.repository, self.lookup, self.options, self.log, self.sleep)
        other._authorization, other._auth_scheme = self._authorization, self._auth_scheme
        other.scheme, other.base = self.scheme, self.base  # as ping() found them
        return other

    # -- transport -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every kept-alive connection."""
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        conn = self._connections.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=self.options.timeout, context=_tls(), blocksize=1 << 20
                )
            else:
                conn = http.client.HTTPConnection(
                    netloc, timeout=self.options.timeout, blocksize=1 << 20
                )
            self._connections[key] = conn
        return conn

    def _drop(self, scheme: str, netloc: str) -> None:
        conn = self._connections.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes | Path | None
    ) -> Response:
        """One HTTP exchange; network trouble becomes TransientError (or RegistryError)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise RegistryError(f"refusing plain HTTP to {parts.netloc} (from {url})")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.netloc)
        self.requests += 1
        try:
            if isinstance(body, Path):
                with body.open("rb") as f:
                    conn.request(method, target, body=f, headers=headers)
            else:
                conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except ssl.SSLCertVerificationError as err:
            self._drop(parts.scheme, parts.netloc)
            raise RegistryError(
                f"TLS certificate of {parts.netloc} not trusted ({err.verify_message}); "
                "set SSL_CERT_FILE to a CA bundle that includes its issuer"
            ) from None
        except ssl.SSLError as err:
            self._drop(parts.scheme, parts.netloc)
            raise RegistryError(
                f"TLS handshake with {parts.netloc} failed ({err.reason or err}); if it serves "
                "plain HTTP, pass --insecure (allowed for localhost/127.0.0.1 only)"
            ) from None
        except socket.gaierror as err:
            self._drop(parts.scheme, parts.netloc)
            raise RegistryError(f"cannot resolve {parts.hostname}: {err.strerror}") from None
        except FileNotFoundError as err:
            raise RegistryError(f"cannot read {err.filename}: {err.strerror}") from None
        except (OSError, http.client.HTTPException) as err:
            self._drop(parts.scheme, parts.netloc)
            reason = err.strerror if isinstance(err, OSError) and err.strerror else None
            raise TransientError(f"{method} {url}: {reason or _first_line(err)}") from None
        if resp.will_close:
            self._drop(parts.scheme, parts.netloc)
        return Response(resp.status, resp.reason, resp.headers, data, url)

    def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | Path | None
    ) -> Response:
        """Send, following redirects for reads (blob storage may live on another host)."""
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._send_once(method, url, headers, body)
            location = resp.header("Location")
            if method not in ("GET", "HEAD") or resp.status not in (301, 302, 303, 307, 308):
                return resp
            target = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(url).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise RegistryError(f"{method} {url}: more than {MAX_REDIRECTS} redirects")

    def backoff(self, failures: int, err: TransientError) -> None:
        """Wait before attempt `failures + 1`: exponential, or what Retry-After asks (capped)."""
        delay = min(MAX_DELAY, self.options.retry_delay * (2 ** (failures - 1)))
        if err.retry_after is not None:
            delay = max(delay, min(err.retry_after, MAX_DELAY))
        self.log(f"retrying in {delay:.1f} s after: {err}")
        self.sleep(delay)

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | Path | None = None,
        *,
        retry: bool = True,
        authenticate: bool = True,
    ) -> Response:
        """Send with our credentials; answer one 401 challenge; retry transient failures.

        With `retry=False` a transient failure is raised at once, for callers (uploads) that
        must restart a larger unit than one request.
        """
        failures = 0
        challenged = False
        while True:
            sent = {"User-Agent": USER_AGENT, **(headers or {})}
            if authenticate and self._authorization:
                sent["Authorization"] = self._authorization
            try:
                resp = self._send(method, url, sent, body)
                if resp.status in RETRY_STATUSES:
                    raise TransientError(
                        f"{method} {url}: {resp.status} {resp.reason}",
                        _retry_after(resp.header("Retry-After")),
                    )
            except TransientError as err:
                failures += 1
                if not retry or failures > self.options.retries:
                    raise
                self.backoff(failures, err)
                continue
            if resp.status == 401 and authenticate and not challenged:
                challenged = True
                self._answer_challenge(resp)
                continue
            if resp.status in (401, 403) and authenticate:
                raise self._auth_error(resp)
            return resp

    # -- authentication --------------------------------------------------------------------

    def _auth_error(self, resp: Response) -> AuthError:
        what = "authentication failed" if resp.status == 401 else "access denied"
        return AuthError(
            f"{self.repository}: {what} ({resp.error_text()}); {self.lookup.describe()}"
        )

    def _answer_challenge(self, resp: Response) -> None:
        """Set the Authorization header that the 401 response `resp` asks for."""
        header = resp.header("WWW-Authenticate")
        scheme, params = parse_challenge(header) if header else ("", {})
        creds = self.lookup.credentials
        if scheme == "basic":
            if creds is None or not creds.username:
                raise self._auth_error(resp)
            if self._auth_scheme == "basic":
                raise self._auth_error(resp)  # the registry already refused these credentials
            pair = f"{creds.username}:{creds.password}".encode()
            self._authorization = "Basic " + base64.b64encode(pair).decode()
            self._auth_scheme = "basic"
        elif scheme == "bearer" and params.get("realm"):
            self._authorization = "Bearer " + self._fetch_token(params)
            self._auth_scheme = "bearer"
        else:
            raise AuthError(
                f"{self.repository}: registry answered 401 with an unsupported challenge "
                f"{header!r}; {self.lookup.describe()}"
            )

    def _fetch_token(self, challenge: dict[str, str]) -> str:
        """Get a Bearer token from the challenge's realm (the distribution token protocol)."""
        realm = challenge["realm"]
        realm_parts = urllib.parse.urlsplit(realm)
        if realm_parts.scheme not in ("http", "https"):
            raise RegistryError(f"{self.repository}: token realm {realm!r} is not an http(s) URL")
        scopes = [f"repository:{self.repository.path}:pull,push"]
        if challenge.get("scope") and challenge["scope"] not in scopes:
            scopes.append(challenge["scope"])
        creds = self.lookup.credentials
        if creds is not None and realm_parts.scheme == "http":
            host = realm_parts.hostname or ""
            if host not in ("localhost", "127.0.0.1", "::1"):
                raise RegistryError(
                    f"{self.repository}: token realm {realm} is plain HTTP; refusing to send "
                    f"{creds.source} credentials there"
                )
        service = challenge.get("service", "")
        if creds is not None and creds.identity_token:
            # OAuth2 refresh-token grant: what docker does with an identity token.
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "service": service,
                "scope": " ".join(scopes),
                "client_id": "oci_push",
            }
            body = urllib.parse.urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            resp = self.request("POST", realm, headers, body, authenticate=False)
        else:
            query = [("scope", s) for s in scopes]
            if service:
                query.insert(0, ("service", service))
            url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
            headers = {}
            if creds is not None and creds.username:
                pair = f"{creds.username}:{creds.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
            resp = self.request("GET", url, headers, authenticate=False)
        if resp.status != 200:
            what = "authentication failed" if resp.status in (401, 403) else "token request failed"
            raise AuthError(
                f"{self.repository}: {what} at token realm {realm} ({resp.error_text()}); "
                f"{self.lookup.describe()}"
            )
        try:
            data = json.loads(resp.body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token or not isinstance(token, str):
            raise RegistryError(f"{self.repository}: token realm {realm} returned no token")
        return token

    # -- the API -----------------------------------------------------------------------------

    def url(self, *parts: str) -> str:
        """URL of an API path under this repository, e.g. url("blobs", digest)."""
        return "/".join([self.base, "v2", self.repository.path, *parts])

    def ping(self) -> None:
        """GET /v2/: proves the registry is there and speaks v2, and sets up authentication.

        Like docker, a loopback registry that does not speak TLS is used over plain HTTP even
        without --insecure: nothing leaves the machine. Any other host needs HTTPS.
        """
        try:
            try:
                resp = self.request("GET", self.base + "/v2/")
            except RegistryError as err:
                if self.scheme != "https" or not self.repository.is_local or "TLS" not in str(err):
                    raise
                self.log(f"{self.repository.host} speaks plain HTTP; using it (loopback only)")
                self.scheme = "http"
                self.base = f"http://{self.repository.host}"
                resp = self.request("GET", self.base + "/v2/")
        except TransientError as err:
            raise RegistryError(f"registry {self.repository.host} unreachable: {err}") from None
        if resp.status != 200:
            raise RegistryError(
                f"registry {self.repository.host} does not answer the v2 API at "
                f"{self.base}/v2/ ({resp.error_text()})"
            )

    def blob_exists(self, digest: str) -> bool:
        """HEAD the blob: True if the registry already has it (then there is nothing to send)."""
        resp = self.request("HEAD", self.url("blobs", digest))
        if resp.status == 200:
            return True
        if resp.status == 404:
            return False
        raise RegistryError(f"{self.repository}: HEAD blob {digest} failed ({resp.error_text()})")

    def manifest_exists(self, digest: str, media_type: str) -> bool:
        """HEAD the manifest by digest: True if the registry has it, and so every blob it needs."""
        resp = self.request("HEAD", self.url("manifests", digest), {"Accept": media_type})
        return resp.status == 200

    def mount_blob(self, digest: str, source: str) -> bool:
        """Ask the registry to link a blob it holds in repository `source` into this one.

        True when it did (201): nothing is uploaded. Any other answer (202 opens an upload
        instead, or the source no longer has the blob) is False and the caller uploads.
        """
        url = _with_query(self.url("blobs", "uploads", ""), mount=digest, **{"from": source})
        try:
            resp = self.request("POST", url, {"Content-Length": "0"}, b"")
        except AuthError:
            return False  # no pull access to `source` with these credentials: upload instead
        if resp.status == 202:
            # An upload session we do not use: close it rather than leave it to expire (if
            # that fails, the registry expires it; the push goes on).
            location = resp.header("Location")
            if location:
                try:
                    self.request("DELETE", urllib.parse.urljoin(resp.url, location), retry=False)
                except RegistryError:
                    pass
        return resp.status == 201

    def _location(self, resp: Response, what: str) -> str:
        location = resp.header("Location")
        if not location:
            raise RegistryError(f"{self.repository}: {what}: response has no Location header")
        return urllib.parse.urljoin(resp.url, location)

    def _start_upload(self) -> str:
        resp = self.request("POST", self.url("blobs", "uploads", ""), {"Content-Length": "0"}, b"")
        if resp.status != 202:
            raise RegistryError(
                f"{self.repository}: starting a blob upload failed ({resp.error_text()})"
            )
        return self._location(resp, "POST blob upload")

    def _finish_upload(self, location: str, digest: str, body: bytes | Path, size: int) -> None:
        headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(size)}
        resp = self.request("PUT", _with_query(location, digest=digest), headers, body, retry=False)
        if resp.status != 201:
            raise RegistryError(
                f"{self.repository}: upload of blob {digest} failed ({resp.error_text()})"
            )

    def _upload_monolithic(self, digest: str, path: Path, size: int) -> None:
        """POST for an upload session, then one PUT with the whole blob and its digest."""
        location = self._start_upload()
        self._finish_upload(location, digest, path, size)

    def _upload_status(self, location: str) -> tuple[int, str]:
        """Ask how many bytes of an upload session the registry holds (Range: 0-<last>)."""
        resp = self.request("GET", location)
        if resp.status != 204:
            raise TransientError(f"upload session lost ({resp.error_text()})")
        match = re.fullmatch(r"(?:bytes=)?0-([0-9]+)", resp.header("Range").strip())
        last = int(match.group(1)) if match else 0
        # distribution reports "0-0" both for nothing and for one byte; one byte is never a
        # whole chunk, so "0-0" is read as nothing received.
        offset = last + 1 if last > 0 else 0
        if resp.header("Location"):
            location = self._location(resp, "GET upload status")
        return offset, location

    def _upload_chunked(self, digest: str, path: Path, size: int) -> None:
        """POST, then PATCH chunk after chunk (resuming where the registry says), then PUT."""
        location = self._start_upload()
        offset = 0
        failures = 0
        chunk_size = max(1, self.options.chunk_size)
        with path.open("rb") as f:
            while offset < size:
                f.seek(offset)
                data = f.read(min(chunk_size, size - offset))
                end = offset + len(data) - 1
                headers = {
                    "Content-Type": OCTET_STREAM,
                    "Content-Range": f"{offset}-{end}",
                    "Content-Length": str(len(data)),
                }
                try:
                    resp = self.request("PATCH", location, headers, data, retry=False)
                    if resp.status == 416:
                        raise TransientError(f"PATCH {location}: 416 range {offset}-{end} refused")
                    if resp.status != 202:
                        raise RegistryError(
                            f"{self.repository}: chunk {offset}-{end} of blob {digest} failed "
                            f"({resp.error_text()})"
                        )
                    location = self._location(resp, "PATCH blob chunk")
                    offset = end + 1
                    failures = 0
                except TransientError as err:
                    failures += 1
                    if failures > self.options.retries:
                        raise
                    self.backoff(failures, err)
                    offset, location = self._upload_status(location)
                    self.log(f"blob {digest[:19]}: resuming upload at byte {offset}")
        self._finish_upload(location, digest, b"", 0)

    def upload_blob(self, digest: str, path: Path, size: int) -> None:
        """Upload one blob, monolithic or chunked; restart it (after a HEAD) if it fails."""
        chunked = self.options.chunked or size > self.options.chunk_size
        failures = 0
        while True:
            try:
                if chunked:
                    self._upload_chunked(digest, path, size)
                else:
                    self._upload_monolithic(digest, path, size)
                return
            except TransientError as err:
                failures += 1
                if failures > self.options.retries:
                    raise
                self.backoff(failures, err)
                # The last request may have landed even though its answer was lost.
                if self.blob_exists(digest):
                    return

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """PUT the manifest under a digest or a tag; return the digest the registry reports."""
        resp = self.request(
            "PUT", self.url("manifests", reference), {"Content-Type": media_type}, data
        )
        if resp.status not in (200, 201):
            raise RegistryError(
                f"{self.repository}: registry rejected the manifest ({reference[:19]}): "
                f"{resp.error_text()}"
            )
        return resp.header("Docker-Content-Digest")
