"""A character n-gram model of word spellings: what an open-vocabulary metric charges for a word
outside the vocabulary (Mielke et al. 2019, "What Kind of Language Is Hard to Language-Model?").

Interpolated Witten-Bell smoothing over the characters of each word and an end-of-word symbol,
backing off to a uniform distribution over the characters seen in training plus "end" and "other".
"""
from __future__ import annotations

import math
from collections import defaultdict

END, OTHER = "\x03", "\x04"  # end of word; any character never seen in training


class SpellingModel:
    def __init__(self, words, order: int = 5):
        self.order = order
        self.alphabet = {c for w in words for c in w} | {END, OTHER}
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for word in words:
            chars = list(word) + [END]
            for i, c in enumerate(chars):
                for n in range(order):  # contexts of length 0 .. order-1
                    if i - n >= 0:
                        self.counts["".join(chars[i - n:i])][c] += 1
        self.totals = {h: sum(f.values()) for h, f in self.counts.items()}

    def prob(self, history: str, char: str) -> float:
        """p(char | history), interpolating every context length from the empty one up."""
        p = 1 / len(self.alphabet)
        for n in range(min(len(history), self.order - 1) + 1):
            h = history[len(history) - n:]
            if h not in self.totals:
                break
            followers, total = self.counts[h], self.totals[h]
            p = (followers.get(char, 0) + len(followers) * p) / (total + len(followers))
        return p

    def log2prob(self, word: str) -> float:
        """log2 p(spelling of ``word`` followed by the end of the word)."""
        chars = [c if c in self.alphabet else OTHER for c in word] + [END]
        return sum(math.log2(self.prob("".join(chars[max(0, i - self.order + 1):i]), c))
                   for i, c in enumerate(chars))
