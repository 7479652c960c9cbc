"""`patent-make-rounds` / `python -m engine.games.make_rounds`: write quiz rounds into the round
library (engine.games.round_library) ahead of demand, on this machine or any other with the same
DATABASE_URL and corpus.

    patent-make-rounds --model models/patent-awd --levels 2 --until-stocked
    patent-make-rounds --rounds 200           # every level of the active model, 200 rounds, then stop
    patent-make-rounds                        # keep every level stocked until Ctrl-C or SIGTERM

Several workers may run at once: each claims the abstracts it writes, so no round is written twice.
Ctrl-C or SIGTERM lets the batch being written finish and be stored, then stops.
"""
from __future__ import annotations

import argparse
import signal
import threading

from ..config import QUIZ
from ..corpus import CorpusError, load_corpus
from ..lm.bundle import active_bundle_path, load_bundle
from .quiz import quiz_pool
from .round_library import fill, worker_name
from .store import Store


def make(store: Store, bundle, pool, levels: list[int], rounds: int | None, until_stocked: bool,
         stop: threading.Event, stock: int = QUIZ.library_stock, batch: int = QUIZ.library_batch) -> int:
    """Write rounds of ``bundle`` at ``levels``, a batch per level in turn, until ``rounds`` are stored,
    every level holds ``stock`` (with ``until_stocked`` or ``rounds``; else wait for players to need more)
    or ``stop`` is set; how many were stored."""
    worker, made = worker_name(), 0
    while not stop.is_set() and (rounds is None or made < rounds):
        claimed = 0
        for level in levels:
            if stop.is_set() or made == rounds:
                break
            n = batch if rounds is None else min(batch, rounds - made)
            tried, stored = fill(store, bundle, pool, level, n, worker, stock)
            claimed, made = claimed + tried, made + stored
        if not claimed:  # every level is stocked (or has no abstract left)
            if until_stocked or rounds is not None:
                break
            stop.wait(5 * QUIZ.library_refresh_s)
    return made


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="bundle directory (default: the active bundle)")
    parser.add_argument("--data", help="the corpus CSV (default: $PATENT_CORPUS or data/)")
    parser.add_argument("--levels", type=int, nargs="+", choices=range(len(QUIZ.levels)),
                        default=list(range(len(QUIZ.levels))), help="levels of QUIZ.levels (default: all)")
    parser.add_argument("--rounds", type=int, help="stop after storing this many rounds")
    parser.add_argument("--until-stocked", action="store_true", help="stop once every level holds --stock rounds")
    parser.add_argument("--stock", type=int, default=QUIZ.library_stock, help="rounds per level to keep")
    parser.add_argument("--database", help="SQLAlchemy URL (default: $DATABASE_URL, else data/quiz.sqlite)")
    args = parser.parse_args(argv)
    bundle = load_bundle(args.model or active_bundle_path())
    try:
        pool = quiz_pool(bundle, load_corpus(args.data))
    except CorpusError as exc:
        parser.error(str(exc))
    if not pool.documents:
        parser.error(f"the corpus has none of {bundle.name}'s held-out abstracts: is it the one it was trained on?")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    made = make(Store(args.database), bundle, pool, args.levels, args.rounds, args.until_stocked, stop, args.stock)
    print(f"{made} rounds of {bundle.name} stored" + (" (stopped)" if stop.is_set() else ""))


if __name__ == "__main__":
    main()
