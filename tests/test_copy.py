"""The continuous cache: the vectorised path used for evaluation (over the Keras model's hidden states)
equals the step-by-step NumPy path the generator uses, and generation can copy an unknown word."""
from dataclasses import replace

import numpy as np
import pytest

from engine.lm import copy
from engine.config import CacheConfig
from engine.training.evaluate import _lstm_outputs
from engine.lm.fastlm import NumpyLM
from engine.lm.generate import Snapshot, generate
from engine.lm.settings import Sampling
from engine.lm.tokenizer import Tokenizer
from tests.test_fastlm import AWD, randomised

VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "the", "coil", "of", "winding", ".", "load", "curve", "is"]
TEXT = "the coil of a zorblax winding is the coil . a zorblax of the winding is a load curve ."
CACHE = CacheConfig(mix=0.3, theta=0.7, window=8)


@pytest.mark.parametrize("cache", [CACHE, replace(CACHE, common=3)], ids=["every word", "rare words only"])
def test_keras_and_numpy_cache_paths_give_the_same_probabilities(cache):
    tok = Tokenizer(VOCAB)
    model = randomised(AWD, vocab=len(VOCAB), seed=3)
    words = TEXT.split() + ["<eos>"]
    ids = tok.encode(TEXT, bos=True, eos=True)
    (probs, hidden), = _lstm_outputs(model, AWD, [ids])
    mixed, kept, copied = copy.document(probs, hidden, np.array(ids[1:]), words, cache)

    net, memory = NumpyLM.from_keras(model, AWD), copy.Memory(cache, tok.index)
    state = net.start(ids[:1])
    for t, (word, token) in enumerate(zip(words, ids[1:])):
        alone = net.log_probs(state)[0]
        p = np.exp(alone)
        step, outside = memory.mix(alone, net.hidden(state)[0])
        cached, step = step is not alone, np.exp(step)
        step[tok.unk_id] += sum(outside.values())  # the evaluation path files copied unknowns under <unk>
        assert np.allclose(step, mixed[t], atol=1e-5)
        by_surface = outside.get(word, 0.0) if token == tok.unk_id else step[token] - kept[t] * p[token]
        assert np.isclose(by_surface, copied[t], atol=1e-5)
        assert np.isclose(kept[t], 1 - cache.mix if cached else 1.0)
        if cache.common:  # "a", "the" and "coil" are the 3 most frequent: never proposed
            assert np.allclose(step[4:7], (1 - cache.mix) * p[4:7] if cached else p[4:7], atol=1e-6)
        memory.add(net.hidden(state)[0], word)
        state = net.step(state, [token])
    assert copied[words.index("zorblax", 5)] > 0  # the second "zorblax" can be copied from the first


def test_without_a_share_the_cache_changes_nothing():
    probs = np.full((3, 4), 0.25)
    mixed, kept, copied = copy.document(probs, np.ones((3, 2)), np.array([1, 2, 1]), ["x", "y", "x"], CacheConfig())
    assert mixed is probs and kept.tolist() == [1, 1, 1] and copied.tolist() == [0, 0, 0]


def test_generation_copies_an_unknown_word_of_the_opening_and_marks_it():
    tok = Tokenizer(VOCAB)
    net = NumpyLM.from_keras(randomised(AWD, vocab=len(VOCAB), seed=4), AWD)
    snapshot = Snapshot(tok, net, CacheConfig(mix=0.9, theta=0.1))
    result = generate(snapshot, "the zorblax of the coil", Sampling(rng_seed=0, words=40))
    assert "zorblax" in [w.token for w in result.words]
    assert all(w.copied for w in result.words if w.token == "zorblax")
    assert "zorblax" in result.text
    plain = generate(replace(snapshot, cache=CacheConfig()), "the zorblax of the coil", Sampling(rng_seed=0, words=40))
    assert "zorblax" not in [w.token for w in plain.words] and not any(w.copied for w in plain.words)


def test_the_repetition_guard_also_stops_a_copied_unknown_word_twice_in_a_row():
    tok = Tokenizer(VOCAB)
    net = NumpyLM.from_keras(randomised(AWD, vocab=len(VOCAB), seed=4), AWD)
    snapshot = Snapshot(tok, net, CacheConfig(mix=0.95, theta=0.1))
    for seed in range(5):
        words = [w.token for w in generate(snapshot, "the zorblax of the coil",
                                           Sampling(repetition_guard=3, rng_seed=seed, words=40)).words]
        assert "zorblax" in words
        assert all(a != b for a, b in zip(words, words[1:])), words
