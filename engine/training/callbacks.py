"""Keras callbacks through which training reports to whoever watches: a CLI, a page, a job runner."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras

from ..jsonio import read_json, write_json_atomic


class Progress(keras.callbacks.Callback):
    """Writes the state of the run (phase, epoch, batch, ETA, history) to a JSON file and/or prints it.

    The ETA is the pace so far times the batches left: those of this phase and ``later_batches``
    (pre-training passes the training phase's, so its estimate covers both). The pace leaves out
    each phase's first batch, which also pays for tracing and compiling: counted in, it made one
    batch look like minutes ("about 16 min left" at batch 1).
    """

    def __init__(self, path: Path | None, epochs: int, steps: int, device: str, log=print, every_s=1.0,
                 phase: str = "training", later_batches: int = 0):
        super().__init__()
        self.path, self.epochs, self.steps, self.device, self.log = path, epochs, steps, device, log
        self.every_s, self.history, self.started, self.last = every_s, [], time.time(), 0.0
        self.phase, self.later_batches = phase, later_batches
        self.epoch, self.done_batches = 0, 0
        self.paced_from: tuple[float, int] | None = None  # (time, batches done) after the first batch

    def eta_s(self, batch: int) -> float | None:
        """Seconds left at ``batch`` of the current epoch; None until the pace is known."""
        if self.paced_from is None or self.done_batches == self.paced_from[1]:
            return None
        since, done = self.paced_from
        pace = (time.time() - since) / (self.done_batches - done)
        return pace * (self.epochs * self.steps - (self.epoch * self.steps + batch) + self.later_batches)

    def _state(self, status: str, batch: int, logs: dict | None) -> dict:
        eta = self.eta_s(batch)
        return {"status": status, "phase": self.phase, "epoch": self.epoch + 1, "epochs": self.epochs,
                "batch": batch, "batches": self.steps, "elapsed_s": round(time.time() - self.started, 1),
                "eta_s": round(eta, 1) if eta is not None else None, "device": self.device,
                "logs": {k: float(v) for k, v in (logs or {}).items()}, "history": self.history,
                "updated": time.time()}

    def _write(self, status, batch, logs, force=False):
        now = time.time()
        if self.path and (force or now - self.last >= self.every_s):
            write_json_atomic(self.path, self._state(status, batch, logs))
            self.last = now

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._write("training", 0, logs, force=True)

    def on_train_batch_end(self, batch, logs=None):
        self.done_batches += 1
        if self.paced_from is None:
            self.paced_from = (time.time(), self.done_batches)
        self._write("training", batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        self.history.append(row)
        self._write("training", self.steps, logs, force=True)
        if self.log:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch")
            self.log(f"epoch {epoch + 1}/{self.epochs}  {shown}  ({time.time() - self.started:.0f} s)")

    def on_train_end(self, logs=None):
        if not self.later_batches:  # the last phase: the test split comes next
            self._write("evaluating", self.steps, logs, force=True)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the epoch during which the budget ran out (0 minutes: no budget)."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds, self.started = minutes * 60, time.time()
        self.exhausted = False

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds and time.time() - self.started >= self.seconds:
            self.exhausted = True
            self.model.stop_training = True


class SampleWriter(keras.callbacks.Callback):
    """After each epoch, writes a short abstract at each diversity to ``path`` (a JSON list)."""

    def __init__(self, tokenizer, config, diversities, path: Path, words: int = 40):
        super().__init__()
        self.tokenizer, self.config, self.diversities = tokenizer, config, diversities
        self.path, self.words = Path(path), words
        self.samples = json.loads(self.path.read_text()) if self.path.exists() else []

    def on_epoch_end(self, epoch, logs=None):
        from ..lm.fastlm import NumpyLM
        from ..lm.generate import Snapshot, generate
        from ..lm.settings import Sampling

        if not math.isfinite((logs or {}).get("loss", 0.0)):
            return  # a diverged epoch (TerminateOnNaN stops the run): nothing to write with
        snapshot = Snapshot(self.tokenizer, NumpyLM.from_keras(self.model, self.config))
        for diversity in self.diversities:
            text = generate(snapshot, "", Sampling(diversity, rng_seed=epoch, words=self.words)).text
            self.samples.append({"epoch": epoch + 1, "diversity": diversity, "text": text})
        write_json_atomic(self.path, self.samples)


class RunState(keras.callbacks.Callback):
    """Carries what Keras forgets across a resume: the best validation loss (for EarlyStopping and
    ModelCheckpoint), the patience counter, and the training time of the earlier parts.

    Keras's BackupAndRestore brings back weights, optimizer and epoch, but the other callbacks
    restart with best=None: the first resumed epoch would then overwrite the best weights even
    when it is worse. Put this callback after the two it restores.
    """

    def __init__(self, path: Path, early_stopping, checkpoint):
        super().__init__()
        self.path, self.early_stopping, self.checkpoint = Path(path), early_stopping, checkpoint
        self.earlier_s, self.started = 0.0, time.time()

    @property
    def elapsed_s(self) -> float:
        """Training time over every part of the run so far."""
        return self.earlier_s + time.time() - self.started

    def on_train_begin(self, logs=None):
        self.started = time.time()
        saved = read_json(self.path)
        if not saved:
            return
        self.earlier_s = saved["elapsed_s"]
        if saved["best"] is not None:
            self.early_stopping.best = self.checkpoint.best = saved["best"]
            self.early_stopping.best_epoch = saved["best_epoch"]
        self.early_stopping.wait = saved["wait"]

    def on_epoch_end(self, epoch, logs=None):
        best = self.early_stopping.best
        write_json_atomic(self.path, {"best": None if best is None else float(best),
                                      "best_epoch": self.early_stopping.best_epoch,
                                      "wait": self.early_stopping.wait, "elapsed_s": self.elapsed_s})
