"""NumPy forward pass of a trained model, one token at a time.

Generation never calls ``model.predict`` in a loop: the sequence model carries its LSTM state
(h, c) forward, so each new word costs one LSTM step and one softmax.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import ModelConfig


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the numerically stable form


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class LSTMWeights:
    stacked: np.ndarray  # [input kernel; recurrent kernel], gates in Keras order i, f, c, o
    bias: np.ndarray

    @classmethod
    def from_keras(cls, kernel, recurrent, bias):
        return cls(np.vstack([kernel, recurrent]).astype(np.float32), bias.astype(np.float32))

    @property
    def units(self) -> int:
        return self.bias.shape[0] // 4

    def step(self, x, h, c):
        z = np.concatenate([x, h]) @ self.stacked + self.bias
        i, f, g, o = np.split(z, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c

    def run(self, xs):
        """Outputs for a whole sequence from a zero state."""
        h = c = np.zeros(self.units, np.float32)
        out = []
        for x in xs:
            h, c = self.step(x, h, c)
            out.append(h)
        return np.array(out, np.float32).reshape(len(out), self.units)


@dataclass(frozen=True)
class NumpyLM:
    """The weights of a Keras model from ``build_model``, run with NumPy."""

    config: ModelConfig
    embedding: np.ndarray
    lstms: tuple  # per layer: (forward,) or (forward, backward)
    dense: tuple | None  # optional relu layer (W, b)
    head: tuple  # softmax layer (W, b)

    @classmethod
    def from_keras(cls, model, config: ModelConfig) -> "NumpyLM":
        def weights(name):
            return [w.astype(np.float32) for w in model.get_layer(name).get_weights()]

        lstms = []
        for i in range(config.lstm_layers):
            if config.bidirectional:
                w = weights(f"bilstm_{i}")
                lstms.append((LSTMWeights.from_keras(*w[:3]), LSTMWeights.from_keras(*w[3:])))
            else:
                lstms.append((LSTMWeights.from_keras(*weights(f"lstm_{i}")),))
        dense = tuple(weights("dense")) if config.dense_units else None
        embedding = weights("embedding")[0]
        head = (embedding.T.copy(), weights("output_bias")[0]) if config.tie_embeddings \
            else tuple(weights("next_token"))
        return cls(config, embedding, tuple(lstms), dense, head)

    def _log_probs(self, h: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            h = np.maximum(h @ self.dense[0] + self.dense[1], 0)
        return log_softmax(h @ self.head[0] + self.head[1])

    def window_log_probs(self, ids) -> np.ndarray:
        """Next-token log-probabilities of the window model (masked padding = skipped steps)."""
        x = self.embedding[[i for i in ids[-self.config.window:] if i != 0]]
        for layer in self.lstms:
            forward = layer[0].run(x)
            if len(layer) == 1:
                x = forward
            else:
                x = np.concatenate([forward, layer[1].run(x[::-1])[::-1]], axis=1)
        last = layer[0].units * len(layer)
        if not len(x):
            return self._log_probs(np.zeros(last, np.float32))
        if len(layer) == 1:
            return self._log_probs(x[-1])
        # a Bidirectional layer without return_sequences joins the forward end and the backward end
        return self._log_probs(np.concatenate([x[-1, :layer[0].units], x[0, layer[0].units:]]))

    def zero_state(self):
        return [(np.zeros(lw[0].units, np.float32),) * 2 for lw in self.lstms]

    def step(self, state, token: int):
        """Feed one token to the sequence model; returns the new state."""
        x, new = self.embedding[token], []
        for (lstm,), (h, c) in zip(self.lstms, state):
            h, c = lstm.step(x, h, c)
            new.append((h, c))
            x = h
        return new


class TokenStream:
    """Next-token log-probabilities for a context that grows one token at a time."""

    def __init__(self, net: NumpyLM, ids=()):
        self.net, self.context, self.state = net, [], net.zero_state()
        self.feed(ids)

    def feed(self, ids) -> None:
        for token in ids:
            self.context.append(int(token))
            if self.net.config.kind == "sequence":
                self.state = self.net.step(self.state, int(token))

    def hidden(self) -> np.ndarray:
        """The last LSTM layer's output after the latest token (the continuous cache's key)."""
        return self.state[-1][0]

    def log_probs(self) -> np.ndarray:
        if self.net.config.kind == "sequence":
            return self.net._log_probs(self.state[-1][0])
        return self.net.window_log_probs(self.context)
