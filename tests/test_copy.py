"""The continuous cache: the vectorised path used for evaluation (over the Keras model's hidden states)
equals the step-by-step NumPy path the generator uses, and generation can copy an unknown word."""
from dataclasses import replace

import numpy as np
import pytest

from engine.lm import copy
from engine.config import CACHE_UNKNOWN_CONFIDENT, UNKNOWN_WORD_GAP, CacheConfig
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
        assert np.isclose(kept[t], 1 - cache.mix if cached else 1.0)  # p(<unk>) ~ 1/13: the gate is open
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


def test_a_copied_unknown_word_never_comes_again_within_the_gap():
    tok = Tokenizer(VOCAB)
    net = NumpyLM.from_keras(randomised(AWD, vocab=len(VOCAB), seed=4), AWD)
    snapshot = Snapshot(tok, net, CacheConfig(mix=0.95, theta=0.1))
    for seed in range(5):
        words = [w.token for w in generate(snapshot, "the zorblax of the coil", Sampling(rng_seed=seed, words=60)).words]
        at = [i for i, w in enumerate(words) if w == "zorblax"]
        assert at, words  # reused...
        assert all(b - a > UNKNOWN_WORD_GAP for a, b in zip(at, at[1:])), words  # ...but never flooding


@pytest.mark.parametrize("p_unk", [1e-6, CACHE_UNKNOWN_CONFIDENT / 4, CACHE_UNKNOWN_CONFIDENT, 0.5])
def test_an_unknown_word_is_copied_only_as_far_as_the_model_expects_an_unknown_word(p_unk):
    """Both paths hold back a past unknown word's vote where p(<unk>) is below CACHE_UNKNOWN_CONFIDENT
    and give the model what they hold back; a vocabulary word's vote is untouched."""
    tok, cache = Tokenizer(VOCAB), CacheConfig(mix=0.4, theta=0.5)
    words = ["zorblax", "coil", "the"]
    ids = np.array([tok.index.get(w, tok.unk_id) for w in words])
    hidden = np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.9]])
    probs = np.full((3, len(VOCAB)), (1 - p_unk) / (len(VOCAB) - 1))
    probs[:, tok.unk_id] = p_unk
    _, kept, copied = copy.document(probs, hidden, ids, words, cache)
    weights = copy.attention(hidden[2], hidden[:2], cache.theta)  # what "the" (position 2) sees
    share = min(1.0, p_unk / CACHE_UNKNOWN_CONFIDENT)
    votes = cache.mix * weights * [share, 1.0]
    assert np.isclose(kept[2], 1 - votes.sum())
    memory = copy.Memory(cache, tok.index)
    for h, w in zip(hidden[:2], words[:2]):
        memory.add(h, w)
    mixed, outside = memory.mix(np.log(probs[2]).astype(np.float32), hidden[2])
    assert np.isclose(outside.get("zorblax", 0.0), votes[0])
    assert np.isclose(np.exp(mixed[tok.index["coil"]]), kept[2] * probs[2, tok.index["coil"]] + votes[1], rtol=1e-5)
    assert np.isclose(np.exp(mixed[tok.index["a"]]), kept[2] * probs[2, tok.index["a"]], rtol=1e-5)
    assert copied[1] == 0 and np.isclose(copied[0], 0)  # nothing before position 0; "coil" never came before
