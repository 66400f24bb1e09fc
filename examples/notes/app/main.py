"""The notes API: create and list notes; /health for liveness, /ready for the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.db import Note
from app.settings import Settings

settings = Settings()  # a missing password stops the launcher here: one line, exit 2
engine = create_engine(settings.url(), pool_pre_ping=True)
SessionLocal = sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    engine.dispose()


app = FastAPI(title="notes", lifespan=lifespan)


def session() -> Iterator[Session]:
    with SessionLocal() as s:
        yield s


DB = Annotated[Session, Depends(session)]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = ""


class NoteOut(NoteIn):
    id: int
    created_at: datetime


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers (the database is /ready's business)."""
    return {"status": "ok"}


@app.get("/ready", responses={503: {"description": "Database unavailable."}})
def ready(db: DB, response: Response) -> dict[str, str]:
    try:
        db.execute(text("SELECT 1 FROM notes LIMIT 1"))
    except SQLAlchemyError:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "database unavailable or not migrated"}
    return {"status": "ready"}


@app.post("/notes", status_code=status.HTTP_201_CREATED)
def create_note(note: NoteIn, db: DB) -> NoteOut:
    row = Note(title=note.title, body=note.body)
    db.add(row)
    db.commit()
    return NoteOut(id=row.id, title=row.title, body=row.body, created_at=row.created_at)


@app.get("/notes")
def list_notes(db: DB) -> list[NoteOut]:
    rows = db.scalars(select(Note).order_by(Note.id)).all()
    return [NoteOut(id=r.id, title=r.title, body=r.body, created_at=r.created_at) for r in rows]
