"""A continuous cache (Grave et al. 2017): the model may copy any word of the text so far.

Every past position i leaves (h_i, the word that followed it); at position t the cache proposes
those words with weights softmax(theta * h_t . h_i), and the model's distribution becomes

    p(w) = (1 - mix) * p_vocab(w) + mix * sum of the weights of the positions followed by w.

Words are compared by their surface string, so a word outside the vocabulary (read as <unk>) can be
copied and written out verbatim. Only the cache can write such a word, so its vote is gated by the
model's own belief that a word outside the vocabulary comes next: a position followed by one votes
with mix * weight * min(1, p_vocab(<unk>) / CACHE_UNKNOWN_CONFIDENT), and the model keeps the rest.
Without the gate an opening's unknown word filled every slot where the model was unsure ("a plurality
recognise neural network recognise"). ``Memory`` serves the generator one position at a time;
``document`` scores a whole document at once from the Keras model's hidden states; a test checks
that the two agree.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np

from ..config import CACHE_UNKNOWN_CONFIDENT, SPECIAL_TOKENS, UNK, CacheConfig

UNK_ID = SPECIAL_TOKENS.index(UNK)


def unknown_gate(p_unk) -> np.ndarray:
    """The share of its vote a past word outside the vocabulary keeps, given the model's p(<unk>)."""
    return np.minimum(1.0, np.asarray(p_unk, np.float64) / CACHE_UNKNOWN_CONFIDENT)


def attention(h: np.ndarray, keys: np.ndarray, theta: float) -> np.ndarray:
    """softmax(theta * keys @ h) over the past positions (empty when there are none)."""
    if not len(keys):
        return np.zeros(0)
    z = theta * (keys @ h).astype(np.float64)  # the product in float32: no float64 copy of the keys
    w = np.exp(z - z.max())
    return w / w.sum()


def document(probs: np.ndarray, hidden: np.ndarray, ids: np.ndarray, words: list[str],
             cache: CacheConfig, full: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Every position of one document at once.

    probs (T, V): the model's distribution at each position; hidden (T, d): its hidden states;
    ids (T,): the next token at each position (<unk> for unknown words); words: their surface strings.
    Returns (mixed, kept, copied): (T, V) probabilities over ids (cache mass on unknown words goes to
    <unk>); (T,) the share left to the model (1 - mix, more where the gate holds back an unknown
    word's vote, 1 where the cache is empty); (T,) the cache's probability of the actual next word,
    matched by its surface string. So the probability of the actual next word is
    kept * p_vocab(word) + copied, with p_vocab(word) = p(<unk>) * p(spelling) for a word outside
    the vocabulary. ``full=False`` skips the (T, V) array (returns None for it).
    """
    n = len(ids)
    past = np.arange(n)[None, :]
    now = np.arange(n)[:, None]
    visible = (past < now) & (past >= now - cache.window) & cache.proposes(np.asarray(ids))[None, :]
    if not cache.mix or n < 2:
        return probs, np.ones(n), np.zeros(n)
    h = hidden.astype(np.float64)
    z = np.where(visible, cache.theta * (h @ h.T), -np.inf)
    z -= np.where(visible.any(1), z.max(1), 0)[:, None]
    w = np.where(visible, np.exp(z), 0.0)
    w /= np.maximum(w.sum(1, keepdims=True), 1e-300)
    gate = np.where(np.asarray(ids) == UNK_ID, unknown_gate(probs[:, UNK_ID])[:, None], 1.0)
    votes = cache.mix * w * gate  # (T, T): what each past position gives the word that followed it
    kept = 1 - votes.sum(1)
    codes = np.unique(np.array(words, dtype=object), return_inverse=True)[1]
    copied = (votes * (codes[None, :] == codes[:, None])).sum(1)
    if not full:
        return None, kept, copied
    mixed = kept[:, None] * probs
    np.add.at(mixed, (np.repeat(np.arange(n), n), np.tile(ids, n)), votes.ravel())
    return mixed, kept, copied


@dataclass
class Memory:
    """The cache of one generation: the hidden state at each past position whose next word the cache
    may propose, that word (as its vocabulary id, or as vocabulary size + k for the k-th distinct
    unknown word) and the position itself (the window counts every position of the text). Keys and
    codes are arrays that grow by doubling, so a step neither copies nor converts them."""

    cache: CacheConfig
    index: dict[str, int]  # the tokenizer's vocabulary
    unknown: list = field(default_factory=list)
    keys: np.ndarray | None = None  # (capacity, units); the first len(positions) rows are used
    codes: np.ndarray | None = None  # (capacity,)
    positions: list = field(default_factory=list)
    length: int = 0  # positions read so far, kept or not

    def add(self, h: np.ndarray, word: str) -> None:
        self.length += 1
        if not self.cache.proposes(self.index.get(word, UNK_ID)):
            return
        n = len(self.positions)
        if self.keys is None or n == len(self.keys):
            keys, codes = np.empty((max(64, 2 * n), len(h)), np.float32), np.empty(max(64, 2 * n), np.int64)
            if self.keys is not None:
                keys[:n], codes[:n] = self.keys, self.codes
            self.keys, self.codes = keys, codes
        code = self.index.get(word)
        if code is None:
            if word not in self.unknown:
                self.unknown.append(word)
            code = len(self.index) + self.unknown.index(word)
        self.keys[n], self.codes[n] = h, code
        self.positions.append(self.length - 1)

    def copy(self) -> "Memory":
        """An independent copy to write on (a forked generation)."""
        def copied(a):
            return None if a is None else a.copy()

        return Memory(self.cache, self.index, list(self.unknown), copied(self.keys), copied(self.codes),
                      list(self.positions), self.length)

    def mix(self, log_probs: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """(log-probabilities over ids, probabilities of words outside the vocabulary): those of
        kept * p plus the cache's votes (kept = 1 - their sum; see the module's gate), from the model's
        log-probabilities; together they sum to 1 less the model's <unk> mass (words spelled out afresh). Only the words the cache votes for need
        more than a shift, so the vocabulary is passed over once."""
        start = bisect_left(self.positions, self.length - self.cache.window)
        n, size = len(self.positions), len(log_probs)
        if not self.cache.mix or start == n:
            return log_probs, {}
        codes = self.codes[start:n]
        gate = np.where(codes >= size, unknown_gate(np.exp(float(log_probs[UNK_ID]))), 1.0)
        weights = self.cache.mix * attention(h, self.keys[start:n], self.cache.theta) * gate
        votes = np.bincount(codes, weights, minlength=size + len(self.unknown))
        kept = 1 - weights.sum()
        mixed = log_probs + np.float32(np.log(kept))
        voted = codes[codes < size]  # repeats are harmless: each gets the same value
        mixed[voted] = np.log(kept * np.exp(log_probs[voted].astype(np.float64)) + votes[voted])
        return mixed, {w: float(v) for w, v in zip(self.unknown, votes[size:]) if v > 0}
