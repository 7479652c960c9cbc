"""Quiz rounds for blind readers: the rounds in text files without answers, the key in another.

    python bench/blind_rounds.py --out /tmp/blind [--rounds 20] [--old 15] [--readers 2] [--seed N]

Writes OUT/reader-K/rounds.txt for each of the readers (numbered rounds: opening, options A-C;
difficulty not shown; rounds dealt in turn) and OUT/key.json (per round: its reader, the human
option, the difficulty, the reader model's pick). Rounds of every difficulty, and of the old round
maker (bench/quiz_judges.py), are shuffled together, each from its own abstract. Give each
rounds.txt to a fresh reader; score their picks with ``--score picks-1.json picks-2.json ...`` (per
reader a JSON list of "A"/"B"/"C" in round order), which prints how often the readers, and the
reader model, found the human per difficulty with 95% intervals. The files hold abstracts: keep
them out of the repository.
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
    key = []
    for reader in range(args.readers):
        lines = []
        for n, i in enumerate(order[reader::args.readers], 1):
            name, r = rounds[i]
            lines += [f"=== Round {n} ===", f"Opening: {r.opening} …"]
            lines += [f"{label}: … {option.text} …" for label, option in zip("ABC", r.options)] + [""]
            key.append({"reader": reader + 1, "round": n, "human": "ABC"[r.human_index], "difficulty": name,
                        "doc_id": r.doc_id, "model_pick": None if r.reader_pick is None else "ABC"[r.reader_pick]})
        (out / f"reader-{reader + 1}").mkdir(parents=True, exist_ok=True)
        (out / f"reader-{reader + 1}" / "rounds.txt").write_text("\n".join(lines))
    (out / "key.json").write_text(json.dumps(key, indent=1))
    print(f"{len(rounds)} rounds in {out}/reader-*/rounds.txt; key in {out / 'key.json'}")


def score(args) -> None:
    key = json.loads((Path(args.out) / "key.json").read_text())
    picks = [json.loads(Path(p).read_text()) for p in args.score]
    for reader, chosen in enumerate(picks, 1):
        rounds = [k for k in key if k["reader"] == reader]
        if len(chosen) != len(rounds):
            sys.exit(f"{len(chosen)} picks for reader {reader}'s {len(rounds)} rounds")
        for k, pick in zip(rounds, chosen):
            k["pick"] = pick
    key = [k for k in key if "pick" in k]
    print("| difficulty | rounds | readers found the human | reader model found it |\n|---|---|---|---|")
    for name in dict.fromkeys(k["difficulty"] for k in key):
        mine = [k for k in key if k["difficulty"] == name]
        found, model = sum(k["pick"] == k["human"] for k in mine), sum(k["model_pick"] == k["human"] for k in mine)
        low, high = wilson(found, len(mine))
        scored = "–" if all(k["model_pick"] is None for k in mine) else f"{model}"
        print(f"| {name} | {len(mine)} | {found} ({found / len(mine):.0%}) [{low:.0%}, {high:.0%}] | {scored} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", required=True, help="a directory outside the repository")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per difficulty")
    parser.add_argument("--old", type=int, default=15, help="rounds of the old round maker (medium)")
    parser.add_argument("--readers", type=int, default=1, help="files to deal the rounds into, one per reader")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--score", nargs="+", default=None,
                        help="each reader's picks (a JSON list per reader, in order) to score against the key")
    args = parser.parse_args()
    score(args) if args.score else write(args)


if __name__ == "__main__":
    main()
