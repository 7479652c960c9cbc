"""NumPy forward pass of a trained model: contexts read one token at a time, many of them together.

Generation never calls ``model.predict`` in a loop: the sequence model carries its LSTM state
(h, c) forward, so each new word costs one LSTM step and one softmax. A batch of N contexts
advances as one (N x units) step, so the weight matrices are read once per word for all of them.
Two tables derived from the weights save work at every step: the first LSTM layer's input gates
for every token (reading a token is a row lookup) and the output layer in column blocks (a
product with a few rows runs 2-3x faster on blocks that fit the CPU's cache; OpenBLAS otherwise
repacks the whole 11 MB matrix for each call).

The network is generic: an embedding, a stack of LSTM layers (kernel, recurrent kernel and bias
each), an optional projection and an output layer. ``NumpyLM.from_layers`` builds it from the
weights of the Keras model's layers by name, as the model itself or a bundle's weights.npz hold
them, so the app runs without Keras.

A state is a tuple of arrays whose first axis is the batch: (h, c) of every layer for the sequence
model, the last ``window`` token ids for the window model (left-padded with PAD, which the LSTM
skips, as Keras's mask makes it do), so contexts of any lengths batch together.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import ModelConfig

# Generation is many small matrix products on many threads at once (one per player); BLAS worker
# threads on top of those only fight over the cores, and 20 sessions once deadlocked in OpenBLAS.
# The limit applies to the whole process, so every user of the network gets it by importing this module.
threadpool_limits(1, user_api="blas")

State = tuple  # of arrays, batch first
OUTPUT_BLOCK = 128  # columns of the output layer per block (384 x 128 floats: 192 KB, well inside L2)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the numerically stable form


def log_softmax_(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, computed in place in ``logits`` (which it returns)."""
    logits -= logits.max(axis=-1, keepdims=True)
    logits -= np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return logits


def layer_weights(model) -> dict[str, list[np.ndarray]]:
    """The weights of a Keras model, by layer name (what a bundle's weights.npz stores)."""
    return {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers if layer.weights}


def take(state: State, rows) -> State:
    """The rows ``rows`` (a list of indices or a slice) of a batched state."""
    return tuple(a[rows] for a in state)


def stack(states: Sequence[State]) -> State:
    return tuple(np.concatenate(arrays) for arrays in zip(*states))


@dataclass(frozen=True)
class LSTMLayer:
    kernel: np.ndarray  # (inputs, 4 units), gates in Keras order i, f, c, o
    recurrent: np.ndarray  # (units, 4 units)
    bias: np.ndarray  # (4 units,)

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]

    def zeros(self, n: int) -> np.ndarray:
        return np.zeros((n, self.units), np.float32)

    def inputs(self, x):
        """The input's part of the gates, x @ kernel + bias, for inputs x (..., inputs)."""
        return x @ self.kernel + self.bias

    def cell(self, xz, h, c):
        """One step for a batch: xz (N, 4 units) the input's part of the gates, h and c (N, units)."""
        z, u = xz + h @ self.recurrent, self.units
        gates = _sigmoid(z[..., :2 * u])  # input and forget gates
        c = gates[..., u:] * c + gates[..., :u] * np.tanh(z[..., 2 * u:3 * u])
        return _sigmoid(z[..., 3 * u:]) * np.tanh(c), c

    def run(self, xz, h, c, mask=None):
        """Outputs (T, N, units) for the input gates ``xz`` (T, N, 4 units) of every step, and the
        last (h, c). Where ``mask`` (T, N) is False the step is skipped: the state is carried through
        unchanged."""
        out = np.empty(xz.shape[:2] + (self.units,), np.float32)
        for t in range(len(xz)):
            h_new, c_new = self.cell(xz[t], h, c)
            if mask is None:
                h, c = h_new, c_new
            else:
                h, c = np.where(mask[t, :, None], h_new, h), np.where(mask[t, :, None], c_new, c)
            out[t] = h
        return out, h, c


@dataclass(frozen=True)
class NumpyLM:
    """The weights of a model from ``engine.training.model.build_model``, run with NumPy."""

    config: ModelConfig
    embedding: np.ndarray
    lstms: tuple  # per layer: (forward,) or (forward, backward)
    projection: tuple | None  # (W, b) of the relu layer before the output (the tutorial's Dense 64)
    output: tuple  # (W, b) of the softmax layer
    # derived from the weights above, rebuilt whenever they change (dataclasses.replace too):
    token_gates: np.ndarray | None = field(init=False, repr=False)  # (vocabulary, 4 units); None: window model
    output_blocks: tuple = field(init=False, repr=False)  # (first column, W[:, block]) of OUTPUT_BLOCK columns

    def __post_init__(self):
        gates = None if self.windowed else self.lstms[0][0].inputs(self.embedding)
        w = self.output[0]
        blocks = tuple((k, np.ascontiguousarray(w[:, k:k + OUTPUT_BLOCK])) for k in range(0, w.shape[1], OUTPUT_BLOCK))
        object.__setattr__(self, "token_gates", gates)  # a frozen dataclass's own fields, set once
        object.__setattr__(self, "output_blocks", blocks)

    @classmethod
    def from_layers(cls, config: ModelConfig, layers: Mapping[str, Sequence[np.ndarray]]) -> "NumpyLM":
        """Build the network from the Keras layers' weights, by layer name (see ``layer_weights``)."""
        def weights(name):
            return [np.asarray(w, np.float32) for w in layers[name]]

        lstms = []
        for i in range(config.lstm_layers):
            if config.bidirectional:
                w = weights(f"bilstm_{i}")
                lstms.append((LSTMLayer(*w[:3]), LSTMLayer(*w[3:])))
            else:
                lstms.append((LSTMLayer(*weights(f"lstm_{i}")),))
        projection = tuple(weights("dense")) if config.dense_units else None
        embedding = weights("embedding")[0]
        if config.tie_embeddings:  # one copy of the shared matrix, laid out for the output product
            output = (embedding.T.copy(), weights("output_bias")[0])
            embedding = output[0].T
        else:
            output = tuple(weights("next_token"))
        return cls(config, embedding, tuple(lstms), projection, output)

    @classmethod
    def from_keras(cls, model, config: ModelConfig) -> "NumpyLM":
        return cls.from_layers(config, layer_weights(model))

    @property
    def windowed(self) -> bool:
        return self.config.kind == "window"

    def start(self, ids: Sequence[int]) -> State:
        """The state after reading ``ids`` from the start (a batch of one); the opening is read once."""
        return self.read(ids)[0]

    def read(self, ids: Sequence[int]) -> tuple[State, np.ndarray | None]:
        """(the state after reading ``ids``, the last layer's output after each of them (T, units));
        the outputs are the continuous cache's keys (None for the window model)."""
        if self.windowed:
            window = np.zeros((1, self.config.window), np.int64)
            ids = list(ids)[-self.config.window:]
            window[0, self.config.window - len(ids):] = ids
            return (window,), None
        x, state = None, []
        for k, (layer,) in enumerate(self.lstms):
            xz = self.token_gates[np.asarray(ids, np.int64)][:, None, :] if k == 0 else layer.inputs(x)
            x, h, c = layer.run(xz, layer.zeros(1), layer.zeros(1))
            state += [h, c]
        return tuple(state), x[:, 0]

    @staticmethod
    def hidden(state: State) -> np.ndarray:
        """The last LSTM layer's output (N, units) for every context of the batch (sequence model)."""
        return state[-2]

    def step(self, state: State, tokens) -> State:
        """Feed one token to every context of the batch; returns the new state."""
        tokens = np.asarray(tokens, np.int64)
        if self.windowed:
            return (np.concatenate([state[0], tokens[:, None]], axis=1)[:, -self.config.window:],)
        x, new = None, []
        for k, ((layer,), h, c) in enumerate(zip(self.lstms, state[0::2], state[1::2])):
            x, c = layer.cell(self.token_gates[tokens] if k == 0 else layer.inputs(x), h, c)
            new += [x, c]
        return tuple(new)

    def log_probs(self, state: State) -> np.ndarray:
        """Next-token log-probabilities (N, vocabulary) for every context of the batch."""
        return self.log_probs_after(self._window_output(state[0]) if self.windowed else state[-2])

    def log_probs_after(self, h: np.ndarray) -> np.ndarray:
        """Next-token log-probabilities from the last LSTM layer's outputs h (..., units), e.g. those
        ``read`` returns for every position of a text."""
        if self.projection is not None:
            h = np.maximum(h @ self.projection[0] + self.projection[1], 0)
        if h.ndim == 2 and len(h) > 1:
            logits = np.empty((len(h), self.output[0].shape[1]), np.float32)
            for k, block in self.output_blocks:
                np.matmul(h, block, out=logits[:, k:k + block.shape[1]])
        else:
            logits = h @ self.output[0]
        logits += self.output[1]
        return log_softmax_(logits)

    def _window_output(self, ids: np.ndarray) -> np.ndarray:
        """The window model's last LSTM output for left-padded windows (N, window)."""
        x, mask = self.embedding[ids].transpose(1, 0, 2), (ids != 0).T  # (time, batch, ...)
        n = len(ids)
        for layer in self.lstms:
            outputs = [layer[0].run(layer[0].inputs(x), layer[0].zeros(n), layer[0].zeros(n), mask)[0]]
            if len(layer) == 2:
                backward = layer[1].run(layer[1].inputs(x[::-1]), layer[1].zeros(n), layer[1].zeros(n), mask[::-1])
                outputs.append(backward[0][::-1])
            x = np.concatenate(outputs, axis=-1)
        if len(layer) == 1:
            return x[-1]
        # a Bidirectional layer without return_sequences joins the forward end and the backward end
        # (its state after the first real token, carried through the padding to position 0)
        units = layer[0].units
        return np.concatenate([x[-1, :, :units], x[0, :, units:]], axis=-1)
