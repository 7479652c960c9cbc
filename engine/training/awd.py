"""AWD-LSTM's training-time regularisers (Merity et al. 2017) as Keras layers.

They exist only in the training graph: the saved model is a plain LSTM stack, so the NumPy
generator (engine.lm.fastlm) runs it unchanged. Locked dropout is Keras's SpatialDropout1D (one mask
per sequence, the same at every step) and needs no layer here.
"""
from __future__ import annotations

import keras
from keras import ops


class EmbeddingDropout(keras.layers.Layer):
    """Drops whole words of the vocabulary (every occurrence in the batch), scaling the rest up."""

    def __init__(self, rate: float, vocab_size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.vocab_size = rate, vocab_size
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        ids, vectors = inputs
        if not training or not self.rate:
            return vectors
        keep = keras.random.dropout(ops.ones((self.vocab_size,)), self.rate, seed=self.seed_generator)
        return vectors * ops.expand_dims(ops.take(keep, ids), -1)


class WeightDropLSTMCell(keras.layers.LSTMCell):
    """An LSTM cell whose recurrent matrix loses a random share of its entries (DropConnect), with one
    mask per batch, the same at every time step."""

    def __init__(self, units: int, weight_drop: float = 0.0, **kwargs):
        super().__init__(units, **kwargs)
        self.weight_drop = weight_drop

    def get_recurrent_dropout_mask(self, step_input):
        # The RNN layer calls this once per batch before its loop and clears it after: the mask of the
        # recurrent matrix lives here so every step of the batch shares it.
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.weight_drop:
            self._recurrent_dropout_mask = keras.random.dropout(
                ops.ones_like(self.recurrent_kernel), self.weight_drop, seed=self.seed_generator)
        return getattr(self, "_recurrent_dropout_mask", None)

    def call(self, inputs, states, training=False):
        if not (training and self.weight_drop):
            return super().call(inputs, states, training=training)
        h_tm1, c_tm1 = states
        recurrent = self.recurrent_kernel * self.get_recurrent_dropout_mask(h_tm1)
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, recurrent) + self.bias
        c, o = self._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
        h = o * self.activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="engine")
class OutputBias(keras.layers.Layer):
    """The output layer's bias when its matrix is the tied embedding (ReversibleEmbedding has none)."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")

    def call(self, logits):
        return logits + self.bias
