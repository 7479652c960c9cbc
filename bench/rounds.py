"""Time to prepare a quiz round at each level of the difficulty scale, beside the plain round made before, in one run.

    PATENT_CORPUS=../shared/data/neural_network_patent_query.csv python bench/rounds.py [--rounds 12]

"before": the round as engine/games/quiz.py made it until the batched generator: two continuations,
each from a fresh read of the opening, then all three options re-scored from fresh reads (the
opening went through the network five times). It is rebuilt here from the engine's single-row
functions, which are at least as fast as the old ones.
"level k": engine.games.quiz.make_rounds: the opening read once, the level's candidates written together
as one batch with each word's probability and rank kept, the real continuation scored once, copies
of training text dropped, the two nearest the real one in the critic's features kept. Alone (a
player waiting for a round written for them) and QUIZ.bank_batch together (the bank's refills,
shown per round). "best of 16": the issue's yardstick, 16 candidates at the medium level's settings.
"reader out": a level for readers (QuizLevel.for_readers) made without the reader (critic only),
beside it as made (the reader choosing and scoring the options for the reveal), when it is installed.
Rounds alternate between the ways on the same documents (at each level, those it can cut: a level
for readers takes only abstracts whose opening ends at a full stop before a plain continuation);
figures are medians.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from engine.lm.bundle import active_bundle_path, load_bundle
from engine.config import QUIZ
from engine.corpus import load_corpus
from engine.lm.generate import generate, prepare_opening, score
from engine.lm.settings import Sampling
from engine.games.quiz import available_reader, cut_words, make_rounds, opening_end, quiz_pool
from engine.lm.tokenizer import detokenize, split_words


def round_before(bundle, tokens: list[str], end: int, rng: np.random.Generator, diversity: float) -> None:
    """The plain round as it was made before: five reads of the opening, two generations, three scorings."""
    opening, real = tokens[:end], cut_words(tokens[end:], QUIZ.continuation_words)
    fakes = [[w.token for w in generate(bundle, detokenize(opening), Sampling(
        diversity, repetition_guard=QUIZ.repetition_guard, rng_seed=int(rng.integers(2**31)),
        words=QUIZ.continuation_words), stop_at_eos=False).words] for _ in range(2)]
    for option in (real, *fakes):
        score(bundle, prepare_opening(bundle, detokenize(opening)), option)


def median_ms(times: list[float]) -> float:
    return float(np.median(times)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    pool = quiz_pool(bundle, load_corpus(args.data))
    if not pool.documents:
        sys.exit("the corpus is not the one this bundle was trained on")
    rng = np.random.default_rng(0)
    make_rounds(bundle, pool, list(pool.documents[:1]), 0, rng)  # warm-up
    medium = QUIZ.difficulties["medium"]
    scale = QUIZ.levels + (dataclasses.replace(QUIZ.levels[medium], candidates=16),)  # the last: best of 16
    before, alone, batched = [], {k: [] for k in range(len(scale))}, {k: [] for k in range(len(scale))}
    reading = available_reader() is not None
    reader_out = {k: [] for k, spec in enumerate(scale) if spec.for_readers and reading}
    playable = {k: pool.playable(bundle, spec) for k, spec in enumerate(scale)}  # the abstracts each level cuts
    for i in range(args.rounds):
        tokens = split_words(pool.documents[i % len(pool.documents)].text)
        end = opening_end(tokens, bundle.tokenizer.index, QUIZ.prompt_words, QUIZ.continuation_words)
        started = time.perf_counter()
        round_before(bundle, tokens, end, rng, 1.0)
        before.append(time.perf_counter() - started)
        for k in alone:
            doc = playable[k][i % len(playable[k])]
            started = time.perf_counter()
            make_rounds(bundle, pool, [doc], k, rng, levels=scale)
            alone[k].append(time.perf_counter() - started)
            if k in reader_out:
                started = time.perf_counter()
                make_rounds(bundle, pool, [doc], k, rng, levels=scale, reader=False)
                reader_out[k].append(time.perf_counter() - started)
            docs = [playable[k][(i * QUIZ.bank_batch + j) % len(playable[k])] for j in range(QUIZ.bank_batch)]
            started = time.perf_counter()
            make_rounds(bundle, pool, docs, k, rng, levels=scale)
            batched[k].append((time.perf_counter() - started) / QUIZ.bank_batch)
    print(f"bundle: {bundle.name}, {args.rounds} rounds of each kind, {QUIZ.continuation_words} words per option, "
          f"{os.cpu_count()} CPU cores; the reader {'chooses at levels for readers' if reading else 'is not installed'}\n")
    print(f"plain round as made before (2 candidates at diversity 1, opening read 5 times): {median_ms(before):.0f} ms\n")
    print(f"| level | candidates | one round alone | per round, {QUIZ.bank_batch} together | alone / before | "
          "alone, reader out |")
    print("|---|---|---|---|---|---|")
    for k, spec in enumerate(scale):
        out = f"{median_ms(reader_out[k]):.0f} ms" if k in reader_out else "–"
        print(f"| {k if k < len(QUIZ.levels) else 'best of 16'} | {spec.candidates} | {median_ms(alone[k]):.0f} ms | {median_ms(batched[k]):.0f} ms | "
              f"{median_ms(alone[k]) / median_ms(before):.2f}x | {out} |")


if __name__ == "__main__":
    main()
