""""Where does the machine take over?" (after RoFT, Dugan et al. 2020): a real abstract, shown one
sentence at a time; from a random sentence on (sometimes never) the model writes the rest.

Abstracts come from the validation and test splits (never trained on), cut to their first
BOUNDARY.max_sentences sentences, and cut before the first later sentence holding a word the model
could not write there (outside its vocabulary, and not in the text so far for its cache to copy):
such a word would mark the sentence as the inventors'. The first sentence is always the
inventors'. The boundary (the first sentence the machine writes) is drawn first, uniformly from
the second sentence to the last possible one, or "never" in BOUNDARY.never of the rounds; an
abstract long enough for it is chosen after, so that short abstracts do not make early boundaries
likely (the page does not say how many sentences a round has). The model reads the human
sentences once and writes as many sentences as the cut abstract has after them. Human and machine
sentences go through the same tokenizer and detokenizer, so formatting gives nothing away.

After each sentence the player says "still human" or "the machine wrote this one". Points:
- BOUNDARY.points (5) for saying "machine" at the first sentence the machine wrote;
- max(5 - n, 0) for saying it n sentences late;
- 0 for saying it on a sentence the inventors wrote (too early);
- 0 for reading to the end without saying it when the machine did write (missed);
- 5 for reading to the end without saying it when the inventors wrote it all ("never").
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from ..config import BOUNDARY
from ..lm.generate import Word, prepare_opening, stream
from ..lm.settings import Sampling
from ..lm.tokenizer import detokenize, is_word, split_words

SENTENCE_END = frozenset(".!?")
_ABBREVIATIONS = frozenset({"fig", "figs", "no", "nos"})  # FIG. 1, No. 5: no end after these
# What patent text writes between dots (x.sub.1, a.times.b, .alpha.): no end on either side of these
_ENTITIES = frozenset("sub sup times eta mu alpha beta gamma delta epsilon zeta theta iota kappa lambda nu xi "
                      "pi rho sigma tau phi chi psi omega ltoreq gtoreq apprxeq infin".split())
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_NO_END_BEFORE = _ENTITIES | _CLOSE | frozenset(",;:")  # "etc.)", "etc., and": the sentence goes on


def sentence_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``tokens``: a sentence ends at '.', '!' or '?', except after
    an abbreviation (FIG. 1), around a patent entity (x.sub.1, .alpha.), before a closing bracket or
    a comma ("etc.)"), inside brackets that close ("(e.g. 2 V. or less)"), and before it holds a
    word (so "+ -." is no sentence); text after the last end is a sentence too."""
    spans, start, inside = [], 0, _inside_brackets(tokens)
    folded = [t.lower() for t in tokens]
    for i, token in enumerate(tokens):
        if (token in SENTENCE_END and not inside[i] and not (i and folded[i - 1] in _ABBREVIATIONS)
                and not (i > 1 and folded[i - 1] in _ENTITIES and tokens[i - 2] == ".")
                and not (i + 1 < len(tokens) and folded[i + 1] in _NO_END_BEFORE)
                and any(is_word(t) for t in tokens[start:i])):
            spans.append((start, i + 1))
            start = i + 1
    if start < len(tokens):
        spans.append((start, len(tokens)))
    return spans


def _inside_brackets(tokens: list[str]) -> list[bool]:
    """Whether each token lies between a bracket and the one that closes it (an unclosed one counts not)."""
    inside, opened = [False] * len(tokens), []
    for i, token in enumerate(tokens):
        if token in _OPEN:
            opened.append(i)
        elif token in _CLOSE and opened:
            start = opened.pop() + 1
            inside[start:i] = [True] * (i - start)
    return inside


def split_sentences(text: str) -> list[list[str]]:
    """The tokens of each sentence of ``text``."""
    tokens = split_words(text)
    return [tokens[a:b] for a, b in sentence_spans(tokens)]


def writable_prefix(bundle, sentences: list[list[str]]) -> int:
    """How many leading ``sentences`` the game may show: the first, then each one holding only words
    the model could write there (in its vocabulary, or copied by its cache from the text before)."""
    vocabulary, copies = bundle.tokenizer.index, bundle.cache.mix > 0 and not bundle.net.windowed
    seen = set(sentences[0]) if copies and sentences else set()
    for i, tokens in enumerate(sentences[1:], 1):
        if any(is_word(t) and t not in vocabulary and t not in seen for t in tokens):
            return i
        seen.update(tokens if copies else ())
    return len(sentences)


def points(boundary: int, n_sentences: int, guess: int | None) -> int:
    """Points for saying "machine" at sentence ``guess`` (None: never said it) when the machine took
    over at sentence ``boundary`` (``n_sentences``: never); see the module docstring."""
    if guess is None:
        return BOUNDARY.points if boundary >= n_sentences else 0
    if guess < boundary:
        return 0
    return max(BOUNDARY.points - (guess - boundary), 0)


def draw_boundary(n_sentences: int, rng: np.random.Generator, never: float = BOUNDARY.never) -> int:
    """The first sentence the machine writes: ``n_sentences`` ("never") with probability ``never``,
    else uniformly one of sentences 1 to n - 1 (the first is always the inventors')."""
    if n_sentences < 2 or rng.random() < never:
        return n_sentences
    return int(rng.integers(1, n_sentences))


@dataclass(frozen=True)
class Sentence:
    text: str
    human: bool
    words: tuple[Word, ...] = ()  # the machine's sentences: each token with the model's probability and rank


@dataclass(frozen=True)
class BoundaryRound:
    round_id: str
    doc_id: str
    title: str
    sentences: tuple[Sentence, ...]
    boundary: int  # the first sentence the machine wrote; len(sentences): the inventors wrote every one
    diversity: float
    bundle: str
    settings: dict

    @property
    def never(self) -> bool:
        return self.boundary >= len(self.sentences)


def sampling_for(diversity: float, rng_seed: int | None, max_words: int = BOUNDARY.max_words) -> Sampling:
    """How the machine writes its sentences in a round."""
    return Sampling(diversity, repetition_guard=BOUNDARY.repetition_guard, rng_seed=rng_seed, words=max_words)


def write_sentences(bundle, opening_text: str, n: int, diversity: float, rng_seed: int,
                    max_words: int = BOUNDARY.max_words) -> list[list[Word]]:
    """``n`` sentences the model writes after ``opening_text`` (fewer when it reaches ``max_words``:
    an unfinished last sentence is dropped unless it is the only one)."""
    generation = prepare_opening(bundle, opening_text)
    tokens: list[str] = []
    for word in stream(bundle, generation, sampling_for(diversity, rng_seed, max_words), stop_at_eos=False):
        tokens.append(word.token)
        if word.token in SENTENCE_END and len(sentence_spans(tokens)) >= n:
            break
    spans = sentence_spans(tokens)
    if len(spans) > 1 and tokens[-1] not in SENTENCE_END:
        spans = spans[:-1]
    return [generation.words[a:b] for a, b in spans]


def make_boundary_round(bundle, documents, rng: np.random.Generator, diversity_range=BOUNDARY.diversity,
                        played=(), max_sentences: int = BOUNDARY.max_sentences) -> BoundaryRound:
    """A round: the boundary is drawn first (see ``draw_boundary``, over ``max_sentences``), so every
    sentence is as likely as any other whatever the abstracts' lengths; then a random document of
    ``documents`` with sentences enough before and after it (see ``writable_prefix``; one the player
    has not ``played`` while there are any; the longest there is when none is that long).
    ValueError when no document has two sentences the model could have written."""
    boundary = draw_boundary(max_sentences, rng)
    never = boundary >= max_sentences
    doc, human = _pick(bundle, documents, rng, set(played), max_sentences, 2 if never else boundary + 1)
    boundary = len(human) if never else min(boundary, len(human) - 1)
    diversity = round(float(rng.uniform(*diversity_range)), 2)
    rng_seed = int(rng.integers(2**31)) if boundary < len(human) else None  # drawn only when the machine writes
    sentences = [Sentence(detokenize(tokens), True) for tokens in human[:boundary]]
    if boundary < len(human):
        opening = detokenize([t for tokens in human[:boundary] for t in tokens])
        written = write_sentences(bundle, opening, len(human) - boundary, diversity, rng_seed)
        sentences += [Sentence(detokenize([w.token for w in words]), False, tuple(words)) for words in written]
    settings = {**sampling_for(diversity, rng_seed).to_dict(), "max_sentences": max_sentences, "never": BOUNDARY.never,
                "real_sentences": len(human)}
    return BoundaryRound(uuid.uuid4().hex, doc.doc_id, doc.title, tuple(sentences), boundary, diversity,
                         getattr(bundle, "name", ""), settings)


def _pick(bundle, documents, rng, played: set, max_sentences: int, wanted: int):
    """(document, the sentences the game may show, as tokens): ``wanted`` sentences or more, unplayed
    documents first; else the document with the most."""
    order = sorted(rng.permutation(len(documents)), key=lambda i: documents[i].doc_id in played)  # stable
    best = (None, [])
    for i in order:
        sentences = split_sentences(documents[i].text)[:max_sentences]
        sentences = sentences[:writable_prefix(bundle, sentences)]
        if len(sentences) >= wanted:
            return documents[i], sentences
        best = max(best, (documents[i], sentences), key=lambda pick: len(pick[1]))
    if len(best[1]) < 2:
        raise ValueError("no abstract here has two sentences or more that the model could have written")
    return best


@dataclass
class BoundaryAnswer:
    round: BoundaryRound
    guess: int | None  # the sentence the player said the machine wrote; None: never said it
    points: int
    response_ms: int

    @property
    def late(self) -> int | None:
        """Sentences between the machine's first and the one the player named (0: exact); None when
        the player named none or named one too early, or the inventors wrote it all."""
        if self.guess is None or self.guess < self.round.boundary:
            return None
        return self.guess - self.round.boundary


@dataclass
class BoundaryGame:
    """One player's session: score, the current round and how many of its sentences are showing."""

    score: int = 0
    rounds: int = 0
    exact: int = 0  # rounds scored in full
    current: BoundaryRound | None = None
    shown: int = 0  # sentences of the current round on screen
    started_at: float = 0.0
    last: BoundaryAnswer | None = None  # the answer to the current round, once it is over
    played: list[str] = field(default_factory=list)  # doc ids, so abstracts do not come back soon

    def start(self, round_: BoundaryRound) -> None:
        self.current, self.shown, self.last, self.started_at = round_, 1, None, time.time()
        self.played.append(round_.doc_id)

    def say(self, round_id: str, sentence: int, machine: bool) -> BoundaryAnswer | None:
        """The player's word on ``sentence`` (the last one showing): "still human" shows the next one,
        or ends the round after the last; "machine" ends the round. The answer when the round ends;
        None otherwise, and for a click meant for another sentence or round (a double click)."""
        r = self.current
        if r is None or self.last is not None or round_id != r.round_id or sentence != self.shown - 1:
            return None
        if not machine and self.shown < len(r.sentences):
            self.shown += 1
            return None
        guess = sentence if machine else None
        earned = points(r.boundary, len(r.sentences), guess)
        self.rounds += 1
        self.score += earned
        self.exact += earned == BOUNDARY.points
        self.last = BoundaryAnswer(r, guess, earned, int((time.time() - self.started_at) * 1000))
        return self.last


def verdict(answer: BoundaryAnswer) -> str:
    """What happened in the round, in words (sentences counted from 1, as the player sees them)."""
    r, guess = answer.round, answer.guess
    named = "" if guess is None else f"you said machine at sentence {guess + 1}"
    if r.never:
        return ("Right: the inventors wrote every sentence." if guess is None
                else f"Too early: the inventors wrote every sentence, but {named}.")
    took_over = f"the machine took over at sentence {r.boundary + 1}"
    if guess is None:
        return f"Missed: {took_over}, and you never said machine."
    if guess < r.boundary:
        return f"Too early: {took_over}, but {named}."
    if guess == r.boundary:
        return f"Exactly: {took_over}."
    late = guess - r.boundary
    return f"{late} sentence{'s' if late > 1 else ''} late: {took_over}; {named}."
