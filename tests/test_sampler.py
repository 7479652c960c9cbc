import numpy as np
import pytest

from engine.lm.sampler import adjust, sample, sample_rows

LOGP = np.log(np.array([0.5, 0.3, 0.15, 0.05]))


def test_diversity_zero_is_greedy_without_division():
    assert adjust(LOGP, 0).tolist() == [1, 0, 0, 0]
    assert adjust(LOGP, 0, banned=[0]).tolist() == [0, 1, 0, 0]


def test_diversity_is_the_tutorials_temperature():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    expected = p ** (1 / 0.5) / (p ** (1 / 0.5)).sum()
    assert np.allclose(adjust(LOGP, 0.5), expected)
    assert np.allclose(adjust(LOGP, 1.0), p)


def test_top_k_and_top_p_cut_the_tail():
    assert np.count_nonzero(adjust(LOGP, 1.0, top_k=2)) == 2
    assert np.allclose(adjust(LOGP, 1.0, top_p=0.8), [0.5 / 0.8, 0.3 / 0.8, 0, 0])


@pytest.mark.parametrize("settings", [dict(diversity=-1), dict(diversity=float("nan")), dict(diversity=1e9),
                                      dict(diversity=1, top_k=-2), dict(diversity=1, top_p=0)])
def test_absurd_settings_are_rejected_clearly(settings):
    with pytest.raises(ValueError, match="must"):
        adjust(LOGP, **settings)


def test_sampling_is_reproducible_and_follows_p():
    p = adjust(LOGP, 1.0)
    draws = [sample(p, np.random.default_rng(3)) for _ in range(3)]
    assert len(set(draws)) == 1
    rng = np.random.default_rng(0)
    counts = np.bincount([sample(p, rng) for _ in range(20000)], minlength=4) / 20000
    assert np.allclose(counts, p, atol=0.02)
    assert sample(np.array([0, 0, 1.0, 0]), rng) == 2


def test_sampling_over_many_blocks_follows_p_and_never_draws_a_zero():
    rng = np.random.default_rng(1)
    p = rng.random(1000) ** 4
    p[rng.choice(1000, 300, replace=False)] = 0  # banned or cut tokens, scattered ...
    p[896:] = 0  # ... and a whole last block
    p /= p.sum()
    draws = sample_rows(np.tile(p, (20000, 1)), [rng] * 20000)
    assert p[draws].min() > 0
    counts = np.bincount(draws, minlength=1000) / 20000
    heavy = p > 0.004
    assert np.allclose(counts[heavy], p[heavy], atol=0.003) and abs(counts[~heavy].sum() - p[~heavy].sum()) < 0.02
    one_hot = np.zeros((3, 1000))
    one_hot[[0, 1, 2], [0, 127, 999]] = 1
    assert sample_rows(one_hot, [rng] * 3).tolist() == [0, 127, 999]
