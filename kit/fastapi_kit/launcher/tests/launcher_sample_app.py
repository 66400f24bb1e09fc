"""A small FastAPI app for the launcher's tests: a JSON route, a slow route, a factory."""

import asyncio

from fastapi import FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    name: str


def create() -> FastAPI:
    api = FastAPI()

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/items")
    async def items(item: Item) -> dict[str, str]:
        return {"name": item.name}

    @api.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(60)
        return {"status": "late"}

    return api


app = create()
broken = 42
