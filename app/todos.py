"""The todo API under ``/api/v1/todos``: models and routes.

Reads are public; every write needs the bearer token (see ``app.auth``). Endpoints are plain
``def`` functions because ``sqlite3`` blocks: FastAPI runs them in its thread pool, which keeps the
event loop free for health probes and other requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.auth import require_write_token
from app.storage import TodoRecord, TodoStore

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 100
_SQLITE_INT_MAX = 2**63 - 1
"""Larger numbers cannot be bound as SQLite integers; rejecting them gives 422, not 500."""

# Lone surrogates ("\\ud800" in JSON) are refused by pydantic's str validation itself; the 422
# handler in app.main makes sure the answer that echoes them is valid JSON.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH)]
TodoId = Annotated[int, Path(ge=1, le=_SQLITE_INT_MAX, description="Todo id.")]


class TodoIn(BaseModel):
    """A whole todo as the client writes it (POST creates one, PUT replaces one)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    done: StrictBool = False


class TodoPatch(BaseModel):
    """A partial update: only the fields present are changed.

    ``description`` may be set to null to clear it; ``title`` and ``done`` may be left out but
    not nulled, because a todo always has both (so the schema does not offer null for them).
    """

    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None
    done: StrictBool | SkipJsonSchema[None] = None

    @field_validator("title", "done", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but must not be null")
        return value


class Todo(BaseModel):
    """A stored todo as the API returns it."""

    id: int
    title: str
    description: str | None
    done: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: TodoRecord) -> Todo:
        return cls.model_validate(record, from_attributes=True)


def get_store(request: Request) -> TodoStore:
    """The store that the app's factory put on ``app.state``."""
    store: TodoStore = request.app.state.store
    return store


Store = Annotated[TodoStore, Depends(get_store)]
_WRITE = [Depends(require_write_token)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No todo with this id."}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token."},
    503: {"description": "Writes disabled (no API_TOKEN configured) or database unavailable."},
}

router = APIRouter(prefix="/api/v1/todos", tags=["todos"])


def _found(record: TodoRecord | None) -> Todo:
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="todo not found")
    return Todo.from_record(record)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=_WRITE, responses=_WRITE_ERRORS)
def create_todo(body: TodoIn, store: Store, request: Request, response: Response) -> Todo:
    """Create a todo; the ``Location`` header gives its URL."""
    todo = Todo.from_record(store.create(body.title, body.description, body.done))
    response.headers["Location"] = str(request.url_for("get_todo", todo_id=todo.id))
    return todo


@router.get("")
def list_todos(
    store: Store,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = LIST_LIMIT_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=_SQLITE_INT_MAX)] = 0,
) -> list[Todo]:
    """List todos, oldest first, one page at a time."""
    return [Todo.from_record(record) for record in store.list(limit=limit, offset=offset)]


@router.get("/{todo_id}", responses=_NOT_FOUND)
def get_todo(todo_id: TodoId, store: Store) -> Todo:
    return _found(store.get(todo_id))


@router.patch("/{todo_id}", dependencies=_WRITE, responses=_NOT_FOUND | _WRITE_ERRORS)
def patch_todo(todo_id: TodoId, body: TodoPatch, store: Store) -> Todo:
    """Change only the fields given in the body."""
    return _found(store.update(todo_id, body.model_dump(exclude_unset=True)))


@router.put("/{todo_id}", dependencies=_WRITE, responses=_NOT_FOUND | _WRITE_ERRORS)
def replace_todo(todo_id: TodoId, body: TodoIn, store: Store) -> Todo:
    """Replace all writable fields; fields left out get their defaults."""
    return _found(store.update(todo_id, body.model_dump()))


@router.delete(
    "/{todo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_WRITE,
    responses=_NOT_FOUND | _WRITE_ERRORS,
)
def delete_todo(todo_id: TodoId, store: Store) -> None:
    if not store.delete(todo_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="todo not found")
