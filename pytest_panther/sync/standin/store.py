"""The stand-in's state: stored objects per kind, in SQLite so it survives a restart.

One table ``objects(kind, key, name, body)``: ``key`` is the object's id (for queries the
server-assigned id), ``name`` is set for queries only and is unique per kind, ``body`` is the
stored JSON object. Every method takes the store's lock and runs in one transaction, so a
request either changes state completely or not at all (sync-contract.md §5.4 "Writes are
atomic"). With ``path=None`` the database lives in memory.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    name TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_name ON objects (kind, name) WHERE name IS NOT NULL;
"""


class Store:
    """Thread-safe SQLite storage of ``{kind: {key: object}}``.

    ``path``: database file (created with its table when missing) or ``None`` for memory.
    Raises ``sqlite3.DatabaseError`` when the file is not a SQLite database.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False, isolation_level=None
        )
        if path is not None:
            # WAL + NORMAL: every commit survives the process being killed, at a fraction of
            # the fsync cost of the default rollback journal.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and run the block in one transaction (rolled back on any exception)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM objects WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def key_by_name(self, kind: str, name: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM objects WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return row[0] if row else None

    def put(self, kind: str, key: str, obj: dict[str, Any], name: str | None = None) -> None:
        """Insert or replace one object (``name`` only for kinds keyed by a unique name)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO objects (kind, key, name, body) VALUES (?, ?, ?, ?)",
                (kind, key, name, json.dumps(obj, sort_keys=True)),
            )

    def delete(self, kind: str, key: str) -> bool:
        """Remove one object; ``False`` when there was none."""
        with self._lock:
            cursor = self._conn.execute("DELETE FROM objects WHERE kind = ? AND key = ?", (kind, key))
        return cursor.rowcount > 0

    def page(
        self,
        kind: str,
        after: str | None,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] = lambda obj: True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` objects with key > ``after`` (ascending) that ``keep`` accepts.

        Returns ``(objects, last key)`` where the last key is ``None`` when no object is left.
        """
        out: list[dict[str, Any]] = []
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, body FROM objects WHERE kind = ? AND key > ? ORDER BY key",
                (kind, after if after is not None else ""),
            )
            last: str | None = None
            more = False
            for key, body in rows:
                obj = json.loads(body)
                if not keep(obj):
                    continue
                if len(out) == limit:
                    more = True
                    break
                out.append(obj)
                last = key
        return out, (last if more else None)

    def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every object: ``{kind: {key: object}}`` (kinds without objects are left out)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        with self._lock:
            for kind, key, body in self._conn.execute(
                "SELECT kind, key, body FROM objects ORDER BY kind, key"
            ):
                out.setdefault(kind, {})[key] = json.loads(body)
        return out

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM objects")
