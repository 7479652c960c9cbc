"""Property tests (hypothesis): the settings parsers, the sampler and the tokenizer round trip."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import MAX_OPENING_CHARS
from engine.lm.sampler import adjust, sample
from engine.lm.settings import LIMITS, parse_setting, trim_opening
from engine.lm.tokenizer import detokenize, split_words
from ui.settings import DIVERSITY_RANGE, GUARDS, TOP_K_RANGE, TOP_P_RANGE, WORDS_RANGE, PlaygroundSettings

NUMBERISH = st.one_of(
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-10**500, max_value=10**500).map(str),  # 400 nines and more
    st.sampled_from(["inf", "-inf", "nan", "1e400", "-1e400", "9" * 400, "0x10", " 5 ", "1_000", "2.5"]),
)


@given(st.sampled_from(sorted(LIMITS)), NUMBERISH)
def test_a_setting_is_a_number_within_its_limits_or_a_value_error(name, raw):
    try:
        value = parse_setting(name, raw)
    except ValueError as exc:
        assert name in str(exc)
        return
    low, high = LIMITS[name]
    assert math.isfinite(value) and low <= value <= high


@given(st.dictionaries(st.sampled_from(["seed", "words", "until_end", "diversity", "top_k", "top_p", "guard",
                                        "rng", "other"]), NUMBERISH, max_size=9))
def test_any_link_gives_settings_the_widgets_can_show(query):
    settings_, problems = PlaygroundSettings.from_query(query)
    assert WORDS_RANGE[0] <= settings_.words <= WORDS_RANGE[1] and isinstance(settings_.words, int)
    assert DIVERSITY_RANGE[0] <= settings_.diversity <= DIVERSITY_RANGE[1]
    assert TOP_K_RANGE[0] <= settings_.top_k <= TOP_K_RANGE[1] and TOP_P_RANGE[0] <= settings_.top_p <= TOP_P_RANGE[1]
    assert settings_.repetition_guard in GUARDS and isinstance(settings_.until_end, bool)
    again, _ = PlaygroundSettings.from_query(settings_.to_query())
    assert again == settings_  # what the page writes back to the URL reads the same


@given(st.text(alphabet=st.sampled_from("ab \u202e\u200b\n"), max_size=MAX_OPENING_CHARS + 300))
@settings(max_examples=50)
def test_a_trimmed_opening_is_short_visible_and_starts_at_a_word(text):
    trimmed = trim_opening(text)
    assert len(trimmed) <= MAX_OPENING_CHARS and "\u202e" not in trimmed and "\u200b" not in trimmed
    visible = " ".join(text.replace("\u202e", "").replace("\u200b", "").split())
    assert visible.endswith(trimmed)
    if trimmed and len(trimmed) < len(visible):
        assert visible[-len(trimmed) - 1] == " " or " " not in visible[-MAX_OPENING_CHARS:]


LOG_PROBS = st.integers(2, 40).flatmap(lambda n: st.lists(
    st.floats(-50, 0, allow_nan=False), min_size=n, max_size=n)).map(np.array)


@given(LOG_PROBS, st.floats(0, 5), st.integers(0, 50), st.floats(0.01, 1), st.data())
def test_the_sampler_gives_a_distribution_that_respects_every_limit(log_probs, diversity, top_k, top_p, data):
    banned = data.draw(st.lists(st.integers(0, len(log_probs) - 1), max_size=len(log_probs) - 1, unique=True))
    normalised = log_probs - np.logaddexp.reduce(log_probs)
    p = adjust(normalised, diversity, top_k, top_p, banned)
    assert np.all(p >= 0) and math.isclose(p.sum(), 1, rel_tol=1e-5)  # the sampler works in float32
    assert not p[banned].any()
    allowed = np.setdiff1d(np.arange(len(p)), banned)
    if top_k and top_k < len(allowed):  # only the k likeliest allowed tokens (and any tied with the k-th in float32)
        z = normalised.astype(np.float32)
        assert z[p > 0].min() >= np.sort(z[allowed])[-top_k]
    drawn = sample(p, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    assert p[drawn] > 0


WORDS = st.sampled_from(["a", "neural", "network", "x-ray", "CMOS", "pH", "1.0", "10,000", "it's", "e.g.",
                         ",", ".", ";", ":", "(", ")", "!", "?", "%", "/", "-"])


@given(st.lists(WORDS, max_size=40))
def test_detokenized_text_splits_into_the_same_tokens(tokens):
    text = " ".join(tokens)
    assert split_words(detokenize(split_words(text))) == split_words(text)
