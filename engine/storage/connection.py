"""The database: SQLite by default, any SQLAlchemy URL (PostgreSQL) via $DATABASE_URL.

The schema is created on first use and missing columns are added on start, so an older database
keeps working.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from ..config import DATA_DIR, Environment
from .schema import metadata


class StoreError(Exception):
    """The answer database cannot be reached; the message is fit for visitors (no URL, no path)."""


@contextmanager
def unavailable(action: str):
    """Turn the database's failures into a StoreError that says what could not be done."""
    try:
        yield
    except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:  # ImportError: a driver not installed
        raise StoreError(f"Could not {action}: the answer database is not available right now "
                         f"({type(exc).__name__}).") from exc


def database_url() -> str:
    return Environment.read().database_url or f"sqlite:///{DATA_DIR / 'quiz.sqlite'}"


def in_memory(url: URL) -> bool:
    """Whether ``url`` is SQLite in memory: a database no other connection, let alone process, can open."""
    return url.get_backend_name() == "sqlite" and ((url.database or "") in ("", ":memory:")
                                                   or url.query.get("mode") == "memory")


def open_engine(url: str) -> Engine:
    """An engine for ``url``, parsed by SQLAlchemy. SQLite on disk: its directory is created. SQLite in
    memory: one connection, which every thread must share (each connection is its own empty database)
    and which only one thread may use at a time, so the pool lends it to one thread at a time."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if in_memory(parsed):
        engine = create_engine(parsed, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=30,
                               connect_args={"check_same_thread": False})
    else:
        if not parsed.query.get("uri"):
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """A connection pool to the database, its schema created or upgraded (``engine``: SQLAlchemy's)."""

    def __init__(self, url: str | None = None):
        """Connect and create or upgrade the schema; StoreError when the database cannot be used."""
        with unavailable("open the answer database"):
            self.engine = open_engine(url or database_url())
            self.migrate()

    def migrate(self) -> None:
        """Create missing tables, then add columns that newer code expects to an older table.

        Several servers may start at once: a step that loses the race to another is retried or skipped.
        """
        attempts = len(metadata.tables) + 1
        for attempt in range(attempts):  # each lost race means another server created one more table
            try:
                metadata.create_all(self.engine)
                break
            except DBAPIError:
                if attempt == attempts - 1:
                    raise
        for table in metadata.tables.values():
            present = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(dialect=self.engine.dialect)
                try:
                    with self.engine.begin() as conn:
                        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
                except DBAPIError:
                    if column.name not in {c["name"] for c in inspect(self.engine).get_columns(table.name)}:
                        raise


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
