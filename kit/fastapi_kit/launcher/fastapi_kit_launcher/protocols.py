"""uvicorn's two HTTP/1.1 protocols with a header size limit and a request deadline.

httptools has no header limit at all and h11's answers 400; both keep a connection that sends
half a request forever. So each protocol here counts the bytes of a request's head while it is
incomplete (431 past MAX_HEADER_SIZE, whatever the parser) and arms a deadline when a request
starts (or a connection opens): a request, head and body, that has not fully arrived within
TIMEOUT_REQUEST seconds is answered 408 and the connection closed. Slow clients then cost a
bounded time, and idle connections that never send a byte are closed too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("fastapi_kit_launcher")

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


@dataclass(frozen=True)
class Limits:
    max_header_size: int = 32 * 1024
    timeout_request: float = 15.0


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set the limits for protocols created from now on (each worker process calls it)."""
    global _limits
    _limits = limits


class _Guarded:
    """Mixin over a uvicorn HTTP protocol; the subclass says where a request stands."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._limits = _limits
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:
            self._arm()  # a new request starts arriving
        self._head_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # answered and closed, or upgraded to a WebSocket
            return
        if self._head_pending() and self._head_bytes > self._limits.max_header_size:
            self._reject(431, f"request head over {self._limits.max_header_size} bytes")
        elif self._request_received():
            self._disarm()

    def _head_pending(self) -> bool:
        raise NotImplementedError

    def _request_received(self) -> bool:
        raise NotImplementedError

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self._limits.timeout_request, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        if self.cycle is not None and self.cycle.response_started:
            self._drop_cycle()
            self.transport.close()  # too late for a status: just hang up
            return
        self._reject(408, f"request not received within {self._limits.timeout_request:g} s")

    def _drop_cycle(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            # The app, if it runs, sees http.disconnect; its answer goes nowhere.
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    def _reject(self, status: int, detail: str) -> None:
        logger.warning("%d: %s", status, detail)
        self._disarm()
        self._drop_cycle()
        body = detail.encode() + b"\n"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _REASONS[status], len(body), body)
        )
        self.transport.close()


class GuardedH11Protocol(_Guarded, H11Protocol):
    """h11 with the limits. h11's own limit stays as a backstop above ours (it answers 400)."""

    def _head_pending(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _request_received(self) -> bool:
        state = self.conn.their_state
        if state is not h11.IDLE:
            self._head_bytes = 0  # the head is in
        return state not in (h11.IDLE, h11.SEND_BODY)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional: "auto" then means h11
    HttpToolsProtocol = None


if HttpToolsProtocol is not None:
    # At module level, so that worker processes can unpickle uvicorn's config that names it.
    class GuardedHttpToolsProtocol(_Guarded, HttpToolsProtocol):  # type: ignore[misc, valid-type]
        """httptools with the limits; the parser's callbacks say where a request stands."""

        _in_message = False
        _in_head = False

        def on_message_begin(self) -> None:
            self._in_message = self._in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_message = False
            self._head_bytes = 0
            super().on_message_complete()

        def _head_pending(self) -> bool:
            return self._in_head or not self._in_message

        def _request_received(self) -> bool:
            return not self._in_message


def protocol_class(http: str) -> type:
    """The guarded protocol for HTTP ("auto" takes httptools when it is installed)."""
    if http == "h11":
        return GuardedH11Protocol
    if HttpToolsProtocol is None:
        if http == "httptools":
            raise RuntimeError("HTTP=httptools, but httptools is not installed")
        return GuardedH11Protocol
    return GuardedHttpToolsProtocol
