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
import re
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, func, inspect, select, text)
from sqlalchemy.exc import DBAPIError, IntegrityError

from .config import DATA_DIR, DATABASE_URL_ENV, NICKNAME_MAX
from .quiz import Answer

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


def clean_nickname(name: str | None) -> str | None:
    """Printable characters only, spaces folded, at most NICKNAME_MAX long; None when nothing is left."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name or "")
    name = " ".join(name.split())[:NICKNAME_MAX]
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
        url = url or database_url()
        if url.startswith("sqlite:///"):
            os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])), exist_ok=True)
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 30} if sqlite else {}, pool_pre_ping=not sqlite)
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
        try:
            with self.engine.begin() as conn:
                conn.execute(answers.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(answers)).scalar_one()

    def leaderboard(self, limit: int = 10) -> list[dict]:
        """Named players by score, then accuracy."""
        c = answers.c
        query = (select(func.max(c.nickname).label("nickname"), func.sum(c.points).label("score"),
                        func.avg(func.cast(c.correct, Integer)).label("accuracy"), func.count().label("rounds"))
                 .where(c.nickname.is_not(None)).group_by(c.player_id)
                 .order_by(func.sum(c.points).desc(), func.avg(func.cast(c.correct, Integer)).desc()).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping, accuracy=float(r.accuracy)) for r in conn.execute(query)]

    def accuracy_by_diversity(self, width: float = 0.2) -> list[dict]:
        """How often players found the human text, per diversity bin, with 95% Wilson intervals."""
        c = answers.c
        bin_ = func.floor(c.diversity / width)
        query = (select(bin_.label("bin"), func.count().label("n"),
                        func.sum(func.cast(c.correct, Integer)).label("k")).group_by(bin_).order_by(bin_))
        rows = []
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                low, high = wilson(int(r.k), int(r.n))
                rows.append({"diversity": round((int(r.bin) + 0.5) * width, 3), "answers": int(r.n),
                             "found_human": int(r.k), "rate": r.k / r.n, "low": low, "high": high})
        return rows

    def export_csv(self) -> str:
        """All answers as CSV, oldest first; JSON columns as JSON text."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.name for c in answers.columns])
        with self.engine.connect() as conn:
            for row in conn.execute(select(answers).order_by(answers.c.id)):
                writer.writerow([json.dumps(v) if isinstance(v, (list, dict)) else v for v in row])
        return out.getvalue()


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
