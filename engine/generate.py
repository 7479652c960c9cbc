"""Write text with a trained bundle: seed -> words, with each word's probability and rank.

    python -m engine.generate --seed-text "a neural network" --words 40 --diversity 0.8 --rng-seed 1
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np

from .bundle import Bundle, BundleError, active_bundle_path, load_bundle
from .config import MAX_GENERATED_WORDS, MAX_SEED_CHARS, CacheConfig
from .copy import Memory
from .corpus import clean_text
from .fastlm import NumpyLM, TokenStream
from .sampler import adjust, check_settings, sample
from .tokenizer import NO_SPACE_BEFORE, Tokenizer, detokenize, is_word, split_words


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
    seed_text: str  # the seed as used (cleaned, possibly shortened)
    seed_tokens: list[str]
    unknown_words: list[str]
    words: list[Word] = field(default_factory=list)
    ended: bool = False  # the model closed the abstract itself (EOS)

    @property
    def continuation(self) -> str:
        """The generated text alone, capitalised as it would be after the seed."""
        starts_sentence = not self.seed_tokens or self.seed_tokens[-1] in {".", "!", "?"}
        return detokenize([w.token for w in self.words], sentence_start=starts_sentence)

    @property
    def text(self) -> str:
        """Seed (as given) and continuation as one text."""
        rest = self.continuation
        if not self.seed_text or not rest:
            return self.seed_text or rest
        return self.seed_text + ("" if rest[0] in NO_SPACE_BEFORE else " ") + rest

    def to_dict(self) -> dict:
        return {"seed_text": self.seed_text, "unknown_words": self.unknown_words,
                "continuation": self.continuation, "text": self.text, "ended": self.ended,
                "words": [asdict(w) for w in self.words]}


def prepare_seed(bundle: Bundle | Snapshot, seed_text: str) -> Generation:
    """Clean and shorten the seed, and report words outside the vocabulary."""
    seed = clean_text(seed_text or "")[-MAX_SEED_CHARS:]
    tok = bundle.tokenizer
    return Generation(seed_text=seed, seed_tokens=tok.tokens(tok.encode(seed)),
                      unknown_words=tok.unknown_words(seed))


def stream(bundle: Bundle | Snapshot, generation: Generation, words: int | None = 50, diversity: float = 1.0,
           top_k: int = 0, top_p: float = 1.0, rng_seed: int | None = None, stop_at_eos: bool = True,
           repetition_guard: int = 0) -> Iterator[Word]:
    """Yield generated tokens one by one, appending them to ``generation``.

    words: word tokens to write (None: until the model ends the abstract, at most MAX_GENERATED_WORDS).
    repetition_guard: n > 1 forbids repeating any n-gram of tokens already in the text.
    """
    check_settings(diversity, top_k, top_p)
    limit = MAX_GENERATED_WORDS if words is None else max(0, min(int(words), MAX_GENERATED_WORDS))
    tok, rng = bundle.tokenizer, np.random.default_rng(rng_seed)
    seed_words = split_words(generation.seed_text)
    context = [tok.bos_id] + [tok.index.get(w, tok.unk_id) for w in seed_words]
    copying = bundle.cache.mix > 0 and bundle.net.config.kind == "sequence"
    memory = Memory(bundle.cache, tok.index) if copying else None
    state = TokenStream(bundle.net, context[:1] if copying else context)
    for word, token in zip(seed_words, context[1:]) if copying else ():
        memory.add(state.hidden(), word)  # the cache pairs each hidden state with the word that followed
        state.feed([token])
    always_banned = [tok.pad_id, tok.unk_id, tok.bos_id] + ([] if stop_at_eos else [tok.eos_id])
    seen: dict[tuple, set] = {}  # (n-1)-gram -> tokens that followed it
    n = repetition_guard
    for i in range(n - 1, len(context)) if n > 1 else ():
        seen.setdefault(tuple(context[i - n + 1:i]), set()).add(context[i])
    written = 0
    while written < limit:
        log_probs, outside = state.log_probs(), {}
        if copying:  # mix in the cache; words outside the vocabulary become extra candidates after the ids
            model_probs = np.exp(log_probs)
            mixed, outside = memory.mix(model_probs, state.hidden())
            with np.errstate(divide="ignore"):
                log_probs = np.log(np.concatenate([mixed, list(outside.values())]))
        key = tuple(state.context[-(n - 1):]) if n > 1 else None
        banned = always_banned + sorted(seen.get(key, ())) if n > 1 else always_banned
        token = sample(adjust(log_probs, diversity, top_k, top_p, banned), rng)
        if token == tok.eos_id:
            generation.ended = True
            return
        text = tok.vocab[token] if token < len(tok) else list(outside)[token - len(tok)]
        copied = token >= len(tok) or (copying and np.exp(log_probs[token]) > 2 * (1 - bundle.cache.mix)
                                       * model_probs[token])
        word = Word(text, float(np.exp(log_probs[token])), int((log_probs > log_probs[token]).sum()), bool(copied))
        if token >= len(tok):
            token = tok.unk_id  # the network reads a copied unknown word as <unk>
        if n > 1:
            seen.setdefault(key, set()).add(token)
        if copying:
            memory.add(state.hidden(), text)
        state.feed([token])
        generation.words.append(word)
        written += is_word(word.token)
        yield word


def generate(bundle: Bundle | Snapshot, seed_text: str, words: int | None = 50, **settings) -> Generation:
    """Generate a continuation of ``seed_text``; see ``stream`` for the settings."""
    generation = prepare_seed(bundle, seed_text)
    for _ in stream(bundle, generation, words, **settings):
        pass
    return generation


def candidates(bundle: Bundle | Snapshot, text: str, diversity: float, k: int = 10, top_k: int = 0,
               top_p: float = 1.0) -> list[dict]:
    """The model's k likeliest next tokens after ``text`` (those generation may pick, EOS included),
    with their probabilities before and after the diversity is applied."""
    tok = bundle.tokenizer
    log_probs = TokenStream(bundle.net, [tok.bos_id] + tok.encode(clean_text(text))).log_probs()
    banned = [tok.pad_id, tok.unk_id, tok.bos_id]
    adjusted = adjust(log_probs, diversity, top_k, top_p, banned)
    top = [i for i in np.argsort(-log_probs)[:k + len(banned)] if i not in banned][:k]
    return [{"token": tok.vocab[i], "model": float(np.exp(log_probs[i])), "sampled": float(adjusted[i])}
            for i in top]


def score_tokens(bundle: Bundle | Snapshot, context: list[str], tokens: list[str]) -> list[Word]:
    """The model's probability and rank for each of ``tokens`` following ``context`` (text tokens)."""
    tok = bundle.tokenizer
    ids = lambda tokens: [tok.index.get(t, tok.unk_id) for t in tokens]  # noqa: E731
    state, words = TokenStream(bundle.net, [tok.bos_id] + ids(context)), []
    for token, token_id in zip(tokens, ids(tokens)):
        log_probs = state.log_probs()
        words.append(Word(token, float(np.exp(log_probs[token_id])), int((log_probs > log_probs[token_id]).sum())))
        state.feed([token_id])
    return words


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory (default: the active bundle)")
    parser.add_argument("--seed-text", default="", help="text to continue (empty: a new abstract)")
    parser.add_argument("--words", type=int, default=50, help="words to write; 0 = until the abstract ends")
    parser.add_argument("--diversity", type=float, default=1.0, help="0 = greedy; higher = more surprising")
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--repetition-guard", type=int, default=0, help="forbid repeating n-grams of this size")
    parser.add_argument("--rng-seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print tokens with probabilities as JSON")
    args = parser.parse_args(argv)
    try:
        bundle = load_bundle(args.model or active_bundle_path())
        result = generate(bundle, args.seed_text, args.words or None, diversity=args.diversity,
                          top_k=args.top_k, top_p=args.top_p, rng_seed=args.rng_seed,
                          repetition_guard=args.repetition_guard)
    except (BundleError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if result.unknown_words:
        print(f"note: not in the vocabulary: {', '.join(result.unknown_words)}", flush=True)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
