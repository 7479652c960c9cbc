"""Does the model stay on the opening's subject? Share of the opening's content words that reappear.

    python bench/topic_reuse.py [--model DIR] [--data CSV] [--diversity 1.0]

For every test abstract of the bundle: the first 30 words are the opening, the next 30 words are
what the inventors wrote, and the model writes 30 words after the same opening (repetition guard 3,
as in the quiz), with its copy step (the continuous cache) and without it. A content word is a word
outside the 150 most frequent words of the training split; the rare terms are the opening's words
outside the model's vocabulary, which only a copy can bring back. Prints shares, pooled over all
openings, side by side; it prints no abstract text.
"""
from __future__ import annotations

import argparse
import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from engine.lm.bundle import active_bundle_path, load_bundle  # noqa: E402
from engine.config import CacheConfig  # noqa: E402
from engine.corpus import load_corpus  # noqa: E402
from engine.lm.generate import generate  # noqa: E402
from engine.lm.settings import Sampling  # noqa: E402
from engine.lm.tokenizer import detokenize, is_word, split_words  # noqa: E402

OPENING, CONTINUATION, COMMON = 30, 30, 150


def cut(tokens: list[str], words: int) -> int:
    """Index just after the ``words``-th word token (len(tokens) when there are fewer)."""
    seen = 0
    for i, t in enumerate(tokens):
        seen += is_word(t)
        if seen == words:
            return i + 1
    return len(tokens)


def reuse(opening_terms: set[str], continuation: list[str]) -> tuple[int, int]:
    """(opening terms that reappear in the continuation, opening terms)."""
    return len(opening_terms & set(continuation)), len(opening_terms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None, help="the corpus the bundle was trained on")
    parser.add_argument("--diversity", type=float, default=1.0)
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    no_copy = dataclasses.replace(bundle, cache=CacheConfig())
    common = set(bundle.tokenizer.vocab[4:4 + COMMON])
    totals = {name: {"content": [0, 0], "rare": [0, 0]} for name in ("inventors", "model", "model without copy")}
    copied_words = written = 0
    docs = bundle.test_documents(load_corpus(args.data))
    for k, doc in enumerate(docs):
        tokens = split_words(doc.text)
        end = cut(tokens, OPENING)
        rest = tokens[end:][:cut(tokens[end:], CONTINUATION)]
        if sum(map(is_word, rest)) < CONTINUATION:
            continue
        opening = tokens[:end]
        content = {t for t in opening if is_word(t) and t not in common}
        rare = {t for t in opening if is_word(t) and t not in bundle.tokenizer.index}
        text = detokenize(opening)
        sampling = Sampling(args.diversity, repetition_guard=3, rng_seed=k, words=CONTINUATION)
        ours = generate(bundle, text, sampling, stop_at_eos=False).words
        plain = generate(no_copy, text, sampling, stop_at_eos=False).words
        copied_words += sum(w.copied for w in ours)
        written += len(ours)
        for name, continuation in (("inventors", rest), ("model", [w.token for w in ours]),
                                   ("model without copy", [w.token for w in plain])):
            for kind, terms in (("content", content), ("rare", rare)):
                hit, total = reuse(terms, continuation)
                totals[name][kind][0] += hit
                totals[name][kind][1] += total
    print(f"bundle: {bundle.name}, cache share {bundle.cache.mix:g}, diversity {args.diversity:g}, "
          f"{len(docs)} test abstracts, openings of {OPENING} words, continuations of {CONTINUATION} words")
    print("| writer | opening's content words reappearing | opening's out-of-vocabulary words reappearing |")
    print("|---|---|---|")
    for name, t in totals.items():
        (ch, ct), (rh, rt) = t["content"], t["rare"]
        print(f"| {name} | {ch / max(ct, 1):.1%} ({ch} of {ct}) | {rh / max(rt, 1):.1%} ({rh} of {rt}) |")
    print(f"tokens the model copied (the cache gave them most of their probability): "
          f"{copied_words / max(written, 1):.1%} of {written}")


if __name__ == "__main__":
    main()
