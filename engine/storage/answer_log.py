"""The one answer log every game writes to: an answer kept once per round, exported as CSV, and
the session's queue of answers waiting for the database."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from ..sanitise import clean_nickname, spreadsheet_safe
from .connection import Database, StoreError, unavailable


class AnswerLog(Database):
    def insert_once(self, table: Table, player_id: str, nickname: str | None, then: Callable | None = None,
                    **row) -> bool:
        """Keep one answer in ``table``; False when its round (``row["round_id"]``) was already
        answered (the unique round id makes a repeat a no-op: nothing is double-counted).
        ``then(connection)`` runs in the same transaction after the insert (and only if it was new)."""
        row.update(created_at=datetime.now(timezone.utc), player_id=player_id, nickname=clean_nickname(nickname))
        with unavailable("save the answer"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(table.insert().values(**row))
                    if then is not None:
                        then(conn)
            except IntegrityError:
                return False
        return True

    def export_table(self, table: Table) -> str:
        """Every row of ``table`` as CSV, oldest first; JSON columns as JSON text; no cell a spreadsheet would run."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.name for c in table.columns])
        with unavailable("export the answers"), self.engine.connect() as conn:
            for row in conn.execute(select(table).order_by(table.c.id)):
                writer.writerow([spreadsheet_safe(json.dumps(v) if isinstance(v, (list, dict)) else v)
                                 for v in row])
        return out.getvalue()


@dataclass
class Outbox:
    """A session's answers that could not be stored yet (the database was down): kept and retried."""

    record: Callable  # how one answer is stored, e.g. engine.games.store.Store.record
    waiting: list = field(default_factory=list)  # (answer, player_id, nickname)
    problem: str | None = None  # why the last attempt failed

    def send(self, open_store, answer=None, player_id: str = "", nickname: str | None = None):
        """Queue ``answer`` (if any), then store every waiting answer in order; ``open_store()``
        gives the store. What fails stays queued with the reason in ``problem``."""
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
