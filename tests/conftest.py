"""Shared fixtures: an invented corpus, a tiny trained bundle, and the shared patent corpus (if present)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from shared_corpus import find_shared_corpus

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = find_shared_corpus()  # read at import, before any test points PATENT_CORPUS elsewhere

_SUBJECTS = ["A neural network", "The system", "An adaptive controller", "A learning circuit", "The processor"]
_VERBS = ["receives", "classifies", "stores", "updates", "compares"]
_OBJECTS = ["input signals", "a weight matrix", "training patterns", "sensor data", "output values"]
_TAILS = ["in real time", "using a hidden layer", "for each neuron", "with a threshold unit", "during learning"]


def invented_documents(n: int = 60, seed: int = 0) -> list[str]:
    """Patent-like abstracts made up from templates (never copied from the corpus)."""
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n):
        sentences = [f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
                     for _ in range(int(rng.integers(7, 11)))]
        docs.append(" ".join(sentences))
    return list(dict.fromkeys(docs))


@pytest.fixture(scope="session")
def invented_csv(tmp_path_factory) -> Path:
    import pandas as pd

    path = tmp_path_factory.mktemp("corpus") / "invented.csv"
    docs = invented_documents()
    pd.DataFrame({"patent_abstract": docs, "patent_date": "2001-02-03",
                  "patent_number": [str(9000000 + i) for i in range(len(docs))],
                  "patent_title": [f"Invented title {i}" for i in range(len(docs))]}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_bundle(invented_csv, tmp_path_factory):
    """A tiny sequence model trained for a few epochs on the invented corpus."""
    from engine.lm.bundle import load_bundle
    from dataclasses import replace

    from engine.config import PRESETS
    from engine.corpus import load_corpus
    from engine.train import train_bundle

    preset = PRESETS["tiny"]
    out = tmp_path_factory.mktemp("models") / "tiny"
    train_bundle(load_corpus(invented_csv), preset.model, replace(preset.train, epochs=40, learning_rate=0.02, patience=40), out, log=None)
    return load_bundle(out)


@pytest.fixture(scope="session")
def shared_corpus_path() -> Path:
    if not SHARED_CORPUS.is_file():
        pytest.skip(f"the shared corpus is not at {SHARED_CORPUS} (it is never committed; set PATENT_CORPUS)")
    return SHARED_CORPUS


@pytest.fixture()
def app_setup(tiny_bundle, invented_csv, monkeypatch, tmp_path):
    """Pages see the tiny bundle as the active model, the invented corpus, and a fresh answer store."""
    from engine import config
    from engine.games import library_server
    from ui.common import corpus, leaderboard, store

    monkeypatch.setattr(config, "MODELS_DIR", tiny_bundle.path.parent)
    # the suite keeps both cores busy, which would hold the library's thread back as a crowd does (CI: always)
    monkeypatch.setattr(library_server, "machine_busy", lambda: False)
    (tiny_bundle.path.parent / "ACTIVE").write_text(tiny_bundle.name)
    monkeypatch.setenv("PATENT_CORPUS", str(invented_csv))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'answers.sqlite'}")
    corpus.clear()
    store.clear()
    leaderboard.clear()


@pytest.fixture(scope="session")
def tiny_pool(tiny_bundle, invented_csv):
    """The tiny bundle's quiz pool without the memorisation guard: the tiny model, trained on a few
    templates, copies its training sentences all the time (tests/test_quiz_game.py tests the guard)."""
    from engine.corpus import load_corpus
    from engine.games.novelty import TrainingRuns
    from engine.games.quiz import Pool, opening_of

    held_out = tiny_bundle.held_out_documents(load_corpus(invented_csv))
    return Pool(tuple(d for d in held_out if opening_of(tiny_bundle, d) is not None), TrainingRuns.of([]))


@pytest.fixture()
def unreadable(monkeypatch):
    """Make a directory look as the server sees one it may not read (the tests run as root, who may)."""
    real = Path.exists

    def lock(directory: Path) -> None:
        def exists(self, *args, **kwargs):
            if self.is_relative_to(directory):
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "exists", exists)

    return lock
