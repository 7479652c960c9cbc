"""Training batches: length-bucketed, and accepted by Keras whatever their widths."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.config import PRESETS
from engine.training.dataset import sequence_batches, sequence_dataset


def test_batches_of_any_width_train_after_equally_wide_first_batches():
    """A batch of a new width trains after batches of one width (Keras must not fix the width from the first ones)."""
    from engine.training.model import build_model, compile_model

    rng = np.random.default_rng(0)
    chunks = [list(rng.integers(4, 50, 29)) for _ in range(32)] + [list(rng.integers(4, 50, 65)) for _ in range(16)]
    model = build_model(PRESETS["tiny"].model, 50)
    compile_model(model, 1e-3)
    history = model.fit(sequence_dataset(chunks, 16, None), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@given(st.lists(st.integers(2, 70), min_size=1, max_size=80), st.integers(1, 20), st.integers(0, 5))
def test_the_first_two_batches_differ_in_width_whenever_any_do(lengths, batch_size, seed):
    chunks = [[5] * n for n in lengths]
    batches = sequence_batches(chunks, batch_size, np.random.default_rng(seed))
    widths = [x.shape[1] for x, _, _ in batches]
    assert sum(len(x) for x, _, _ in batches) == len(chunks)
    if len(set(widths)) > 1:
        assert widths[0] != widths[1]
