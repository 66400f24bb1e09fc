"""Bearer-token check for write endpoints.

Writes are closed unless an ``API_TOKEN`` is configured: a deployment that forgot its secret
answers 503 to writes instead of accepting them from anyone. The comparison runs in constant
time (``hmac.compare_digest``) so response timing does not reveal how much of a guess matched.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings

WRITES_DISABLED = "writes disabled: API_TOKEN not configured"

# auto_error=False: this module decides between 401 and 503 itself. The scheme object also
# makes the OpenAPI document show the endpoints as Bearer-protected.
_bearer = HTTPBearer(auto_error=False, description="The service's API_TOKEN.")


def require_write_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let the request through only with ``Authorization: Bearer <API_TOKEN>``."""
    settings: Settings = request.app.state.settings
    if settings.api_token is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=WRITES_DISABLED)
    if credentials is None:
        raise _unauthorized("missing bearer token")
    # Starlette decodes headers as latin-1, so this gives back the bytes that were sent; the
    # configured token is printable ASCII (checked in config).
    given = credentials.credentials.encode("latin-1")
    if not hmac.compare_digest(given, settings.api_token.encode("ascii")):
        raise _unauthorized("invalid bearer token")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )
