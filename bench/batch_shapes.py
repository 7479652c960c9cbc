"""Seconds per training epoch: batches as wide as their longest abstract (every batch its own shape)
against batches padded to a few fixed widths (one shape per width), side by side in one run.

    python bench/batch_shapes.py [--data CSV] [--preset lstm] [--lstm-units 128] [--epochs 3]

Each backend that is installed (TensorFlow, JAX, PyTorch) runs in its own process. In each, two
identical models train on the same batches, one epoch each in turn, so that both see the same
machine load. Compiled backends (JAX; TensorFlow with XLA, as on a GPU) compile a training step
per batch shape: the first epoch shows that cost, the later ones the cost of the extra padding.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

from engine.config import preset_configs
from engine.corpus import load_corpus
from engine.training.dataset import fixed_widths, sequence_chunks, sequence_dataset
from engine.training.evaluate import encode_docs
from engine.lm.tokenizer import Tokenizer

BACKENDS = ("tensorflow", "jax", "torch")


def measure(args) -> dict:
    """Epoch times of both batchings on this process's backend."""
    import keras

    from engine.training.model import build_model, compile_model

    overrides = {"lstm_units": args.lstm_units} if args.lstm_units else {}
    model_config, train_config = preset_configs(args.preset, overrides)
    corpus = load_corpus(args.data)
    texts = [d.text for d in corpus.select(corpus.split(train_config.rng_seed).train)]
    tokenizer = Tokenizer.fit(texts, model_config.vocab_size, model_config.min_count)
    chunks = sequence_chunks(encode_docs(tokenizer, texts), model_config.max_len)
    batch = train_config.batch_size
    widths = fixed_widths([len(c) - 1 for c in chunks], train_config.batch_widths)
    seed = train_config.rng_seed
    runs = {"per-batch widths": sequence_dataset(chunks, batch, seed),
            f"{len(widths)} fixed widths": sequence_dataset(chunks, batch, seed, widths, batch)}
    models, times = {}, {name: [] for name in runs}
    for name in runs:
        keras.utils.set_random_seed(train_config.rng_seed)
        models[name] = build_model(model_config, len(tokenizer))
        compile_model(models[name], train_config.learning_rate)
    for _ in range(args.epochs):
        for name, data in runs.items():
            started = time.perf_counter()
            models[name].fit(data, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - started)
    return {"backend": keras.config.backend(), "xla": bool(models[name].jit_compile),
            "runs": {name: {"batches": len(data), "shapes": len(data.shapes),
                            "seconds": times[name], "padding": padding(data)}
                     for name, data in runs.items()}}


def padding(data) -> float:
    """Padding cells per real token over one epoch."""
    cells = sum(x.size for x, _, _ in data.batches)
    real = sum(float(w.sum()) for _, _, w in data.batches)
    return cells / real - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--preset", default="lstm")
    parser.add_argument("--lstm-units", type=int, default=None,
                        help="fewer than the preset's: a quicker run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--one-backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_backend:
        print(json.dumps(measure(args)))
        return
    print(f"preset {args.preset}, LSTM units {args.lstm_units or 'as the preset'}, "
          f"{args.epochs} epochs each, {os.cpu_count()} CPU cores\n")
    print("| backend | batching | batches | shapes | padding | first epoch "
          "| later epochs (median) | vs per-batch |")
    print("|---|---|---|---|---|---|---|---|")
    for backend in (b for b in args.backends.split(",") if importlib.util.find_spec(b)):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        child = subprocess.run([sys.executable, __file__, "--one-backend", *sys.argv[1:]],
                               capture_output=True, text=True, env=env)
        if child.returncode:
            print(f"| {backend} | failed: {child.stderr.strip().splitlines()[-1]} |")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        label = backend + (" (XLA)" if result["xla"] else "")
        base = None
        for name, run in result["runs"].items():
            first, later = run["seconds"][0], float(np.median(run["seconds"][1:] or run["seconds"]))
            base = base or later
            print(f"| {label} | {name} | {run['batches']} | {run['shapes']} | {run['padding']:.1%} "
                  f"| {first:.1f} s | {later:.1f} s | {later / base:.2f}x |")


if __name__ == "__main__":
    main()
