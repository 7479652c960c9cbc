"""Can the game be lost? Judges play quiz rounds blind and we count how often they find the human.

    python bench/quiz_judges.py [--model DIR] [--data CSV] [--rounds 150] [--seed 0] [--levels 2 4] [--no-old]

Rounds are made from the abstracts no model trained on (the quiz's pool) that fit the level (one
round per abstract; a level that fewer abstracts fit than --rounds plays some twice, with other
machine options), at every level of the difficulty scale (engine.config.QUIZ.levels) and, side by side on the same abstracts, by the old
round maker (three diversity ranges, the 2 of 16 closest in surprise, no critic). Judges that
learn are cross-fitted by abstract (grouped folds: a round is judged by a judge that never saw it):
(a) white-box: a logistic regression on the model's own per-token log-probabilities, rank buckets
    (top 1/10/100/1000) and surface features (engine.games.critic.features, without the critic's
    lexicon: the text judge learns its own words), fitted on these rounds;
(b) text: a logistic regression on TF-IDF word (1-2) and character (2-5) n-grams of the option;
(c) topic: picks the option that reuses most of the opening's content words (no fitting);
(d) reader: picks the option a modern small model (engine.lm.reader, SmolLM2-135M) finds likeliest
    per token given the opening, as careful readers do; (e) reader MMI: the option it finds most
    specific, log p(c | opening) - lambda log p(c) per token (READER_MMI_WEIGHT). Without the reader
    installed, (d) and (e) are left out.
Levels chosen for readers (QuizLevel.for_readers) are played twice: as made (the reader chooses when
it is installed) and with the reader left out (critic only), on different abstracts.
Each cell: share of rounds where the judge picked the human, with a 95% Wilson interval; chance
is 33%. The strongest judge per row is the figure a difficulty is held to.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from engine.lm.bundle import active_bundle_path, load_bundle
from engine.config import QUIZ, QuizLevel
from engine.corpus import load_corpus
from engine.games.critic import common_words, features, load_critic
from engine.games.quiz import available_reader, make_rounds, quiz_pool
from engine.lm.reader import specificity
from engine.stats import wilson
from engine.lm.tokenizer import split_words

OLD_LEVELS = (QuizLevel((1.3, 1.7), 1.0, 16, 30, "easy"), QuizLevel((0.9, 1.3), 1.0, 16, 30, "medium"),
              QuizLevel((0.5, 0.9), 1.0, 16, 30, "hard"))
FOLDS = 5
BATCH = 8  # rounds written together


def cross_fitted(rounds, fit_predict) -> np.ndarray:
    """For each round, whether a judge fitted on the other folds' rounds scores the human highest.
    ``fit_predict(train_options, train_labels, test_options) -> scores``; options are (round, index)."""
    groups = np.array([r.doc_id for r in rounds])
    right = np.zeros(len(rounds), bool)
    for train, test in GroupKFold(FOLDS).split(rounds, groups=groups):
        options = [(rounds[i], k) for i in train for k in range(3)]
        labels = np.array([r.options[k].human for r, k in options], int)
        scores = fit_predict(options, labels, [(rounds[i], k) for i in test for k in range(3)]).reshape(-1, 3)
        right[test] = scores.argmax(axis=1) == [rounds[i].human_index for i in test]
    return right


def white_box(rounds, common) -> np.ndarray:
    def x(options):
        return np.array([features(split_words(r.opening), r.options[k].words, common, {}) for r, k in options])

    def fit_predict(train, labels, test):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
        return model.fit(x(train), labels).decision_function(x(test))

    return cross_fitted(rounds, fit_predict)


def text_judge(rounds) -> np.ndarray:
    def fit_predict(train, labels, test):
        vectors = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                             TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
        model = make_pipeline(vectors, LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"))
        return model.fit([r.options[k].text for r, k in train], labels).decision_function(
            [r.options[k].text for r, k in test])

    return cross_fitted(rounds, fit_predict)


def pick_max(rounds, score) -> np.ndarray:
    return np.array([int(np.argmax([score(r, o) for o in r.options])) == r.human_index for r in rounds])


def topic_reuse(round_, option, common) -> float:
    opening = {t for t in split_words(round_.opening) if t not in common and t.isalpha()}
    return len(opening & set(split_words(option.text))) / max(len(opening), 1)


def reader_judges(rounds, reader) -> list[np.ndarray]:
    """(d) and (e): whether the reader's likeliest, and its most specific, option is the human one."""
    likeliest, most_specific = [], []
    for r in rounds:
        texts = [o.text for o in r.options]
        given, alone = reader.score(r.opening, texts), reader.score("", texts)
        likeliest.append(int(np.argmax([g.mean for g in given])) == r.human_index)
        most_specific.append(int(np.argmax([specificity(g, a) for g, a in zip(given, alone)])) == r.human_index)
    return [np.array(likeliest), np.array(most_specific)]


def cell(right: np.ndarray) -> str:
    low, high = wilson(int(right.sum()), len(right))
    return f"{right.mean():.0%} [{low:.0%}, {high:.0%}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--rounds", type=int, default=150, help="rounds per level (abstracts repeat only where fewer fit)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--levels", type=int, nargs="*", default=None, help="levels to play (default: all)")
    parser.add_argument("--old", action=argparse.BooleanOptionalAction, default=True, help="play the old round maker too")
    args = parser.parse_args()
    bundle = load_bundle(args.model or active_bundle_path())
    pool = quiz_pool(bundle, load_corpus(args.data))
    if not pool.documents:
        sys.exit("the corpus is not the one this bundle was trained on")
    if load_critic(bundle) is None:
        sys.exit(f"{bundle.name} has no critic: fit one with python -m engine.games.fit_critic --model {bundle.path}")
    common = common_words(bundle.tokenizer)
    rng = np.random.default_rng(args.seed)
    names = {level: name for name, level in QUIZ.difficulties.items()}
    reader = available_reader()
    makers = []
    for k in range(len(QUIZ.levels)) if args.levels is None else args.levels:
        label = f"level {k}" + (f" ({names[k]})" if k in names else "")
        makers.append((label, k, True, QUIZ.levels, True))
        if QUIZ.levels[k].for_readers and reader is not None:
            makers.append((f"{label}, critic only", k, True, QUIZ.levels, False))
    makers += [(f"old {spec.meaning}", k, False, OLD_LEVELS, False) for k, spec in enumerate(OLD_LEVELS) if args.old]
    judges = ["white-box", "text (TF-IDF)", "topic"] + (["reader", "reader MMI"] if reader is not None else [])
    print(f"bundle {bundle.name}; pool of {len(pool.documents)} held-out abstracts; {args.rounds} rounds "
          f"per row; chance = 33%" + ("" if reader else "; the reader is not installed") + "\n")
    print(f"| round maker | settings | rounds (abstracts) | {' | '.join(judges)} | strongest |")
    print("|---" * (len(judges) + 4) + "|")
    for label, level, critic, levels, reading in makers:
        started = time.time()
        playable = pool.playable(bundle, levels[level])
        passes = -(-args.rounds // len(playable))  # a level fewer abstracts fit plays some twice (grouped folds)
        docs = [playable[i] for i in np.concatenate([rng.permutation(len(playable)) for _ in range(passes)])][:args.rounds]
        rounds = [r for k in range(0, len(docs), BATCH)
                  for r in make_rounds(bundle, pool, docs[k:k + BATCH], level, rng, critic, levels, reading)]
        results = [white_box(rounds, common), text_judge(rounds),
                   pick_max(rounds, lambda r, o: topic_reuse(r, o, common))]
        results += reader_judges(rounds, reader) if reader is not None else []
        spec = levels[level]
        settings = (f"{spec.length} words, diversity {spec.diversity[0]:g}-{spec.diversity[1]:g}, "
                    f"2 of {spec.candidates} closest to the real text by {rounds[0].settings['chosen_by']}")
        print(f"| {label} | {settings} | {len(rounds)} ({len({r.doc_id for r in rounds})}) | {' | '.join(map(cell, results))} | "
              f"{max(r.mean() for r in results):.0%} |", flush=True)
        print(f"  ({time.time() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
