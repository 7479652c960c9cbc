"""How convincing is the machine? Simple judges play quiz rounds and we count how often they find the human.

    python bench/quiz_judges.py [--model DIR] [--data CSV] [--rounds-per-diversity 100]

(a) surface: a logistic regression on surface features only (characters, punctuation, capitals,
    digits), cross-fitted over two halves of the rounds. It must sit at chance (33%), or the
    formatting gives the answer away.
(b) n-gram: picks the continuation with the lowest perplexity under a Kneser-Ney trigram model
    fitted on the same training split (independent of the LSTM).
Each row: accuracy with a 95% Wilson interval, beside the 1-in-3 chance level.
"""
from __future__ import annotations

import argparse
import os
import string
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from engine.bundle import active_bundle_path, load_bundle
from engine.corpus import load_corpus
from engine.evaluate import encode_docs
from engine.ngram import KneserNeyTrigram
from engine.quiz import make_round
from engine.store import wilson
from engine.tokenizer import split_words

DIVERSITIES = (0.5, 0.8, 1.0, 1.2, 1.5)


def surface_features(text: str) -> list[float]:
    return [len(text), sum(c in string.punctuation for c in text), sum(c.isupper() for c in text),
            sum(c.isdigit() for c in text)]


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.1) -> np.ndarray:
    """Plain logistic regression by gradient descent on standardised features (with a bias term)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= lr * x.T @ (p - y) / len(y)
    return w


def surface_judge(rounds) -> np.ndarray:
    """For each round, whether the surface classifier (trained on the other half) picks the human."""
    feats = np.array([[surface_features(o.text) for o in r.options] for r in rounds], float)  # (R, 3, F)
    mean, std = feats.reshape(-1, feats.shape[-1]).mean(0), feats.reshape(-1, feats.shape[-1]).std(0) + 1e-9
    x = np.concatenate([(feats - mean) / std, np.ones(feats.shape[:2] + (1,))], axis=-1)
    y = np.array([[o.human for o in r.options] for r in rounds], float)
    halves = np.arange(len(rounds)) % 2
    right = np.zeros(len(rounds), bool)
    for half in (0, 1):
        train, test = halves != half, halves == half
        w = fit_logistic(x[train].reshape(-1, x.shape[-1]), y[train].ravel())
        right[test] = np.argmax(x[test] @ w, axis=1) == np.argmax(y[test], axis=1)
    return right


def ngram_judge(rounds, kn: KneserNeyTrigram, tokenizer) -> np.ndarray:
    def perplexity(opening: str, continuation: str) -> float:
        context = tokenizer.encode(opening)
        probs, _ = kn.doc_predictions(context + [tokenizer.index.get(t, tokenizer.unk_id)
                                                 for t in split_words(continuation)])
        return float(np.exp(-np.mean(np.log(probs[len(context):]))))

    return np.array([int(np.argmin([perplexity(r.opening, o.text) for o in r.options])) == r.human_index
                     for r in rounds])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds-per-diversity", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    corpus = load_corpus(args.data)
    tests = bundle.test_documents(corpus)
    if not tests:
        sys.exit("the corpus is not the one this bundle was trained on")
    train = [ids[1:] for ids in encode_docs(bundle.tokenizer, [d.text for d in corpus.select(bundle.split.train)])]
    kn = KneserNeyTrigram(train, len(bundle.tokenizer), bundle.tokenizer.bos_id)
    rng = np.random.default_rng(args.seed)
    print(f"bundle {bundle.name}: {args.rounds_per_diversity} rounds per diversity from {len(tests)} test abstracts; "
          "chance = 33.3%\n")
    print("| diversity | rounds | surface-feature judge | n-gram perplexity judge |")
    print("|---|---|---|---|")
    totals = {"surface": [], "ngram": []}
    for diversity in DIVERSITIES:
        rounds = [make_round(bundle, tests, rng, diversity) for _ in range(args.rounds_per_diversity)]
        results = {"surface": surface_judge(rounds), "ngram": ngram_judge(rounds, kn, bundle.tokenizer)}
        cells = []
        for name, right in results.items():
            totals[name].append(right)
            low, high = wilson(int(right.sum()), len(right))
            cells.append(f"{right.mean():.1%} [{low:.1%}, {high:.1%}]")
        print(f"| {diversity:g} | {len(rounds)} | {cells[0]} | {cells[1]} |")
    cells = []
    for right in totals.values():
        right = np.concatenate(right)
        low, high = wilson(int(right.sum()), len(right))
        cells.append(f"{right.mean():.1%} [{low:.1%}, {high:.1%}]")
    print(f"| all | {sum(len(r) for r in totals['surface'])} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
