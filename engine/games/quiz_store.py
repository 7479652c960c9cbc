"""The quiz's answers: its table, one row per round, and what the page reads back."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Table, Text, func, select

from ..stats import wilson
from ..storage.answer_log import AnswerLog
from ..storage.connection import unavailable
from ..storage.schema import answer_columns, metadata
from .quiz import Answer
from .round_library import rate

answers = Table(
    "answers", metadata,
    *answer_columns(),
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
    Column("library_round", String(32), index=True),  # the stored round answered (engine.games.round_library)
)


class QuizAnswers(AnswerLog):
    def record(self, answer: Answer, player_id: str, nickname: str | None = None) -> bool:
        """Keep one answer (and count it in its stored round's record); False when this round was already
        answered (nothing is double-counted)."""
        r = answer.round
        then = (lambda conn: rate(conn, r.stored_id, answer.correct)) if r.stored_id else None
        return self.insert_once(answers, player_id, nickname, then, round_id=r.round_id, bundle=r.bundle,
                                doc_id=r.doc_id, library_round=r.stored_id or None,
                                opening=r.opening, continuations=[o.text for o in r.options],
                                human_index=r.human_index, choice=answer.choice, correct=answer.correct,
                                points=answer.points, diversity=r.diversity, settings=r.settings,
                                response_ms=answer.response_ms, reasons=",".join(answer.reasons))

    def count(self) -> int:
        with unavailable("count the answers"), self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(answers)).scalar_one()

    def leaderboard(self, limit: int = 10) -> list[dict]:
        """Named players by score, then accuracy."""
        c = answers.c
        query = (select(func.max(c.nickname).label("nickname"), func.sum(c.points).label("score"),
                        func.avg(func.cast(c.correct, Integer)).label("accuracy"), func.count().label("rounds"))
                 .where(c.nickname.is_not(None)).group_by(c.player_id)
                 .order_by(func.sum(c.points).desc(), func.avg(func.cast(c.correct, Integer)).desc()).limit(limit))
        with unavailable("read the leaderboard"), self.engine.connect() as conn:
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
        with unavailable("read how others answered"), self.engine.connect() as conn:
            n, k = conn.execute(query).one()
        return int(n), int(k)

    def accuracy_by_diversity(self, width: float = 0.2) -> list[dict]:
        """How often players found the human text, per diversity bin, with 95% Wilson intervals."""
        c = answers.c
        bin_ = func.floor(c.diversity / width)
        query = (select(bin_.label("bin"), func.count().label("n"),
                        func.sum(func.cast(c.correct, Integer)).label("k")).group_by(bin_).order_by(bin_))
        rows = []
        with unavailable("read the statistics"), self.engine.connect() as conn:
            for r in conn.execute(query):
                low, high = wilson(int(r.k), int(r.n))
                rows.append({"diversity": round((int(r.bin) + 0.5) * width, 3), "answers": int(r.n),
                             "found_human": int(r.k), "rate": r.k / r.n, "low": low, "high": high})
        return rows
