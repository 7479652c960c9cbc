"""The human-likeness critic: how likely a continuation is to be people's rather than the model's.

A logistic regression over what the text and the model give away: the model's own probability of
each token (mean, spread, lows), how often a token is among the model's 1/10/100/1000 likeliest,
how often it was copied, surface features (word length, punctuation, sentence ends, repeats), how
much of the opening's subject it keeps, and how much its words are people's rather than the
model's favourite filler (a small lexicon of log ratios). It is fitted by ``engine.games.fit_critic``
(real continuations against the model's, on abstracts no quiz shows) and kept in the bundle as
``critic.json``: scoring is a dot product, no fitting library needed at run time.

Rounds keep the two machine continuations the critic scores closest to the real one (of N, ``engine.games.quiz``).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from ..jsonio import write_json_atomic
from ..lm.bundle import CRITIC
from ..lm.tokenizer import is_word

COMMON_WORDS = 150  # a content word is a word outside the training split's most frequent ones
FEATURES = ("mean log p", "spread of log p", "lowest log p", "lower quartile of log p", "median log p",
            "share ranked first", "share in top 10", "share in top 100", "share in top 1000", "share copied",
            "characters per word", "punctuation share", "commas per word", "sentence ends per word",
            "distinct words share", "immediate repeats", "digits and brackets per word",
            "opening's content words reused", "content words from the opening", "content word share",
            "human words", "share of 'the'", "share of 'of'", "share of 'a' and 'an'")
LEXICON_MIN_COUNT = 10  # a word needs this many uses in the critic's examples to get a weight
LEXICON_PRIOR = 5.0  # pseudo-counts pulling rare words' weights towards zero


def common_words(tokenizer) -> frozenset[str]:
    """The training split's COMMON_WORDS most frequent words (the vocabulary is in order of frequency)."""
    return frozenset(islice((t for t in tokenizer.vocab if is_word(t)), COMMON_WORDS))


def features(opening: list[str], words, common: frozenset[str], lexicon: dict[str, float]) -> np.ndarray:
    """FEATURES of one continuation (``words``: engine.lm.generate.Word tuples) after ``opening`` tokens;
    ``lexicon``: word -> how much likelier people use it than the model (log ratio; see ``lexicon``)."""
    tokens = [w.token for w in words]
    word_tokens = [t for t in tokens if is_word(t)] or [""]
    n, nw = max(len(tokens), 1), len(word_tokens)
    logp = np.log(np.clip([w.prob for w in words] or [1.0], 1e-9, 1.0))
    ranks = np.array([w.rank for w in words] or [0])
    opening_content = {t for t in opening if is_word(t) and t not in common}
    content = [t for t in word_tokens if t and t not in common]
    return np.array([
        logp.mean(), logp.std(), logp.min(), np.percentile(logp, 25), np.median(logp),
        (ranks == 0).mean(), (ranks < 10).mean(), (ranks < 100).mean(), (ranks < 1000).mean(),
        np.mean([w.copied for w in words] or [0]),
        np.mean([len(t) for t in word_tokens]), 1 - nw / n, tokens.count(",") / nw,
        sum(t in ".!?;" for t in tokens) / nw, len(set(word_tokens)) / nw,
        sum(a == b for a, b in zip(tokens, tokens[1:])),
        sum(any(c.isdigit() or c in "()[]" for c in t) for t in tokens) / nw,
        len(opening_content & set(content)) / max(len(opening_content), 1),
        sum(t in opening_content for t in content) / max(len(content), 1),
        len(content) / nw, np.mean([lexicon.get(t, 0.0) for t in word_tokens]),
        word_tokens.count("the") / nw, word_tokens.count("of") / nw, (word_tokens.count("a") + word_tokens.count("an")) / nw,
    ], float)


def lexicon(human: list[list[str]], machine: list[list[str]]) -> dict[str, float]:
    """Word -> log of how much more often people use it than the model, from example continuations
    (token lists) of each; smoothed towards 0, and only for words used LEXICON_MIN_COUNT times. The
    model overuses filler ("of the", "is provided") and people use specific terms: this catches it."""
    people, model = Counter(t for c in human for t in c if is_word(t)), Counter(t for c in machine for t in c if is_word(t))
    n_people, n_model = sum(people.values()) or 1, sum(model.values()) or 1
    return {w: round(float(np.log((people[w] + LEXICON_PRIOR) / n_people) - np.log((model[w] + LEXICON_PRIOR) / n_model)), 3)
            for w in people.keys() | model.keys() if people[w] + model[w] >= LEXICON_MIN_COUNT}


@dataclass(frozen=True)
class Critic:
    """Standardised features -> log-odds that a continuation is people's."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    lexicon: dict  # word -> log ratio of people's use to the model's (see ``lexicon``)
    fitted_on: dict  # what it was fitted on and how well it did on held-out abstracts

    def features(self, opening: list[str], words, common: frozenset[str]) -> np.ndarray:
        return features(opening, words, common, self.lexicon)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.mean) / self.scale

    def score(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of human for each row of features (higher: more human-like)."""
        return self.standardise(x) @ np.asarray(self.weights) + self.bias

    def save(self, path: Path) -> None:
        write_json_atomic(path, {"features": FEATURES, **asdict(self)})

    @classmethod
    def load(cls, path: Path) -> "Critic | None":
        """The critic at ``path``; None when it is missing, damaged or made for other features."""
        try:
            data = json.loads(path.read_text())
            if tuple(data.pop("features")) != FEATURES:
                return None
            critic = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
            return critic if len(critic.weights) == len(FEATURES) else None
        except (OSError, ValueError, TypeError, KeyError):
            return None


def load_critic(bundle) -> Critic | None:
    """The critic fitted for ``bundle`` (its critic.json), or None."""
    return Critic.load(bundle.path / CRITIC)


def fit(x: np.ndarray, y: np.ndarray, words: dict[str, float], fitted_on: dict) -> Critic:
    """A logistic regression (scikit-learn) of human (1) vs machine (0) on feature rows ``x``
    (computed with the lexicon ``words``)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit((x - mean) / scale, y)
    return Critic(tuple(mean.tolist()), tuple(scale.tolist()), tuple(model.coef_[0].tolist()),
                  float(model.intercept_[0]), words, fitted_on)
