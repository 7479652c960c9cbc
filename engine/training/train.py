"""Train a model bundle.

The command, which fits the quiz's critic after training, is engine.train. Rerunning an interrupted command resumes it (BackupAndRestore). The bundle appears only when
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from typing import Callable

import numpy as np

from ..lm.bundle import stored, write_bundle
from ..config import PRESETS, ModelConfig, TrainConfig, check_model_name, preset_configs, to_dict
from ..corpus import Corpus, CorpusError, Split, load_corpus
from ..lm.tokenizer import Tokenizer
from .devices import Device, data_parallel, detect_device


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
    from .callbacks import TimeBudget

    run = _Run.start(corpus, model_config, train_config, Path(out), progress_path, log or (lambda line: None))
    _split_and_encode(run)
    _build(run)
    _batches(run)
    budget = TimeBudget(train_config.max_minutes)
    _pretrain(run, budget)
    seconds = _fit(run, budget, extra_callbacks)
    clean, cache, metrics = _evaluate(run)
    _write(run, clean, cache, metrics, _provenance(run, clean, seconds, budget.exhausted))
    run.log(f"wrote {run.out}: test perplexity {metrics['model']['all_tokens']['perplexity']}, "
        f"top-1 {metrics['model']['all_tokens']['top1']:.1%} in {seconds:.0f} s")
    return run.out


@dataclass
class _Run:
    """One training run: its settings, working directory, and what each stage of ``train`` adds."""

    corpus: Corpus
    model_config: ModelConfig
    train_config: TrainConfig
    out: Path
    work: Path  # the working files (.NAME.partial): a rerun resumes from them
    resuming: bool
    pretrain: Corpus | None
    progress_path: Path | None
    log: Callable[[str], None]
    split: Split | None = None
    tokenizer: Tokenizer | None = None
    train_texts: list[str] = field(default_factory=list)
    train_docs: list[list[int]] = field(default_factory=list)
    val_docs: list[list[int]] = field(default_factory=list)
    device: Device | None = None
    scope: Callable = nullcontext  # the data-parallel scope when there are several devices
    model: object = None
    glove_coverage: float | None = None
    data: dict = field(default_factory=dict)  # keyword arguments of model.fit: the data
    steps: int = 0  # batches per epoch
    sequence_data: tuple = ()
    widths: list[int] | None = None  # the few batch widths XLA compiles for
    rows: int | None = None  # rows per batch (None: the last batch may be smaller)
    pretrain_history: dict = field(default_factory=dict)  # {"seconds": ..., "epochs": [per-epoch metrics]}

    @classmethod
    def start(cls, corpus, model_config, train_config, out: Path, progress_path, log) -> "_Run":
        """Check the name, and keep the working directory only if it belongs to this very run."""
        check_model_name(out.name)
        work = partial_dir(out)
        pretrain = load_corpus(train_config.pretrain_data) if train_config.pretrain_data else None
        fingerprint = _fingerprint(corpus, model_config, train_config, pretrain)
        marker = work / "fingerprint"
        if work.exists() and (not marker.exists() or marker.read_text() != fingerprint):
            shutil.rmtree(work)  # a different run was interrupted here: start afresh
        resuming = (work / "backup").exists()
        work.mkdir(parents=True, exist_ok=True)
        marker.write_text(fingerprint)
        return cls(corpus, model_config, train_config, out, work, resuming, pretrain, progress_path, log)


def _split_and_encode(run: _Run) -> None:
    """Split by patent family, fit the tokenizer on the training split, encode training and validation."""
    import keras

    from .evaluate import encode_docs

    corpus, config = run.corpus, run.train_config
    keras.utils.set_random_seed(config.rng_seed)
    run.split = split = corpus.split(config.rng_seed, config.val_fraction, config.test_fraction)
    check_split(corpus, split)
    run.train_texts = [d.text for d in corpus.select(split.train)]
    run.tokenizer = Tokenizer.fit(run.train_texts, run.model_config.vocab_size, run.model_config.min_count)
    run.train_docs = encode_docs(run.tokenizer, run.train_texts)
    run.val_docs = encode_docs(run.tokenizer, [d.text for d in corpus.select(split.validation)])
    run.device = detect_device()
    run.log(f"{'resuming' if run.resuming else 'training'} {run.model_config.kind} model "
            f"on {run.device.description}: "
            f"{len(split.train)} train / {len(split.validation)} validation / {len(split.test)} test abstracts, "
            f"vocabulary {len(run.tokenizer)}; the family split moved {split.moved} abstracts")


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


def _build(run: _Run) -> None:
    """The training graph (GloVe rows first if asked for), on every device."""
    from .model import build_model, compile_model, glove_matrix

    embedding = None
    if run.model_config.glove:
        embedding, run.glove_coverage = glove_matrix(run.tokenizer.vocab, seed=run.train_config.rng_seed)
        run.log(f"GloVe covers {run.glove_coverage:.0%} of the vocabulary")
    parallel = data_parallel(run.device)  # None on a single device
    run.scope = parallel.scope if parallel else nullcontext
    with run.scope():
        run.model = build_model(run.model_config, len(run.tokenizer), embedding, training=True)
        compile_model(run.model, run.train_config.learning_rate)


def _batches(run: _Run) -> None:
    """The training and validation data: windows for the window model, length-bucketed sequences otherwise."""
    from .dataset import fixed_widths, sequence_chunks, sequence_dataset, window_examples

    batch, replicas, config = run.train_config.batch_size, run.device.replicas, run.model_config
    run.rows = -(-batch // replicas) * replicas  # so that a batch splits evenly
    if config.kind == "window":
        x, y = window_examples(run.train_docs, config.window)
        val_x, val_y = window_examples(run.val_docs, config.window)
        if replicas > 1:  # the last batch too: drop fewer examples than there are devices
            x, y, val_x, val_y = (a[:len(a) - len(a) % replicas] for a in (x, y, val_x, val_y))
        run.data = dict(x=x, y=y, batch_size=run.rows, validation_data=(val_x, val_y))
        run.steps = -(-len(x) // run.rows)
        return
    chunks = [sequence_chunks(docs, config.max_len) for docs in (run.train_docs, run.val_docs)]
    if run.model.jit_compile:  # XLA compiles a step per batch shape: keep to a few
        run.widths = fixed_widths([len(c) - 1 for c in chunks[0] + chunks[1]], run.train_config.batch_widths)
    else:
        run.rows = None  # the last batch may be smaller (tf.distribute splits it as it can)
    run.sequence_data = [sequence_dataset(c, batch, seed, run.widths, run.rows)
                         for c, seed in zip(chunks, (run.train_config.rng_seed, None))]
    run.data = dict(x=run.sequence_data[0], validation_data=run.sequence_data[1])
    run.steps = len(run.sequence_data[0])


def _pretrain(run: _Run, budget) -> None:
    """With a pre-training corpus: its epochs on it plus the training split, once (a resumed run
    reloads the weights and the history it kept)."""
    from .callbacks import Progress
    from .dataset import sequence_chunks, sequence_dataset
    from .evaluate import encode_docs
    from .model import compile_model

    config = run.train_config
    if run.pretrain is None or run.model_config.kind != "sequence" or not config.pretrain_epochs:
        return
    pretrained = run.work / "pretrained.weights.h5"
    if pretrained.exists():  # a resumed run: the pre-training phase is done
        run.model.load_weights(pretrained)
    else:
        mixture = encode_docs(run.tokenizer, [d.text for d in run.pretrain.documents]) + run.train_docs
        mixed = sequence_dataset(sequence_chunks(mixture, run.model_config.max_len), config.batch_size,
                                 config.rng_seed + 1, run.widths, run.rows)
        run.log(f"pre-training on {len(run.pretrain.documents)} extra + {len(run.train_docs)} training abstracts")
        started = time.monotonic()
        fitted = run.model.fit(mixed, validation_data=run.data["validation_data"], epochs=config.pretrain_epochs,
                               verbose=0, callbacks=[budget, Progress(run.progress_path, config.pretrain_epochs,
                                                                      len(mixed), run.device.description, run.log,
                                                                      phase="pre-training",
                                                                      later_batches=config.epochs * run.steps)])
        history = {"seconds": round(time.monotonic() - started, 1), "epochs": [
            dict(zip(fitted.history, values)) for values in zip(*fitted.history.values())]}
        (run.work / "pretrain_history.json").write_text(json.dumps(history))
        run.model.save_weights(pretrained)
        compile_model(run.model, config.learning_rate)  # fine-tuning starts with a fresh optimizer
    run.pretrain_history = json.loads((run.work / "pretrain_history.json").read_text())


def _fit(run: _Run, budget, extra_callbacks) -> float:
    """Train (fine-tune) on the training split, resumably, and keep the best epoch; the training seconds."""
    import keras

    from .callbacks import Progress, RunState, SampleWriter

    config, work = run.train_config, run.work
    early_stopping = keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)
    checkpoint = keras.callbacks.ModelCheckpoint(work / "best.weights.h5", save_best_only=True,
                                                 save_weights_only=True)
    run_state = RunState(work / "state.json", early_stopping, checkpoint)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        early_stopping, checkpoint, run_state,
        keras.callbacks.CSVLogger(work / "history.csv", append=run.resuming),
        keras.callbacks.BackupAndRestore(work / "backup"),
        budget,
        Progress(run.progress_path, config.epochs, run.steps, run.device.description, run.log),
        SampleWriter(run.tokenizer, run.model_config, config.sample_diversities, work / "samples.json"),
        *extra_callbacks,
    ]
    with run.scope():
        fit = run.model.fit(epochs=config.epochs, callbacks=callbacks, verbose=0, **run.data)
    if not np.isfinite(fit.history.get("loss", [0.0])).all():
        raise ValueError("training diverged (the loss became NaN or infinite); lower the learning rate "
                         "and start again")
    if (work / "best.weights.h5").exists():  # the best epoch, also after a resumed run
        run.model.load_weights(work / "best.weights.h5")
    return run_state.elapsed_s


def _evaluate(run: _Run):
    """(the inference model as the bundle keeps it, the continuous cache tuned on validation, test metrics)."""
    from .evaluate import evaluate, tune_cache
    from .model import build_model

    run.log("evaluating on the test split ...")
    clean = build_model(run.model_config, len(run.tokenizer))  # inference graph, no optimizer state
    clean.set_weights([stored(w).astype(w.dtype) for w in run.model.get_weights()])  # evaluated as it is kept
    select = run.corpus.select
    cache = tune_cache(clean, run.model_config, run.tokenizer, run.train_texts,
                       [d.text for d in select(run.split.validation)])
    run.log(f"continuous cache tuned on the validation split: {cache}")
    metrics = evaluate(clean, run.model_config, run.tokenizer, run.train_texts,
                       [d.text for d in select(run.split.test)], cache)
    metrics["epochs_trained"] = sum(1 for _ in open(run.work / "history.csv")) - 1
    return clean, cache, metrics


def _provenance(run: _Run, clean, seconds: float, budget_hit: bool) -> dict:
    """Where the bundle came from: data, split, pre-training, device, time, versions."""
    import keras

    corpus, split, pretrain, history = run.corpus, run.split, run.pretrain, run.pretrain_history
    return {
        "data": corpus.source, "data_sha256": corpus.sha256, "split_seed": run.train_config.rng_seed,
        "documents": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        "split": "by patent family", "moved_by_family_split": split.moved,
        "pretrain_data": pretrain and {"data": pretrain.source, "sha256": pretrain.sha256,
                                       "documents": len(pretrain.documents), "history": history.get("epochs", []),
                                       "seconds": history.get("seconds", 0)},
        "device": run.device.description, "backend": run.device.backend,
        "batch_shapes": sorted(set().union(*(d.shapes for d in run.sequence_data))) or None,
        "train_seconds": round(seconds, 1), "time_budget_hit": budget_hit,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "glove_coverage": run.glove_coverage, "parameters": int(clean.count_params()),
        "versions": {"keras": keras.__version__,
                     run.device.backend: import_module(run.device.backend).__version__,
                     "python": platform.python_version(), "numpy": np.__version__},
    }


def _write(run: _Run, clean, cache, metrics: dict, provenance: dict) -> None:
    """The bundle's files, written together into place; the working directory goes."""
    work = run.work
    files = {
        "config.json": json.dumps({"model": to_dict(run.model_config), "train": to_dict(run.train_config),
                                   "cache": to_dict(cache)}, indent=1),
        "tokenizer.json": json.dumps({"vocab": run.tokenizer.vocab}, ensure_ascii=False),
        "history.csv": (work / "history.csv").read_text(),
        "samples.json": (work / "samples.json").read_text() if (work / "samples.json").exists() else "[]",
        "split.json": json.dumps(run.split.to_dict()),
        "metrics.json": json.dumps(metrics, indent=1),
        "provenance.json": json.dumps(provenance, indent=1),
    }
    write_bundle(run.out, files, clean)
    shutil.rmtree(work, ignore_errors=True)


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
    parser.add_argument("--rng-seed", "--seed", dest="rng_seed", type=int, default=None,
                        help="split, shuffling and initialisation; --seed is its older name")
    for name, kind in (("epochs", int), ("batch_size", int), ("max_minutes", float),
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
