"""Milliseconds per generated word: the tutorial's loop against ours, on the same bundle, in one run.

    python bench/generation.py [--model DIR] [--words 400] [--chunks 20]

The tutorial's loop calls ``model.predict`` on the last 50 words for every new word; ours carries
the LSTM state (h, c) forward with NumPy (engine.lm.generate), with the bundle's copy step (the
continuous cache) and without it. The speed-up line compares the tutorial's loop with ours (copy
step included); the last line shows 16 continuations of one opening written together (the quiz's
candidates). The loops alternate in --chunks chunks of --words / --chunks words each, and the figures
are the medians of the chunks, so that other work on the machine slows all of them alike.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from engine.lm.bundle import active_bundle_path, load_bundle
from engine.config import CacheConfig
from engine.lm.generate import generate, generate_many, prepare_opening
from engine.lm.sampler import adjust, sample
from engine.lm.settings import Sampling
from engine.training.model import keras_model

SEED = "a neural network comprising a plurality of processing elements"


def tutorial_loop(bundle, words: int, window: int = 50) -> float:
    """The tutorial's generation: predict on the sliding window, sample, append, repeat."""
    tok, model = bundle.tokenizer, keras_model(bundle)
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
    started = time.perf_counter()
    result = generate(bundle, SEED, Sampling(1.0, rng_seed=0, words=words), stop_at_eos=False)
    return (time.perf_counter() - started) / len(result.words) * 1000


def batch_loop(bundle, words: int, n: int = 16) -> float:
    """Milliseconds per word of each of ``n`` continuations written together (one batch)."""
    started = time.perf_counter()
    rows = generate_many(bundle, prepare_opening(bundle, SEED), Sampling(words=words), 1.0, list(range(n)),
                         stop_at_eos=False)
    return (time.perf_counter() - started) / np.mean([len(r.words) for r in rows]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--words", type=int, default=400)
    parser.add_argument("--chunks", type=int, default=20, help="the loops alternate this many times")
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    tutorial_loop(bundle, 3)  # warm-up: traces the predict function
    our_loop(bundle, 5)
    words = max(1, args.words // args.chunks)
    plain = dataclasses.replace(bundle, cache=CacheConfig())  # the same network without the copy step
    our_loop(plain, 5)
    times = {"theirs": [], "ours": [], "no_copy": [], "batch": []}
    for _ in range(args.chunks):  # alternating, so that other work on the machine slows all of them alike
        times["theirs"].append(tutorial_loop(bundle, words))
        times["ours"].append(our_loop(bundle, words))
        times["no_copy"].append(our_loop(plain, words))
        times["batch"].append(batch_loop(bundle, words))
    theirs, ours, no_copy, batch = (float(np.median(times[k])) for k in ("theirs", "ours", "no_copy", "batch"))
    print(f"bundle: {bundle.name} ({bundle.model_config.kind}), {args.chunks} x {words} words each, "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; medians of the chunks")
    print(f"tutorial loop (model.predict on a 50-word window): {theirs:.2f} ms/word")
    print(f"ours without the copy step:                        {no_copy:.3f} ms/word")
    print(f"ours (NumPy, state carried forward, copy step):    {ours:.3f} ms/word  (cache share {bundle.cache.mix:g})")
    print(f"speed-up: {theirs / ours:.0f}x")
    print(f"16 continuations written together: {batch:.3f} ms per word for all 16 ({batch / ours:.1f}x one)")


if __name__ == "__main__":
    main()
