"""Quiz rounds for a blind reader: the rounds in one text file without answers, the key in another.

    python bench/blind_rounds.py --out /tmp/blind [--rounds 20] [--old 15] [--seed N]

Writes OUT/rounds.txt (numbered rounds: opening, options A-C; difficulty not shown) and
OUT/key.json (per round: the human option, the difficulty, the round maker). Rounds of every
difficulty, and of the old round maker (bench/quiz_judges.py), are shuffled together, each from its
own abstract. Give rounds.txt to a reader; score the picks with ``--score picks.json`` (a JSON list
of "A"/"B"/"C" in round order), which prints how often the human was found per difficulty with
95% intervals. The files hold abstracts: keep them out of the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from quiz_judges import OLD_LEVELS

from engine.lm.bundle import active_bundle_path, load_bundle
from engine.config import QUIZ
from engine.corpus import load_corpus
from engine.games.quiz import make_rounds, quiz_pool
from engine.stats import wilson


def write(args) -> None:
    bundle = load_bundle(args.model or active_bundle_path())
    pool = quiz_pool(bundle, load_corpus(args.data))
    rng = np.random.default_rng(args.seed)
    docs = iter([pool.documents[i] for i in rng.permutation(len(pool.documents))])
    makers = [(name, level, True, None) for name, level in QUIZ.difficulties.items() for _ in range(args.rounds)]
    makers += [("old medium", 1, False, OLD_LEVELS)] * args.old
    rounds = []
    for name, level, critic, levels in makers:
        made = []
        while not made:
            made = make_rounds(bundle, pool, [next(docs)], level, rng, critic, levels or QUIZ.levels)
        rounds.append((name, made[0]))
    order = rng.permutation(len(rounds))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines, key = [], []
    for n, i in enumerate(order, 1):
        name, r = rounds[i]
        lines += [f"=== Round {n} ===", f"Opening: {r.opening} …"]
        lines += [f"{label}: … {option.text} …" for label, option in zip("ABC", r.options)] + [""]
        key.append({"round": n, "human": "ABC"[r.human_index], "difficulty": name, "doc_id": r.doc_id})
    (out / "rounds.txt").write_text("\n".join(lines))
    (out / "key.json").write_text(json.dumps(key, indent=1))
    print(f"{len(rounds)} rounds in {out / 'rounds.txt'}; key in {out / 'key.json'}")


def score(args) -> None:
    key = json.loads((Path(args.out) / "key.json").read_text())
    picks = json.loads(Path(args.score).read_text())
    if len(picks) != len(key):
        sys.exit(f"{len(picks)} picks for {len(key)} rounds")
    print("| difficulty | rounds | reader found the human |\n|---|---|---|")
    for name in dict.fromkeys(k["difficulty"] for k in key):
        right = [p == k["human"] for p, k in zip(picks, key) if k["difficulty"] == name]
        low, high = wilson(sum(right), len(right))
        print(f"| {name} | {len(right)} | {np.mean(right):.0%} [{low:.0%}, {high:.0%}] |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", required=True, help="a directory outside the repository")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per difficulty")
    parser.add_argument("--old", type=int, default=15, help="rounds of the old round maker (medium)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--score", default=None, help="a reader's picks (JSON list) to score against the key")
    args = parser.parse_args()
    score(args) if args.score else write(args)


if __name__ == "__main__":
    main()
