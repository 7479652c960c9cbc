import numpy as np
import pytest

from engine.sampler import adjust, sample

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
