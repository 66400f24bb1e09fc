"""SQLite storage for todos, with the standard library's ``sqlite3``.

Each operation opens its own short-lived connection: FastAPI runs sync endpoints in a thread
pool, and a ``sqlite3.Connection`` must not be shared between threads. Opening a SQLite file is
cheap (microseconds), and this keeps the store free of locks. WAL mode lets readers proceed while
a writer commits, also across several worker processes. Only ``initialize`` may create the
database file; later connections open it read-write without creating it, so a database that
vanished is reported as an error instead of being silently replaced by an empty one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    description TEXT,
    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS = "id, title, description, done, created_at, updated_at"
_UPDATABLE = frozenset({"title", "description", "done"})
_BUSY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class TodoRecord:
    """One stored todo; timestamps are timezone-aware UTC."""

    id: int
    title: str
    description: str | None
    done: bool
    created_at: datetime
    updated_at: datetime


class TodoStore:
    """Todo rows in the SQLite file at ``path``; safe to use from many threads at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        absolute = path.absolute()
        # URIs let us choose the open mode; as_uri() percent-encodes odd characters in the path.
        self._create_uri = f"{absolute.as_uri()}?mode=rwc"
        self._open_uri = f"{absolute.as_uri()}?mode=rw"

    def initialize(self) -> None:
        """Create the parent directory, the database file and the schema when missing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect(self._create_uri) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def ping(self) -> None:
        """Raise ``sqlite3.Error`` unless the database answers a trivial query."""
        with self._connect(self._open_uri) as conn:
            conn.execute("SELECT 1").fetchone()

    def create(self, title: str, description: str | None, done: bool) -> TodoRecord:
        now = _now()
        with self._connect(self._open_uri) as conn:
            row = conn.execute(
                "INSERT INTO todos (title, description, done, created_at, updated_at)"
                f" VALUES (?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (title, description, int(done), now, now),
            ).fetchone()
        return _record(row)

    def list(self, limit: int, offset: int) -> list[TodoRecord]:
        """Return up to ``limit`` todos after skipping ``offset``, oldest first."""
        with self._connect(self._open_uri) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM todos ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [_record(row) for row in rows]

    def get(self, todo_id: int) -> TodoRecord | None:
        with self._connect(self._open_uri) as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM todos WHERE id = ?", (todo_id,)).fetchone()
        return None if row is None else _record(row)

    def update(self, todo_id: int, changes: Mapping[str, object]) -> TodoRecord | None:
        """Apply ``changes`` (column -> value) in one statement; None when the id is unknown.

        With no changes the todo is returned as it is, and ``updated_at`` does not move.
        """
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        if not changes:
            return self.get(todo_id)
        # Column names come from the fixed set above, never from the request.
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ?" for name in names)
        values = [int(v) if isinstance(v, bool) else v for v in (changes[n] for n in names)]
        with self._connect(self._open_uri) as conn:
            row = conn.execute(
                f"UPDATE todos SET {assignments}, updated_at = ? WHERE id = ? RETURNING {_COLUMNS}",
                (*values, _now(), todo_id),
            ).fetchone()
        return None if row is None else _record(row)

    def delete(self, todo_id: int) -> bool:
        """Delete the todo; False when there was none with this id."""
        with self._connect(self._open_uri) as conn:
            cursor = conn.execute("DELETE FROM todos WHERE id = ?", (todo_id,))
        return cursor.rowcount > 0

    @contextmanager
    def _connect(self, uri: str) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside a transaction that commits on success, then close it."""
        with (
            closing(sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_SECONDS)) as conn,
            conn,
        ):
            yield conn


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _record(row: tuple[object, ...]) -> TodoRecord:
    todo_id, title, description, done, created_at, updated_at = row
    assert isinstance(todo_id, int) and isinstance(title, str)
    assert description is None or isinstance(description, str)
    assert isinstance(created_at, str) and isinstance(updated_at, str)
    return TodoRecord(
        id=todo_id,
        title=title,
        description=description,
        done=bool(done),
        created_at=datetime.fromisoformat(created_at),
        updated_at=datetime.fromisoformat(updated_at),
    )
