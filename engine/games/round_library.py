"""The round library: quiz rounds kept as content in the SQL store, made ahead by workers, each
served to many players.

A stored round keeps what the model wrote (the machine options and their token scores), the
model's scores of the human option's words, the order shown, the settings and the abstract's id;
never the abstract's text: the opening, the human option, the title and the date are read from
the corpus when the round is served. There is one round per model, level and abstract (a unique
constraint), which is also how workers claim work: a worker inserts the row ("claimed") before
writing the round, and another worker's insert of the same abstract fails, on SQLite and
PostgreSQL alike. A claim older than QUIZ.library_claim_minutes (its worker died) may be taken
over. The workers: the app's background thread (engine.games.library_server) and
``patent-make-rounds`` (engine.games.make_rounds) on any machine with the same DATABASE_URL.

Each answer to a stored round updates its record (answers, how many were fooled) and an Elo-style
rating against the average player, in the answer's own transaction (engine.games.quiz_store):
0 means players find the human half the time; each 400 points multiply the odds of fooling them by 10.
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import asdict, fields
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import (JSON, Column, DateTime, Float, Integer, String, Table, UniqueConstraint, delete, func,
                        literal, or_, select, update)
from sqlalchemy.exc import IntegrityError

from ..config import QUIZ
from ..corpus import Document
from ..lm.generate import Word
from ..lm.tokenizer import detokenize, split_words
from ..storage.connection import Database, unavailable
from ..storage.schema import metadata
from .quiz import NoRounds, Option, Pool, Round, cut_at, make_rounds, opening_end

CLAIMED, READY, BARREN = "claimed", "ready", "barren"  # barren: every try copied a training abstract

stored_rounds = Table(
    "quiz_rounds", metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", String(32), unique=True),  # the stored round's id; null while claimed
    Column("bundle", String(200), nullable=False),
    Column("level", Integer, nullable=False),
    Column("doc_id", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("worker", String(100)),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("content", JSON),  # round_content(): the round without the abstract's text
    Column("answers", Integer, nullable=False, default=0),
    Column("fooled", Integer, nullable=False, default=0),  # answers that picked a machine option
    Column("rating", Float, nullable=False, default=0.0),
    UniqueConstraint("bundle", "level", "doc_id"),  # one round per model, level and abstract: the claim
)

CORPUS_FIELDS = ("title", "date", "opening")  # read from the corpus when the round is served
ROW_FIELDS = ("round_id", "doc_id", "bundle", "stored_id")  # the row's own columns


def round_content(r: Round) -> dict:
    """Every field of ``r`` but the abstract's text and the row's columns (a new field travels too)."""
    content = {f.name: getattr(r, f.name) for f in fields(r) if f.name not in CORPUS_FIELDS + ROW_FIELDS}
    content["options"] = [_option_content(o) for o in r.options]
    return content


def _option_content(option: Option) -> dict:
    data = asdict(option)
    if option.human:  # the inventors' words come from the corpus; only the model's scores of them are kept
        del data["text"]
        for word in data["words"]:
            del word["token"]
    return data


def stored_round(content: dict, round_id: str, bundle, doc: Document) -> Round | None:
    """The round ``round_content`` kept, with ``doc``'s text read again; None when ``doc`` no longer
    gives the same human continuation (the corpus changed)."""
    settings, tokens = content["settings"], split_words(doc.text)
    end = settings.get("opening_tokens") or opening_end(  # stored before rounds kept where their opening ends
        tokens, bundle.tokenizer.index, QUIZ.prompt_words, settings["words"])
    if end is None:
        return None
    opening, real = cut_at(tokens, end, settings["words"])
    try:
        options = tuple(_option(o, real, opening[-1] in ".!?") for o in content["options"])
    except ValueError:  # as many scores as words, or the corpus changed
        return None
    return Round(**{**content, "options": options}, round_id=round_id, stored_id=round_id, doc_id=doc.doc_id,
                 bundle=bundle.name, title=doc.title, date=doc.date, opening=detokenize(opening))


def _option(data: dict, real: list[str], starts_sentence: bool) -> Option:
    if not data["human"]:
        return Option(**{**data, "words": tuple(Word(**w) for w in data["words"])})
    words = tuple(Word(token, **w) for token, w in zip(real, data["words"], strict=True))
    return Option(**{**data, "text": detokenize(real, starts_sentence), "words": words})


def fooled_share(rating: float) -> float:
    """The share of average players a round of this rating fools (Elo's expected score)."""
    return 1 / (1 + 10 ** (-rating / 400))


def rate(conn, stored_id: str, correct: bool) -> None:
    """Count one answer to the stored round ``stored_id`` in its record and rating (inside the answer's
    transaction, after its insert, so concurrent answers to one round queue rather than overwrite)."""
    c = stored_rounds.c
    rating = conn.execute(select(c.rating).where(c.round_id == stored_id).with_for_update()).scalar_one_or_none()
    if rating is None:
        return
    fooled = not correct
    conn.execute(update(stored_rounds).where(c.round_id == stored_id).values(
        answers=c.answers + 1, fooled=c.fooled + int(fooled),
        rating=rating + QUIZ.round_rating_k * (fooled - fooled_share(rating))))


def worker_name() -> str:
    """Who holds a claim: machine, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


class RoundStore(Database):
    """The library's rows: claims, stored rounds, their records."""

    def claim(self, bundle: str, level: int, documents: tuple[Document, ...], n: int, worker: str,
              stock: int = QUIZ.library_stock) -> list[Document]:
        """Up to ``n`` of ``documents`` that have no round of ``bundle`` at ``level`` yet, now claimed by
        ``worker``; fewer once the library holds ``stock`` rounds there (ready or being written)."""
        c, now = stored_rounds.c, datetime.now(timezone.utc)
        stale = now - timedelta(minutes=QUIZ.library_claim_minutes)
        live = or_(c.status == READY, (c.status == CLAIMED) & (c.claimed_at >= stale))
        held = select(func.count()).where(c.bundle == bundle, c.level == level, live).scalar_subquery()
        with unavailable("claim quiz rounds to write"):
            with self.engine.connect() as conn:
                rows = conn.execute(select(c.doc_id, c.status, c.claimed_at)
                                    .where(c.bundle == bundle, c.level == level)).all()
            taken = {r.doc_id for r in rows if r.status != CLAIMED or _aware(r.claimed_at) >= stale}
            free = [d for d in documents if d.doc_id not in taken]
            claimed = []
            for i in np.random.default_rng().permutation(len(free)):
                if len(claimed) == n:
                    break
                doc = free[i]
                row = {"bundle": bundle, "level": level, "doc_id": doc.doc_id, "status": CLAIMED, "worker": worker,
                       "claimed_at": now}
                try:
                    # one statement counts and inserts; RETURNING tells what it added (psycopg gives no rowcount)
                    with self.engine.begin() as conn:
                        added = len(conn.execute(stored_rounds.insert().from_select(
                            list(row), select(*(literal(v, stored_rounds.c[k].type) for k, v in row.items()))
                            .where(held < stock)).returning(c.doc_id)).all())
                    if not added:
                        break  # stocked
                except IntegrityError:  # another worker holds it, or held it and died: take a stale claim over
                    with self.engine.begin() as conn:
                        added = conn.execute(update(stored_rounds).where(
                            c.bundle == bundle, c.level == level, c.doc_id == doc.doc_id, c.status == CLAIMED,
                            c.claimed_at < stale).values(worker=worker, claimed_at=now)).rowcount
                if added:
                    claimed.append(doc)
            return claimed

    def finish(self, bundle: str, level: int, documents: list[Document], rounds: list[Round], worker: str) -> None:
        """Store ``worker``'s ``rounds`` written for its claimed ``documents``; those that gave none are barren."""
        c, made = stored_rounds.c, {r.doc_id: r for r in rounds}
        with unavailable("store quiz rounds"), self.engine.begin() as conn:
            for doc in documents:
                r = made.get(doc.doc_id)
                values = {"status": BARREN} if r is None else {"status": READY, "round_id": r.round_id,
                                                               "content": round_content(r)}
                conn.execute(update(stored_rounds).where(c.bundle == bundle, c.level == level, c.doc_id == doc.doc_id,
                                                         c.status == CLAIMED, c.worker == worker).values(**values))

    def release(self, bundle: str, level: int, documents: list[Document], worker: str) -> None:
        """Give up ``worker``'s claims on ``documents`` (it could not write their rounds)."""
        c = stored_rounds.c
        with unavailable("release claimed quiz rounds"), self.engine.begin() as conn:
            conn.execute(delete(stored_rounds).where(c.bundle == bundle, c.level == level, c.status == CLAIMED,
                                                     c.worker == worker, c.doc_id.in_([d.doc_id for d in documents])))

    def keep(self, r: Round) -> bool:
        """Store a round written on demand; False when the library already has one of its abstract there."""
        row = {"bundle": r.bundle, "level": r.level, "doc_id": r.doc_id, "status": READY, "round_id": r.round_id,
               "claimed_at": datetime.now(timezone.utc), "content": round_content(r)}
        with unavailable("store a quiz round"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(stored_rounds.insert().values(**row))
            except IntegrityError:
                return False
        return True

    def ready(self, bundle: str, level: int) -> dict[str, str]:
        """{round id: abstract id} of the stored rounds of ``bundle`` at ``level``."""
        c = stored_rounds.c
        with unavailable("read the stored quiz rounds"), self.engine.connect() as conn:
            return dict(conn.execute(select(c.round_id, c.doc_id).where(c.bundle == bundle, c.level == level,
                                                                        c.status == READY)).all())

    def contents(self, round_ids: list[str]) -> dict[str, dict]:
        """{round id: round_content} of these stored rounds."""
        c = stored_rounds.c
        with unavailable("read the stored quiz rounds"), self.engine.connect() as conn:
            return dict(conn.execute(select(c.round_id, c.content).where(c.round_id.in_(round_ids))).all())

    def stock(self, bundle: str, level: int) -> int:
        """Stored rounds of ``bundle`` at ``level``."""
        return len(self.ready(bundle, level))

    def round_record(self, stored_id: str) -> tuple[int, int, float] | None:
        """(answers, of which found the human, rating) of a stored round; None when there is no such round."""
        c = stored_rounds.c
        with unavailable("read the round's record"), self.engine.connect() as conn:
            row = conn.execute(select(c.answers, c.fooled, c.rating).where(c.round_id == stored_id)).one_or_none()
        return None if row is None else (row.answers, row.answers - row.fooled, row.rating)


def fill(store: RoundStore, bundle, pool: Pool, level: int, n: int, worker: str,
         stock: int = QUIZ.library_stock) -> tuple[int, int]:
    """Claim up to ``n`` abstracts missing a round of ``bundle`` at level ``level``, write their rounds in one
    batch and store them; (abstracts claimed, rounds stored): none claimed when the level is stocked or no
    abstract is left, fewer stored when every try at one copied a training abstract."""
    try:
        playable = pool.playable(bundle, QUIZ.levels[level])
    except NoRounds:  # no abstract of this corpus makes a round there
        return 0, 0
    documents = store.claim(bundle.name, level, playable, n, worker, stock)
    if not documents:
        return 0, 0
    try:
        rounds = make_rounds(bundle, pool, documents, level, np.random.default_rng())
    except BaseException:  # a failure or Ctrl-C: the abstracts go back to the others
        store.release(bundle.name, level, documents, worker)
        raise
    store.finish(bundle.name, level, documents, rounds, worker)
    return len(documents), len(rounds)


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone (they were stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
