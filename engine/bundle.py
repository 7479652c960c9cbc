"""A model bundle: one directory holding a trained model and everything needed to use and judge it.

    model.keras       the Keras model, without optimizer state
    tokenizer.json    the vocabulary
    config.json       {"model": ModelConfig, "train": TrainConfig, "cache": CacheConfig}
    history.csv       per-epoch loss and accuracy (Keras CSVLogger)
    metrics.json      test metrics beside the baselines (engine.evaluate)
    samples.json      text written after each epoch at a few diversities
    split.json        which documents went to train / validation / test
    provenance.json   data hash, split seed, time taken, device, date

Bundles are written to a temporary directory and renamed into place, so a directory that exists
is complete.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from . import config
from .config import DEFAULT_BUNDLE, CacheConfig, ModelConfig, TrainConfig, from_dict
from .corpus import Split
from .tokenizer import Tokenizer

REQUIRED = ("model.keras", "tokenizer.json", "config.json")
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
    def keras_model(self):
        import keras

        from . import awd  # noqa: F401 - registers OutputBias, the tied output layer's bias

        try:
            return keras.saving.load_model(self.path / "model.keras", compile=False)
        except Exception as exc:  # keras raises many types for a damaged archive
            raise BundleError(f"The model file in {self.path} cannot be loaded ({type(exc).__name__}: "
                              f"{str(exc)[:200]}). Retrain it or restore the bundle from git.") from None

    @cached_property
    def net(self):
        """The model as a NumPy step-by-step network (see engine.fastlm)."""
        from .fastlm import NumpyLM

        return NumpyLM.from_keras(self.keras_model, self.model_config)

    def test_documents(self, corpus) -> list:
        """The corpus's abstracts this bundle never trained on (its test split); [] for another corpus."""
        if self.split is None or corpus.sha256 != self.provenance.get("data_sha256"):
            return []
        return corpus.select(self.split.test)

    def parameter_count(self) -> int:
        return int(self.keras_model.count_params())


def load_bundle(path: Path | str) -> Bundle:
    """Read a bundle directory; raises BundleError with a remedy when it is missing or damaged."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"No model bundle at {path}. Train one with `python -m engine.train --out {path}`.")
    missing = [name for name in REQUIRED if not (path / name).exists()]
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
        model.save(tmp / "model.keras")
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


def list_bundles(models_dir: Path | None = None) -> list[Path]:
    """Complete bundles in ``models_dir`` (default: models/; hidden and temporary directories skipped)."""
    models_dir = models_dir or config.MODELS_DIR
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "config.json").exists())


def active_bundle_path(models_dir: Path | None = None) -> Path:
    """The bundle the app uses: the one named in models/ACTIVE, else the shipped default."""
    models_dir = models_dir or config.MODELS_DIR
    marker = models_dir / ACTIVE_FILE
    name = marker.read_text().strip() if marker.exists() else DEFAULT_BUNDLE
    return models_dir / name


def set_active_bundle(name: str, models_dir: Path | None = None) -> None:
    """Switch the active bundle atomically (write a temp file, then rename over the marker)."""
    models_dir = models_dir or config.MODELS_DIR
    if not (models_dir / name / "config.json").exists():
        raise BundleError(f"No bundle named {name!r} in {models_dir}.")
    tmp = models_dir / f".{ACTIVE_FILE}.tmp"
    tmp.write_text(name)
    os.replace(tmp, models_dir / ACTIVE_FILE)
