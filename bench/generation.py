"""Milliseconds per generated word: the tutorial's loop against ours, on the same bundle, in one run.

    python bench/generation.py [--model DIR] [--words 200]

The tutorial's loop calls ``model.predict`` on the last 50 words for every new word; ours carries
the LSTM state (h, c) forward with NumPy (engine.generate), with the bundle's copy step (the
continuous cache) and without it. The last line prints the speed-up of ours with the copy step.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from engine.bundle import active_bundle_path, load_bundle  # noqa: E402
from engine.config import CacheConfig  # noqa: E402
from engine.generate import generate  # noqa: E402
from engine.sampler import adjust, sample  # noqa: E402

SEED = "a neural network comprising a plurality of processing elements"


def tutorial_loop(bundle, words: int, window: int = 50) -> float:
    """The tutorial's generation: predict on the sliding window, sample, append, repeat."""
    tok, model = bundle.tokenizer, bundle.keras_model
    ids, rng = [tok.bos_id] + tok.encode(SEED), np.random.default_rng(0)
    banned = [tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id]
    started = time.perf_counter()
    for _ in range(words):
        x = np.array([ids[-window:]])
        probs = model.predict(x, verbose=0)
        probs = probs[0, -1] if probs.ndim == 3 else probs[0]
        ids.append(sample(adjust(np.log(np.clip(probs, 1e-30, None)), 1.0, banned=banned), rng))
    return (time.perf_counter() - started) / words * 1000


def our_loop(bundle, words: int) -> float:
    generate(bundle, SEED, 5, diversity=1.0, rng_seed=0)  # warm-up: builds the NumPy network
    started = time.perf_counter()
    result = generate(bundle, SEED, words, diversity=1.0, rng_seed=0, stop_at_eos=False)
    return (time.perf_counter() - started) / len(result.words) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--words", type=int, default=200)
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    tutorial_loop(bundle, 3)  # warm-up: traces the predict function
    theirs, ours = tutorial_loop(bundle, args.words), our_loop(bundle, args.words)
    no_copy = our_loop(dataclasses.replace(bundle, cache=CacheConfig()), args.words)
    print(f"bundle: {bundle.name} ({bundle.model_config.kind}), {args.words} words, {os.cpu_count()} CPU cores")
    print(f"tutorial loop (model.predict on a 50-word window): {theirs:.2f} ms/word")
    print(f"ours without the copy step:                        {no_copy:.3f} ms/word")
    print(f"ours (NumPy, state carried forward, copy step):    {ours:.3f} ms/word  (cache share {bundle.cache.mix:g})")
    print(f"speed-up: {theirs / ours:.0f}x")


if __name__ == "__main__":
    main()
