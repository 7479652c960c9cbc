"""Honest next-token metrics on abstracts the model never trained on, beside baselines on the same tokens.

    python -m engine.training.evaluate --model models/patent-awd --data ../shared/data/neural_network_patent_query.csv

Given the corpus the bundle was trained on, it scores the bundle's test abstracts; given any other
CSV it scores every row. Baselines (most common token, Kneser-Ney trigram) are fitted on the
bundle's training split, in the same run, and scored on the same tokens.

Per-token figures (cross-entropy, perplexity, top-1, top-5) depend on the vocabulary: a model
with a small one predicts <unk> often and easily. The open-vocabulary figure, bits per character,
does not: a word outside the vocabulary costs p(<unk>) times the probability of spelling it out
under a character model fitted on the training split's words (engine.training.charlm), and a word the
continuous cache copies (engine.lm.copy) costs what the cache and the model give it together.
"""
from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..lm import copy
from ..lm.bundle import Bundle, BundleError, active_bundle_path, load_bundle
from .charlm import SpellingModel
from .model import hidden_state_model, keras_model
from ..config import CACHE_COMMON, EOS, CacheConfig, to_dict
from ..corpus import CorpusError, load_corpus
from .dataset import pad_batch, window_examples
from .ngram import KneserNeyTrigram
from ..lm.tokenizer import is_word, split_words

CACHE_GRID = {"mix": (0.05, 0.1, 0.2, 0.3, 0.4, 0.5), "theta": (0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)}


@dataclass
class TokenScores:
    """For every predicted token: its probability under a model and its rank (0 = the model's top guess);
    ``open_probs``: the probability of the actual word by its spelling (see the module docstring)."""

    probs: np.ndarray
    ranks: np.ndarray
    open_probs: np.ndarray | None = None


@dataclass
class EvalText:
    """Encoded documents with what the open-vocabulary metric needs for every predicted token."""

    docs: list[list[int]]  # ids, BOS ... EOS
    words: list[list[str]]  # surface strings of the predicted tokens (after BOS)
    spelling: np.ndarray  # per predicted token: p(spelling) for a word outside the vocabulary, else 1
    chars: np.ndarray  # per predicted token: its characters plus one separator


def encode_docs(tokenizer, texts) -> list[list[int]]:
    return [tokenizer.encode(t, bos=True, eos=True) for t in texts]


def eval_text(tokenizer, texts, spelling: SpellingModel) -> EvalText:
    words = [split_words(t) + [EOS] for t in texts]
    flat = [w for doc in words for w in doc]
    spell = np.array([1.0 if w in tokenizer.index else 2.0 ** spelling.log2prob(w) for w in flat])
    chars = np.array([1 if w == EOS else len(w) + 1 for w in flat])
    return EvalText(encode_docs(tokenizer, texts), words, spell, chars)


def spelling_model(tokenizer, train_texts) -> SpellingModel:
    """The character model charged for unknown words: fitted on the training split's word types."""
    return SpellingModel(sorted({w for t in train_texts for w in split_words(t)}))


def targets_of(docs: list[list[int]]) -> np.ndarray:
    return np.array([t for ids in docs for t in ids[1:]], np.int64)


def _scores_from_probs(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    target = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    return target, (p > target[..., None]).sum(axis=-1)


def _lstm_outputs(model, config, docs: list[list[int]], batch_size: int = 16):
    """Per document: (probabilities (T, V), last-layer hidden states (T, d)) from the Keras model."""
    net, out = hidden_state_model(model, config), {}
    order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        x, _, _ = pad_batch([docs[i] for i in batch])
        p, h = (np.asarray(a) for a in net.predict_on_batch(x))
        for row, i in enumerate(batch):
            n = len(docs[i]) - 1
            out[i] = (p[row, :n], h[row, :n])
    return [out[i] for i in range(len(docs))]


def lstm_scores(model, config, text: EvalText, cache: CacheConfig | None = None, outputs=None) -> TokenScores:
    """Score every token after BOS with the Keras model, in batches (no per-token loop), with the
    continuous cache mixed in when ``cache`` has a share (sequence models only)."""
    if config.kind == "window":
        probs, ranks = [], []
        x, y = window_examples(text.docs, config.window)
        for i in range(0, len(x), 1024):
            p, r = _scores_from_probs(np.asarray(model.predict_on_batch(x[i:i + 1024])), y[i:i + 1024])
            probs.append(p)
            ranks.append(r)
        probs = np.concatenate(probs)
        return TokenScores(probs, np.concatenate(ranks), probs * text.spelling)
    cache = cache or CacheConfig()
    outputs = outputs or _lstm_outputs(model, config, text.docs)
    probs, ranks, kept, copied = [], [], [], []
    for ids, words, (p, h) in zip(text.docs, text.words, outputs):
        y = np.array(ids[1:])
        mixed, keep, copy_p = copy.document(p, h, y, words, cache)
        target, rank = _scores_from_probs(mixed, y)
        probs.append(target)
        ranks.append(rank)
        kept.append(keep * p[np.arange(len(y)), y])
        copied.append(copy_p)
    kept, copied = np.concatenate(kept), np.concatenate(copied)
    return TokenScores(np.concatenate(probs), np.concatenate(ranks), kept * text.spelling + copied)


def tune_cache(model, config, tokenizer, train_texts, val_texts) -> CacheConfig:
    """The cache settings with the lowest open-vocabulary cross-entropy on the validation split
    (no cache for the window model)."""
    if config.kind == "window" or not val_texts:
        return CacheConfig()
    text = eval_text(tokenizer, val_texts, spelling_model(tokenizer, train_texts))
    outputs = _lstm_outputs(model, config, text.docs)
    targets = [p[np.arange(len(ids) - 1), ids[1:]] for ids, (p, _) in zip(text.docs, outputs)]

    def bits(cache: CacheConfig) -> float:  # the open-vocabulary figure alone: no (T, V) arrays
        parts = [copy.document(p, h, np.array(ids[1:]), words, cache, full=False)
                 for ids, words, (p, h) in zip(text.docs, text.words, outputs)]
        kept = np.concatenate([keep * target for (_, keep, _), target in zip(parts, targets)])
        copied = np.concatenate([c for _, _, c in parts])
        return _bits(TokenScores(kept, kept, kept * text.spelling + copied), text.chars)

    grid = [CacheConfig(mix=m, theta=t, common=CACHE_COMMON)
            for m, t in itertools.product(CACHE_GRID["mix"], CACHE_GRID["theta"])]
    return min([CacheConfig()] + grid, key=bits)


def _bits(scores: TokenScores, chars: np.ndarray) -> float:
    return float(-np.log2(np.clip(scores.open_probs, 1e-300, None)).sum() / chars.sum())


def ngram_scores(model: KneserNeyTrigram, text: EvalText) -> TokenScores:
    probs, ranks = [], []
    for ids in text.docs:
        p, r = model.doc_predictions(ids[1:])
        probs += p
        ranks += r
    return TokenScores(np.array(probs), np.array(ranks), np.array(probs) * text.spelling)


def most_common_scores(train_docs: list[list[int]], text: EvalText, vocab_size: int) -> TokenScores:
    """Always the training split's most common token; its ranks follow the training frequencies
    (so top-5 is the five most common tokens) and its probabilities are the add-one unigram model's."""
    counts = Counter(targets_of(train_docs).tolist())
    freq = np.ones(vocab_size)
    for token, n in counts.items():
        freq[token] += n
    unigram = freq / freq.sum()
    rank_of = np.empty(vocab_size, np.int64)
    rank_of[np.argsort(-freq, kind="stable")] = np.arange(vocab_size)
    y = targets_of(text.docs)
    return TokenScores(unigram[y], rank_of[y], unigram[y] * text.spelling)


def summarize(scores: TokenScores, mask: np.ndarray | None = None, chars: np.ndarray | None = None) -> dict:
    """Per-token figures (nats, vocabulary-dependent) and, given ``chars``, open-vocabulary bits per character."""
    mask = np.ones(len(scores.probs), bool) if mask is None else mask
    probs, ranks = scores.probs[mask], scores.ranks[mask]
    ce = float(-np.log(np.clip(probs, 1e-12, None)).mean())
    out = {"tokens": int(len(probs)), "cross_entropy": round(ce, 4), "perplexity": round(float(np.exp(ce)), 2),
           "top1": round(float((ranks == 0).mean()), 4), "top5": round(float((ranks < 5).mean()), 4)}
    if chars is not None and scores.open_probs is not None:
        out["characters"] = int(chars[mask].sum())
        out["bits_per_char"] = round(_bits(TokenScores(probs, ranks, scores.open_probs[mask]), chars[mask]), 4)
    return out


def report(scores: TokenScores, word_mask: np.ndarray, chars: np.ndarray) -> dict:
    return {"all_tokens": summarize(scores, chars=chars), "word_tokens": summarize(scores, word_mask, chars)}


def evaluate(model, config, tokenizer, train_texts, eval_texts, cache: CacheConfig | None = None) -> dict:
    """Metrics of the model (with and without its cache) and both baselines on the same tokens of ``eval_texts``."""
    train_docs = encode_docs(tokenizer, train_texts)
    text = eval_text(tokenizer, eval_texts, spelling_model(tokenizer, train_texts))
    y = targets_of(text.docs)
    word_mask = np.array([is_word(tokenizer.vocab[t]) for t in y])
    kneser_ney = KneserNeyTrigram([ids[1:] for ids in train_docs], len(tokenizer), tokenizer.bos_id)
    cache = cache or CacheConfig()
    outputs = None if config.kind == "window" else _lstm_outputs(model, config, text.docs)
    result = {
        "documents": len(text.docs),
        "unk_share": round(float((y == tokenizer.unk_id).mean()), 4),
        "vocab_size": len(tokenizer),
        "cache": to_dict(cache),
        "model": report(lstm_scores(model, config, text, cache, outputs), word_mask, text.chars),
        "baselines": {
            "most_common_token": report(most_common_scores(train_docs, text, len(tokenizer)), word_mask, text.chars),
            "kneser_ney_trigram": report(ngram_scores(kneser_ney, text), word_mask, text.chars),
        },
    }
    if cache.mix:
        result["model_without_cache"] = report(lstm_scores(model, config, text, CacheConfig(), outputs),
                                               word_mask, text.chars)
    return result


def evaluate_bundle(bundle: Bundle, data=None, text_column: str | None = None, train_data=None,
                    test_split_of: Bundle | None = None) -> dict:
    """Evaluate on the bundle's test split when ``data`` is its training corpus, else on every row.

    test_split_of: score another bundle's test split instead (same corpus), so that bundles trained
    on different splits are compared on the same abstracts; none of them may be in this bundle's training split.
    """
    if bundle.split is None:
        raise BundleError(f"{bundle.path} records no train/test split; retrain it to evaluate it.")
    corpus = load_corpus(data, text_column)
    same = corpus.sha256 == bundle.provenance.get("data_sha256")
    training = corpus if same else load_corpus(train_data)
    if training.sha256 != bundle.provenance.get("data_sha256"):
        raise CorpusError("The baselines need the corpus this bundle was trained on; pass it with --train-data.")
    evaluated_on = "test split" if same else "every row"
    eval_docs = bundle.test_documents(corpus) if same else list(corpus.documents)
    if test_split_of is not None:
        eval_docs = test_split_of.test_documents(corpus)
        if not same or not eval_docs:
            raise CorpusError(f"{test_split_of.name} and {bundle.name} must be trained on this corpus.")
        if set(test_split_of.split.test) & set(bundle.split.train):
            raise CorpusError(f"{bundle.name} trained on abstracts of {test_split_of.name}'s test split; "
                              "it cannot be evaluated on them.")
        evaluated_on = f"test split of {test_split_of.name}"
    result = evaluate(keras_model(bundle), bundle.model_config, bundle.tokenizer,
                      [d.text for d in training.select(bundle.split.train)], [d.text for d in eval_docs], bundle.cache)
    return {"bundle": bundle.name, "data": corpus.source, "evaluated_on": evaluated_on, **result}


def tune_bundle_cache(bundle: Bundle, data=None, text_column: str | None = None) -> CacheConfig:
    """``tune_cache`` for a trained bundle, on its validation split of its training corpus."""
    corpus = load_corpus(data, text_column)
    if bundle.split is None or corpus.sha256 != bundle.provenance.get("data_sha256"):
        raise CorpusError("Tuning the cache needs the corpus this bundle was trained on; pass it with --data.")
    return tune_cache(keras_model(bundle), bundle.model_config, bundle.tokenizer,
                      [d.text for d in corpus.select(bundle.split.train)],
                      [d.text for d in corpus.select(bundle.split.validation)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="*", default=None,
                        help="bundle directories (default: the active bundle); several are scored in one run, "
                             "all on the first one's test split")
    parser.add_argument("--data", default=None, help="CSV to evaluate on (default: the corpus)")
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--train-data", default=None, help="the training corpus, when --data is another file")
    parser.add_argument("--test-split-of", default=None,
                        help="score this other bundle's test split (compare bundles on the same abstracts)")
    parser.add_argument("--tune-cache", action="store_true",
                        help="tune the continuous cache on the bundle's validation split first (kept with --write)")
    parser.add_argument("--write", action="store_true", help="save the result as the bundle's metrics.json")
    args = parser.parse_args(argv)
    try:
        bundles = [load_bundle(path) for path in args.model or [active_bundle_path()]]
        other = load_bundle(args.test_split_of) if args.test_split_of else None
        for bundle in bundles:
            if args.tune_cache:
                bundle.cache = tune_bundle_cache(bundle, args.data, args.text_column)
            reference = other or (bundles[0] if bundle is not bundles[0] else None)
            result = evaluate_bundle(bundle, args.data, args.text_column, args.train_data, reference)
            if args.write:
                write_metrics(bundle, result, args.tune_cache)
            print(json.dumps(result, indent=1), flush=True)
    except (BundleError, CorpusError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


def write_metrics(bundle: Bundle, result: dict, cache_tuned: bool) -> None:
    """Keep ``result`` as the bundle's metrics.json (and a freshly tuned cache in its config.json)."""
    if cache_tuned:
        config = json.loads((bundle.path / "config.json").read_text())
        (bundle.path / "config.json").write_text(json.dumps({**config, "cache": to_dict(bundle.cache)}, indent=1))
    metrics = {k: v for k, v in result.items() if k not in ("bundle", "data")}
    metrics["epochs_trained"] = bundle.metrics.get("epochs_trained")
    (bundle.path / "metrics.json").write_text(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
