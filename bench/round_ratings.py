"""A simulated crowd answers stored quiz rounds: do their Elo-style ratings find each round's difficulty?

    python bench/round_ratings.py [--rounds 40] [--answers 10 30 100] [--spread 0.1]

Each level of the quiz gets --rounds stored rounds (rows of the round library in a SQLite file of a
temporary directory; no model needed). A round's true chance that a player finds the human is its
level's rate, the strongest judge's of docs/results.md (100%, 99%, 51%, 47%, 45%), plus a normal
spread of --spread between rounds (clipped to 2%-98%). Simulated players then answer every round in
a random order, and each answer goes through engine.games.round_library.rate, as the quiz's answers
do. Printed per number of answers per round: each level's mean rating and the share of players it
implies are fooled (beside the truth), the rank correlation of the ratings with the rounds' true
rates and with their levels, and how many rounds the rating places on their own level (the level
whose true rate is nearest to what the rating implies), or within one level.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.games.round_library import READY, fooled_share, rate, stored_rounds  # noqa: E402
from engine.games.store import Store  # noqa: E402

JUDGED = (1.00, 0.99, 0.51, 0.47, 0.45)  # the strongest judge finds the human this often, per level


def simulate(rounds: int, answers: int, spread: float, rng) -> dict:
    store = Store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='ratings-')) / 'library.sqlite'}")
    levels = np.repeat(np.arange(len(JUDGED)), rounds)
    truth = np.clip(np.array(JUDGED)[levels] + rng.normal(0, spread, len(levels)), 0.02, 0.98)
    ids = [uuid.uuid4().hex for _ in levels]
    with store.engine.begin() as conn:
        conn.execute(stored_rounds.insert(), [
            {"round_id": i, "bundle": "simulated", "level": int(lv), "doc_id": str(k), "status": READY,
             "claimed_at": datetime.now(timezone.utc), "answers": 0, "fooled": 0, "rating": 0.0}
            for k, (i, lv) in enumerate(zip(ids, levels))])
    order = rng.permutation(np.repeat(np.arange(len(ids)), answers))  # the crowd's answers, interleaved
    for k in order:
        with store.engine.begin() as conn:
            rate(conn, ids[k], bool(rng.random() < truth[k]))
    ratings = np.array([store.round_record(i)[2] for i in ids])
    found = 1 - np.array([fooled_share(r) for r in ratings])
    placed = np.abs(found[:, None] - np.array(JUDGED)[None, :]).argmin(axis=1)
    return {"levels": levels, "truth": truth, "ratings": ratings, "found": found, "placed": placed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="stored rounds per level")
    parser.add_argument("--answers", type=int, nargs="+", default=[10, 30, 100], help="answers per round")
    parser.add_argument("--spread", type=float, default=0.1, help="spread of the rounds' true rates within a level")
    parser.add_argument("--rng-seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.rng_seed)
    for answers in args.answers:
        r = simulate(args.rounds, answers, args.spread, rng)
        print(f"\n{answers} answers per round, {args.rounds} rounds per level")
        for level, judged in enumerate(JUDGED):
            mine = r["levels"] == level
            print(f"  level {level}: mean rating {r['ratings'][mine].mean():+6.0f}, found {r['found'][mine].mean():.0%} "
                  f"(true {r['truth'][mine].mean():.0%}, judges {judged:.0%})")
        print(f"  rank correlation of the ratings with the true rates: "
              f"{spearmanr(-r['ratings'], r['truth']).statistic:.2f}, with the levels: "
              f"{spearmanr(r['ratings'], r['levels']).statistic:.2f}")
        near = np.abs(r["placed"] - r["levels"])
        print(f"  placed on their own level: {(near == 0).mean():.0%}, within one level: {(near <= 1).mean():.0%}")


if __name__ == "__main__":
    main()
