"""Every quiz answer, kept in SQL: SQLite by default, any SQLAlchemy URL (PostgreSQL) via $DATABASE_URL.

The schema is created on first use and missing columns are added on start, so an older database
keeps working. One row per round: a repeated answer to the same round is refused by the database.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, func, inspect, select, text)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from .config import DATA_DIR, DATABASE_URL_ENV, NICKNAME_MAX
from .quiz import Answer
from .sanitise import spreadsheet_safe, visible_text

metadata = MetaData()
answers = Table(
    "answers", metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("round_id", String(32), nullable=False, unique=True),
    Column("player_id", String(64), nullable=False, index=True),
    Column("nickname", String(NICKNAME_MAX)),
    Column("bundle", String(200)),
    Column("doc_id", String(64)),
    Column("opening", Text),
    Column("continuations", JSON),  # the three texts in the order shown
    Column("human_index", Integer),
    Column("choice", Integer),
    Column("correct", Boolean),
    Column("points", Integer),
    Column("diversity", Float, index=True),
    Column("settings", JSON),
    Column("response_ms", Integer),
    Column("reasons", String(200)),
)


class StoreError(Exception):
    """The answer database cannot be reached; the message is fit for visitors (no URL, no path)."""


@contextmanager
def _unavailable(action: str):
    """Turn the database's failures into a StoreError that says what could not be done."""
    try:
        yield
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise StoreError(f"Could not {action}: the answer database is not available right now "
                         f"({type(exc).__name__}).") from exc


def clean_nickname(name: str | None) -> str | None:
    """Visible characters only (no bidi overrides or zero-width characters), spaces folded, at most
    NICKNAME_MAX long; None when nothing is left."""
    name = " ".join(visible_text(name or "").split())[:NICKNAME_MAX]
    return name or None


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def database_url() -> str:
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{DATA_DIR / 'quiz.sqlite'}"


class Store:
    def __init__(self, url: str | None = None):
        """Connect and create or upgrade the schema; StoreError when the database cannot be used."""
        url = url or database_url()
        sqlite, in_memory = url.startswith("sqlite"), url in ("sqlite://", "sqlite:///:memory:")
        with _unavailable("open the answer database"):
            if sqlite and not in_memory:
                os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])), exist_ok=True)
            if in_memory:  # one connection for every thread, else each thread sees its own empty database
                self.engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                self.engine = create_engine(url, connect_args={"timeout": 30} if sqlite else {},
                                            pool_pre_ping=not sqlite)
            if sqlite:
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self.migrate()

    def migrate(self) -> None:
        """Create missing tables, then add columns that newer code expects to an older table.

        Several servers may start at once: a step that loses the race to another is fine.
        """
        try:
            metadata.create_all(self.engine)
        except DBAPIError:
            if not inspect(self.engine).has_table("answers"):
                raise
        present = {c["name"] for c in inspect(self.engine).get_columns("answers")}
        for column in answers.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=self.engine.dialect)
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(f'ALTER TABLE answers ADD COLUMN "{column.name}" {kind}'))
            except DBAPIError:
                if column.name not in {c["name"] for c in inspect(self.engine).get_columns("answers")}:
                    raise

    def record(self, answer: Answer, player_id: str, nickname: str | None = None) -> bool:
        """Keep one answer; False when this round was already answered (nothing is double-counted)."""
        r = answer.round
        row = dict(created_at=datetime.now(timezone.utc), round_id=r.round_id, player_id=player_id,
                   nickname=clean_nickname(nickname), bundle=r.bundle, doc_id=r.doc_id, opening=r.opening,
                   continuations=[o.text for o in r.options], human_index=r.human_index, choice=answer.choice,
                   correct=answer.correct, points=answer.points, diversity=r.diversity, settings=r.settings,
                   response_ms=answer.response_ms, reasons=",".join(answer.reasons))
        with _unavailable("save the answer"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(answers.insert().values(**row))
            except IntegrityError:
                return False
        return True

    def count(self) -> int:
        with _unavailable("count the answers"), self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(answers)).scalar_one()

    def leaderboard(self, limit: int = 10) -> list[dict]:
        """Named players by score, then accuracy."""
        c = answers.c
        query = (select(func.max(c.nickname).label("nickname"), func.sum(c.points).label("score"),
                        func.avg(func.cast(c.correct, Integer)).label("accuracy"), func.count().label("rounds"))
                 .where(c.nickname.is_not(None)).group_by(c.player_id)
                 .order_by(func.sum(c.points).desc(), func.avg(func.cast(c.correct, Integer)).desc()).limit(limit))
        with _unavailable("read the leaderboard"), self.engine.connect() as conn:
            return [dict(r._mapping, accuracy=float(r.accuracy)) for r in conn.execute(query)]

    def others_on(self, doc_id: str, player_id: str) -> tuple[int, int]:
        """(answers, of which found the human) that other players gave on rounds from this abstract."""
        c = answers.c
        query = (select(func.count(), func.coalesce(func.sum(func.cast(c.correct, Integer)), 0))
                 .where(c.doc_id == doc_id, c.player_id != player_id))
        with _unavailable("read how others answered"), self.engine.connect() as conn:
            n, k = conn.execute(query).one()
        return int(n), int(k)

    def accuracy_by_diversity(self, width: float = 0.2) -> list[dict]:
        """How often players found the human text, per diversity bin, with 95% Wilson intervals."""
        c = answers.c
        bin_ = func.floor(c.diversity / width)
        query = (select(bin_.label("bin"), func.count().label("n"),
                        func.sum(func.cast(c.correct, Integer)).label("k")).group_by(bin_).order_by(bin_))
        rows = []
        with _unavailable("read the statistics"), self.engine.connect() as conn:
            for r in conn.execute(query):
                low, high = wilson(int(r.k), int(r.n))
                rows.append({"diversity": round((int(r.bin) + 0.5) * width, 3), "answers": int(r.n),
                             "found_human": int(r.k), "rate": r.k / r.n, "low": low, "high": high})
        return rows

    def export_csv(self) -> str:
        """All answers as CSV, oldest first; JSON columns as JSON text; no cell a spreadsheet would run."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.name for c in answers.columns])
        with _unavailable("export the answers"), self.engine.connect() as conn:
            for row in conn.execute(select(answers).order_by(answers.c.id)):
                writer.writerow([spreadsheet_safe(json.dumps(v) if isinstance(v, (list, dict)) else v)
                                 for v in row])
        return out.getvalue()


@dataclass
class Outbox:
    """A session's answers that could not be stored yet (the database was down): kept and retried."""

    waiting: list = field(default_factory=list)  # (answer, player_id, nickname)
    problem: str | None = None  # why the last attempt failed

    def send(self, open_store, answer: Answer | None = None, player_id: str = "", nickname: str | None = None):
        """Queue ``answer`` (if any), then store every waiting answer in order; ``open_store()``
        gives the Store. What fails stays queued with the reason in ``problem``."""
        if answer is not None:
            self.waiting.append((answer, player_id, nickname))
        while self.waiting:
            try:
                open_store().record(*self.waiting[0])
            except StoreError as exc:
                self.problem = str(exc)
                return
            self.waiting.pop(0)
        self.problem = None


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# Live rooms (engine/rooms.py): a presenter's room, its rounds, the audience and their votes.
rooms = Table(
    "rooms", metadata,
    Column("code", String(8), primary_key=True),
    Column("presenter_hash", String(64), nullable=False),  # sha256 of the presenter's key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("bundle", String(200)),
    Column("difficulty", String(16)),
    Column("rounds_total", Integer, nullable=False),
    Column("round_no", Integer, nullable=False, default=0),  # the round showing; 0 before the first
    Column("phase", String(12), nullable=False),  # lobby, voting, revealed, finished
)
room_rounds = Table(
    "room_rounds", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_code", String(8), nullable=False),
    Column("number", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("doc_id", String(64)),
    Column("title", Text),
    Column("opening", Text),
    Column("options", JSON),  # the three texts in the order shown
    Column("words", JSON),  # per option, [token, prob, rank] per word: the reveal's colouring
    Column("human_index", Integer, nullable=False),
    Column("diversity", Float),
    UniqueConstraint("room_code", "number"),
)
room_players = Table(
    "room_players", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_code", String(8), nullable=False),
    Column("player_id", String(64), nullable=False),
    Column("nickname", String(NICKNAME_MAX), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("room_code", "player_id"),
    UniqueConstraint("room_code", "nickname"),
)
room_votes = Table(
    "room_votes", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_code", String(8), nullable=False),
    Column("number", Integer, nullable=False),
    Column("player_id", String(64), nullable=False),
    Column("choice", Integer, nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("response_ms", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("room_code", "number", "player_id"),  # one vote per person per round
)
