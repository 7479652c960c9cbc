"""The boundary game's answers: its table, one row per round played, and its statistics."""
from __future__ import annotations

import math

from sqlalchemy import JSON, Column, Float, Integer, Table, case, func, select

from ..storage.answer_log import AnswerLog
from ..storage.connection import unavailable
from ..storage.schema import answer_columns, metadata
from .boundary import BoundaryAnswer

boundary_answers = Table(
    "boundary_answers", metadata,
    *answer_columns(),
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


class BoundaryAnswers(AnswerLog):
    def record_boundary(self, answer: BoundaryAnswer, player_id: str, nickname: str | None = None) -> bool:
        """Keep one answer of the boundary game; False when this round was already answered."""
        r = answer.round
        return self.insert_once(boundary_answers, player_id, nickname, round_id=r.round_id, bundle=r.bundle,
                                doc_id=r.doc_id, sentences=[s.text for s in r.sentences],
                                n_sentences=len(r.sentences), boundary=r.boundary, guess=answer.guess,
                                late=answer.late, points=answer.points, diversity=r.diversity,
                                settings=r.settings, response_ms=answer.response_ms)

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
        with unavailable("read the statistics"), self.engine.connect() as conn:
            for r in conn.execute(query):
                n, k = int(r.n), int(r.noticed)
                mean = r.late / k if k else None
                variance = max(r.late2 - k * mean * mean, 0) / (k - 1) if k > 1 else None  # sample variance
                half = 1.96 * math.sqrt(variance / k) if variance is not None else None
                rows.append({"bundle": r.bundle, "diversity": round((int(r.bin) + 0.5) * width, 3), "answers": n,
                             "noticed": k, "too_early": int(r.early), "missed": n - k - int(r.early),
                             "mean_late": mean, "half_width": half})
        return rows
