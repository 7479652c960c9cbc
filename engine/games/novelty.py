"""The memorisation guard: does a text copy a run of words from a training abstract?

Every run of NOVELTY_RUN words in the training split is kept as a 64-bit hash in one sorted array
(a few MB for the whole split); a text's runs are looked up with a binary search.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..config import NOVELTY_RUN
from ..lm.tokenizer import is_word, split_words


def _hashes(words: list[str], n: int) -> np.ndarray:
    """A stable 64-bit hash of each run of ``n`` consecutive words."""
    runs = (" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1))
    return np.fromiter((int.from_bytes(hashlib.blake2b(r, digest_size=8).digest(), "little", signed=True)
                        for r in runs), np.int64)


@dataclass(frozen=True)
class TrainingRuns:
    """The NOVELTY_RUN-word runs of the training abstracts."""

    hashes: np.ndarray  # sorted
    n: int = NOVELTY_RUN

    @classmethod
    def of(cls, texts, n: int = NOVELTY_RUN) -> "TrainingRuns":
        parts = [_hashes([t for t in split_words(text) if is_word(t)], n) for text in texts]
        return cls(np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64), n)

    def longest_copy(self, context: list[str], tokens: list[str]) -> int:
        """The most words in a row, reaching into ``tokens``, that a training abstract also has (0
        when no run of ``n`` words is shared). ``context``: the tokens before (an opening), so a
        run that starts in it counts too."""
        before = [t for t in context if is_word(t)][-(self.n - 1):]
        words = before + [t for t in tokens if is_word(t)]
        if len(words) < self.n or not len(self.hashes):
            return 0
        h = _hashes(words, self.n)
        at = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        hit = (self.hashes[at] == h).tolist()
        longest = run = 0
        for i, found in enumerate(hit):
            run = run + 1 if found and i + self.n > len(before) else 0
            longest = max(longest, run)
        return longest + self.n - 1 if longest else 0
