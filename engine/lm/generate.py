"""Write text with a trained bundle: opening -> words, with each word's probability and rank.

    python -m engine.lm.generate --opening "a neural network" --words 40 --diversity 0.8 --rng-seed 1
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Iterator

import numpy as np

from .bundle import Bundle, BundleError, active_bundle, load_bundle
from ..config import MAX_GENERATED_WORDS, UNKNOWN_WORD_GAP, CacheConfig
from .copy import Memory
from .fastlm import NumpyLM, State, stack, take
from .sampler import adjust, sample_rows
from .settings import Sampling, check_limits, parse_setting, trim_opening
from .tokenizer import Tokenizer, detokenize, is_word, split_words


@dataclass(frozen=True)
class Snapshot:
    """What generation needs: a tokenizer, a NumPy network and the cache settings (a Bundle has all three)."""

    tokenizer: Tokenizer
    net: NumpyLM
    cache: CacheConfig = CacheConfig()


@dataclass(frozen=True)
class Word:
    """One generated token with the model's (unadjusted) probability and its rank (0 = likeliest);
    ``copied``: the continuous cache gave it most of its probability (always so for a word outside
    the vocabulary, which only the cache can write)."""

    token: str
    prob: float
    rank: int
    copied: bool = False


@dataclass
class Generation:
    """An opening and what the model wrote after it; it keeps the token ids the network has read
    and the network's state after them, so writing on or asking what comes next re-reads nothing."""

    opening: str  # the opening as used (cleaned, possibly shortened)
    opening_tokens: list[str]
    unknown_words: list[str]
    ids: list[int] = field(default_factory=list, repr=False)  # BOS, the opening, then the tokens written
    state: State = field(default=(), repr=False)  # the network's state after reading ``ids`` (a batch of one)
    memory: Memory | None = field(default=None, repr=False)  # the continuous cache, when the bundle has one
    words: list[Word] = field(default_factory=list)
    ended: bool = False  # the model closed the abstract itself (EOS)

    @property
    def continuation(self) -> str:
        """The generated text alone, capitalised as it would be after the opening."""
        return detokenize([w.token for w in self.words], sentence_start=self._starts_sentence)

    @property
    def text(self) -> str:
        """Seed (as given) and continuation as one text."""
        previous = self.opening_tokens[-1] if self.opening_tokens else None
        return self.opening + detokenize([w.token for w in self.words], self._starts_sentence, previous)

    @property
    def _starts_sentence(self) -> bool:
        return not self.opening_tokens or self.opening_tokens[-1] in {".", "!", "?"}

    def to_dict(self) -> dict:
        return {"opening": self.opening, "unknown_words": self.unknown_words,
                "continuation": self.continuation, "text": self.text, "ended": self.ended,
                "words": [asdict(w) for w in self.words]}


def prepare_opening(bundle: Bundle | Snapshot, opening: str) -> Generation:
    """Clean and shorten the opening, report words outside the vocabulary, and read it once."""
    text = trim_opening(opening)
    tok = bundle.tokenizer
    ids = [tok.bos_id] + tok.encode(text)
    state, hidden = bundle.net.read(ids)
    memory = None
    if bundle.cache.mix > 0 and not bundle.net.windowed:
        memory = Memory(bundle.cache, tok.index)
        for h, word in zip(hidden, split_words(text)):  # the state before each word, paired with that word
            memory.add(h, word)
    return Generation(opening=text, opening_tokens=tok.tokens(ids[1:]), unknown_words=tok.unknown_words(text),
                      ids=ids, state=state, memory=memory)


def fork(generation: Generation, n: int) -> list[Generation]:
    """``n`` independent copies of ``generation`` to write on (the state's arrays are never changed in place)."""
    return [replace(generation, ids=list(generation.ids), words=list(generation.words),
                    memory=generation.memory and generation.memory.copy()) for _ in range(n)]


def advance(bundle: Bundle | Snapshot, rows: list[Generation], sampling: Sampling = Sampling(),
            diversities=None, rng_seeds=None, stop_at_eos: bool = True,
            forced: dict[int, list[str]] | None = None) -> Iterator[tuple[int, Word]]:
    """Write on every generation of ``rows`` together, one token each per step, as one batch through
    the network; yields (row, word) as words are written, appending them to the row.

    sampling: the settings of every row (its ``words``: at most MAX_GENERATED_WORDS), except that
    ``diversities`` and ``rng_seeds``, when given, set each row's own (a row with a given seed writes
    what it would write alone).
    forced: {row: text tokens} for rows that read given text instead of sampling; their words get
    the model's probability and rank just as written words do.
    A row with a cache (``Generation.memory``) mixes it in: it may copy any word of its text so far,
    a word outside the vocabulary too (the network then reads it as <unk>), but never within
    UNKNOWN_WORD_GAP tokens of writing it before.
    """
    diversities = sampling.diversity if diversities is None else diversities
    for value in np.atleast_1d(diversities).tolist():
        check_limits(diversity=value)
    rng_seeds = [sampling.rng_seed] * len(rows) if rng_seeds is None else rng_seeds
    batch = _Batch.start(bundle, rows, sampling, diversities, rng_seeds, stop_at_eos, forced or {})
    while batch.active:
        step = batch.distributions()  # the network's next-token log-probabilities, each row's cache mixed in
        batch.sample(step)  # rows that read given text take its next token; the others draw one
        batch.score(step)  # each token's probability and rank under the distribution it came from
        yield from batch.append(step)  # words recorded, the network steps, finished rows leave


@dataclass
class _Step:
    """One step of ``advance``, over the rows still writing (indexed j, in ``_Batch.active`` order)."""

    log_probs: np.ndarray  # (rows, vocabulary), each row's cache mixed in
    hidden: np.ndarray | None  # the last layer's state, for the rows with a cache
    copying: list[int]  # the rows with a cache
    model_log_probs: np.ndarray  # the network's alone, for ``copying`` (was a word copied?)
    outside: dict[int, dict[str, float]]  # j -> the probabilities of words outside the vocabulary
    tokens: np.ndarray  # the token each row takes (<unk> for a word outside the vocabulary)
    picked: np.ndarray = None  # the log-probability of what each row took
    ranks: np.ndarray = None  # 0 = the likeliest token
    texts: dict[int, str] = field(default_factory=dict)  # j -> a copied word outside the vocabulary


@dataclass
class _Batch:
    """The rows ``advance`` writes on (indexed i) and what it keeps about each between steps."""

    bundle: Bundle | Snapshot
    rows: list[Generation]
    limit: int  # word tokens to write per row
    diversities: np.ndarray
    top_k: int
    top_p: float
    rngs: list[np.random.Generator]
    always_banned: list[int]
    guards: list[_RepetitionGuard]
    forced: dict[int, list[str]]
    written: list[int]  # word tokens written
    read: list[int]  # tokens read by forced rows
    active: list[int]  # the rows still writing
    state: State  # the network's state for ``active``

    @classmethod
    def start(cls, bundle, rows, sampling: Sampling, diversities, rng_seeds, stop_at_eos, forced) -> "_Batch":
        tok = bundle.tokenizer
        limit = min(sampling.words or MAX_GENERATED_WORDS, MAX_GENERATED_WORDS)
        active = [i for i in range(len(rows)) if limit and (i not in forced or forced[i])]
        return cls(bundle, rows, limit, np.broadcast_to(np.asarray(diversities, np.float32), (len(rows),)),
                   sampling.top_k, sampling.top_p, [np.random.default_rng(s) for s in rng_seeds],
                   [tok.pad_id, tok.unk_id, tok.bos_id] + ([] if stop_at_eos else [tok.eos_id]),
                   [_RepetitionGuard(sampling.repetition_guard, row.ids) for row in rows], forced,
                   [0] * len(rows), [0] * len(rows), active,
                   stack([rows[i].state for i in active]) if active else ())

    def distributions(self) -> _Step:
        net, tok = self.bundle.net, self.bundle.tokenizer
        log_probs = net.log_probs(self.state)
        if np.isnan(log_probs[:, 0]).any():  # a NaN anywhere fills its row (softmax's max); no token can be drawn
            raise ValueError("the model's probabilities are not numbers (NaN): its weights are damaged")
        copying = [j for j, i in enumerate(self.active) if self.rows[i].memory is not None]
        hidden, outside = net.hidden(self.state) if copying else None, {}
        model_log_probs = log_probs[copying].copy()
        for j in copying:
            log_probs[j], outside[j] = self.rows[self.active[j]].memory.mix(log_probs[j], hidden[j])
        tokens = np.array([tok.index.get(self._next_forced(i), tok.unk_id) if i in self.forced else 0
                           for i in self.active])
        return _Step(log_probs, hidden, copying, model_log_probs, outside, tokens,
                     np.zeros(len(self.active), np.float32))

    def _next_forced(self, i: int) -> str:
        return self.forced[i][self.read[i]]

    def sample(self, step: _Step) -> None:
        """Draw a token for every row that is not forced, in one draw; the unknown words the cache
        offers come after the vocabulary."""
        sampling = [j for j, i in enumerate(self.active) if i not in self.forced]
        if not sampling:
            return
        size = len(self.bundle.tokenizer)
        offered = [list(step.outside.get(j, ())) for j in sampling]
        if extra := max(map(len, offered)):
            z = np.full((len(sampling), size + extra), -np.inf, np.float32)
            z[:, :size] = step.log_probs[sampling]
        else:
            z = step.log_probs[sampling]  # a copy: the banned tokens below change only z
        for row, j, unknown in zip(z, sampling, offered):
            i = self.active[j]
            row[size:size + len(unknown)] = np.log([step.outside[j][w] for w in unknown])
            self._ban(row, i, unknown)
        rows = [self.active[j] for j in sampling]
        drawn = sample_rows(adjust(z, self.diversities[rows], self.top_k, self.top_p), [self.rngs[i] for i in rows])
        for j, unknown, token in zip(sampling, offered, drawn.tolist()):
            if token >= size:
                step.texts[j] = unknown[token - size]
                step.picked[j], token = np.log(step.outside[j][step.texts[j]]), self.bundle.tokenizer.unk_id
            step.tokens[j] = token

    def _ban(self, row: np.ndarray, i: int, unknown: list[str]) -> None:
        """Forbid in ``row`` (row i's scores, vocabulary then ``unknown``) what it may not write next."""
        generation, guard = self.rows[i], self.guards[i]
        row[self.always_banned + guard.banned(generation.ids)] = -np.inf
        recent = {w.token for w in generation.words[-UNKNOWN_WORD_GAP:]}  # a copied unknown word waits
        row[[len(self.bundle.tokenizer) + k for k, w in enumerate(unknown) if w in recent]] = -np.inf

    def score(self, step: _Step) -> None:
        unk = self.bundle.tokenizer.unk_id
        for j, i in enumerate(self.active):
            if i in self.forced and j in step.outside and step.tokens[j] == unk:  # given text: copied by its surface
                step.picked[j] = np.log(np.exp(step.log_probs[j, unk]) + step.outside[j].get(self._next_forced(i), 0.0))
            elif j not in step.texts:
                step.picked[j] = step.log_probs[j, step.tokens[j]]
        step.ranks = np.count_nonzero(step.log_probs > step.picked[:, None], axis=-1)

    def append(self, step: _Step) -> list[tuple[int, Word]]:
        """Record each row's word, step the network on the rows that go on, and drop those that ended
        the text or wrote (or read) all they had to; returns the (row, word) pairs written."""
        eos = self.bundle.tokenizer.eos_id
        going = [j for j, i in enumerate(self.active) if i in self.forced or j in step.texts or step.tokens[j] != eos]
        for j in set(range(len(self.active))) - set(going):
            self.rows[self.active[j]].ended = True
        written_now, still = [], []
        for k, j in enumerate(going):
            i = self.active[j]
            written_now.append((i, self._record(step, j, i)))
            if self.written[i] < self.limit and (i not in self.forced or self.read[i] < len(self.forced[i])):
                still.append(k)
        state = self.bundle.net.step(self.state if len(going) == len(self.active) else take(self.state, going),
                                     step.tokens[going])
        for k, j in enumerate(going):
            self.rows[self.active[j]].state = take(state, slice(k, k + 1))
        self.state = take(state, still) if len(still) < len(going) else state
        self.active = [self.active[going[k]] for k in still]
        return written_now

    def _record(self, step: _Step, j: int, i: int) -> Word:
        """Append row i's token (step row j) to its generation, its cache and its guard."""
        generation, token = self.rows[i], int(step.tokens[j])
        text = self._next_forced(i) if i in self.forced else step.texts.get(j, self.bundle.tokenizer.vocab[token])
        copied = j in step.texts or (j in step.outside and  # the cache gave it more than the model did
                                     step.picked[j] > np.log(2 * (1 - self.bundle.cache.mix))
                                     + step.model_log_probs[step.copying.index(j), token])
        word = Word(text, float(np.exp(step.picked[j])), int(step.ranks[j]), bool(copied))
        if generation.memory is not None:
            generation.memory.add(step.hidden[j], text)
        self.guards[i].record(generation.ids, token)
        generation.ids.append(token)
        generation.words.append(word)
        self.written[i] += is_word(word.token)
        self.read[i] += 1
        return word


class _RepetitionGuard:
    """For n > 1: the tokens that already followed each (n-1)-gram of a text, so none repeats, and
    the last token, so none comes twice in a row ("a a": the copy step's favourite slip)."""

    def __init__(self, n: int, ids: list[int]):
        self.n, self.seen = n, {}
        for i in range(n - 1, len(ids)) if n > 1 else ():
            self.seen.setdefault(tuple(ids[i - n + 1:i]), set()).add(ids[i])

    def banned(self, ids: list[int]) -> list[int]:
        return sorted(self.seen.get(tuple(ids[-(self.n - 1):]), set()) | {ids[-1]}) if self.n > 1 else []

    def record(self, ids: list[int], token: int) -> None:
        if self.n > 1:
            self.seen.setdefault(tuple(ids[-(self.n - 1):]), set()).add(token)


def stream(bundle: Bundle | Snapshot, generation: Generation, sampling: Sampling = Sampling(),
           stop_at_eos: bool = True) -> Iterator[Word]:
    """Yield generated tokens one by one, appending them to ``generation``; see ``advance``."""
    for _, word in advance(bundle, [generation], sampling, stop_at_eos=stop_at_eos):
        yield word


def generate(bundle: Bundle | Snapshot, opening: str, sampling: Sampling = Sampling(),
             stop_at_eos: bool = True) -> Generation:
    """Generate a continuation of ``opening``; see ``advance``."""
    generation = prepare_opening(bundle, opening)
    for _ in stream(bundle, generation, sampling, stop_at_eos):
        pass
    return generation


def generate_many(bundle: Bundle | Snapshot, opening: Generation, sampling: Sampling, diversities, rng_seeds,
                  stop_at_eos: bool = True) -> list[Generation]:
    """One continuation of ``opening`` per (diversity, random seed), written together; see ``advance``."""
    rows = fork(opening, len(rng_seeds))
    for _ in advance(bundle, rows, sampling, diversities, rng_seeds, stop_at_eos):
        pass
    return rows


def candidates(bundle: Bundle | Snapshot, generation: Generation, sampling: Sampling, k: int = 10) -> list[dict]:
    """The model's k likeliest next tokens after ``generation`` (those generation may pick, EOS
    included), with their probabilities before and after the diversity is applied."""
    tok = bundle.tokenizer
    log_probs = bundle.net.log_probs(generation.state)[0]
    banned = [tok.pad_id, tok.unk_id, tok.bos_id]
    adjusted = adjust(log_probs, sampling.diversity, sampling.top_k, sampling.top_p, banned)
    top = [i for i in np.argsort(-log_probs, kind="stable")[:k + len(banned)] if i not in banned][:k]
    return [{"token": tok.vocab[i], "model": float(np.exp(log_probs[i])), "sampled": float(adjusted[i])}
            for i in top]


def score(bundle: Bundle | Snapshot, opening: Generation, tokens: list[str]) -> list[Word]:
    """The model's probability and rank for each of ``tokens`` (text tokens) following ``opening``."""
    row = fork(opening, 1)
    for _ in advance(bundle, row, Sampling(words=None), forced={0: tokens}):
        pass
    return row[0].words


CLI_HELP = {"words": "words to write; 0 = until the abstract ends", "diversity": "0 = greedy; higher = more surprising",
            "repetition_guard": "forbid repeating n-grams of this size"}


def _setting(name: str):
    """An argparse type that parses with the same rules as the page's URL and form."""
    def parse(raw: str):
        try:
            return parse_setting(name, raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory (default: the active bundle)")
    parser.add_argument("--opening", "--seed-text", dest="opening", default="",
                        help="text to continue (empty: a new abstract); --seed-text is its older name")
    for setting in fields(Sampling):  # one flag per setting, parsed by the rules of the page's URL and form
        parser.add_argument(f"--{setting.name.replace('_', '-')}", type=_setting(setting.name),
                            default=setting.default, help=CLI_HELP.get(setting.name))
    parser.add_argument("--json", action="store_true", help="print tokens with probabilities as JSON")
    args = parser.parse_args(argv)
    try:
        path, problem = (args.model, None) if args.model else active_bundle()
        if problem:
            print(f"warning: {problem}", file=sys.stderr)
        bundle = load_bundle(path)
        result = generate(bundle, args.opening, Sampling(**{s.name: getattr(args, s.name) for s in fields(Sampling)}))
    except (BundleError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if result.unknown_words:
        print(f"note: not in the vocabulary: {', '.join(result.unknown_words)}", file=sys.stderr)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
