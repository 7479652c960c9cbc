"""A bank of prepared quiz rounds: "Next round" takes one that is ready; background threads refill it.

Rounds are kept per model and diversity range (a difficulty, or the adaptive player's current
diversity), QUIZ_BANK_STOCK of each, and each round is handed out once. When a crowd empties the
stock, players wait in turn (first come, first served) for the rounds being made rather than each
making one at once (which would slow every one of them down). The bank lives in one process: every session of an app server
shares it, and each server of a multi-server deploy has its own (the answers still all go to the
shared database).
"""
from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from .config import QUIZ_BANK_BATCH, QUIZ_BANK_STOCK, QUIZ_BANK_WORKERS
from .quiz import Round, make_rounds

log = logging.getLogger(__name__)


class RoundBank:
    def __init__(self, stock: int = QUIZ_BANK_STOCK, workers: int = QUIZ_BANK_WORKERS):
        self.stock = stock
        self._rounds: dict[tuple, deque[Round]] = {}
        self._makers: dict[tuple, Callable[[], Round]] = {}
        self._pending = Counter()
        self._queues: dict[tuple, deque] = {}  # players waiting for a round, first come first served
        self._failed: dict[tuple, Exception] = {}
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="round-bank")

    def take(self, bundle, documents, low: float, high: float) -> Round:
        """A round of ``bundle`` at a diversity drawn from [low, high]: a prepared one when there is
        one, else the next one made; either way the stock is topped up in the background."""
        key = (id(bundle), low, high)  # the maker keeps the bundle alive, so its id stays its own

        def make(n: int) -> list[Round]:
            rng = np.random.default_rng()
            return make_rounds(bundle, documents, rng, [round(float(d), 2) for d in rng.uniform(low, high, n)])

        with self._changed:
            ready = self._rounds.setdefault(key, deque())
            queue = self._queues.setdefault(key, deque())
            self._makers.setdefault(key, make)
            ticket = object()
            queue.append(ticket)
            try:
                self._refill(key)
                while not (ready and queue[0] is ticket):
                    if key in self._failed and not self._pending[key]:
                        raise self._failed.pop(key)
                    self._changed.wait()
                return ready.popleft()
            finally:
                queue.remove(ticket)
                self._refill(key)
                self._changed.notify_all()  # the next in line may take a round now

    def prepared(self) -> list[Round]:
        """The rounds ready to be taken, of every model and range."""
        with self._changed:
            return [r for ready in self._rounds.values() for r in ready]

    def _refill(self, key) -> None:
        covered = len(self._rounds[key]) + self._pending[key]
        missing = self.stock + len(self._queues[key]) - covered
        first = len(self._queues[key]) - covered  # players waiting with no round on its way: a small batch first
        while missing > 0:  # in batches: several rounds written together cost little more than one
            n = min(missing, QUIZ_BANK_BATCH, first if first > 0 else QUIZ_BANK_BATCH)
            first = 0
            self._pending[key] += n
            self._pool.submit(self._make, key, n)
            missing -= n

    def _make(self, key, n: int) -> None:
        rounds, error = [], None
        try:
            rounds = self._makers[key](n)
        except Exception as exc:  # handed to whoever waits for these rounds; the worker lives on
            log.exception("preparing quiz rounds failed")
            error = exc
        with self._changed:
            self._pending[key] -= n
            self._rounds[key].extend(rounds)
            if rounds:
                self._failed.pop(key, None)
            else:
                self._failed[key] = error
            self._changed.notify_all()
