"""ASGI middleware the launcher wraps around every app: a body limit, and 503 for cut requests.

The body limit is enforced before the app sees a byte: a declared Content-Length over the limit
is answered 413 without reading the body, and a chunked body is cut off (413) once it passes the
limit, so no route can be made to buffer more. When the graceful-shutdown timeout cancels a
request that has not answered yet, the client gets 503 (retry elsewhere), not uvicorn's 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("fastapi_kit_launcher")


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the request is never read: the connection cannot be reused.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class Guard:
    """Wraps an ASGI app; see the module doc."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            logger.warning("413: Content-Length %d over MAX_BODY_SIZE %d", declared, limit)
            await _answer(send, 413, f"request body over {limit} bytes\n")
            return
        state = {"received": 0, "started": False, "answered": False}

        async def limited_receive() -> Message:
            if state["answered"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    logger.warning("413: request body over MAX_BODY_SIZE %d", limit)
                    if not state["started"]:
                        state["answered"] = True
                        await _answer(send, 413, f"request body over {limit} bytes\n")
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            if state["answered"]:
                return  # the guard has answered; what the app says now goes nowhere
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except asyncio.CancelledError:
            # Cut by the graceful-shutdown timeout (or the server going away).
            if not state["started"] and not state["answered"]:
                state["answered"] = True
                await _answer(send, 503, "server shutting down\n")
            raise
        except Exception:
            if state["answered"]:
                return  # the app failed on the body the guard cut off: already answered 413
            raise
