"""Convert a bundle from before weights.npz (only a model.keras) into weights.npz.

    python -m engine.training.legacy DIR

engine.lm.bundle runs this in a child process on first load, so that Keras never enters an app server.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..lm.bundle import LEGACY_MODEL, WEIGHTS, file_sha256, save_weights
from ..lm.fastlm import layer_weights


def convert(path: Path) -> None:
    """Write DIR/weights.npz from DIR/model.keras, recording the hash of the file it came from."""
    import keras

    model = keras.saving.load_model(path / LEGACY_MODEL, compile=False)
    save_weights(path / WEIGHTS, layer_weights(model), sha256=file_sha256(path / LEGACY_MODEL))


if __name__ == "__main__":
    convert(Path(sys.argv[1]))
