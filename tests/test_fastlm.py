"""The NumPy network must give the full-sequence Keras model's probabilities, alone and in batches."""
import numpy as np
import pytest

from engine.config import ModelConfig
from engine.lm.fastlm import NumpyLM, stack, take
from engine.training.model import build_model

IDS = [2, 5, 9, 4, 7, 7, 11, 3]


def randomised(config, vocab=13, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(config, vocab)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("layers", [1, 2])
def test_step_by_step_equals_full_sequence(layers):
    config = ModelConfig(embedding_dim=6, lstm_units=8, lstm_layers=layers, vocab_size=9)
    model = randomised(config)
    full = np.asarray(model.predict_on_batch(np.array([IDS])))[0]
    net = NumpyLM.from_keras(model, config)
    state = net.start([])
    for t, token in enumerate(IDS):
        state = net.step(state, [token])
        assert np.allclose(np.exp(net.log_probs(state)[0]), full[t], atol=1e-5)
        # reading the whole opening at once gives the same state as feeding it token by token
        assert np.allclose(np.exp(net.log_probs(net.start(IDS[:t + 1]))[0]), full[t], atol=1e-5)


@pytest.mark.parametrize("bidirectional, dense", [(False, 0), (True, 5)])
def test_window_model_equals_keras_with_masked_padding(bidirectional, dense):
    config = ModelConfig(kind="window", window=5, embedding_dim=6, lstm_units=8, dense_units=dense,
                         bidirectional=bidirectional, vocab_size=9)
    model = randomised(config, seed=1)
    net = NumpyLM.from_keras(model, config)
    for end in range(1, len(IDS) + 1):
        context = IDS[:end][-5:]
        x = np.array([[0] * (5 - len(context)) + context])
        expected = np.asarray(model.predict_on_batch(x))[0]
        assert np.allclose(np.exp(net.log_probs(net.start(IDS[:end]))[0]), expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["sequence", "window"])
def test_a_batched_step_equals_single_steps(kind):
    config = ModelConfig(kind=kind, window=4, embedding_dim=6, lstm_units=8, lstm_layers=2, vocab_size=9)
    net = NumpyLM.from_keras(randomised(config, seed=2), config)
    openings = [IDS[:3], IDS[2:7], IDS[1:2]]  # contexts of different lengths, advancing together
    singles = [net.start(ids) for ids in openings]
    batch = stack(singles)
    rng = np.random.default_rng(0)
    for _ in range(5):
        tokens = rng.integers(1, 13, size=len(openings))
        batch = net.step(batch, tokens)
        singles = [net.step(state, [token]) for state, token in zip(singles, tokens)]
        batched = net.log_probs(batch)
        for row, state in enumerate(singles):
            assert np.allclose(batched[row], net.log_probs(state)[0], atol=1e-5)
            assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(take(batch, slice(row, row + 1)), state))


AWD = ModelConfig(embedding_dim=6, lstm_units=8, lstm_layers=2, vocab_size=9, tie_embeddings=True,
                  locked_dropout=True, embedding_dropout=0.1, weight_drop=0.3)


def test_awd_model_saves_as_a_plain_lstm_stack_that_numpy_runs(tmp_path):
    import keras

    trained = randomised(AWD, seed=2)  # the inference graph
    regularised = build_model(AWD, 13, training=True)
    regularised.set_weights(trained.get_weights())  # the training graph holds the same weights
    x = np.array([IDS])
    assert np.allclose(regularised.predict_on_batch(x), trained.predict_on_batch(x), atol=1e-6)
    assert not np.allclose(regularised(x, training=True), trained.predict_on_batch(x), atol=1e-3)
    trained.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    full = np.asarray(loaded.predict_on_batch(x))[0]
    assert {type(layer).__name__ for layer in loaded.layers} <= {
        "InputLayer", "ReversibleEmbedding", "SpatialDropout1D", "LSTM", "OutputBias", "Activation"}
    net = NumpyLM.from_keras(loaded, AWD)
    for t in range(len(IDS)):
        assert np.allclose(np.exp(net.log_probs(net.start(IDS[:t + 1]))[0]), full[t], atol=1e-5)
