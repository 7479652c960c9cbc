"""Train a model bundle.

    python -m engine.train --preset awd --pretrain-data ../shared/data/extra_patent_abstracts.csv --out models/patent-awd
    python -m engine.train --preset lstm --out models/patent-lstm
    python -m engine.train --preset tutorial --max-minutes 30 --out models/tutorial

Rerunning an interrupted command resumes it (BackupAndRestore). The bundle appears only when
complete; its working files live in a hidden ``.NAME.partial`` directory beside it until then.
Any Keras backend trains (``KERAS_BACKEND=jax`` or ``torch``), on every accelerator it sees.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import numpy as np

from .bundle import CRITIC, stored, write_bundle
from .config import (CRITIC_DOCUMENTS, MODELS_DIR, PRESETS, ModelConfig, TrainConfig, check_limit, check_model_name,
                     preset_configs, to_dict)
from .corpus import Corpus, CorpusError, load_corpus, locate_pretrain_corpus
from .devices import data_parallel, detect_device, limit_threads


def partial_dir(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


def _fingerprint(corpus: Corpus, model_config: ModelConfig, train_config: TrainConfig,
                 pretrain: Corpus | None) -> str:
    payload = json.dumps([corpus.sha256, to_dict(model_config), to_dict(train_config),
                          pretrain and pretrain.sha256], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def train(corpus: Corpus, model_config: ModelConfig, train_config: TrainConfig, out: Path,
          progress_path: Path | None = None, log=print, extra_callbacks=()) -> Path:
    """Train on the corpus's training split and write a complete bundle to ``out``.

    With ``train_config.pretrain_data``, first train ``pretrain_epochs`` epochs on that corpus plus
    the training split, then fine-tune on the training split alone (the vocabulary always comes from
    the training split, and evaluation from the test split).
    ``log`` gets one line per event (None: silent); ``extra_callbacks`` are added to Keras's list.
    """
    import keras

    from .callbacks import Progress, RunState, SampleWriter, TimeBudget
    from .dataset import fixed_widths, sequence_chunks, sequence_dataset, window_examples
    from .evaluate import encode_docs, evaluate, tune_cache
    from .model import build_model, compile_model, glove_matrix
    from .tokenizer import Tokenizer

    log = log or (lambda line: None)
    out = Path(out)
    check_model_name(out.name)
    work = partial_dir(out)
    pretrain = load_corpus(train_config.pretrain_data) if train_config.pretrain_data else None
    fingerprint = _fingerprint(corpus, model_config, train_config, pretrain)
    marker = work / "fingerprint"
    if work.exists() and (not marker.exists() or marker.read_text() != fingerprint):
        shutil.rmtree(work)  # a different run was interrupted here: start afresh
    resuming = (work / "backup").exists()
    work.mkdir(parents=True, exist_ok=True)
    (work / "fingerprint").write_text(fingerprint)

    keras.utils.set_random_seed(train_config.seed)
    split = corpus.split(train_config.seed, train_config.val_fraction, train_config.test_fraction)
    check_split(corpus, split)
    train_texts = [d.text for d in corpus.select(split.train)]
    tokenizer = Tokenizer.fit(train_texts, model_config.vocab_size, model_config.min_count)
    train_docs = encode_docs(tokenizer, train_texts)
    val_docs = encode_docs(tokenizer, [d.text for d in corpus.select(split.validation)])
    device = detect_device()
    log(f"{'resuming' if resuming else 'training'} {model_config.kind} model "
        f"on {device.description}: "
        f"{len(split.train)} train / {len(split.validation)} validation / {len(split.test)} test abstracts, "
        f"vocabulary {len(tokenizer)}; the family split moved {split.moved} abstracts")

    embedding, glove_coverage = None, None
    if model_config.glove:
        embedding, glove_coverage = glove_matrix(tokenizer.vocab, seed=train_config.seed)
        log(f"GloVe covers {glove_coverage:.0%} of the vocabulary")
    parallel = data_parallel(device)  # None on a single device
    scope = parallel.scope if parallel else nullcontext
    with scope():
        model = build_model(model_config, len(tokenizer), embedding, training=True)
        compile_model(model, train_config.learning_rate)

    batch = train_config.batch_size
    rows = -(-batch // device.replicas) * device.replicas  # so that a batch splits evenly
    if model_config.kind == "window":
        x, y = window_examples(train_docs, model_config.window)
        val_x, val_y = window_examples(val_docs, model_config.window)
        if device.replicas > 1:  # the last batch too: drop fewer examples than there are devices
            x, y, val_x, val_y = (a[:len(a) - len(a) % device.replicas] for a in (x, y, val_x, val_y))
        data = dict(x=x, y=y, batch_size=rows, validation_data=(val_x, val_y))
        steps, sequence_data = -(-len(x) // rows), ()
    else:
        chunks = [sequence_chunks(docs, model_config.max_len) for docs in (train_docs, val_docs)]
        widths = None
        if model.jit_compile:  # XLA compiles a step per batch shape: keep to a few
            lengths = [len(c) - 1 for c in chunks[0] + chunks[1]]
            widths = fixed_widths(lengths, train_config.batch_widths)
        else:
            rows = None  # the last batch may be smaller (tf.distribute splits it as it can)
        sequence_data = [sequence_dataset(c, batch, seed, widths, rows)
                         for c, seed in zip(chunks, (train_config.seed, None))]
        data = dict(x=sequence_data[0], validation_data=sequence_data[1])
        steps = len(sequence_data[0])

    budget = TimeBudget(train_config.max_minutes)
    pretrain_history = {}  # {"seconds": ..., "epochs": [per-epoch metrics]}, kept for a resumed run
    if pretrain is not None and model_config.kind == "sequence" and train_config.pretrain_epochs:
        pretrained = work / "pretrained.weights.h5"
        if pretrained.exists():  # a resumed run: the pre-training phase is done
            model.load_weights(pretrained)
        else:
            mixture = encode_docs(tokenizer, [d.text for d in pretrain.documents]) + train_docs
            mixed = sequence_dataset(sequence_chunks(mixture, model_config.max_len), batch, train_config.seed + 1,
                                     widths, rows)
            log(f"pre-training on {len(pretrain.documents)} extra + {len(train_docs)} training abstracts")
            started = time.monotonic()
            fitted = model.fit(mixed, validation_data=data["validation_data"], epochs=train_config.pretrain_epochs,
                               verbose=0, callbacks=[budget, Progress(progress_path, train_config.pretrain_epochs,
                                                                      len(mixed), device.description, log,
                                                                      phase="pre-training",
                                                                      later_batches=train_config.epochs * steps)])
            pretrain_history = {"seconds": round(time.monotonic() - started, 1), "epochs": [
                dict(zip(fitted.history, values)) for values in zip(*fitted.history.values())]}
            (work / "pretrain_history.json").write_text(json.dumps(pretrain_history))
            model.save_weights(pretrained)
            compile_model(model, train_config.learning_rate)  # fine-tuning starts with a fresh optimizer
        pretrain_history = json.loads((work / "pretrain_history.json").read_text())
    early_stopping = keras.callbacks.EarlyStopping(patience=train_config.patience, restore_best_weights=True)
    checkpoint = keras.callbacks.ModelCheckpoint(work / "best.weights.h5", save_best_only=True,
                                                 save_weights_only=True)
    run_state = RunState(work / "state.json", early_stopping, checkpoint)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        early_stopping, checkpoint, run_state,
        keras.callbacks.CSVLogger(work / "history.csv", append=resuming),
        keras.callbacks.BackupAndRestore(work / "backup"),
        budget,
        Progress(progress_path, train_config.epochs, steps, device.description, log),
        SampleWriter(tokenizer, model_config, train_config.sample_diversities, work / "samples.json"),
        *extra_callbacks,
    ]
    with scope():
        fit = model.fit(epochs=train_config.epochs, callbacks=callbacks, verbose=0, **data)
    seconds = run_state.elapsed_s
    if not np.isfinite(fit.history.get("loss", [0.0])).all():
        raise ValueError("training diverged (the loss became NaN or infinite); lower the learning rate "
                         "and start again")
    if (work / "best.weights.h5").exists():  # the best epoch, also after a resumed run
        model.load_weights(work / "best.weights.h5")

    log("evaluating on the test split ...")
    clean = build_model(model_config, len(tokenizer))  # inference graph, no optimizer state
    clean.set_weights([stored(w).astype(w.dtype) for w in model.get_weights()])  # evaluated as it is kept
    cache = tune_cache(clean, model_config, tokenizer, train_texts, [d.text for d in corpus.select(split.validation)])
    log(f"continuous cache tuned on the validation split: {cache}")
    metrics = evaluate(clean, model_config, tokenizer, train_texts, [d.text for d in corpus.select(split.test)],
                       cache)
    metrics["epochs_trained"] = sum(1 for _ in open(work / "history.csv")) - 1
    provenance = {
        "data": corpus.source, "data_sha256": corpus.sha256, "split_seed": train_config.seed,
        "documents": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        "split": "by patent family", "moved_by_family_split": split.moved,
        "pretrain_data": pretrain and {"data": pretrain.source, "sha256": pretrain.sha256,
                                       "documents": len(pretrain.documents), "history": pretrain_history.get("epochs", []),
                                       "seconds": pretrain_history.get("seconds", 0)},
        "device": device.description, "backend": device.backend,
        "batch_shapes": sorted(set().union(*(d.shapes for d in sequence_data))) or None,
        "train_seconds": round(seconds, 1), "time_budget_hit": budget.exhausted,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "glove_coverage": glove_coverage, "parameters": int(clean.count_params()),
        "versions": {"keras": keras.__version__,
                     device.backend: import_module(device.backend).__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
    }
    files = {
        "config.json": json.dumps({"model": to_dict(model_config), "train": to_dict(train_config),
                                   "cache": to_dict(cache)}, indent=1),
        "tokenizer.json": json.dumps({"vocab": tokenizer.vocab}, ensure_ascii=False),
        "history.csv": (work / "history.csv").read_text(),
        "samples.json": (work / "samples.json").read_text() if (work / "samples.json").exists() else "[]",
        "split.json": json.dumps(split.to_dict()),
        "metrics.json": json.dumps(metrics, indent=1),
        "provenance.json": json.dumps(provenance, indent=1),
    }
    write_bundle(out, files, clean)
    shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {out}: test perplexity {metrics['model']['all_tokens']['perplexity']}, "
        f"top-1 {metrics['model']['all_tokens']['top1']:.1%} in {seconds:.0f} s")
    fit_critic(out, corpus, pretrain, train_config.seed, log)
    return out


def check_split(corpus: Corpus, split) -> None:
    """CorpusError when the split by patent family leaves nothing to validate or test on, saying why."""
    if split.validation and split.test:
        return
    n = len(corpus.documents)
    if n < 3:
        raise CorpusError(f"The corpus is too small to split: it has {n} document(s); give it at least 3.")
    raise CorpusError(f"The corpus's {n:,} documents are near-duplicates of one another: the split by patent "
                      f"family leaves {len(split.validation)} for validation and {len(split.test)} for testing "
                      "(no held-out abstract may have a near-duplicate in training). Give it documents that are "
                      "not variants of each other.")


def fit_critic(out: Path, corpus: Corpus, pretrain: Corpus | None, seed: int, log) -> None:
    """Give the new bundle the quiz's human-likeness critic (engine.fit_critic), from the corpus it
    pre-trained on or else the one the app would offer; without a critic its rounds are chosen by
    surprise, so a failure here is reported, never fatal."""
    from .bundle import load_bundle
    from .fit_critic import fit_bundle_critic

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="CSV or .txt corpus (default: $PATENT_CORPUS, cache, download)")
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="lstm")
    parser.add_argument("--out", type=Path, default=None, help="bundle directory (default: models/<preset>)")
    parser.add_argument("--progress-file", type=Path, default=None, help="JSON file updated during training")
    parser.add_argument("--threads", type=int, default=0, help="CPU cores to train on (0: all)")
    parser.add_argument("--pretrain-data", default=None,
                        help="a second corpus to pre-train on with the training split, e.g. extra_patent_abstracts.csv")
    for name, kind in (("epochs", int), ("batch_size", int), ("seed", int), ("max_minutes", float),
                       ("learning_rate", float), ("batch_widths", int), ("pretrain_epochs", int),
                       ("patience", int)):
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    for name, kind in (("embedding_dim", int), ("lstm_units", int), ("lstm_layers", int),
                       ("dropout", float), ("vocab_size", int), ("embedding_dropout", float), ("weight_drop", float)):
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    parser.add_argument("--glove", action="store_true", default=None, help="initialise embeddings from GloVe")
    parser.add_argument("--tie-embeddings", action="store_true", default=None, help="AWD-LSTM: tied input/output")
    parser.add_argument("--locked-dropout", action="store_true", default=None, help="AWD-LSTM: one mask per sequence")
    return parser.parse_args(argv)


def configs_from_args(args) -> tuple[ModelConfig, TrainConfig]:
    """The preset's configs with every option given on the command line applied."""
    settings = set(ModelConfig.__dataclass_fields__) | set(TrainConfig.__dataclass_fields__)
    return preset_configs(args.preset, {k: v for k, v in vars(args).items()
                                        if v is not None and k in settings})


def check_writable(path: Path, what: str) -> None:
    """ValueError unless a file can be written at ``path`` (its directory is created): checked before
    any data is read, not after hours of training."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write the {what} at {path} ({exc.strerror or type(exc).__name__})") from None


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
        train(corpus, model_config, train_config, out, args.progress_file)
    except (CorpusError, ValueError) as exc:  # GloveMissing is a ValueError too
        print(f"error: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
