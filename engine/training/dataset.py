"""Training examples from encoded documents, for both model kinds."""
from __future__ import annotations

import numpy as np


def sequence_chunks(docs: list[list[int]], max_len: int) -> list[list[int]]:
    """Each document as BOS ... EOS, split into pieces of at most max_len + 1 tokens (inputs + 1)."""
    chunks = []
    for ids in docs:
        for start in range(0, max(1, len(ids) - 1), max_len):
            chunks.append(ids[start:start + max_len + 1])
    return [c for c in chunks if len(c) > 1]


def window_examples(docs: list[list[int]], window: int) -> tuple[np.ndarray, np.ndarray]:
    """(left-padded previous ``window`` tokens, next token) for every position after BOS."""
    xs, ys = [], []
    for ids in docs:
        padded = [0] * window + ids
        for t in range(1, len(ids)):
            xs.append(padded[t:t + window])
            ys.append(ids[t])
    return np.array(xs, np.int32).reshape(-1, window), np.array(ys, np.int32)


def fixed_widths(lengths: list[int], count: int) -> list[int]:
    """The ``count`` batch widths that leave the least padding when every sequence is padded to the
    narrowest width that holds it (dynamic programming over the distinct lengths; the widest is
    the longest length)."""
    values, counts = np.unique(lengths, return_counts=True)
    rows = np.concatenate([[0], np.cumsum(counts)])
    tokens = np.concatenate([[0], np.cumsum(counts * values)])
    first, last = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
    # padding[i, j]: the padding when the lengths values[i..j] are all padded to values[j]
    padding = np.where(first <= last, values[last] * (rows[last + 1] - rows[first])
                       - (tokens[last + 1] - tokens[first]), np.inf)
    least, starts = padding[0], []  # least[j]: least padding of values[..j] with the widths so far
    for _ in range(min(count, len(values)) - 1):
        total = np.concatenate([[np.inf], least[:-1]])[:, None] + padding  # last width starts at i
        starts.append(total.argmin(axis=0))
        least = total.min(axis=0)
    widths, j = [int(values[-1])], len(values) - 1
    for start in reversed(starts):
        j = int(start[j]) - 1
        widths.append(int(values[j]))
    return sorted(widths)


def pad_batch(chunks: list[list[int]], widths: list[int] | None = None, rows: int | None = None):
    """Right-padded (inputs, targets, weights); weights are 0 on padding.

    The batch is as wide as its longest chunk, or as the narrowest of ``widths`` that holds it;
    ``rows`` adds empty rows (weight 0) up to that many.
    """
    width = max(len(c) for c in chunks) - 1
    if widths is not None:
        width = widths[int(np.searchsorted(widths, width))]
    x = np.zeros((max(rows or 0, len(chunks)), width), np.int32)
    y = np.zeros_like(x)
    for row, c in enumerate(chunks):
        x[row, :len(c) - 1] = c[:-1]
        y[row, :len(c) - 1] = c[1:]
    return x, y, (y != 0).astype(np.float32)


def sequence_batches(chunks: list[list[int]], batch_size: int, rng: np.random.Generator | None,
                     widths: list[int] | None = None, rows: int | None = None):
    """Batches of similar length (little padding); shuffled batch order when rng is given.

    Without ``widths`` each batch is as wide as its longest chunk (every batch may differ). With
    them every batch is ``rows`` x one of the widths, so a compiled backend compiles one step per
    width: chunks are grouped by the narrowest width that holds them (in random order within it
    when rng is given), a group's leftover chunks share the next group's width, and the last
    batch is filled with empty rows.
    """
    lengths = np.array([len(c) - 1 for c in chunks])
    noise = rng.uniform(0, 8, len(chunks)) if rng is not None else np.zeros(len(chunks))
    key = lengths + noise if widths is None else np.searchsorted(widths, lengths) + noise / 8
    order = sorted(range(len(chunks)), key=lambda i: key[i])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    batches = [pad_batch([chunks[i] for i in b], widths, rows) for b in batches]
    # Keras gives TensorFlow the shape of its first two batches: where widths vary, so must theirs
    wider = next((i for i, b in enumerate(batches) if b[0].shape[1] != batches[0][0].shape[1]), None)
    if wider:
        batches[1], batches[wider] = batches[wider], batches[1]
    return batches


def sequence_dataset(chunks: list[list[int]], batch_size: int, seed: int | None,
                     widths: list[int] | None = None, rows: int | None = None):
    """A Keras PyDataset of length-bucketed batches (see sequence_batches), reshuffled every epoch
    when seeded. ``shapes`` holds every batch shape it has served."""
    import keras

    class SequenceBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed) if seed is not None else None
            self.batches = sequence_batches(chunks, batch_size, self.rng, widths, rows)
            self.shapes = set()

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            self.shapes.add(self.batches[index][0].shape)
            return self.batches[index]

        def on_epoch_end(self):
            if self.rng is not None:
                self.batches = sequence_batches(chunks, batch_size, self.rng, widths, rows)

    return SequenceBatches()
