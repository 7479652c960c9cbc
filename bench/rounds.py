"""Time to prepare a quiz round: today's best-of-16 round against the plain round made before, in one run.

    PATENT_CORPUS=../shared/data/neural_network_patent_query.csv python bench/rounds.py [--rounds 20]

"before": the round as engine/quiz.py made it until the batched generator: two continuations,
each from a fresh read of the opening, then all three options re-scored from fresh reads (the
opening went through the network five times). It is rebuilt here from the engine's single-row
functions, which are at least as fast as the old ones.
"now": engine.quiz.make_round: the opening read once, 16 candidates written together as one batch
with each word's probability and rank kept, the real continuation scored once, the best two kept.
Rounds alternate between the ways on the same documents; the figures are medians. The bank of
prepared rounds writes QUIZ_BANK_BATCH rounds together when it refills; that cost is shown per round.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from engine.bundle import active_bundle_path, load_bundle
from engine.config import (QUIZ_BANK_BATCH, QUIZ_CANDIDATES, QUIZ_CONTINUATION_WORDS, QUIZ_PROMPT_WORDS,
                           QUIZ_REPETITION_GUARD)
from engine.corpus import load_corpus
from engine.generate import generate, prepare_seed, score
from engine.quiz import cut_words, make_round, make_rounds, opening_end
from engine.tokenizer import detokenize, split_words


def round_before(bundle, tokens: list[str], end: int, rng: np.random.Generator, diversity: float) -> None:
    """The plain round as it was made before: five reads of the opening, two generations, three scorings."""
    opening, real = tokens[:end], cut_words(tokens[end:], QUIZ_CONTINUATION_WORDS)
    fakes = [[w.token for w in generate(bundle, detokenize(opening), QUIZ_CONTINUATION_WORDS, diversity=diversity,
                                        stop_at_eos=False, repetition_guard=QUIZ_REPETITION_GUARD,
                                        rng_seed=int(rng.integers(2**31))).words] for _ in range(2)]
    for option in (real, *fakes):
        score(bundle, prepare_seed(bundle, detokenize(opening)), option)


def median_ms(times: list[float]) -> float:
    return float(np.median(times)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--diversity", type=float, default=1.0)
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    documents = bundle.test_documents(load_corpus(args.data))
    if not documents:
        sys.exit("the corpus is not the one this bundle was trained on")
    usable = [(d, t, e) for d in documents for t in [split_words(d.text)]
              for e in [opening_end(t, bundle.tokenizer.index, QUIZ_PROMPT_WORDS, QUIZ_CONTINUATION_WORDS)] if e]
    rng = np.random.default_rng(0)
    make_round(bundle, [usable[0][0]], rng, args.diversity)  # warm-up
    before, now, plain, batched = [], [], [], []
    for i in range(args.rounds):
        doc, tokens, end = usable[i % len(usable)]
        started = time.perf_counter()
        round_before(bundle, tokens, end, rng, args.diversity)
        before.append(time.perf_counter() - started)
        started = time.perf_counter()
        make_round(bundle, [doc], rng, args.diversity)
        now.append(time.perf_counter() - started)
        started = time.perf_counter()
        make_round(bundle, [doc], rng, args.diversity, candidates=2)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        make_rounds(bundle, [doc], rng, [args.diversity] * QUIZ_BANK_BATCH)
        batched.append((time.perf_counter() - started) / QUIZ_BANK_BATCH)
    print(f"bundle: {bundle.name}, {args.rounds} rounds of each kind, diversity {args.diversity:g}, "
          f"{QUIZ_CONTINUATION_WORDS} words per option, {os.cpu_count()} CPU cores")
    print(f"plain round as made before (2 candidates, opening read 5 times): {median_ms(before):7.1f} ms")
    print(f"plain round now (2 candidates, opening read once):                {median_ms(plain):7.1f} ms")
    print(f"best-of-{QUIZ_CANDIDATES} round now (the quiz's rounds):                   {median_ms(now):7.1f} ms")
    print(f"best-of-{QUIZ_CANDIDATES} rounds, {QUIZ_BANK_BATCH} written together (the bank's refills): "
          f"{median_ms(batched):7.1f} ms a round")
    print(f"best-of-{QUIZ_CANDIDATES} now / plain before: {median_ms(now) / median_ms(before):.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
