"""Honest next-token metrics on abstracts the model never trained on, beside baselines on the same tokens.

    python -m engine.evaluate --model models/patent-lstm --data ../shared/data/neural_network_patent_query.csv

Given the corpus the bundle was trained on, it scores the bundle's test abstracts; given any other
CSV it scores every row. Baselines (most common token, Kneser-Ney trigram) are fitted on the
bundle's training split, in the same run, and scored on the same tokens.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .bundle import Bundle, BundleError, active_bundle_path, load_bundle
from .corpus import CorpusError, load_corpus
from .dataset import pad_batch, window_examples
from .ngram import KneserNeyTrigram
from .tokenizer import is_word


@dataclass
class TokenScores:
    """For every predicted token: its probability under a model and its rank (0 = the model's top guess)."""

    probs: np.ndarray
    ranks: np.ndarray


def encode_docs(tokenizer, texts) -> list[list[int]]:
    return [tokenizer.encode(t, bos=True, eos=True) for t in texts]


def targets_of(docs: list[list[int]]) -> np.ndarray:
    return np.array([t for ids in docs for t in ids[1:]], np.int64)


def _scores_from_probs(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    target = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    return target, (p > target[..., None]).sum(axis=-1)


def lstm_scores(model, config, docs: list[list[int]], batch_size: int = 16) -> TokenScores:
    """Score every token after BOS with the Keras model, in batches (no per-token loop)."""
    probs, ranks = [], []
    if config.kind == "window":
        x, y = window_examples(docs, config.window)
        for i in range(0, len(x), 1024):
            p, r = _scores_from_probs(np.asarray(model.predict_on_batch(x[i:i + 1024])), y[i:i + 1024])
            probs.append(p)
            ranks.append(r)
        return TokenScores(np.concatenate(probs), np.concatenate(ranks))
    by_doc = {}
    order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        x, y, w = pad_batch([docs[i] for i in batch])
        p, r = _scores_from_probs(np.asarray(model.predict_on_batch(x)), y)
        for row, i in enumerate(batch):
            n = len(docs[i]) - 1
            by_doc[i] = (p[row, :n], r[row, :n])
    return TokenScores(np.concatenate([by_doc[i][0] for i in range(len(docs))]),
                       np.concatenate([by_doc[i][1] for i in range(len(docs))]))


def ngram_scores(model: KneserNeyTrigram, docs: list[list[int]]) -> TokenScores:
    probs, ranks = [], []
    for ids in docs:
        p, r = model.doc_predictions(ids[1:])
        probs += p
        ranks += r
    return TokenScores(np.array(probs), np.array(ranks))


def most_common_scores(train_docs: list[list[int]], docs: list[list[int]], vocab_size: int) -> TokenScores:
    """Always the training split's most common token; its ranks follow the training frequencies
    (so top-5 is the five most common tokens) and its probabilities are the add-one unigram model's."""
    counts = Counter(targets_of(train_docs).tolist())
    freq = np.ones(vocab_size)
    for token, n in counts.items():
        freq[token] += n
    unigram = freq / freq.sum()
    rank_of = np.empty(vocab_size, np.int64)
    rank_of[np.argsort(-freq, kind="stable")] = np.arange(vocab_size)
    y = targets_of(docs)
    return TokenScores(unigram[y], rank_of[y])


def summarize(scores: TokenScores, mask: np.ndarray | None = None) -> dict:
    probs = scores.probs if mask is None else scores.probs[mask]
    ranks = scores.ranks if mask is None else scores.ranks[mask]
    ce = float(-np.log(np.clip(probs, 1e-12, None)).mean())
    return {"tokens": int(len(probs)), "cross_entropy": round(ce, 4), "perplexity": round(float(np.exp(ce)), 2),
            "top1": round(float((ranks == 0).mean()), 4), "top5": round(float((ranks < 5).mean()), 4)}


def report(scores: TokenScores, word_mask: np.ndarray) -> dict:
    return {"all_tokens": summarize(scores), "word_tokens": summarize(scores, word_mask)}


def evaluate(model, config, tokenizer, train_texts, eval_texts) -> dict:
    """Metrics of the model and both baselines on the same tokens of ``eval_texts``."""
    train_docs, docs = encode_docs(tokenizer, train_texts), encode_docs(tokenizer, eval_texts)
    y = targets_of(docs)
    word_mask = np.array([is_word(tokenizer.vocab[t]) for t in y])
    kneser_ney = KneserNeyTrigram([ids[1:] for ids in train_docs], len(tokenizer), tokenizer.bos_id)
    return {
        "documents": len(docs),
        "unk_share": round(float((y == tokenizer.unk_id).mean()), 4),
        "vocab_size": len(tokenizer),
        "model": report(lstm_scores(model, config, docs), word_mask),
        "baselines": {
            "most_common_token": report(most_common_scores(train_docs, docs, len(tokenizer)), word_mask),
            "kneser_ney_trigram": report(ngram_scores(kneser_ney, docs), word_mask),
        },
    }


def evaluate_bundle(bundle: Bundle, data=None, text_column: str | None = None, train_data=None) -> dict:
    """Evaluate on the bundle's test split when ``data`` is its training corpus, else on every row."""
    if bundle.split is None:
        raise BundleError(f"{bundle.path} records no train/test split; retrain it to evaluate it.")
    corpus = load_corpus(data, text_column)
    same = corpus.sha256 == bundle.provenance.get("data_sha256")
    training = corpus if same else load_corpus(train_data)
    if training.sha256 != bundle.provenance.get("data_sha256"):
        raise CorpusError("The baselines need the corpus this bundle was trained on; pass it with --train-data.")
    eval_docs = bundle.test_documents(corpus) if same else list(corpus.documents)
    result = evaluate(bundle.keras_model, bundle.model_config, bundle.tokenizer,
                      [d.text for d in training.select(bundle.split.train)], [d.text for d in eval_docs])
    return {"bundle": bundle.name, "data": corpus.source, "evaluated_on": "test split" if same else "every row",
            **result}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory (default: the active bundle)")
    parser.add_argument("--data", default=None, help="CSV to evaluate on (default: the corpus)")
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--train-data", default=None, help="the training corpus, when --data is another file")
    args = parser.parse_args(argv)
    try:
        result = evaluate_bundle(load_bundle(args.model or active_bundle_path()), args.data,
                                 args.text_column, args.train_data)
    except (BundleError, CorpusError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
