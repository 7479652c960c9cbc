"""Live rooms: a presenter shows quiz rounds to a room, the audience votes from their phones.

Everything lives in the answer store's database (SQLite, or PostgreSQL through $DATABASE_URL), so
audience members on several app servers share one room. The database enforces the rules: one vote
per person per round (a unique constraint), and a vote counts only while its round is open (the
insert is conditional on the room's state). Only the holder of the presenter key, handed out once
when the room is created and kept as a hash, can open, reveal and finish rounds.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, String, Table, Text, UniqueConstraint,
                        and_, exists, func, literal, select, update)
from sqlalchemy.exc import IntegrityError

from .. import config
from ..config import NICKNAME_MAX, OPTION_LABELS, QUIZ_OPTIONS
from ..lm.generate import Word
from .quiz import Round
from ..sanitise import clean_nickname, nickname_key
from ..storage.connection import Database
from ..storage.schema import metadata

LABELS = OPTION_LABELS[:QUIZ_OPTIONS]

# A presenter's room, its rounds, the audience and their votes.
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
    Column("creator", String(64), index=True),  # a hash of who created it (Rooms.create limits how many)
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


class RoomError(ValueError):
    """A request the room cannot take; the message is for the person who made it."""


@dataclass(frozen=True)
class RoomRound:
    number: int
    opening: str
    options: tuple[str, ...]
    words: tuple[tuple[Word, ...], ...]
    human_index: int
    diversity: float
    doc_id: str
    title: str


@dataclass(frozen=True)
class Room:
    code: str
    phase: str  # lobby, voting, revealed, finished
    round_no: int
    rounds_total: int
    bundle: str
    difficulty: str
    round: RoomRound | None  # the round showing, if any


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]  # votes per option
    voters: tuple[str, ...]  # nicknames, in the order their votes arrived
    choices: tuple[int, ...]  # what each of them voted
    players: int  # everyone who joined

    @property
    def votes(self) -> int:
        return sum(self.counts)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _taken(name: str) -> RoomError:
    return RoomError(f"Someone in this room is already called {name}: pick another nickname.")


def normalise_code(code: str | None) -> str:
    """What a person typed, as a room code: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:config.LIVE.code_length * 2]


class Rooms:
    def __init__(self, database: Database):
        self.engine = database.engine

    # presenter ------------------------------------------------------------------------------------
    def create(self, rounds_total: int, bundle: str = "", difficulty: str = "", creator: str = "") -> tuple[str, str]:
        """A new room: (its code, the presenter key). The key is shown once and stored only as a hash.

        Each room costs a background deal of rounds, so idle rooms are closed first, then a room is
        refused beyond config.LIVE.max_open_rooms open ones, or beyond its rooms_per_visitor created by
        ``creator`` (who asks, e.g. their address) in the last rooms_window_minutes.
        """
        if not 1 <= rounds_total <= config.LIVE.max_rounds:
            raise RoomError(f"A room plays 1 to {config.LIVE.max_rounds} rounds.")
        self.close_idle()
        creator = _hash(creator)[:32] if creator else None
        window = config.LIVE.rooms_window_minutes
        with self.engine.connect() as conn:
            open_rooms = conn.execute(select(func.count()).where(rooms.c.phase != "finished")).scalar_one()
            theirs = conn.execute(select(func.count()).where(
                rooms.c.creator == creator, rooms.c.created_at >= _now() - timedelta(minutes=window))).scalar_one()
        if open_rooms >= config.LIVE.max_open_rooms:
            raise RoomError("The app has as many live rooms open as it can run; try again when one has finished.")
        if creator and theirs >= config.LIVE.rooms_per_visitor:
            raise RoomError(f"You have created {theirs} rooms in the last {window} minutes, the most allowed: "
                            "use one of them, or try again in a few minutes.")
        key = secrets.token_urlsafe(16)
        for _ in range(20):
            code = "".join(secrets.choice(config.LIVE.code_alphabet) for _ in range(config.LIVE.code_length))
            try:
                with self.engine.begin() as conn:
                    conn.execute(rooms.insert().values(
                        code=code, presenter_hash=_hash(key), created_at=_now(), bundle=bundle,
                        difficulty=difficulty, rounds_total=rounds_total, round_no=0, phase="lobby",
                        creator=creator))
                return code, key
            except IntegrityError:
                continue  # that code is taken: draw another
        raise RoomError("Could not find a free room code; try again.")

    def close_idle(self) -> int:
        """Finish every room that has not opened a round for config.LIVE.idle_minutes; how many."""
        cutoff = _now() - timedelta(minutes=config.LIVE.idle_minutes)
        recent = exists().where(room_rounds.c.room_code == rooms.c.code, room_rounds.c.opened_at >= cutoff)
        with self.engine.begin() as conn:
            return conn.execute(update(rooms).where(rooms.c.phase != "finished", rooms.c.created_at < cutoff, ~recent)
                                .values(phase="finished")).rowcount

    def is_presenter(self, code: str, key: str | None) -> bool:
        with self.engine.connect() as conn:
            stored = conn.execute(select(rooms.c.presenter_hash).where(rooms.c.code == code)).scalar()
        return bool(stored and key) and hmac.compare_digest(stored, _hash(key))

    def _require_presenter(self, code: str, key: str | None) -> None:
        if not self.is_presenter(code, key):
            raise RoomError("Only the presenter of this room can do that.")

    def open_round(self, code: str, key: str | None, round_: Round) -> int:
        """Show the next round (made by engine.games.quiz) and start taking votes; its number."""
        self._require_presenter(code, key)
        room = self.room(code)
        if room.phase == "finished" or room.round_no >= room.rounds_total:
            raise RoomError("This room has played all its rounds.")
        if room.phase == "voting":
            raise RoomError("Reveal the answer to this round first.")
        number = room.round_no + 1
        words = [[[w.token, w.prob, w.rank] for w in option.words] for option in round_.options]
        with self.engine.begin() as conn:
            conn.execute(room_rounds.insert().values(
                room_code=code, number=number, opened_at=_now(), doc_id=round_.doc_id, title=round_.title,
                opening=round_.opening, options=[o.text for o in round_.options], words=words,
                human_index=round_.human_index, diversity=round_.diversity))
            conn.execute(update(rooms).where(rooms.c.code == code).values(round_no=number, phase="voting"))
        return number

    def reveal(self, code: str, key: str | None) -> None:
        """Close the vote on the round showing and show which text was human."""
        self._require_presenter(code, key)
        with self.engine.begin() as conn:
            conn.execute(update(rooms).where(rooms.c.code == code, rooms.c.phase == "voting")
                         .values(phase="revealed"))

    def finish(self, code: str, key: str | None) -> None:
        self._require_presenter(code, key)
        with self.engine.begin() as conn:
            conn.execute(update(rooms).where(rooms.c.code == code).values(phase="finished"))

    # everyone -------------------------------------------------------------------------------------
    def room(self, code: str) -> Room:
        code = normalise_code(code)
        with self.engine.connect() as conn:
            row = conn.execute(select(rooms).where(rooms.c.code == code)).first()
            if row is None:
                raise RoomError(f"There is no room {code or 'without a code'}: check the code on the screen.")
            r = conn.execute(select(room_rounds).where(room_rounds.c.room_code == code,
                                                       room_rounds.c.number == row.round_no)).first()
        shown = None if r is None else RoomRound(
            r.number, r.opening, tuple(r.options),
            tuple(tuple(Word(t, p, k) for t, p, k in option) for option in r.words),
            r.human_index, r.diversity, r.doc_id, r.title)
        return Room(row.code, row.phase, row.round_no, row.rounds_total, row.bundle, row.difficulty, shown)

    def join(self, code: str, player_id: str, nickname: str | None) -> str:
        """Add a player (again: a no-op, ``nickname`` may then be None); their nickname, free in this room
        (compared after Unicode normalisation and case folding)."""
        room = self.room(code)
        name = clean_nickname(nickname)
        with self.engine.begin() as conn:
            mine = conn.execute(select(room_players.c.nickname).where(
                room_players.c.room_code == room.code, room_players.c.player_id == player_id)).scalar()
            if mine:
                return mine
            if not name:
                raise RoomError("Pick a nickname so the room can see your score.")
            taken = conn.execute(select(room_players.c.nickname).where(room_players.c.room_code == room.code))
            if nickname_key(name) in {nickname_key(n) for n in taken.scalars()}:  # "Desk" and "DESK" are one name
                raise _taken(name)
            try:
                conn.execute(room_players.insert().values(room_code=room.code, player_id=player_id,
                                                          nickname=name, joined_at=_now()))
            except IntegrityError:  # the same name, joining at the same moment
                raise _taken(name) from None
        return name

    def vote(self, code: str, player_id: str, number: int, choice: int) -> bool:
        """Count a vote on round ``number``: True when counted, False when this player already voted on it.

        Raises RoomError when the round is not taking votes (revealed, or another one showing) or the
        player has not joined. The insert checks the room's state in the same statement.
        """
        if choice not in range(len(LABELS)):
            raise RoomError("Vote A, B or C.")
        code = normalise_code(code)
        with self.engine.connect() as conn:
            human = conn.execute(select(room_rounds.c.human_index).where(
                room_rounds.c.room_code == code, room_rounds.c.number == number)).scalar()
            opened = conn.execute(select(room_rounds.c.opened_at).where(
                room_rounds.c.room_code == code, room_rounds.c.number == number)).scalar()
        if human is None:
            raise RoomError("That round is not showing in this room.")
        now = _now()
        elapsed = int((now - opened.replace(tzinfo=timezone.utc)).total_seconds() * 1000)
        is_open = exists().where(rooms.c.code == code, rooms.c.round_no == number, rooms.c.phase == "voting")
        joined = exists().where(room_players.c.room_code == code, room_players.c.player_id == player_id)
        values = select(literal(code, String), literal(number, Integer), literal(player_id, String),
                        literal(choice, Integer), literal(choice == human, Boolean), literal(elapsed, Integer),
                        literal(now, DateTime(timezone=True))).where(and_(is_open, joined))
        try:
            with self.engine.begin() as conn:
                inserted = conn.execute(room_votes.insert().from_select(
                    ["room_code", "number", "player_id", "choice", "correct", "response_ms", "created_at"],
                    values).returning(room_votes.c.id)).first() is not None
        except IntegrityError:
            return False
        if inserted:
            return True
        with self.engine.connect() as conn:
            if not conn.execute(select(joined)).scalar():
                raise RoomError("Join the room with a nickname first.")
        raise RoomError("Too late: voting on that round has closed.")

    def my_vote(self, code: str, player_id: str, number: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(room_votes.c.choice).where(
                room_votes.c.room_code == code, room_votes.c.number == number,
                room_votes.c.player_id == player_id)).scalar()

    def tally(self, code: str, number: int) -> Tally:
        """Votes per option on one round, and who voted, as the presenter's screen shows them."""
        v, p = room_votes.c, room_players.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(v.choice, p.nickname).join_from(
                room_votes, room_players, and_(p.room_code == v.room_code, p.player_id == v.player_id))
                .where(v.room_code == code, v.number == number).order_by(v.id)).all()
            players = conn.execute(select(func.count()).where(p.room_code == code)).scalar_one()
        counts = [0] * len(LABELS)
        for choice, _ in rows:
            counts[choice] += 1
        return Tally(tuple(counts), tuple(name for _, name in rows), tuple(choice for choice, _ in rows), players)

    def players(self, code: str) -> list[str]:
        """Nicknames in the order people joined."""
        p = room_players.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(p.nickname).where(p.room_code == code).order_by(p.id)).scalars())

    def leaderboard(self, code: str) -> list[dict]:
        """Everyone who joined, by right answers on revealed rounds, then by the time they took on them
        (quicker first; equal in both, equal in rank); a round still taking votes does not count yet,
        so ranks give nothing away."""
        room = self.room(code)
        revealed = room.round_no - (room.phase == "voting")
        v, p = room_votes.c, room_players.c
        right = func.coalesce(func.sum(func.cast(v.correct, Integer)), 0)
        quick = func.coalesce(func.sum(func.cast(v.correct, Integer) * v.response_ms), 0)
        query = (select(p.player_id, p.nickname, right.label("right"), func.count(v.id).label("votes"),
                        quick.label("ms"))
                 .join_from(room_players, room_votes, and_(v.room_code == p.room_code, v.player_id == p.player_id,
                                                                 v.number <= revealed), isouter=True)
                 .where(p.room_code == room.code).group_by(p.player_id, p.nickname)
                 .order_by(right.desc(), quick.asc(), p.nickname))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for i, row in enumerate(rows):  # competition ranking: equal players share a rank (1, 2, 2, 4)
            tied = i and (row["right"], row["ms"]) == (rows[i - 1]["right"], rows[i - 1]["ms"])
            row["rank"] = rows[i - 1]["rank"] if tied else i + 1
        return rows
