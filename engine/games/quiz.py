"""The "Human or Machine?" game: rounds built from abstracts no model trained on, and a player's session.

A round shows the opening of a real abstract and three continuations of the same number of words
(the level's length; the pool holds abstracts with QUIZ.continuation_words known words to spare):
the real one and two the model wrote from the same opening. All three go through the same
tokenizer, detokenizer and cut, then are shuffled.

How hard a round is, is a level of QUIZ.levels (set by measurement): the model reads the opening once
and writes the level's number of candidates together (one batch through the network), at a diversity
drawn from its range. Candidates that copy NOVELTY_RUN words in a row from a training abstract are
dropped; of the rest, those whose length in characters is close to the real continuation's are
scored by the bundle's human-likeness critic (``engine.games.critic``), and the two whose score is closest
to the real continuation's own are kept (without a critic: the two closest to it in surprise).
Closest, not highest: the most human-looking of many tries overshoot (they reuse the opening's
words more than people do), which a judge learns; matching the real text leaves nothing to learn. Rounds are prepared ahead by
``engine.games.bank``; each player draws abstracts from a deck, without repeats until every one was seen.
"""
from __future__ import annotations

import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from ..config import NOVELTY_RUN, QUIZ_OPTIONS, QUIZ, READER_SHORTLIST, QuizLevel
from ..corpus import Document
from .boundary import SENTENCE_END, sentence_spans
from .convincing import gives_itself_away, reader_choice
from .critic import common_words, load_critic
from ..lm.generate import Word, advance, fork, prepare_opening
from ..lm.reader import ReaderUnavailable, shared_reader
from ..lm.settings import Sampling
from .novelty import TrainingRuns
from ..lm.tokenizer import detokenize, is_word, split_words

LENGTH_TOLERANCE = 0.1  # machine options are kept within 10% of the real continuation's characters when possible


@dataclass(frozen=True)
class Option:
    text: str
    human: bool
    words: tuple[Word, ...]  # each token scored by the model, for the reveal's colouring
    reader_logp: float | None = None  # the reader's log-probability per word given the opening (None: no reader)


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
    stored_id: str = ""  # its id in the round library (engine.games.round_library); "" when not stored

    @property
    def level(self) -> int:
        return self.settings.get("level", 0)

    @property
    def human_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.human)

    @property
    def reader_pick(self) -> int | None:
        """The option the reader found likeliest per word; None when the round has no reader scores."""
        scores = [o.reader_logp for o in self.options]
        return None if None in scores else int(np.argmax(scores))


def cut_words(tokens: list[str], n: int) -> list[str]:
    """The shortest prefix of ``tokens`` holding ``n`` word tokens (punctuation in between kept)."""
    count = 0
    for i, token in enumerate(tokens):
        count += is_word(token)
        if count == n:
            return tokens[:i + 1]
    return tokens


def opening_end(tokens: list[str], vocabulary, prompt_words: int, length: int, at_sentence: bool = False,
                plain: int | None = None, common: frozenset[str] = frozenset()) -> int | None:
    """Where the opening ends: near ``prompt_words`` words, at a point whose real continuation of
    ``length`` words holds only words the model knows (it can never write the others, so they would
    give the human text away). With ``at_sentence``, at the end of a sentence (engine.games.boundary's
    sentences: not after "FIG." nor inside brackets) within QUIZ.sentence_words words, so no option
    has to finish a phrase the opening left open; with ``plain``, where the real
    continuation brings at most that many words outside ``common`` that the opening lacks (readers
    find the human by the new, specific element it brings). None when the document has no such point."""
    word_at = [i for i, t in enumerate(tokens) if is_word(t)]
    if at_sentence:  # (words before it, where it ends) of each sentence the opening may end with
        cuts = [(n, end) for _, end in sentence_spans(tokens) if tokens[end - 1] in SENTENCE_END
                and QUIZ.sentence_words[0] <= (n := bisect_left(word_at, end)) < QUIZ.sentence_words[1]]
    else:
        cuts = [(n, word_at[n - 1] + 1) for n in range(max(prompt_words - 10, 1), min(prompt_words + 11, len(word_at) + 1))]
    for n, end in sorted(cuts, key=lambda cut: abs(cut[0] - prompt_words)):
        if n < 10 or n + length > len(word_at):
            continue
        real = cut_words(tokens[end:], length)
        if all(t in vocabulary for t in real) and (plain is None or len(new_words(tokens[:end], real, common)) <= plain):
            return end
    return None


def new_words(opening: list[str], continuation: list[str], common: frozenset[str]) -> set[str]:
    """The words of ``continuation`` outside ``common`` that ``opening`` does not have."""
    return {t for t in continuation if is_word(t) and t not in common} - set(opening)


def surprise(words) -> float:
    """Mean negative log-probability of the words under the model (higher: less predictable)."""
    return -float(np.mean(np.log([w.prob for w in words]))) if words else 0.0


@dataclass(frozen=True)
class Pool:
    """What rounds are made from: the abstracts no model trained on (validation and test splits)
    that have a usable opening, and the training abstracts' word runs for the memorisation guard."""

    documents: tuple[Document, ...]
    training: TrainingRuns
    source: str = ""  # the corpus file they were read from (a worker process reads it too); "" when unknown
    _playable: dict = field(default_factory=dict, compare=False, repr=False)  # QuizLevel -> (documents, ids)

    @cached_property
    def ids(self) -> frozenset[str]:
        return frozenset(d.doc_id for d in self.documents)

    def playable(self, bundle, spec: QuizLevel) -> tuple[Document, ...]:
        """The documents with an opening for a round of ``bundle`` at level ``spec`` (worked out once);
        NoRounds when there is none."""
        return self._fitting(bundle, spec)[0]

    def playable_ids(self, bundle, spec: QuizLevel) -> frozenset[str]:
        """The ids of ``playable``'s documents."""
        return self._fitting(bundle, spec)[1]

    def _fitting(self, bundle, spec: QuizLevel) -> tuple[tuple[Document, ...], frozenset[str]]:
        if spec not in self._playable:
            documents = tuple(d for d in self.documents if opening_of(bundle, d, spec) is not None)
            self._playable[spec] = documents, frozenset(d.doc_id for d in documents)
        if not self._playable[spec][0]:
            raise NoRounds("No abstract of this corpus can make a round at this difficulty: try an easier one.")
        return self._playable[spec]


class NoRounds(ValueError):
    """No abstract can make a round at a difficulty (the message says so in plain words)."""


def quiz_pool(bundle, corpus) -> Pool:
    """The quiz's pool for ``bundle`` over ``corpus``; no documents when it is not the bundle's corpus."""
    usable = tuple(d for d in bundle.held_out_documents(corpus) if opening_of(bundle, d) is not None)
    training = corpus.select(bundle.split.train) if usable else []
    return Pool(usable, TrainingRuns.of(d.text for d in training), corpus.source)


def opening_of(bundle, doc: Document, spec: QuizLevel | None = None) -> tuple[list[str], list[str]] | None:
    """(opening tokens, real continuation tokens) of ``doc`` for a round at level ``spec`` (None: the
    longest continuation, cut anywhere); None when it has no such opening."""
    tokens = split_words(doc.text)
    if spec is None:
        end = opening_end(tokens, bundle.tokenizer.index, QUIZ.prompt_words, QUIZ.continuation_words)
    else:
        end = opening_end(tokens, bundle.tokenizer.index, QUIZ.prompt_words, spec.length, spec.at_sentence, spec.plain,
                          common_words(bundle.tokenizer))
    return None if end is None else cut_at(tokens, end, QUIZ.continuation_words if spec is None else spec.length)


def cut_at(tokens: list[str], end: int, length: int) -> tuple[list[str], list[str]]:
    """(the first ``end`` tokens, the next ``length`` words)."""
    return tokens[:end], cut_words(tokens[end:], length)


def available_reader():
    """The shared reader (engine.lm.reader), or None when it is not installed."""
    try:
        return shared_reader()
    except ReaderUnavailable:
        return None


def make_rounds(bundle, pool: Pool, documents: list[Document], level: int, rng: np.random.Generator,
                critic: bool = True, levels: tuple[QuizLevel, ...] = QUIZ.levels, reader: bool = True) -> list[Round]:
    """One round per document (each from the pool) at level ``level`` of ``levels``, all their
    candidates written in one batch (a batch of 70 rows costs little more than one of 17: the
    weights are read once). ``critic=False`` ranks by surprise even when the bundle has a critic;
    ``reader=False`` leaves the reader out even when it is installed (engine.games.convincing).
    A document whose candidates all copy from training abstracts, QUIZ.rewrites times over, gets no round."""
    spec = levels[level]
    cuts = {doc.doc_id: opening_of(bundle, doc, spec) for doc in documents}
    picks = [(doc, *cuts[doc.doc_id]) for doc in documents if cuts[doc.doc_id] is not None]  # the rest give none
    judge = load_critic(bundle) if critic else None
    model = available_reader() if reader and spec.for_readers else None  # it costs ~2 s a round: only where it pays
    common = common_words(bundle.tokenizer)
    rounds = {}
    for _ in range(QUIZ.rewrites):
        todo = [k for k in range(len(picks)) if k not in rounds]
        diversities = rng.uniform(*spec.diversity, (len(todo), spec.candidates)).round(2)
        written = write_continuations(bundle, [picks[k][1:] for k in todo], diversities, spec.top_p, spec.length, rng)
        for k, (human, machine), tried in zip(todo, written, diversities):
            doc, opening, _ = picks[k]
            novel = [i for i, m in enumerate(machine)
                     if pool.training.longest_copy(opening, [w.token for w in m]) < NOVELTY_RUN]
            if spec.for_readers:
                clean = [i for i in novel if not gives_itself_away(opening, [w.token for w in machine[i]])]
                novel = clean if len(clean) >= QUIZ_OPTIONS - 1 else novel
            if len(novel) >= QUIZ_OPTIONS - 1:
                chosen = [novel[i] for i in _like_the_human(opening, human, [machine[i] for i in novel], judge, common,
                                                            model)]
                rounds[k] = _round(bundle, doc, opening, human, [machine[i] for i in chosen],
                                   float(tried[chosen].mean()), level, spec, judge, model, rng)
        if len(rounds) == len(picks):
            break
    return [rounds[k] for k in sorted(rounds)]


def write_continuations(bundle, openings, diversities: np.ndarray, top_p: float, length: int,
                        rng) -> list[tuple[list[Word], list[list[Word]]]]:
    """For each (opening tokens, real continuation tokens): the real continuation scored by the model
    and the model's continuations of ``length`` words at each of its row of ``diversities``, all
    written together."""
    n = diversities.shape[1] + 1
    rows, forced = [], {}
    for opening, real in openings:
        forced[len(rows) + n - 1] = real  # the last row of each opening reads the real text
        rows += fork(prepare_opening(bundle, detokenize(opening)), n)
    row_diversities = np.concatenate([diversities, np.ones((len(openings), 1))], axis=1).ravel()
    sampling = Sampling(top_p=top_p, repetition_guard=QUIZ.repetition_guard, words=length)
    for _ in advance(bundle, rows, sampling, row_diversities, [int(s) for s in rng.integers(2**31, size=len(rows))],
                     stop_at_eos=False, forced=forced):
        pass
    return [(rows[k * n + n - 1].words, [g.words for g in rows[k * n:k * n + n - 1]]) for k in range(len(openings))]


def _like_the_human(opening, human, machine, critic, common: frozenset[str], reader=None) -> list[int]:
    """Which two candidates to show: among those close in length to the real continuation (all, when
    fewer than two are), the two the critic scores closest to the real continuation, or without a
    critic the two closest to it in surprise. With a ``reader``, it chooses the two among the
    READER_SHORTLIST closest (engine.games.convincing.reader_choice)."""
    def chars(words):
        return len(detokenize([w.token for w in words]))

    keep = QUIZ_OPTIONS - 1 if reader is None else READER_SHORTLIST
    target = chars(human)
    close = [i for i, m in enumerate(machine) if abs(chars(m) - target) <= LENGTH_TOLERANCE * target]
    if len(close) < 2:
        close = sorted(range(len(machine)), key=lambda i: abs(chars(machine[i]) - target))[:QUIZ_OPTIONS - 1]
    if critic is None:
        shortlist = sorted(close, key=lambda i: abs(surprise(machine[i]) - surprise(human)))[:keep]
    else:
        scores = critic.score(np.array([critic.features(opening, words, common) for words in [human] +
                                        [machine[i] for i in close]]))
        shortlist = [close[i] for i in np.argsort(np.abs(scores[1:] - scores[0]), kind="stable")[:keep]]
    if reader is None:
        return shortlist
    starts_sentence = opening[-1] in ".!?"
    texts = [detokenize([w.token for w in m], starts_sentence) for m in [human] + [machine[i] for i in shortlist]]
    return [shortlist[i] for i in reader_choice(reader, detokenize(opening), texts[0], texts[1:])]


def _per_word(score, words) -> float:
    return score.total / max(sum(is_word(w.token) for w in words), 1)


def _round(bundle, doc, opening, human, fakes, diversity, level, spec, critic, reader, rng) -> Round:
    starts_sentence = opening[-1] in ".!?"
    options = [Option(detokenize([w.token for w in human], starts_sentence), True, tuple(human))]
    options += [Option(detokenize([w.token for w in f], starts_sentence), False, tuple(f)) for f in fakes]
    if reader is not None:  # what the reader that chose them thought of each option, for the reveal
        scores = reader.score(detokenize(opening), [o.text for o in options])
        options = [replace(o, reader_logp=_per_word(s, o.words)) for o, s in zip(options, scores)]
    settings = {"level": level, "words": spec.length, "opening_tokens": len(opening), "repetition_guard": QUIZ.repetition_guard,
                "top_k": 0, "top_p": spec.top_p, "candidates": spec.candidates,
                "chosen_by": ("critic" if critic is not None else "surprise") + (" and reader" if reader is not None else "")}
    order = rng.permutation(QUIZ_OPTIONS)
    return Round(uuid.uuid4().hex, doc.doc_id, doc.title, doc.date, detokenize(opening),
                 tuple(options[i] for i in order), float(diversity), getattr(bundle, "name", ""), settings,
                 time.time())


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
    """One player's session: difficulty, the deck of abstracts, score, streak and the current round.

    Adaptive play is a staircase on QUIZ.levels: QUIZ.adaptive_step of a level harder after a right
    answer, as much easier after a wrong one, so it settles where the player is right about half
    the time (a step under a level keeps it from wandering far). Only adaptive rounds move it.
    """

    difficulty: str = "medium"  # a key of QUIZ.difficulties, or "adaptive"
    adaptive_position: float = QUIZ.difficulties["medium"]  # on the scale of levels; played at the nearest
    score: int = 0
    streak: int = 0
    best_streak: int = 0
    rounds: int = 0
    correct: int = 0
    seen: set[str] = field(default_factory=set)  # abstracts shown since the deck was last reshuffled
    current: Round | None = None
    current_adaptive: bool = False
    shown_at: float = 0.0
    last: Answer | None = None  # the answer to the current round, once given

    def level(self) -> int:
        """The level of QUIZ.levels the next round is written at."""
        if self.difficulty == "adaptive":
            return int(round(self.adaptive_position))
        return QUIZ.difficulties[self.difficulty]

    def deal(self, bank, bundle, pool: Pool) -> Round:
        """The next round from ``bank`` (engine.games.library_server or engine.games.bank) at this player's
        level, from an abstract of the deck: one not yet seen that makes a round at this level, or any
        once every one was (the deck is then reshuffled). NoRounds when no abstract makes one."""
        ids = pool.playable_ids(bundle, QUIZ.levels[self.level()])
        if not ids - self.seen:
            self.seen.clear()
        round_ = bank.take(bundle, pool, self.level(), ids - self.seen)
        self.seen.add(round_.doc_id)
        return round_

    def points(self) -> int:
        """Harder rounds are worth more: 1 on the easiest level, 3 on the hardest."""
        return 1 + round(2 * self.current.level / (len(QUIZ.levels) - 1))

    def start(self, round_: Round) -> None:
        self.current, self.last, self.shown_at = round_, None, time.time()
        self.current_adaptive = self.difficulty == "adaptive"

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
        if self.current_adaptive:
            step = QUIZ.adaptive_step if correct else -QUIZ.adaptive_step
            self.adaptive_position = min(len(QUIZ.levels) - 1, max(0, self.adaptive_position + step))
        self.last = Answer(self.current, choice, correct, points, int((time.time() - self.shown_at) * 1000),
                           tuple(reasons))
        return self.last

    @property
    def accuracy(self) -> float:
        return self.correct / self.rounds if self.rounds else 0.0
