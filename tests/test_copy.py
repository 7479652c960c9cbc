"""The continuous cache: the vectorised path used for evaluation (over the Keras model's hidden states)
equals the step-by-step NumPy path the generator uses, and generation can copy an unknown word."""
from dataclasses import replace

import numpy as np

from engine import copy
from engine.config import CacheConfig
from engine.evaluate import _lstm_outputs
from engine.fastlm import NumpyLM
from engine.generate import Snapshot, generate
from engine.tokenizer import Tokenizer
from tests.test_fastlm import AWD, randomised

VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "the", "coil", "of", "winding", ".", "load", "curve", "is"]
TEXT = "the coil of a zorblax winding is the coil . a zorblax of the winding is a load curve ."
CACHE = CacheConfig(mix=0.3, theta=0.7, window=8)


def test_keras_and_numpy_cache_paths_give_the_same_probabilities():
    tok = Tokenizer(VOCAB)
    model = randomised(AWD, vocab=len(VOCAB), seed=3)
    words = TEXT.split() + ["<eos>"]
    ids = tok.encode(TEXT, bos=True, eos=True)
    (probs, hidden), = _lstm_outputs(model, AWD, [ids])
    mixed, kept, copied = copy.document(probs, hidden, np.array(ids[1:]), words, CACHE)

    net, memory = NumpyLM.from_keras(model, AWD), copy.Memory(CACHE, tok.index)
    state = net.start(ids[:1])
    for t, (word, token) in enumerate(zip(words, ids[1:])):
        p = np.exp(net.log_probs(state)[0])
        step, outside = memory.mix(p.copy(), net.hidden(state)[0])
        step[tok.unk_id] += sum(outside.values())  # the evaluation path files copied unknowns under <unk>
        assert np.allclose(step, mixed[t], atol=1e-5)
        by_surface = outside.get(word, 0.0) if token == tok.unk_id else step[token] - kept[t] * p[token]
        assert np.isclose(by_surface, copied[t], atol=1e-5)
        assert np.isclose(kept[t], 1.0 if t == 0 else 1 - CACHE.mix)
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
    result = generate(snapshot, "the zorblax of the coil", 40, rng_seed=0)
    assert "zorblax" in [w.token for w in result.words]
    assert all(w.copied for w in result.words if w.token == "zorblax")
    assert "zorblax" in result.text
    plain = generate(replace(snapshot, cache=CacheConfig()), "the zorblax of the coil", 40, rng_seed=0)
    assert "zorblax" not in [w.token for w in plain.words] and not any(w.copied for w in plain.words)
