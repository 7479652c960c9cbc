"""A model bundle: one directory holding a trained model and everything needed to use and judge it.

    weights.npz       the weights as NumPy arrays, by Keras layer name: all the app loads (no Keras);
                      stored in float16 (half the size), read back as float32
    tokenizer.json    the vocabulary
    config.json       {"model": ModelConfig, "train": TrainConfig, "cache": CacheConfig}
    history.csv       per-epoch loss and accuracy (Keras CSVLogger)
    metrics.json      test metrics beside the baselines (engine.training.evaluate)
    samples.json      text written after each epoch at a few diversities
    split.json        which documents went to train / validation / test
    provenance.json   data hash, split seed, time taken, device, date
    critic.json       the quiz's human-likeness critic (engine.games.fit_critic), when one was fitted

Bundles are written to a temporary directory and renamed into place, so a directory that exists
is complete. The Keras model (training, evaluation) is rebuilt from config.json and weights.npz
by engine.training.model.keras_model, and the critic read by engine.games.critic.load_critic.
Bundles written before weights.npz existed hold a model.keras instead; the first load converts it
once, in a child process (engine.training.legacy), so that Keras never enters an app server.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .. import config
from ..config import (DEFAULT_BUNDLE, MODEL_NAME, SPECIAL_TOKENS, TOY_ABSTRACTS, TOY_WORDS, CacheConfig, ModelConfig,
                      TrainConfig, from_dict)
from ..corpus import Split
from .tokenizer import Tokenizer

REQUIRED = ("tokenizer.json", "config.json")
WEIGHTS = "weights.npz"  # "<layer>/<index>" -> array, plus "_source/sha256" when converted from LEGACY_MODEL
LEGACY_MODEL = "model.keras"
CRITIC = "critic.json"
ACTIVE_FILE = "ACTIVE"  # in the models directory: the name of the bundle the app uses


FIGURES = ("bits_per_char", "cross_entropy", "perplexity", "top1", "top5", "documents", "mix", "theta",
           "common", "train_seconds", "seconds", "epoch", "diversity")  # numbers wherever the app shows them


class BundleError(Exception):
    """A bundle that is missing or unreadable; the message says how to fix it."""


def unusable(path: Path, exc: Exception) -> BundleError:
    """The one message for a bundle that cannot be used, naming it by name (never the server's path)."""
    name = Path(path).name
    if isinstance(exc, OSError):
        where = f"{Path(exc.filename).name}: " if exc.filename else ""
        return BundleError(f"The bundle {name!r} cannot be read ({where}{exc.strerror or type(exc).__name__}). "
                           "Check that the server may read its files.")
    reason = str(exc) if isinstance(exc, ValueError) and not isinstance(exc, UnicodeDecodeError) else \
        f"{type(exc).__name__}: {exc}"
    return BundleError(f"The bundle {name!r} is damaged: {reason[:200]}. Retrain it or restore it from git.")


@contextmanager
def _reading(path: Path):
    """Turn whatever reading the bundle's files raises into ``unusable``'s BundleError."""
    try:
        yield
    except BundleError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, csv.Error) as exc:
        raise unusable(path, exc) from None


def _read_json(path: Path, default=None):
    """A JSON file of the bundle (``default`` when absent), its figures checked (see ``_check_figures``)."""
    if not path.exists():
        return default
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if default is not None and type(data) is not type(default):
        raise ValueError(f"{path.name} holds {type(data).__name__}, not {type(default).__name__}")
    _check_figures(data, path.name)
    return data


def _check_figures(node, where: str) -> None:
    """ValueError when a figure (FIGURES) anywhere in ``node`` is not a finite number."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            _check_figures(value, where)
        elif key in FIGURES and value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
            raise ValueError(f"{where} gives {key} as {str(value)[:40]!r}, not a number")


def read_metrics(path: Path | str) -> dict:
    """A bundle's metrics.json alone ({} when absent); BundleError when it is unreadable or malformed."""
    with _reading(Path(path)):
        return _read_json(Path(path) / "metrics.json", {})


def _read_history(path: Path) -> list[dict]:
    """Per-epoch metrics from history.csv; epochs counted from 1 (Keras's CSV counts from 0)."""
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    try:
        return [{**{k: float(v) for k, v in row.items()}, "epoch": int(row["epoch"]) + 1} for row in rows]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"history.csv is malformed ({type(exc).__name__}: {str(exc)[:80]})") from None


def expected_shapes(config: ModelConfig, vocab: int) -> dict[str, list[tuple[int, ...]]]:
    """The shape of every weight array the config and a vocabulary of ``vocab`` need, by Keras layer name."""
    shapes = {"embedding": [(vocab, config.embedding_dim)]}
    width = config.embedding_dim
    for i in range(config.lstm_layers):
        units = config.layer_units(i)
        lstm = [(width, 4 * units), (units, 4 * units), (4 * units,)]
        if config.bidirectional:
            shapes[f"bilstm_{i}"], width = lstm * 2, 2 * units
        else:
            shapes[f"lstm_{i}"], width = lstm, units
    if config.dense_units:
        shapes["dense"], width = [(width, config.dense_units), (config.dense_units,)], config.dense_units
    if config.tie_embeddings:
        shapes["output_bias"] = [(vocab,)]
    else:
        shapes["next_token"] = [(width, vocab), (vocab,)]
    return shapes


def check_shapes(config: ModelConfig, vocab: int, layers: dict[str, list[np.ndarray]]) -> None:
    """ValueError naming the first layer whose weights do not fit the config and the vocabulary."""
    for name, shapes in expected_shapes(config, vocab).items():
        found = [tuple(w.shape) for w in layers.get(name, [])]
        if found != shapes:
            raise ValueError(f"the weights of layer {name} have shapes {found or 'none'}, but its config.json "
                             f"and vocabulary need {shapes}")


@dataclass
class Bundle:
    path: Path
    model_config: ModelConfig
    train_config: TrainConfig
    tokenizer: Tokenizer
    metrics: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    split: Split | None = None
    cache: CacheConfig = CacheConfig()  # the continuous cache tuned after training (older bundles: none)
    history: list = field(default_factory=list)  # per-epoch metrics (history.csv), epochs counted from 1

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def weights(self) -> dict[str, list[np.ndarray]]:
        """The model's weights by Keras layer name, read from weights.npz and checked against the config."""
        if _needs_conversion(self.path):
            convert_legacy(self.path)
        try:
            with np.load(self.path / WEIGHTS) as npz:
                layers = read_layers(npz)
        except Exception as exc:  # numpy raises many types for a damaged archive
            raise unusable(self.path, exc if isinstance(exc, OSError) else
                           ValueError(f"weights.npz cannot be unpacked ({type(exc).__name__})")) from None
        with _reading(self.path):
            check_shapes(self.model_config, len(self.tokenizer), layers)
        return layers

    @cached_property
    def net(self):
        """The model as a NumPy network (see engine.lm.fastlm): what generation uses."""
        from .fastlm import NumpyLM

        return NumpyLM.from_layers(self.model_config, self.weights)

    def test_documents(self, corpus) -> list:
        """The corpus's abstracts this bundle is scored on (its test split); [] for another corpus."""
        return corpus.select(self.split.test) if self._trained_on(corpus) else []

    def held_out_documents(self, corpus) -> list:
        """Every abstract of the corpus this bundle never trained on (validation and test splits)."""
        return corpus.select(self.split.validation + self.split.test) if self._trained_on(corpus) else []

    def _trained_on(self, corpus) -> bool:
        return self.split is not None and corpus.sha256 == self.provenance.get("data_sha256")

    def caveat(self) -> str | None:
        """A word for visitors when the model learned from too little to write sensible text, else None."""
        abstracts = len(self.split.train) if self.split else TOY_ABSTRACTS
        words = len(self.tokenizer) - len(SPECIAL_TOKENS)
        if abstracts >= TOY_ABSTRACTS and words >= TOY_WORDS:
            return None
        return (f"{self.name} learned from {abstracts:,} abstract(s) and knows {words:,} word(s): too little to "
                "write sensible text, so expect nonsense.")


def load_bundle(path: Path | str) -> Bundle:
    """Read and check a bundle directory; BundleError with a remedy when it is missing, unreadable or
    damaged (malformed files, figures that are not numbers; weights are checked when first read)."""
    path = Path(path)
    with _reading(path):
        if not path.is_dir():
            raise BundleError(f"No model bundle at {path}. Train one with `python -m engine.train --out {path}`.")
        missing = [name for name in REQUIRED if not (path / name).exists()]
        if not (path / WEIGHTS).exists() and not (path / LEGACY_MODEL).exists():
            missing.append(WEIGHTS)
        if missing:
            raise BundleError(f"The bundle {path.name!r} is incomplete (missing {', '.join(missing)}). "
                              "Retrain it or restore it from git.")
        config = _read_json(path / "config.json", {})
        split = _read_json(path / "split.json")
        return Bundle(path=path,
                      model_config=from_dict(ModelConfig, config["model"]),
                      train_config=from_dict(TrainConfig, config.get("train", {})),
                      tokenizer=Tokenizer.load(path / "tokenizer.json"),
                      metrics=_read_json(path / "metrics.json", {}),
                      samples=_read_json(path / "samples.json", []),
                      provenance=_read_json(path / "provenance.json", {}),
                      split=Split.from_dict(split) if split else None,
                      cache=from_dict(CacheConfig, config.get("cache", {})),
                      history=_read_history(path / "history.csv"))


def load_bundles(paths) -> tuple[list[Bundle], list[str]]:
    """(the bundles of ``paths`` that load, a message for each that does not): one bad bundle alone."""
    bundles, problems = [], []
    for path in paths:
        try:
            bundles.append(load_bundle(path))
        except BundleError as exc:
            problems.append(str(exc))
    return bundles, problems


def write_bundle(target: Path, files: dict[str, str | bytes], model) -> Path:
    """Write ``files`` and the model into a temporary directory, then move it to ``target`` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        from .fastlm import layer_weights

        save_weights(tmp / WEIGHTS, layer_weights(model))
        for name, content in files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(tmp / name, mode) as fh:
                fh.write(content)
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_layers(npz) -> dict[str, list[np.ndarray]]:
    """{layer name: [its weights in Keras order]} from the arrays of a weights.npz."""
    layers: dict[str, dict[int, np.ndarray]] = {}
    for key in npz.files:
        name, _, index = key.rpartition("/")
        if not name.startswith("_"):
            w = npz[key]
            layers.setdefault(name, {})[int(index)] = w.astype(np.float32) if w.dtype == np.float16 else w
    return {name: [ws[i] for i in sorted(ws)] for name, ws in layers.items()}


def stored(weight) -> np.ndarray:
    """A weight array as weights.npz keeps it: float16 when it is floating point (read back as float32)."""
    weight = np.asarray(weight)
    return weight.astype(np.float16) if np.issubdtype(weight.dtype, np.floating) else weight


def save_weights(path: Path, layers: dict[str, list[np.ndarray]], **extra) -> None:
    """Write weights.npz beside its final place, then rename it there (readers never see half a file)."""
    arrays = {f"{name}/{i}": stored(w) for name, ws in layers.items() for i, w in enumerate(ws)}
    arrays.update({f"_source/{k}": np.array(v) for k, v in extra.items()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _needs_conversion(path: Path) -> bool:
    """A model.keras without a weights.npz made from it (none yet, or one made from another file)."""
    legacy = path / LEGACY_MODEL
    if not legacy.exists():
        return False
    if not zipfile.is_zipfile(legacy):  # what Keras would report as "File not found"
        raise unusable(path, ValueError(f"{LEGACY_MODEL} is not a complete Keras archive (truncated or corrupted)"))
    if not (path / WEIGHTS).exists():
        return True
    with np.load(path / WEIGHTS) as npz:
        made_from = str(npz["_source/sha256"]) if "_source/sha256" in npz.files else None
    return made_from != file_sha256(legacy)


def convert_legacy(path: Path) -> None:
    """Write weights.npz for a bundle that has only a model.keras, in a child process that loads Keras."""
    done = subprocess.run([sys.executable, "-m", "engine.training.legacy", str(path)], cwd=config.ROOT,
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if done.returncode:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1][:200]
        raise BundleError(f"The model file in {path} cannot be loaded ({reason}). "
                          "Retrain it or restore the bundle from git.")


def list_bundles(models_dir: Path | None = None) -> list[Path]:
    """Complete bundles in ``models_dir`` (default: models/; hidden and temporary directories skipped)."""
    models_dir = models_dir or config.MODELS_DIR
    try:
        entries = list(models_dir.iterdir())
    except OSError:  # no models directory, or one the server cannot read
        return []
    return sorted(p for p in entries if not p.name.startswith(".") and _is_bundle(p))


def _is_bundle(path: Path) -> bool:
    """A directory holding a config.json; one the server cannot look into counts (loading it says why)."""
    try:
        return path.is_dir() and (path / "config.json").exists()
    except PermissionError:
        return True


def stamp(path: Path) -> float:
    """When the bundle's config.json last changed (0.0 when it cannot be told): reloads a changed bundle."""
    try:
        return (path / "config.json").stat().st_mtime
    except OSError:
        return 0.0


def active_bundle(models_dir: Path | None = None) -> tuple[Path, str | None]:
    """(the bundle the app uses, a warning or None): the one named in models/ACTIVE, else the
    shipped default. A marker naming no bundle here gives the default and says so."""
    models_dir = models_dir or config.MODELS_DIR
    marker = models_dir / ACTIVE_FILE
    if not marker.exists():
        return models_dir / DEFAULT_BUNDLE, None
    try:
        name = marker.read_text().strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if MODEL_NAME.match(name) and _is_bundle(models_dir / name):
        return models_dir / name, None
    shown = f"{name!r}" if MODEL_NAME.match(name) else "no valid model name"
    return models_dir / DEFAULT_BUNDLE, (f"models/{ACTIVE_FILE} names {shown}, which is not a model bundle "
                                         f"here; using {DEFAULT_BUNDLE}. Choose the active model on the "
                                         "Training page.")


def active_bundle_path(models_dir: Path | None = None) -> Path:
    """The bundle the app uses (see ``active_bundle``)."""
    return active_bundle(models_dir)[0]


def set_active_bundle(name: str, models_dir: Path | None = None) -> None:
    """Switch the active bundle atomically (write a temp file, then rename over the marker)."""
    models_dir = models_dir or config.MODELS_DIR
    if not MODEL_NAME.match(name) or not (models_dir / name / "config.json").exists():
        raise BundleError(f"No bundle named {name!r} in {models_dir}.")
    tmp = models_dir / f".{ACTIVE_FILE}.tmp"
    tmp.write_text(name)
    os.replace(tmp, models_dir / ACTIVE_FILE)
