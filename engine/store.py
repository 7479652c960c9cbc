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
from typing import Callable

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, case, create_engine, event, func, inspect, make_url, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from .boundary import BoundaryAnswer
from .config import DATA_DIR, DATABASE_URL_ENV, NICKNAME_MAX
from .quiz import Answer
from .sanitise import spreadsheet_safe, visible_text

metadata = MetaData()


def _answer_columns() -> list[Column]:
    """The columns every game's answers start with: one row per round (new objects for each table)."""
    return [Column("id", Integer, primary_key=True),
            Column("created_at", DateTime(timezone=True), nullable=False),
            Column("round_id", String(32), nullable=False, unique=True),
            Column("player_id", String(64), nullable=False, index=True),
            Column("nickname", String(NICKNAME_MAX)),
            Column("bundle", String(200)),
            Column("doc_id", String(64))]


answers = Table(
    "answers", metadata,
    *_answer_columns(),
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
    except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:  # ImportError: a driver not installed
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


def open_engine(url: str) -> Engine:
    """An engine for ``url``, parsed by SQLAlchemy. SQLite on disk: its directory is created. SQLite in
    memory: one connection, which every thread must share (each connection is its own empty database)
    and which only one thread may use at a time, so the pool lends it to one thread at a time."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        engine = create_engine(parsed, poolclass=QueuePool, pool_size=1, max_overflow=0, pool_timeout=30,
                               connect_args={"check_same_thread": False})
    else:
        if not parsed.query.get("uri"):
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Store:
    def __init__(self, url: str | None = None):
        """Connect and create or upgrade the schema; StoreError when the database cannot be used."""
        with _unavailable("open the answer database"):
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
        for table in (answers, boundary_answers, rooms):
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
        return self._others(player_id, answers.c.doc_id == doc_id)

    def others_at(self, level: int, bundle: str, player_id: str) -> tuple[int, int]:
        """(answers, of which found the human) that other players gave on rounds of this level and model."""
        return self._others(player_id, answers.c.settings["level"].as_integer() == level, answers.c.bundle == bundle)

    def _others(self, player_id: str, *where) -> tuple[int, int]:
        c = answers.c
        query = (select(func.count(), func.coalesce(func.sum(func.cast(c.correct, Integer)), 0))
                 .where(c.player_id != player_id, *where))
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

    def export_csv(self, table: Table | None = None) -> str:
        """All answers (of the quiz, or of ``table``: ``boundary_answers``) as CSV, oldest first; JSON
        columns as JSON text; no cell a spreadsheet would run."""
        table = answers if table is None else table
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.name for c in table.columns])
        with _unavailable("export the answers"), self.engine.connect() as conn:
            for row in conn.execute(select(table).order_by(table.c.id)):
                writer.writerow([spreadsheet_safe(json.dumps(v) if isinstance(v, (list, dict)) else v)
                                 for v in row])
        return out.getvalue()

    def record_boundary(self, answer: BoundaryAnswer, player_id: str, nickname: str | None = None) -> bool:
        """Keep one answer of the boundary game; False when this round was already answered."""
        r = answer.round
        row = dict(created_at=datetime.now(timezone.utc), round_id=r.round_id, player_id=player_id,
                   nickname=clean_nickname(nickname), bundle=r.bundle, doc_id=r.doc_id,
                   sentences=[s.text for s in r.sentences], n_sentences=len(r.sentences), boundary=r.boundary,
                   guess=answer.guess, late=answer.late, points=answer.points, diversity=r.diversity,
                   settings=r.settings, response_ms=answer.response_ms)
        with _unavailable("save the answer"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(boundary_answers.insert().values(**row))
            except IntegrityError:
                return False
        return True

    def boundary_stats(self, width: float = 0.2) -> list[dict]:
        """For rounds the machine took over, per model and diversity bin: answers, how many noticed
        (said "machine" at or after the boundary), were too early or missed it, and the mean number
        of sentences late among those who noticed (0: exact) with the half-width of its 95% normal
        interval (None below two)."""
        c = boundary_answers.c
        bin_ = func.floor(c.diversity / width)
        noticed = c.guess >= c.boundary
        query = (select(c.bundle, bin_.label("bin"), func.count().label("n"),
                        func.sum(case((noticed, 1), else_=0)).label("noticed"),
                        func.sum(case((c.guess < c.boundary, 1), else_=0)).label("early"),
                        func.sum(case((noticed, c.late), else_=0)).label("late"),
                        func.sum(case((noticed, c.late * c.late), else_=0)).label("late2"))
                 .where(c.boundary < c.n_sentences).group_by(c.bundle, bin_).order_by(c.bundle, bin_))
        rows = []
        with _unavailable("read the statistics"), self.engine.connect() as conn:
            for r in conn.execute(query):
                n, k = int(r.n), int(r.noticed)
                mean = r.late / k if k else None
                variance = max(r.late2 - k * mean * mean, 0) / (k - 1) if k > 1 else None  # sample variance
                half = 1.96 * math.sqrt(variance / k) if variance is not None else None
                rows.append({"bundle": r.bundle, "diversity": round((int(r.bin) + 0.5) * width, 3), "answers": n,
                             "noticed": k, "too_early": int(r.early), "missed": n - k - int(r.early),
                             "mean_late": mean, "half_width": half})
        return rows


@dataclass
class Outbox:
    """A session's answers that could not be stored yet (the database was down): kept and retried."""

    waiting: list = field(default_factory=list)  # (answer, player_id, nickname)
    problem: str | None = None  # why the last attempt failed
    record: Callable = Store.record  # how one answer is stored (Store.record_boundary for the boundary game)

    def send(self, open_store, answer: Answer | None = None, player_id: str = "", nickname: str | None = None):
        """Queue ``answer`` (if any), then store every waiting answer in order; ``open_store()``
        gives the Store. What fails stays queued with the reason in ``problem``."""
        if answer is not None:
            self.waiting.append((answer, player_id, nickname))
        while self.waiting:
            try:
                self.record(open_store(), *self.waiting[0])
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
    Column("creator", String(64), index=True),  # a hash of who created it (engine.rooms limits how many)
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


# The boundary game (engine/boundary.py): one row per round played.
boundary_answers = Table(
    "boundary_answers", metadata,
    *_answer_columns(),
    Column("sentences", JSON),  # the texts shown, in order
    Column("n_sentences", Integer),
    Column("boundary", Integer),  # the first sentence the machine wrote (0-based); n_sentences: never
    Column("guess", Integer),  # the sentence the player said the machine wrote; empty: never said it
    Column("late", Integer),  # guess - boundary when the player noticed; empty otherwise
    Column("points", Integer),
    Column("diversity", Float, index=True),
    Column("settings", JSON),
    Column("response_ms", Integer),
)
