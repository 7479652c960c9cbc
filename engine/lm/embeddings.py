"""The learned word embeddings: nearest neighbours and a 2-D map of the most frequent words."""
from __future__ import annotations

import numpy as np

from .tokenizer import is_word


def _word_ids(tokenizer, limit: int | None = None) -> list[int]:
    ids = [i for i, t in enumerate(tokenizer.vocab) if is_word(t)]  # vocab is sorted by frequency
    return ids[:limit] if limit else ids


def nearest(bundle, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The k words whose embeddings have the highest cosine similarity to ``word``'s.

    Raises KeyError when the word is not in the vocabulary.
    """
    tok = bundle.tokenizer
    query = tok.index.get(word) if word in tok.index else tok.index.get(word.lower())
    if query is None:
        raise KeyError(word)
    ids = np.array(_word_ids(tok))
    vectors = bundle.net.embedding[ids]
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
    target = bundle.net.embedding[query] / (np.linalg.norm(bundle.net.embedding[query]) + 1e-9)
    sims = vectors @ target
    order = [i for i in np.argsort(-sims) if ids[i] != query][:k]
    return [(tok.vocab[ids[i]], float(sims[i])) for i in order]


def pca_map(bundle, n: int = 300) -> tuple[list[str], np.ndarray]:
    """The n most frequent words projected on the first two principal components of their embeddings."""
    ids = _word_ids(bundle.tokenizer, n)
    x = bundle.net.embedding[ids]
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return [bundle.tokenizer.vocab[i] for i in ids], x @ vt[:2].T
