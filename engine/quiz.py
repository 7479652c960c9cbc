"""The "Human or Machine?" game: rounds built from test abstracts, and a player's running score.

A round shows the opening of a real abstract the model never trained on and three continuations of
the same number of words: the real one and two the model wrote from the same opening. All three go
through the same tokenizer, detokenizer and cut, then are shuffled.

The model reads the opening once and writes QUIZ_CANDIDATES continuations of it together (one
batch through the network); the two kept are those whose surprise (mean negative log-probability
under the model) is closest to the real continuation's, so that no option stands out as the only
predictable or the only strange one. Rounds are prepared ahead by ``engine.bank``.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np

from .config import (QUIZ_ADAPTIVE, QUIZ_CANDIDATES, QUIZ_CONTINUATION_WORDS, QUIZ_DIFFICULTIES,
                     QUIZ_PROMPT_WORDS, QUIZ_REPETITION_GUARD)
from .generate import Word, advance, fork, prepare_seed
from .tokenizer import detokenize, is_word, split_words


@dataclass(frozen=True)
class Option:
    text: str
    human: bool
    words: tuple[Word, ...]  # each token scored by the model, for the reveal's colouring


@dataclass(frozen=True)
class Round:
    round_id: str
    doc_id: str
    title: str
    date: str
    opening: str
    options: tuple[Option, ...]
    diversity: float
    bundle: str
    settings: dict
    created: float

    @property
    def human_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.human)


def cut_words(tokens: list[str], n: int) -> list[str]:
    """The shortest prefix of ``tokens`` holding ``n`` word tokens (punctuation in between kept)."""
    count = 0
    for i, token in enumerate(tokens):
        count += is_word(token)
        if count == n:
            return tokens[:i + 1]
    return tokens


def opening_end(tokens: list[str], vocabulary, prompt_words: int, length: int) -> int | None:
    """Where the opening ends: near ``prompt_words`` words, at a point whose real continuation of
    ``length`` words holds only words the model knows. It can never write the others, so they
    would give the human text away. None when the document has no such point."""
    word_at = [i for i, t in enumerate(tokens) if is_word(t)]
    for shift in sorted(range(-10, 11), key=abs):
        n = prompt_words + shift
        if n < 10 or n + length > len(word_at):
            continue
        end = word_at[n - 1] + 1
        if all(t in vocabulary for t in cut_words(tokens[end:], length)):
            return end
    return None


def surprise(words) -> float:
    """Mean negative log-probability of the words under the model (higher: less predictable)."""
    return -float(np.mean(np.log([w.prob for w in words]))) if words else 0.0


def make_round(bundle, documents, rng: np.random.Generator, diversity: float,
               prompt_words: int = QUIZ_PROMPT_WORDS, length: int = QUIZ_CONTINUATION_WORDS,
               candidates: int = QUIZ_CANDIDATES) -> Round:
    """One round from a random usable document (the caller passes test-split documents only); the
    two machine options are the best two of ``candidates`` continuations (see the module docstring)."""
    return make_rounds(bundle, documents, rng, [diversity], prompt_words, length, candidates)[0]


def make_rounds(bundle, documents, rng: np.random.Generator, diversities: list[float],
                prompt_words: int = QUIZ_PROMPT_WORDS, length: int = QUIZ_CONTINUATION_WORDS,
                candidates: int = QUIZ_CANDIDATES) -> list[Round]:
    """One round per diversity, each from its own random document, all their candidates written in
    one batch (a batch of 70 rows costs little more than one of 17: the weights are read once)."""
    picks = [_pick_opening(bundle, documents, rng, prompt_words, length) for _ in diversities]
    rows, forced = [], {}
    for doc, opening, real in picks:
        forced[len(rows) + candidates] = real  # the last row of each round reads the real text
        rows += fork(prepare_seed(bundle, detokenize(opening)), candidates + 1)
    for _ in advance(bundle, rows, length, np.repeat(diversities, candidates + 1),
                     rng_seeds=[int(s) for s in rng.integers(2**31, size=len(rows))], stop_at_eos=False,
                     repetition_guard=QUIZ_REPETITION_GUARD, forced=forced):
        pass
    settings = {"words": length, "repetition_guard": QUIZ_REPETITION_GUARD, "top_k": 0, "top_p": 1.0,
                "candidates": candidates}
    rounds = []
    for n, ((doc, opening, real), diversity) in enumerate(zip(picks, diversities)):
        mine = rows[n * (candidates + 1):(n + 1) * (candidates + 1)]
        human = mine[-1].words
        target = surprise(human)
        fakes = sorted(mine[:-1], key=lambda g: abs(surprise(g.words) - target))[:2]
        starts_sentence = opening[-1] in ".!?"
        options = [Option(detokenize(real, starts_sentence), True, tuple(human))]
        options += [Option(detokenize([w.token for w in g.words], starts_sentence), False, tuple(g.words))
                    for g in fakes]
        order = rng.permutation(3)
        rounds.append(Round(uuid.uuid4().hex, doc.doc_id, doc.title, doc.date, detokenize(opening),
                            tuple(options[i] for i in order), float(diversity), getattr(bundle, "name", ""),
                            settings, time.time()))
    return rounds


def _pick_opening(bundle, documents, rng, prompt_words: int, length: int):
    """(document, opening tokens, real continuation tokens) from a random usable document."""
    for i in rng.permutation(len(documents)):
        doc, tokens = documents[i], split_words(documents[i].text)
        end = opening_end(tokens, bundle.tokenizer.index, prompt_words, length)
        if end is not None:
            return doc, tokens[:end], cut_words(tokens[end:], length)
    raise ValueError(f"no abstract has {length} known words in a row after an opening of "
                     f"about {prompt_words} words")


@dataclass
class Answer:
    round: Round
    choice: int
    correct: bool
    points: int
    response_ms: int
    reasons: tuple[str, ...]


@dataclass
class Game:
    """One player's session: difficulty, score, streak and the current round."""

    difficulty: str = "medium"  # a key of QUIZ_DIFFICULTIES, or "adaptive"
    adaptive_diversity: float = 1.0
    score: int = 0
    streak: int = 0
    best_streak: int = 0
    rounds: int = 0
    correct: int = 0
    current: Round | None = None
    shown_at: float = 0.0
    last: Answer | None = None  # the answer to the current round, once given

    def diversity_range(self) -> tuple[float, float]:
        """The diversities the next round may be written at."""
        if self.difficulty == "adaptive":
            return (round(self.adaptive_diversity, 2),) * 2
        return QUIZ_DIFFICULTIES[self.difficulty]

    def points(self) -> int:
        """Harder rounds (lower diversity: more fluent machine text) are worth more: one point, plus one
        for each difficulty range that starts above this round's diversity."""
        return 1 + sum(low > self.current.diversity for low, _ in QUIZ_DIFFICULTIES.values())

    def start(self, round_: Round) -> None:
        self.current, self.last, self.shown_at = round_, None, time.time()

    def answer(self, round_id: str, choice: int, reasons=()) -> Answer | None:
        """Score an answer; None when it is late (another round is showing) or a repeat (double click)."""
        if self.current is None or round_id != self.current.round_id or self.last is not None:
            return None
        if choice not in range(len(self.current.options)):
            raise ValueError(f"choice must be 0, 1 or 2, not {choice}")
        correct = self.current.options[choice].human
        points = self.points() if correct else 0
        self.rounds += 1
        self.correct += correct
        self.score += points
        self.streak = self.streak + 1 if correct else 0
        self.best_streak = max(self.best_streak, self.streak)
        low, high, step = QUIZ_ADAPTIVE  # a staircase: right -> more fluent machine text, wrong -> less
        self.adaptive_diversity = min(high, max(low, self.adaptive_diversity + (-step if correct else step)))
        self.last = Answer(self.current, choice, correct, points, int((time.time() - self.shown_at) * 1000),
                           tuple(reasons))
        return self.last

    @property
    def accuracy(self) -> float:
        return self.correct / self.rounds if self.rounds else 0.0
