"""Interpolated Kneser-Ney trigram model over token ids: the n-gram baseline.

It computes exactly what ``nltk.lm.KneserNeyInterpolated`` computes (tests check the two agree),
but a whole next-token distribution at a time, which nltk would take hours to do for a test set.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np


def _sparse(counter: dict) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter(counter.keys(), np.int64, len(counter))
    return ids, np.fromiter(counter.values(), np.float64, len(counter))


class KneserNeyTrigram:
    """p(w | a, b) with absolute discounting at each order and continuation counts below the top."""

    order = 3

    def __init__(self, docs: list[list[int]], vocab_size: int, bos: int, discount: float = 0.75):
        self.vocab_size, self.bos, self.d = vocab_size, bos, discount
        tri = defaultdict(lambda: defaultdict(int))  # (a, b) -> w -> count
        for ids in docs:
            seq = [bos, bos] + list(ids)
            for a, b, w in zip(seq, seq[1:], seq[2:]):
                tri[(a, b)][w] += 1
        bigram_types = set(tri) | {(b, w) for (_, b), ws in tri.items() for w in ws}
        # Continuation counts, as nltk defines them: distinct left neighbours of each (context, word).
        unigram_cont = np.zeros(vocab_size)
        for _, w in bigram_types:
            unigram_cont[w] += 1
        self.p1 = unigram_cont / len(bigram_types)
        middle = defaultdict(lambda: defaultdict(int))  # b -> w -> distinct a
        for (_, b), ws in tri.items():
            for w in ws:
                middle[b][w] += 1
        followers = defaultdict(set)
        for b, w in bigram_types:
            followers[b].add(w)
        self.bigram = {}
        for b, conts in middle.items():
            total = sum(conts.values())
            self.bigram[b] = (*_sparse(conts), total, self.d * len(followers[b]) / total)
        self.trigram = {}
        for ctx, ws in tri.items():
            total = sum(ws.values())
            self.trigram[ctx] = (*_sparse(ws), total, self.d * len(ws) / total)

    def _level(self, table, key, lower: np.ndarray) -> np.ndarray:
        if key not in table:  # unseen context: defer to the lower order (alpha 0, gamma 1)
            return lower
        ids, counts, total, gamma = table[key]
        p = gamma * lower
        p[ids] += np.maximum(counts - self.d, 0) / total
        return p

    def distribution(self, a: int, b: int) -> np.ndarray:
        """p(. | a, b) over the whole vocabulary."""
        return self._level(self.trigram, (a, b), self._level(self.bigram, b, self.p1.copy()))

    def doc_predictions(self, ids: list[int]):
        """(probability, rank) of every token of one encoded document given without its BOS."""
        seq = [self.bos, self.bos] + list(ids)
        probs, ranks = [], []
        for t in range(2, len(seq)):
            p = self.distribution(seq[t - 2], seq[t - 1])
            probs.append(p[seq[t]])
            ranks.append(int((p > p[seq[t]]).sum()))
        return probs, ranks
