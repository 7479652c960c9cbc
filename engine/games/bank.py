"""A bank of prepared quiz rounds: "Next round" takes one that is ready; background threads refill it.

Rounds are kept per model and level of the difficulty scale, QUIZ.bank_stock of each, made from
the pool's abstracts in a shuffled cycle, and each round is handed out once. A player takes a round
only from an abstract still in their deck; when none of the stock is, one is written for them. When
a crowd empties the stock, players wait in turn (first come, first served) for the rounds being made
rather than each making one at once (which would slow every one of them down). The bank lives in one process: every session of an app server
shares it, and each server of a multi-server deploy has its own (the answers still all go to the
shared database).
"""
from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

from ..config import QUIZ
from .quiz import NoRounds, Pool, Round, make_rounds

log = logging.getLogger(__name__)


class RoundBank:
    def __init__(self, stock: int = QUIZ.bank_stock, workers: int = QUIZ.bank_workers, reader: bool = True):
        """``reader=False``: rounds are chosen without the reader (engine.games.convincing), as where players
        wait for them and the reader's seconds a round, and its memory, are not to be spent."""
        self.stock, self.reader = stock, reader
        self._rounds: dict[tuple, deque[Round]] = {}
        self._makers: dict[tuple, Callable[[list], list[Round]]] = {}
        self._next_documents: dict[tuple, Callable[[int], list]] = {}
        self._pending = Counter()
        self._queues: dict[tuple, deque] = {}  # players waiting for a round, first come first served
        self._failed: dict[tuple, Exception] = {}
        self._barren: dict[tuple, set[str]] = {}  # abstracts that gave no round (every try copied training text)
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="round-bank")

    def take(self, bundle, pool: Pool, level: int, deck: frozenset[str]) -> Round:
        """A round of ``bundle`` at level ``level`` of QUIZ.levels from an abstract in ``deck`` (the
        player's unseen ones): a prepared one when there is one, else one made for this player;
        either way the stock is topped up in the background."""
        spec = QUIZ.levels[level]
        documents, ids = pool.playable(bundle, spec), pool.playable_ids(bundle, spec)
        if not deck & ids:
            raise NoRounds("No abstract is left to make a round from.")
        key = (id(bundle), id(pool), level)  # the maker keeps bundle and pool alive, so their ids stay theirs
        with self._changed:
            ready = self._rounds.setdefault(key, deque())
            queue = self._queues.setdefault(key, deque())
            if key not in self._makers:
                self._makers[key] = lambda docs: make_rounds(bundle, pool, docs, level, np.random.default_rng(),
                                                              reader=self.reader)
                self._next_documents[key] = _cycle(documents)
                self._barren[key] = set()
            ticket, order = object(), None
            queue.append(ticket)
            try:
                self._refill(key)
                while True:
                    wanted = self._wanted(key, ids, deck)
                    mine = next((r for r in ready if r.doc_id in wanted), None) if queue[0] is ticket else None
                    if mine is not None:
                        ready.remove(mine)
                        return mine
                    if key in self._failed and not self._pending[key]:
                        raise self._failed.pop(key)
                    if queue[0] is ticket and (order is None or order.done()):  # nothing fits: write one
                        fitting = [d for d in documents if d.doc_id in wanted]
                        order = self._submit(key, [fitting[np.random.default_rng().integers(len(fitting))]])
                    self._changed.wait(0.5)  # a finished order is marked done just after it notifies
            finally:
                queue.remove(ticket)
                self._refill(key)
                self._changed.notify_all()  # the next in line may take a round now

    def _wanted(self, key, ids: frozenset[str], deck: frozenset[str]) -> frozenset[str]:
        """The abstracts of ``deck`` that may give a round; when every one of them gave none before,
        any other of ``ids`` (the level's abstracts: a repeat beats a player waiting for ever)."""
        for choices in (deck & ids - self._barren[key], ids - self._barren[key]):
            if choices:
                return choices
        raise NoRounds("No abstract gives a round at this difficulty: every try copied a training abstract.")

    def prepared(self) -> list[Round]:
        """The rounds ready to be taken, of every model and level."""
        with self._changed:
            return [r for ready in self._rounds.values() for r in ready]

    def _refill(self, key) -> None:
        missing = self.stock - len(self._rounds[key]) - self._pending[key]
        while missing > 0:  # in batches: several rounds written together cost little more than one
            n = min(missing, QUIZ.bank_batch)
            self._submit(key, self._next_documents[key](n))
            missing -= n

    def _submit(self, key, documents: list) -> Future:
        self._pending[key] += len(documents)
        return self._pool.submit(self._make, key, documents)

    def _make(self, key, documents: list) -> None:
        rounds, error = [], None
        try:
            rounds = self._makers[key](documents)
        except Exception as exc:  # handed to whoever waits for these rounds; the worker lives on
            log.exception("preparing quiz rounds failed")
            error = exc
        with self._changed:
            self._pending[key] -= len(documents)
            self._rounds[key].extend(rounds)
            if error is None:
                self._barren[key] |= {d.doc_id for d in documents} - {r.doc_id for r in rounds}
            if rounds:
                self._failed.pop(key, None)
            elif error is not None:
                self._failed[key] = error
            self._changed.notify_all()


def _cycle(documents) -> Callable[[int], list]:
    """Hands out ``documents`` a few at a time in a shuffled order, reshuffled after each pass, so
    the stock spans the whole pool rather than repeating a few abstracts."""
    order: deque = deque()
    rng = np.random.default_rng()

    def take(n: int) -> list:
        out = []
        while len(out) < n:
            if not order:
                order.extend(documents[i] for i in rng.permutation(len(documents)))
            out.append(order.popleft())
        return out

    return take
