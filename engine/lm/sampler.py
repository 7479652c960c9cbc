"""Turn the model's next-token distribution into the one we sample from, and sample it.

Both work on one distribution (vocabulary,) or a batch of them (N, vocabulary), in float32; the
top-k and top-p cuts sort only as far as they need to.
"""
from __future__ import annotations


import numpy as np

from ..config import MAX_DIVERSITY
from .settings import check_limits

_BLOCK = 128  # sampling finds the block of this many tokens first, then the token within it
_TOP_P_PREFIX = 64  # top-p first looks for its cut among this many likeliest tokens, then 4x more, ...
GREEDY_BELOW = 1e-6  # a log-probability gap of 1e-5 already becomes 10 nats: sampling is greedy anyway


def adjust(log_probs: np.ndarray, diversity, top_k: int = 0, top_p: float = 1.0, banned=()) -> np.ndarray:
    """The distribution to sample from: p ** (1 / diversity) renormalised, then cut to top-k and top-p.

    diversity: one value, or one per row of a batch. Diversity 0 is greedy: all the mass on the
    likeliest allowed token (no division by zero). So is any diversity below GREEDY_BELOW, where
    dividing by it would overflow to infinities and NaN.
    """
    diversities = np.atleast_1d(np.asarray(diversity, dtype=np.float64))
    wrong = diversities[~((diversities >= 0) & (diversities <= MAX_DIVERSITY))]  # NaN fails both
    check_limits(diversity=float(wrong[0] if len(wrong) else diversities[0]), top_k=top_k, top_p=top_p)
    z = np.asarray(log_probs, dtype=np.float32)
    if len(banned):
        z = z.copy()
        z[..., list(banned)] = -np.inf
    d = diversities.astype(np.float32).reshape(diversities.shape + (1,) * (z.ndim - diversities.ndim))
    greedy = d < GREEDY_BELOW
    z = z - z.max(axis=-1, keepdims=True)  # a new array: the caller's is never changed
    if (d != 1).any():
        z /= np.where(greedy, 1, d)  # the tutorial's temperature: p ∝ exp(log p / diversity)
    if top_k and top_k < z.shape[-1]:
        z[z < np.partition(z, -top_k, axis=-1)[..., [-top_k]]] = -np.inf  # the k-th largest, kept as an axis
    p = np.exp(z, out=z)
    p /= p.sum(axis=-1, keepdims=True)
    if top_p < 1:
        p = _top_p(p, top_p)
    if greedy.any():
        one_hot = np.zeros_like(p)
        np.put_along_axis(one_hot, np.argmax(p, axis=-1)[..., None], 1.0, axis=-1)
        p = np.where(greedy, one_hot, p)
    return p


def _top_p(p: np.ndarray, top_p: float) -> np.ndarray:
    """Keep the smallest set of likeliest tokens holding ``top_p`` of the mass, renormalised; sorts
    only the head of the distribution where it holds that much (it usually does)."""
    rows = p.reshape(-1, p.shape[-1])
    m = min(_TOP_P_PREFIX, rows.shape[-1])
    while True:
        head = np.argpartition(-rows, m - 1, axis=-1)[:, :m] if m < rows.shape[-1] else np.tile(
            np.arange(m), (len(rows), 1))
        head_p = np.take_along_axis(rows, head, axis=-1)
        order = np.lexsort((head, -head_p), axis=-1)  # likeliest first, ties by token id
        head, head_p = np.take_along_axis(head, order, -1), np.take_along_axis(head_p, order, -1)
        if m == rows.shape[-1] or (head_p.sum(axis=-1) >= top_p).all():
            break
        m = min(4 * m, rows.shape[-1])
    keep = np.cumsum(head_p, axis=-1) - head_p < top_p - 1e-6
    out = np.zeros_like(rows)
    np.put_along_axis(out, head, np.where(keep, head_p, 0), axis=-1)
    out /= out.sum(axis=-1, keepdims=True)
    return out.reshape(p.shape)


def sample(p: np.ndarray, rng: np.random.Generator) -> int:
    """Draw one index from ``p``; the same generator state gives the same draw."""
    return int(sample_rows(p[None], [rng])[0])


def sample_rows(p: np.ndarray, rngs) -> np.ndarray:
    """One index per row of ``p`` (N, vocabulary), row i drawn with its own generator ``rngs[i]``.

    The inverse of the cumulative distribution, found in two steps: the block of ``_BLOCK`` tokens
    from the blocks' running totals, then the token within it (a running total over the whole
    vocabulary is one slow sequential pass per row). A token of probability 0 is never drawn.
    """
    rows, size = np.arange(len(p)), p.shape[-1]
    starts = np.arange(0, size, _BLOCK)
    totals = np.cumsum(np.add.reduceat(p, starts, axis=-1), axis=-1)
    u = np.array([rng.random() for rng in rngs]) * totals[:, -1]
    u = np.minimum(u, np.nextafter(totals[:, -1], 0))  # below the total, after rounding too
    block = np.count_nonzero(totals <= u[:, None], axis=-1)
    columns = starts[block][:, None] + np.arange(_BLOCK)
    running = np.cumsum(np.where(columns < size, p[rows[:, None], np.minimum(columns, size - 1)], 0), axis=-1)
    rest = u - np.where(block > 0, totals[rows, block - 1], 0)
    rest = np.minimum(rest, np.nextafter(running[:, -1], 0))  # below the block's own total: lands on a token > 0
    return starts[block] + np.count_nonzero(running <= rest[:, None], axis=-1)
