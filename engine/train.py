"""Build a model bundle: train it (engine.training.train), then fit its quiz critic (engine.games.fit_critic).

    python -m engine.train --preset awd --pretrain-data ../shared/data/extra_patent_abstracts.csv --out models/patent-awd
    python -m engine.train --preset lstm --out models/patent-lstm
    python -m engine.train --preset tutorial --max-minutes 30 --out models/tutorial

The one module that uses both floors: training knows nothing of the games, and the games nothing of training.
"""
from __future__ import annotations

from pathlib import Path

from .config import MODELS_DIR, check_limit
from .corpus import Corpus, CorpusError, load_corpus
from .games.fit_critic import fit_after_training
from .training.devices import limit_threads
from .training.train import check_writable, configs_from_args, parse_args, train


def train_bundle(corpus: Corpus, model_config, train_config, out: Path, progress_path: Path | None = None,
                 log=print, extra_callbacks=()) -> Path:
    """``engine.training.train.train``, then the critic step; the same arguments."""
    out = train(corpus, model_config, train_config, out, progress_path, log, extra_callbacks)
    pretrain = load_corpus(train_config.pretrain_data) if train_config.pretrain_data else None
    fit_after_training(out, corpus, pretrain, train_config.rng_seed, log or (lambda line: None))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        model_config, train_config = configs_from_args(args)
        check_limit("threads", args.threads)
        out = args.out or MODELS_DIR / args.preset
        check_writable(out, "bundle")
        if args.progress_file:
            check_writable(args.progress_file, "progress file")
        if args.threads:
            limit_threads(args.threads)
        corpus = load_corpus(args.data, args.text_column,
                             progress=lambda done, total: print(f"\rdownloading {done / max(total, 1):.0%}", end=""))
        train_bundle(corpus, model_config, train_config, out, args.progress_file)
    except (CorpusError, ValueError) as exc:  # GloveMissing is a ValueError too
        print(f"error: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
