"""A bank of prepared quiz rounds: "Next round" takes one that is ready; a background thread refills.

Rounds are kept per model and diversity range (a difficulty, or the adaptive player's current
diversity), QUIZ_BANK_STOCK of each, and each round is handed out once. The bank lives in one
process: every session of an app server shares it, and each server of a multi-server deploy has
its own (rounds are cheap to make; the answers still go to the shared database).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from .config import QUIZ_BANK_STOCK
from .quiz import Round, make_round

log = logging.getLogger(__name__)


class RoundBank:
    def __init__(self, stock: int = QUIZ_BANK_STOCK, workers: int = 1):
        self.stock = stock
        self._rounds: dict[tuple, deque[Round]] = {}
        self._makers: dict[tuple, Callable[[], Round]] = {}
        self._pending: dict[tuple, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="round-bank")

    def take(self, bundle, documents, low: float, high: float) -> Round:
        """A round of ``bundle`` at a diversity drawn from [low, high]: a prepared one when there is
        one, else one made now; either way the stock is topped up in the background."""
        key = (id(bundle), low, high)  # the maker keeps the bundle alive, so its id stays its own

        def make() -> Round:
            rng = np.random.default_rng()
            return make_round(bundle, documents, rng, round(float(rng.uniform(low, high)), 2))

        with self._lock:
            ready = self._rounds.setdefault(key, deque())
            round_ = ready.popleft() if ready else None
            self._makers.setdefault(key, make)
            self._refill(key)
        return round_ or make()

    def prepared(self) -> list[Round]:
        """The rounds ready to be taken, of every model and range."""
        with self._lock:
            return [r for ready in self._rounds.values() for r in ready]

    def _refill(self, key) -> None:
        missing = self.stock - len(self._rounds[key]) - self._pending.get(key, 0)
        for _ in range(missing):
            self._pending[key] = self._pending.get(key, 0) + 1
            self._pool.submit(self._make, key)

    def _make(self, key) -> None:
        round_ = None
        try:
            round_ = self._makers[key]()
        except Exception:  # a bad document or model must not kill the worker; take() makes rounds itself
            log.exception("preparing a quiz round failed")
        finally:
            with self._lock:
                self._pending[key] -= 1
                if round_ is not None:
                    self._rounds[key].append(round_)
