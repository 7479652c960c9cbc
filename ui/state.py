"""Each page's state between runs: one dataclass per page in st.session_state, changed in its callbacks."""
from __future__ import annotations

import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from engine.games.boundary import BoundaryGame
from engine.games.quiz import Game
from engine.games.store import Store
from engine.lm.generate import Generation
from engine.storage.answer_log import Outbox
from ui.settings import PlaygroundSettings


@dataclass
class BoundaryPage:
    """The boundary game's page: the game, who plays it, their answers waiting for the database, where to scroll."""

    game: BoundaryGame = field(default_factory=BoundaryGame)
    player: str = field(default_factory=lambda: uuid.uuid4().hex)
    outbox: Outbox = field(default_factory=lambda: Outbox(record=Store.record_boundary))
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    scroll: str | None = None  # the anchor the next run brings into view


@dataclass
class QuizPage:
    """The quiz's page: the game, who plays it, their answers waiting for the database, where to scroll."""

    game: Game = field(default_factory=Game)
    player: str = field(default_factory=lambda: uuid.uuid4().hex)
    outbox: Outbox = field(default_factory=lambda: Outbox(record=Store.record))
    scroll: str | None = None  # the anchor the next run brings into view
    rerun_page: bool = False  # a named answer was stored: the whole page runs again, its leaderboard with it
    notice: str | None = None  # said once at the top of the page (the difficulty had to change)


@dataclass
class LivePage:
    """The presenter's page: the room shown, its deck, the next round being written, a refusal to say."""

    room: tuple[str, str] | None = None  # (code, presenter key)
    deck: tuple[str, Game] | None = None  # (room code, its game): one deck per room, no abstract twice in a show
    upcoming: Future | None = None  # the next round, taken from the bank in the background
    error: str | None = None


@dataclass
class TrainingPage:
    """The training page: the job this visitor started or resumed, the model waiting for a yes, the name offered."""

    job: str | None = None
    confirming: str | None = None  # the model a visitor asked to activate, until they confirm or cancel
    default_name: str | None = None  # the retrain form's name; a fresh one after each job starts


@dataclass
class PlaygroundPage:
    """The playground: the settings last used (a copy Streamlit never drops), what a button asked for, what was written."""

    settings: PlaygroundSettings = field(default_factory=PlaygroundSettings)
    link_problems: list[str] = field(default_factory=list)  # a shared link's settings that were out of range
    run: str | None = None  # "generate" or "compare", asked for by a button (or a shared link)
    notice: str | None = None  # why no real abstract could be picked
    real: tuple | None = None  # a picked real abstract: (document, its opening, the inventors' continuation)
    result: Generation | None = None
    comparison: list | None = None  # (diversity, generation) pairs written together
