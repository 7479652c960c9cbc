"""Fit a bundle's human-likeness critic (engine.games.critic) and save it as the bundle's critic.json.

    python -m engine.games.fit_critic [--model DIR] [--data CSV] [--critic-data CSV] [--documents 5000]

Examples: for each of ``--documents`` abstracts, the real continuation (human) and two the model
writes from the same opening (machine), at diversities spread over the quiz's whole scale. The
abstracts are never quiz abstracts: they come from the pre-training corpus (``--critic-data``,
default: the one engine.corpus.locate_pretrain_corpus finds) when the model never trained on it or
has not memorised it (see ``critic_documents``), else from the training split. The model has learnt its training split, so there people's words
look far likelier to it than on new text (mean log-probability -3.4 against -4.1 on held-out
abstracts, and almost never an unlikely word): a critic fitted there learns that people never
surprise, which is false on the quiz's abstracts. The critic is then tried on validation abstracts,
which it never saw: how often it ranks the real continuation first among three (chance 33%),
beside a judge that only looks at surprise.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..lm.bundle import CRITIC, BundleError, active_bundle_path, load_bundle
from ..config import CRITIC_DOCUMENTS, CRITIC_MIN_OPENINGS, QUIZ, QUIZ_OPTIONS, check_limit
from ..corpus import CorpusError, load_corpus, locate_pretrain_corpus
from .critic import FEATURES, Critic, common_words, features, fit, lexicon
from .quiz import opening_of, write_continuations

MACHINE_PER_OPENING = QUIZ_OPTIONS - 1  # as many as a quiz round shows
BATCH = 16  # openings written together
FAMILIARITY_SAMPLE = 100  # abstracts per set when asking whether the model memorised the pre-training corpus


@dataclass(frozen=True)
class Example:
    opening: list[str]
    words: list  # engine.lm.generate.Word
    human: bool
    group: int  # the abstract it continues


def examples(bundle, documents, rng: np.random.Generator) -> list[Example]:
    """Per document its real continuation and MACHINE_PER_OPENING of the model's, each batch of
    documents at a random level of the quiz's scale."""
    documents = [d for d in documents if opening_of(bundle, d) is not None]
    out = []
    for start in range(0, len(documents), BATCH):
        spec = QUIZ.levels[int(rng.integers(len(QUIZ.levels)))]
        cuts = [opening_of(bundle, d, spec) for d in documents[start:start + BATCH]]
        batch = [cut for cut in cuts if cut is not None]  # the level's cut may not fit every document
        diversities = rng.uniform(*spec.diversity, (len(batch), MACHINE_PER_OPENING))
        for k, ((opening, _), (human, machine)) in enumerate(zip(batch, write_continuations(
                bundle, batch, diversities, spec.top_p, spec.length, rng))):
            out += [Example(opening, human, True, start + k)] + [Example(opening, m, False, start + k) for m in machine]
    return out


def lexicon_of(samples: list[Example]) -> dict[str, float]:
    tokens = [[w.token for w in e.words] for e in samples]
    return lexicon([t for t, e in zip(tokens, samples) if e.human], [t for t, e in zip(tokens, samples) if not e.human])


def featurise(samples: list[Example], common, words: dict[str, float]) -> np.ndarray:
    return np.array([features(e.opening, e.words, common, words) for e in samples])


def cross_featurise(samples: list[Example], common) -> np.ndarray:
    """Features with each half's lexicon taken from the other half, so that the regression weighs
    the lexicon as it will do on continuations it never saw."""
    half = np.array([e.group % 2 for e in samples])
    x = np.zeros((len(samples), len(FEATURES)))
    for h in (0, 1):
        words = lexicon_of([e for e, k in zip(samples, half) if k != h])
        x[half == h] = featurise([e for e, k in zip(samples, half) if k == h], common, words)
    return x


def round_accuracy(scores: np.ndarray, y: np.ndarray, group: np.ndarray) -> float:
    """How often the real continuation has the highest score among its opening's continuations."""
    return float(np.mean([np.argmax(scores[group == g]) == np.argmax(y[group == g]) for g in np.unique(group)]))


def mean_log_prob(bundle, documents) -> float:
    """The model's mean log-probability per token of ``documents`` (how familiar they look to it)."""
    tok, net, scores = bundle.tokenizer, bundle.net, []
    for document in documents:
        ids = tok.encode(document.text, bos=True, eos=True)
        log_probs = net.log_probs_after(net.read(ids[:-1])[1])
        scores.append(log_probs[np.arange(len(ids) - 1), ids[1:]])
    return float(np.concatenate(scores).mean())


def critic_documents(bundle, corpus, extra, rng: np.random.Generator) -> tuple[list, str]:
    """(abstracts to fit the critic on, where they come from): ``extra`` (a corpus) when the model
    never trained on it, or trained on it but finds it no more familiar than abstracts it never saw
    (a few pre-training epochs long ago; measured on FAMILIARITY_SAMPLE abstracts of each), else the
    training split of ``corpus``."""
    train = corpus.select(bundle.split.train)
    if extra is None:
        return train, "training split"
    if extra.sha256 != (bundle.provenance.get("pretrain_data") or {}).get("sha256"):
        return list(extra.documents), "pre-training corpus (never trained on)"
    sample = {name: [docs[i] for i in rng.permutation(len(docs))[:FAMILIARITY_SAMPLE]] for name, docs in
              (("extra", list(extra.documents)), ("train", train),
               ("validation", corpus.select(bundle.split.validation)))}
    seen = {name: round(mean_log_prob(bundle, docs), 2) for name, docs in sample.items()}
    figures = f"mean log-probability {seen['extra']} there, {seen['train']} on the training split, " \
              f"{seen['validation']} on validation"
    if seen["extra"] < (seen["train"] + seen["validation"]) / 2:
        return list(extra.documents), f"pre-training corpus (pre-trained on, not memorised: {figures})"
    return train, f"training split (the pre-training corpus looks memorised: {figures})"


def fit_bundle_critic(bundle, corpus, documents: int, rng: np.random.Generator, extra=None) -> Critic:
    pool, source = critic_documents(bundle, corpus, extra, rng)
    chosen = [pool[i] for i in rng.permutation(len(pool))[:documents]]
    common = common_words(bundle.tokenizer)
    samples = examples(bundle, chosen, rng)
    y = np.array([e.human for e in samples], int)
    held = examples(bundle, corpus.select(bundle.split.validation), rng)
    if y.sum() < CRITIC_MIN_OPENINGS or not held:
        raise ValueError(f"too few abstracts to learn from: {len(chosen)} ({source}) give {int(y.sum())} openings "
                         f"and the validation split {sum(e.human for e in held)}; the critic needs "
                         f"{CRITIC_MIN_OPENINGS} openings and at least one to check it on")
    critic = fit(cross_featurise(samples, common), y, lexicon_of(samples), {"abstracts": source, "openings": int(y.sum())})
    held_x, held_y = featurise(held, common, critic.lexicon), np.array([e.human for e in held], int)
    held_group = np.array([e.group for e in held])
    checked = {"validation_openings": int(held_y.sum()),
               "critic_finds_human": round(round_accuracy(critic.score(held_x), held_y, held_group), 3),
               "surprise_finds_human": round(round_accuracy(-held_x[:, 0], held_y, held_group), 3),
               "chance": round(1 / (1 + MACHINE_PER_OPENING), 3)}
    return replace(critic, fitted_on={**critic.fitted_on, **checked})


def fit_after_training(out: Path, corpus, pretrain, seed: int, log) -> None:
    """Give a newly trained bundle its critic, from the corpus it pre-trained on or else the one the
    app would offer; without a critic its rounds are chosen by surprise, so a failure here is
    reported, never fatal."""
    try:
        extra = pretrain
        if extra is None and (found := locate_pretrain_corpus()):
            extra = load_corpus(found)
        critic = fit_bundle_critic(load_bundle(out), corpus, CRITIC_DOCUMENTS, np.random.default_rng(seed), extra)
    except (ValueError, CorpusError) as exc:  # too few abstracts to learn from, an unreadable corpus
        log(f"no quiz critic for {out.name}: {exc}")
        return
    critic.save(out / CRITIC)
    log(f"quiz critic: finds the human in {critic.fitted_on['critic_finds_human']:.0%} of validation rounds")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="bundle directory (default: the active bundle)")
    parser.add_argument("--data", default=None, help="the corpus the bundle was trained on")
    parser.add_argument("--critic-data", default=None,
                        help="abstracts to learn from (default: the pre-training corpus, if found)")
    parser.add_argument("--documents", type=int, default=CRITIC_DOCUMENTS, help="abstracts to learn from (at most)")
    parser.add_argument("--rng-seed", "--seed", dest="rng_seed", type=int, default=0, help="--seed is its older name")
    args = parser.parse_args(argv)
    try:
        check_limit("documents", args.documents)
        check_limit("rng_seed", args.rng_seed)
        bundle = load_bundle(args.model or active_bundle_path())
        corpus = load_corpus(args.data)
        found = args.critic_data or locate_pretrain_corpus()
        extra = load_corpus(found) if found else None
        if not bundle.held_out_documents(corpus):
            raise ValueError(f"{corpus.source} is not the corpus {bundle.name} was trained on")
        critic = fit_bundle_critic(bundle, corpus, args.documents, np.random.default_rng(args.rng_seed), extra)
    except (BundleError, CorpusError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    critic.save(bundle.path / CRITIC)
    print(json.dumps(critic.fitted_on, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
