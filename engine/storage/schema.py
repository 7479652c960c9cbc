"""The one schema every game's tables join, and the columns every game's answers start with."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String

from ..config import NICKNAME_MAX

metadata = MetaData()  # each game's repository adds its tables (engine.games.*_store, engine.games.rooms)


def answer_columns() -> list[Column]:
    """The columns every game's answers start with: one row per round (new objects for each table)."""
    return [Column("id", Integer, primary_key=True),
            Column("created_at", DateTime(timezone=True), nullable=False),
            Column("round_id", String(32), nullable=False, unique=True),
            Column("player_id", String(64), nullable=False, index=True),
            Column("nickname", String(NICKNAME_MAX)),
            Column("bundle", String(200)),
            Column("doc_id", String(64))]
