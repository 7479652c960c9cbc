"""Turn the model's next-token distribution into the one we sample from, and sample it."""
from __future__ import annotations

import math

import numpy as np

from .config import MAX_DIVERSITY

GREEDY_BELOW = 1e-6  # a log-probability gap of 1e-5 already becomes 10 nats: sampling is greedy anyway


def check_settings(diversity: float, top_k: int = 0, top_p: float = 1.0) -> None:
    """Reject settings that have no meaning, with a message a person can act on."""
    if not isinstance(diversity, (int, float)) or not math.isfinite(diversity) or not 0 <= diversity <= MAX_DIVERSITY:
        raise ValueError(f"diversity must be a number from 0 (always the likeliest word) to {MAX_DIVERSITY:g}")
    if int(top_k) != top_k or top_k < 0:
        raise ValueError("top-k must be a whole number, 0 for no limit")
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError("top-p must be above 0 and at most 1")


def adjust(log_probs: np.ndarray, diversity: float, top_k: int = 0, top_p: float = 1.0,
           banned=()) -> np.ndarray:
    """The distribution to sample from: p ** (1 / diversity) renormalised, then cut to top-k and top-p.

    Diversity 0 is greedy: all the mass on the likeliest allowed token (no division by zero). So is
    any diversity below GREEDY_BELOW, where dividing by it would overflow to infinities and NaN.
    """
    check_settings(diversity, top_k, top_p)
    z = np.array(log_probs, dtype=np.float64)
    z[list(banned)] = -np.inf
    if diversity < GREEDY_BELOW:
        out = np.zeros_like(z)
        out[int(np.argmax(z))] = 1.0
        return out
    z = z / diversity  # the tutorial's temperature: p ∝ exp(log p / diversity)
    if top_k and top_k < len(z):
        z[z < np.partition(z, -top_k)[-top_k]] = -np.inf
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p < 1:
        order = np.argsort(-p, kind="stable")
        keep = np.cumsum(p[order]) - p[order] < top_p - 1e-9  # smallest prefix reaching top_p
        p[order[~keep]] = 0
        p /= p.sum()
    return p


def sample(p: np.ndarray, rng: np.random.Generator) -> int:
    """Draw one index from ``p``; the same generator state gives the same draw."""
    return int(min(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"), len(p) - 1))
