"""Every game's answers in one database (SQLite, or $DATABASE_URL): the quiz's and the boundary game's,
and the quiz's stored rounds (engine.games.round_library).

One row per round: a repeated answer to the same round is refused by the database. The live rooms'
tables (engine.games.rooms) share the database and are created with it.
"""
from __future__ import annotations

from sqlalchemy import Table

from . import rooms  # noqa: F401  (its tables join the schema before the first connection creates it)
from .boundary_store import BoundaryAnswers
from .quiz_store import QuizAnswers, answers
from .round_library import RoundStore


class Store(QuizAnswers, BoundaryAnswers, RoundStore):
    def export_csv(self, table: Table | None = None) -> str:
        """All answers (of the quiz, or of ``table``: ``boundary_answers``) as CSV, oldest first."""
        return self.export_table(answers if table is None else table)
