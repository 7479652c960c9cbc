"""Each page's state between runs: one dataclass per page in st.session_state, changed in its callbacks."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from engine.games.boundary import BoundaryGame
from engine.games.store import Store
from engine.storage.answer_log import Outbox


@dataclass
class BoundaryPage:
    """The boundary game's page: the game, who plays it, their answers waiting for the database, where to scroll."""

    game: BoundaryGame = field(default_factory=BoundaryGame)
    player: str = field(default_factory=lambda: uuid.uuid4().hex)
    outbox: Outbox = field(default_factory=lambda: Outbox(record=Store.record_boundary))
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    scroll: str | None = None  # the anchor the next run brings into view
