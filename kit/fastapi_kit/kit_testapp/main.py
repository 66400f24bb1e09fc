"""The test app's routes: the probes the runtime test waits on."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="kit-testapp")


@app.get("/health")
async def health() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@app.get("/ready")
async def ready() -> dict[str, str]:
    """Readiness (the custom image's runtime test waits on this path)."""
    return {"status": "ready"}
