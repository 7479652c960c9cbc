"""Write text with a trained bundle: seed -> words, with each word's probability and rank.

    python -m engine.generate --seed-text "a neural network" --words 40 --diversity 0.8 --rng-seed 1
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Iterator

import numpy as np

from .bundle import Bundle, BundleError, active_bundle, load_bundle
from .config import MAX_GENERATED_WORDS, UNKNOWN_WORD_GAP, CacheConfig
from .copy import Memory
from .fastlm import NumpyLM, State, stack, take
from .sampler import adjust, check_settings, sample_rows
from .settings import parse_setting, trim_seed
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

    seed_text: str  # the seed as used (cleaned, possibly shortened)
    seed_tokens: list[str]
    unknown_words: list[str]
    ids: list[int] = field(default_factory=list, repr=False)  # BOS, the opening, then the tokens written
    state: State = field(default=(), repr=False)  # the network's state after reading ``ids`` (a batch of one)
    memory: Memory | None = field(default=None, repr=False)  # the continuous cache, when the bundle has one
    words: list[Word] = field(default_factory=list)
    ended: bool = False  # the model closed the abstract itself (EOS)

    @property
    def continuation(self) -> str:
        """The generated text alone, capitalised as it would be after the seed."""
        return detokenize([w.token for w in self.words], sentence_start=self._starts_sentence)

    @property
    def text(self) -> str:
        """Seed (as given) and continuation as one text."""
        previous = self.seed_tokens[-1] if self.seed_tokens else None
        return self.seed_text + detokenize([w.token for w in self.words], self._starts_sentence, previous)

    @property
    def _starts_sentence(self) -> bool:
        return not self.seed_tokens or self.seed_tokens[-1] in {".", "!", "?"}

    def to_dict(self) -> dict:
        return {"seed_text": self.seed_text, "unknown_words": self.unknown_words,
                "continuation": self.continuation, "text": self.text, "ended": self.ended,
                "words": [asdict(w) for w in self.words]}


def prepare_seed(bundle: Bundle | Snapshot, seed_text: str) -> Generation:
    """Clean and shorten the seed, report words outside the vocabulary, and read it once."""
    seed = trim_seed(seed_text)
    tok = bundle.tokenizer
    ids = [tok.bos_id] + tok.encode(seed)
    state, hidden = bundle.net.read(ids)
    memory = None
    if bundle.cache.mix > 0 and not bundle.net.windowed:
        memory = Memory(bundle.cache, tok.index)
        for h, word in zip(hidden, split_words(seed)):  # the state before each word, paired with that word
            memory.add(h, word)
    return Generation(seed_text=seed, seed_tokens=tok.tokens(ids[1:]), unknown_words=tok.unknown_words(seed),
                      ids=ids, state=state, memory=memory)


def fork(generation: Generation, n: int) -> list[Generation]:
    """``n`` independent copies of ``generation`` to write on (the state's arrays are never changed in place)."""
    return [replace(generation, ids=list(generation.ids), words=list(generation.words),
                    memory=generation.memory and generation.memory.copy()) for _ in range(n)]


def advance(bundle: Bundle | Snapshot, rows: list[Generation], words: int | None = 50, diversity=1.0,
            top_k: int = 0, top_p: float = 1.0, rng_seeds=None, stop_at_eos: bool = True,
            repetition_guard: int = 0, forced: dict[int, list[str]] | None = None) -> Iterator[tuple[int, Word]]:
    """Write on every generation of ``rows`` together, one token each per step, as one batch through
    the network; yields (row, word) as words are written, appending them to the row.

    words: word tokens to write (None: until the model ends the abstract, at most MAX_GENERATED_WORDS).
    diversity: one value, or one per row. rng_seeds: one per row (None: fresh randomness); a row
    with a given seed writes what it would write alone.
    repetition_guard: n > 1 forbids repeating any n-gram of tokens already in the text, and any token
    twice in a row.
    forced: {row: text tokens} for rows that read given text instead of sampling; their words get
    the model's probability and rank just as written words do.
    A row with a cache (``Generation.memory``) mixes it in: it may copy any word of its text so far,
    a word outside the vocabulary too (the network then reads it as <unk>), but never within
    UNKNOWN_WORD_GAP tokens of writing it before.
    """
    for value in np.atleast_1d(diversity).tolist():
        check_settings(value, top_k, top_p)
    limit = MAX_GENERATED_WORDS if words is None else max(0, min(int(words), MAX_GENERATED_WORDS))
    tok, net, forced = bundle.tokenizer, bundle.net, forced or {}
    rngs = [np.random.default_rng(s) for s in (rng_seeds if rng_seeds is not None else [None] * len(rows))]
    diversities = np.broadcast_to(np.asarray(diversity, np.float32), (len(rows),))
    always_banned = [tok.pad_id, tok.unk_id, tok.bos_id] + ([] if stop_at_eos else [tok.eos_id])
    guards = [_RepetitionGuard(repetition_guard, row.ids) for row in rows]
    written, read = [0] * len(rows), [0] * len(rows)  # word tokens written; tokens read by forced rows
    active = [i for i in range(len(rows)) if limit and (i not in forced or forced[i])]
    state = stack([rows[i].state for i in active]) if active else ()
    while active:
        log_probs = net.log_probs(state)
        if np.isnan(log_probs[:, 0]).any():  # a NaN anywhere fills its row (softmax's max); no token can be drawn
            raise ValueError("the model's probabilities are not numbers (NaN): its weights are damaged")
        copying = [j for j, i in enumerate(active) if rows[i].memory is not None]
        hidden, outside = net.hidden(state) if copying else None, {}  # outside: {j: unknown words' probs}
        model_log_probs = log_probs[copying].copy()  # before the cache: was a word copied?
        for j in copying:
            log_probs[j], outside[j] = rows[active[j]].memory.mix(log_probs[j], hidden[j])
        tokens = np.array([tok.index.get(forced[i][read[i]], tok.unk_id) if i in forced else 0 for i in active])
        picked = np.zeros(len(active), np.float32)
        sampling = [j for j, i in enumerate(active) if i not in forced]
        texts = {}  # j -> a copied word outside the vocabulary
        if sampling:  # every row in one draw; the unknown words the cache offers come after the vocabulary
            offered = [list(outside.get(j, ())) for j in sampling]
            if extra := max(map(len, offered)):
                z = np.full((len(sampling), len(tok) + extra), -np.inf, np.float32)
                z[:, :len(tok)] = log_probs[sampling]
            else:
                z = log_probs[sampling]  # a copy: the banned tokens below change only z
            for row, j, unknown in zip(z, sampling, offered):
                i = active[j]
                row[len(tok):len(tok) + len(unknown)] = np.log([outside[j][w] for w in unknown])
                row[always_banned + guards[i].banned(rows[i].ids)] = -np.inf
                recent = {w.token for w in rows[i].words[-UNKNOWN_WORD_GAP:]}  # a copied unknown word waits
                row[[len(tok) + k for k, w in enumerate(unknown) if w in recent]] = -np.inf
            drawn = sample_rows(adjust(z, diversities[[active[j] for j in sampling]], top_k, top_p),
                                [rngs[active[j]] for j in sampling])
            for j, unknown, token in zip(sampling, offered, drawn.tolist()):
                if token >= len(tok):
                    texts[j] = unknown[token - len(tok)]
                    picked[j], token = np.log(outside[j][texts[j]]), tok.unk_id
                tokens[j] = token
        for j, i in enumerate(active):
            if i in forced and j in outside and tokens[j] == tok.unk_id:  # given text: copied by its surface
                picked[j] = np.log(np.exp(log_probs[j, tok.unk_id]) + outside[j].get(forced[i][read[i]], 0.0))
            elif j not in texts:
                picked[j] = log_probs[j, tokens[j]]
        ranks = np.count_nonzero(log_probs > picked[:, None], axis=-1)  # 0 = the likeliest token
        going = [j for j, i in enumerate(active) if i in forced or j in texts or tokens[j] != tok.eos_id]
        for j in set(range(len(active))) - set(going):
            rows[active[j]].ended = True
        written_now, still = [], []
        for k, j in enumerate(going):
            i, token = active[j], int(tokens[j])
            text = forced[i][read[i]] if i in forced else texts.get(j, tok.vocab[token])
            copied = j in texts or (j in outside and  # the cache gave it more than the model did
                                    picked[j] > np.log(2 * (1 - bundle.cache.mix)) + model_log_probs[copying.index(j), token])
            word = Word(text, float(np.exp(picked[j])), int(ranks[j]), bool(copied))
            if rows[i].memory is not None:
                rows[i].memory.add(hidden[j], text)
            guards[i].record(rows[i].ids, token)
            rows[i].ids.append(token)
            rows[i].words.append(word)
            written[i] += is_word(word.token)
            read[i] += 1
            written_now.append((i, word))
            if written[i] < limit and (i not in forced or read[i] < len(forced[i])):
                still.append(k)
        state = net.step(state if len(going) == len(active) else take(state, going), tokens[going])
        for k, j in enumerate(going):
            rows[active[j]].state = take(state, slice(k, k + 1))
        if len(still) < len(going):
            state = take(state, still)
        active = [active[going[k]] for k in still]
        yield from written_now


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


def stream(bundle: Bundle | Snapshot, generation: Generation, words: int | None = 50, diversity: float = 1.0,
           top_k: int = 0, top_p: float = 1.0, rng_seed: int | None = None, stop_at_eos: bool = True,
           repetition_guard: int = 0) -> Iterator[Word]:
    """Yield generated tokens one by one, appending them to ``generation``; see ``advance``."""
    for _, word in advance(bundle, [generation], words, diversity, top_k, top_p, [rng_seed], stop_at_eos,
                           repetition_guard):
        yield word


def generate(bundle: Bundle | Snapshot, seed_text: str, words: int | None = 50, **settings) -> Generation:
    """Generate a continuation of ``seed_text``; see ``stream`` for the settings."""
    generation = prepare_seed(bundle, seed_text)
    for _ in stream(bundle, generation, words, **settings):
        pass
    return generation


def generate_many(bundle: Bundle | Snapshot, opening: Generation, words: int | None, diversities,
                  rng_seeds, **settings) -> list[Generation]:
    """One continuation of ``opening`` per (diversity, random seed), written together; see ``advance``."""
    rows = fork(opening, len(rng_seeds))
    for _ in advance(bundle, rows, words, diversities, rng_seeds=rng_seeds, **settings):
        pass
    return rows


def candidates(bundle: Bundle | Snapshot, generation: Generation, diversity: float, k: int = 10, top_k: int = 0,
               top_p: float = 1.0) -> list[dict]:
    """The model's k likeliest next tokens after ``generation`` (those generation may pick, EOS
    included), with their probabilities before and after the diversity is applied."""
    tok = bundle.tokenizer
    log_probs = bundle.net.log_probs(generation.state)[0]
    banned = [tok.pad_id, tok.unk_id, tok.bos_id]
    adjusted = adjust(log_probs, diversity, top_k, top_p, banned)
    top = [i for i in np.argsort(-log_probs, kind="stable")[:k + len(banned)] if i not in banned][:k]
    return [{"token": tok.vocab[i], "model": float(np.exp(log_probs[i])), "sampled": float(adjusted[i])}
            for i in top]


def score(bundle: Bundle | Snapshot, opening: Generation, tokens: list[str]) -> list[Word]:
    """The model's probability and rank for each of ``tokens`` (text tokens) following ``opening``."""
    row = fork(opening, 1)
    for _ in advance(bundle, row, None, forced={0: tokens}):
        pass
    return row[0].words


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
    parser.add_argument("--seed-text", default="", help="text to continue (empty: a new abstract)")
    parser.add_argument("--words", type=_setting("words"), default=50,
                        help="words to write; 0 = until the abstract ends")
    parser.add_argument("--diversity", type=_setting("diversity"), default=1.0,
                        help="0 = greedy; higher = more surprising")
    parser.add_argument("--top-k", type=_setting("top_k"), default=0)
    parser.add_argument("--top-p", type=_setting("top_p"), default=1.0)
    parser.add_argument("--repetition-guard", type=_setting("repetition_guard"), default=0,
                        help="forbid repeating n-grams of this size")
    parser.add_argument("--rng-seed", type=_setting("rng_seed"), default=None)
    parser.add_argument("--json", action="store_true", help="print tokens with probabilities as JSON")
    args = parser.parse_args(argv)
    try:
        path, problem = (args.model, None) if args.model else active_bundle()
        if problem:
            print(f"warning: {problem}", file=sys.stderr)
        bundle = load_bundle(path)
        result = generate(bundle, args.seed_text, args.words or None, diversity=args.diversity,
                          top_k=args.top_k, top_p=args.top_p, rng_seed=args.rng_seed,
                          repetition_guard=args.repetition_guard)
    except (BundleError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if result.unknown_words:
        print(f"note: not in the vocabulary: {', '.join(result.unknown_words)}", file=sys.stderr)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
