"""The hello app: its routes. `GET /health` is what the image's healthcheck and tests probe."""

from __future__ import annotations

from fastapi import FastAPI

from app import SERVICE_NAME

app = FastAPI(title=SERVICE_NAME)


@app.get("/health", tags=["probes"])
async def health() -> dict[str, str]:
    """Liveness: the process is up and its event loop answers."""
    return {"status": "ok"}


@app.get("/hello/{who}")
async def hello(who: str) -> dict[str, str]:
    """A greeting, to show a path parameter."""
    return {"message": f"Hello, {who}!", "service": SERVICE_NAME}
