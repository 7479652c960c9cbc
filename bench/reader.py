"""The reader's cost: N continuations scored after one reading of the opening, against re-reading it for each.

    PATENT_CORPUS=../shared/data/neural_network_patent_query.csv python bench/reader.py [--openings 10] [--candidates 8 24]

Openings are the first 30 words of corpus abstracts, continuations the next 18 words of others
(what a level for readers scores: the real one and the critic's shortlist, each also alone for
specificity). "once": engine.lm.reader.Reader.score with all of them; "re-read": one call per
continuation. Medians over the openings; the scores agree (tests/test_reader.py).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from engine.corpus import load_corpus
from engine.lm.reader import READER_NAME, Reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--openings", type=int, default=10)
    parser.add_argument("--candidates", type=int, nargs="*", default=[8, 24])
    args = parser.parse_args()
    words = [d.text.split() for d in load_corpus(args.data).documents if len(d.text.split()) >= 48]
    reader = Reader(memory=0)  # nothing remembered: every call reads
    reader.score(" ".join(words[0][:30]), [" ".join(words[1][30:48])])  # warm-up
    print(f"reader {READER_NAME}, {args.openings} openings of 30 words, continuations of 18 words, one thread\n")
    print("| continuations | opening read once | re-read for each | re-read / once |\n|---|---|---|---|")
    for n in args.candidates:
        once, again = [], []
        for k in range(args.openings):
            opening = " ".join(words[k][:30])
            texts = [" ".join(words[(k + j + 1) % len(words)][30:48]) for j in range(n)]
            started = time.perf_counter()
            reader.score(opening, texts)
            once.append(time.perf_counter() - started)
            started = time.perf_counter()
            for text in texts:
                reader.score(opening, [text])
            again.append(time.perf_counter() - started)
        print(f"| {n} | {np.median(once) * 1000:.0f} ms | {np.median(again) * 1000:.0f} ms | "
              f"{np.median(again) / np.median(once):.2f}x |")


if __name__ == "__main__":
    main()
