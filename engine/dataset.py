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


def pad_batch(chunks: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-padded (inputs, targets, weights); weights are 0 on padding."""
    width = max(len(c) for c in chunks) - 1
    x = np.zeros((len(chunks), width), np.int32)
    y = np.zeros((len(chunks), width), np.int32)
    for row, c in enumerate(chunks):
        x[row, :len(c) - 1] = c[:-1]
        y[row, :len(c) - 1] = c[1:]
    return x, y, (y != 0).astype(np.float32)


def sequence_batches(chunks: list[list[int]], batch_size: int, rng: np.random.Generator | None):
    """Batches of similar length (little padding); shuffled batch order when rng is given."""
    jitter = rng.uniform(0, 8, len(chunks)) if rng is not None else np.zeros(len(chunks))
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]) + jitter[i])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    _lead_with_two_widths(batches, [max(len(chunks[i]) for i in b) for b in batches])
    return [pad_batch([chunks[i] for i in b]) for b in batches]


def _lead_with_two_widths(batches: list, widths: list[int]) -> None:
    """Keras fixes the input shape from the first two batches: when they are equally wide it
    refuses any other width later, so bring a batch of another width to the second place."""
    other = next((i for i, w in enumerate(widths) if w != widths[0]), None)
    if other is not None and widths[1] == widths[0]:
        batches[1], batches[other] = batches[other], batches[1]


def sequence_dataset(chunks: list[list[int]], batch_size: int, seed: int | None):
    """A Keras PyDataset of length-bucketed batches, reshuffled every epoch when seeded."""
    import keras

    class SequenceBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed) if seed is not None else None
            self.batches = sequence_batches(chunks, batch_size, self.rng)

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            return self.batches[index]

        def on_epoch_end(self):
            if self.rng is not None:
                self.batches = sequence_batches(chunks, batch_size, self.rng)

    return SequenceBatches()
