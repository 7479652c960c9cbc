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
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .. import config
from ..config import DEFAULT_BUNDLE, MODEL_NAME, CacheConfig, ModelConfig, TrainConfig, from_dict
from ..corpus import Split
from .tokenizer import Tokenizer

REQUIRED = ("tokenizer.json", "config.json")
WEIGHTS = "weights.npz"  # "<layer>/<index>" -> array, plus "_source/sha256" when converted from LEGACY_MODEL
LEGACY_MODEL = "model.keras"
CRITIC = "critic.json"
ACTIVE_FILE = "ACTIVE"  # in the models directory: the name of the bundle the app uses


class BundleError(Exception):
    """A bundle that is missing or unreadable; the message says how to fix it."""


def _read_json(path: Path, default=None):
    return json.loads(path.read_text()) if path.exists() else default


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

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def history(self) -> list[dict]:
        """Per-epoch metrics; epochs counted from 1 (Keras's CSV counts from 0)."""
        path = self.path / "history.csv"
        if not path.exists():
            return []
        with path.open(newline="") as fh:
            return [{**{k: float(v) for k, v in row.items()}, "epoch": int(row["epoch"]) + 1}
                    for row in csv.DictReader(fh)]

    @cached_property
    def weights(self) -> dict[str, list[np.ndarray]]:
        """The model's weights by Keras layer name, read from weights.npz."""
        if _needs_conversion(self.path):
            convert_legacy(self.path)
        try:
            with np.load(self.path / WEIGHTS) as npz:
                return read_layers(npz)
        except Exception as exc:  # numpy raises many types for a damaged archive
            raise BundleError(f"The model weights of bundle {self.name!r} cannot be loaded: they are damaged "
                              f"({type(exc).__name__}). Retrain it or restore the bundle from git.") from None

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


def load_bundle(path: Path | str) -> Bundle:
    """Read a bundle directory; raises BundleError with a remedy when it is missing or damaged."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"No model bundle at {path}. Train one with `python -m engine.train --out {path}`.")
    missing = [name for name in REQUIRED if not (path / name).exists()]
    if not (path / WEIGHTS).exists() and not (path / LEGACY_MODEL).exists():
        missing.append(WEIGHTS)
    if missing:
        raise BundleError(f"The bundle {path} is incomplete (missing {', '.join(missing)}). "
                          "Retrain it or restore it from git.")
    try:
        config = json.loads((path / "config.json").read_text())
        split = _read_json(path / "split.json")
        return Bundle(path=path,
                      model_config=from_dict(ModelConfig, config["model"]),
                      train_config=from_dict(TrainConfig, config.get("train", {})),
                      tokenizer=Tokenizer.load(path / "tokenizer.json"),
                      metrics=_read_json(path / "metrics.json", {}),
                      samples=_read_json(path / "samples.json", []),
                      provenance=_read_json(path / "provenance.json", {}),
                      split=Split.from_dict(split) if split else None,
                      cache=from_dict(CacheConfig, config.get("cache", {})))
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"The bundle {path} is damaged ({type(exc).__name__}: {exc}). "
                          "Retrain it or restore it from git.") from None


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
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "config.json").exists())


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
    if MODEL_NAME.match(name) and (models_dir / name / "config.json").exists():
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
