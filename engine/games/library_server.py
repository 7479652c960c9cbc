"""One app server's side of the round library (engine.games.round_library): "Next round" deals a
stored round from an abstract in the player's deck, and a background thread keeps the library
stocked for every model and level played here, while the machine has cores to spare. The thread
writes through ``patent-make-rounds`` in a child process (``fill_in_child``) where the database can
be shared with one, so the reader that chooses rounds (engine.lm.reader) never loads into the server.

Which rounds are stored is read again every QUIZ.library_refresh_s (other servers and workers add
some); each is read from the database and rebuilt from the corpus once per process, then dealt to
any number of players, each under a round id of their own (an answer is kept once per id). When no
stored round fits the player's deck, or the database is away, the bank (engine.games.bank) writes
one, and the library keeps it for the next players.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from typing import Callable

import numpy as np

from ..config import QUIZ
from ..storage.connection import StoreError, in_memory
from .bank import RoundBank
from .quiz import Pool, Round
from .round_library import RoundStore, fill, stored_round, worker_name

# (store, bundle, pool, level, n, worker, stock) -> rounds claimed or stored: 0 when nothing is left to write
Filler = Callable[[RoundStore, object, Pool, int, int, str, int], int]

log = logging.getLogger(__name__)


class RoundLibrary:
    def __init__(self, open_store: Callable[[], RoundStore], bank: RoundBank, stock: int = QUIZ.library_stock,
                 background: bool = True, busy: Callable[[], bool] | None = None, filler: Filler | None = None):
        """``open_store()`` gives the database (it may fail now and work later); ``background``: keep the
        library stocked from a thread of this process, which waits while ``busy()`` (default: machine_busy)
        and writes with ``filler`` (default: ``fill`` in this process)."""
        self.open_store, self.bank, self.stock = open_store, bank, stock
        self.busy = busy or machine_busy
        self.filler = filler or (lambda *args: fill(*args)[0])
        self._played: dict[tuple, tuple] = {}  # (bundle name, level) -> (bundle, pool, level)
        self._rounds: dict[tuple, dict[str, Round]] = {}  # (bundle name, level) -> stored round id -> round
        self._read_at: dict[tuple, float] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self._filler = threading.Thread(target=self._fill_forever, name="round-library", daemon=True)
        self._background = background

    def take(self, bundle, pool: Pool, level: int, deck: frozenset[str]) -> Round:
        """A round of ``bundle`` at level ``level`` from an abstract in ``deck`` (the player's unseen ones):
        a stored one under a new round id when one fits, else one the bank writes (and the library keeps,
        under the same id)."""
        key = (bundle.name, level)
        with self._lock:
            self._played[key] = (bundle, pool, level)  # the latest: a bundle reloaded under its name replaces it
            self._locks.setdefault(key, threading.Lock())
            if self._background and not self._filler.is_alive():
                self._filler.start()
        try:
            fitting = [r for r in self._stored(key).values() if r.doc_id in deck]
        except StoreError as exc:
            log.warning("dealing without the round library: %s", exc)
            fitting = []
        if fitting:
            return replace(fitting[np.random.default_rng().integers(len(fitting))], round_id=uuid.uuid4().hex)
        written = self.bank.take(bundle, pool, level, deck)
        try:
            return replace(written, stored_id=written.round_id) if self.open_store().keep(written) else written
        except StoreError:
            return written

    def _stored(self, key) -> dict[str, Round]:
        """The stored rounds of ``key``, read again when older than QUIZ.library_refresh_s (one thread reads)."""
        with self._locks[key]:
            if time.monotonic() - self._read_at.get(key, -np.inf) >= QUIZ.library_refresh_s:
                bundle, pool, level = self._played[key]
                store, known = self.open_store(), self._rounds.get(key, {})
                ready = store.ready(bundle.name, level)
                documents = {d.doc_id: d for d in pool.documents}
                new = [i for i, doc_id in ready.items() if i not in known and doc_id in documents]
                rebuilt = {i: stored_round(content, i, bundle, documents[ready[i]])
                           for i, content in store.contents(new).items()} if new else {}
                self._rounds[key] = {**{i: r for i, r in known.items() if i in ready},
                                     **{i: r for i, r in rebuilt.items() if r is not None}}
                self._read_at[key] = time.monotonic()
            return self._rounds[key]

    def _fill_forever(self) -> None:
        """Top the library up for every model and level played here; when all are stocked, look again later."""
        _yield_to_players()
        worker = worker_name()
        while True:
            with self._lock:
                played = list(self._played.values())
            claimed = 0
            for bundle, pool, level in played:
                while self.busy():  # a crowd is playing: its pages first, rounds for later when it thins
                    time.sleep(QUIZ.library_refresh_s)
                try:
                    claimed += self.filler(self.open_store(), bundle, pool, level, QUIZ.library_batch, worker, self.stock)
                except Exception:  # logged; the thread lives on and tries again later
                    log.exception("filling the round library failed")
            if not claimed:
                time.sleep(5 * QUIZ.library_refresh_s)


def fill_in_child(store: RoundStore, bundle, pool: Pool, level: int, n: int, worker: str, stock: int) -> int:
    """Write rounds as ``fill`` does, QUIZ.library_child_batches batches of ``n`` in one ``patent-make-rounds``
    child process (its own memory, QUIZ.library_nice lower, reading the corpus and database this server
    reads); the rounds it stored. In this process when the database is SQLite in memory, which no other
    process can open."""
    url = store.engine.url
    if in_memory(url):
        return fill(store, bundle, pool, level, n, worker, stock)[0]
    before = len(store.ready(bundle.name, level))
    command = [sys.executable, "-m", "engine.games.make_rounds", "--model", str(bundle.path), "--levels", str(level),
               "--rounds", str(n * QUIZ.library_child_batches), "--stock", str(stock)]
    command += ["--data", pool.source] if pool.source else []
    environment = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}  # not on a command line
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=QUIZ.library_child_timeout_s,
                          preexec_fn=(lambda: os.nice(QUIZ.library_nice)) if sys.platform.startswith("linux") else None)
    if done.returncode:
        log.warning("patent-make-rounds failed (exit code %s): %s", done.returncode, done.stderr.strip()[-2000:])
    return len(store.ready(bundle.name, level)) - before


def machine_busy() -> bool:
    """Whether the machine's load (the last minute's average) is at QUIZ.library_busy_load per core or above;
    never where the system tells no load average (Windows)."""
    if not hasattr(os, "getloadavg"):
        return False
    return os.getloadavg()[0] >= QUIZ.library_busy_load * (os.cpu_count() or 1)


def _yield_to_players() -> None:
    """Lower the calling thread's priority by QUIZ.library_nice (Linux keeps one per thread), so pages
    served to players come before rounds written for later; elsewhere the thread keeps the process's."""
    if not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + QUIZ.library_nice)
    except OSError as exc:
        log.warning("the round library's thread keeps its priority: %s", exc)
