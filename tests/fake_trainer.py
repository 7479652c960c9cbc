"""A fast stand-in for engine.train.train_bundle in the job tests: same signature, progress file, resume
and bundle directory, but no TensorFlow (a job test then takes a second, not forty).

Jobs use it when PATENT_JOB_TRAINER=fake_trainer:train and tests/ is on PYTHONPATH. FAKE_EPOCH_S
sets the seconds per epoch; FAKE_START_S pauses on import, as loading TensorFlow does.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from engine.config import to_dict
from engine.jsonio import read_json, write_json_atomic
from engine.training.train import partial_dir

time.sleep(float(os.environ.get("FAKE_START_S", "0")))


def train(corpus, model_config, train_config, out: Path, progress_path: Path | None = None, log=print) -> Path:
    out = Path(out)
    work = partial_dir(out)
    work.mkdir(parents=True, exist_ok=True)
    history = read_json(work / "history.json", [])
    log(f"{'resuming' if history else 'training'} a fake model on {len(corpus.documents)} documents")
    for epoch in range(len(history), train_config.epochs):
        time.sleep(float(os.environ.get("FAKE_EPOCH_S", "0.1")))
        history.append({"epoch": epoch + 1, "loss": 1 / (epoch + 1)})
        write_json_atomic(work / "history.json", history)
        if progress_path:
            write_json_atomic(progress_path, {"epoch": epoch + 1, "epochs": train_config.epochs, "batch": 1,
                                              "batches": 1, "history": history, "device": "CPU (fake)"})
        log(f"epoch {epoch + 1}/{train_config.epochs}")
    out.mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"model": to_dict(model_config), "train": to_dict(train_config),
                                                 "history": history}))
    shutil.rmtree(work)
    return out
