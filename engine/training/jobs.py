"""Training jobs: one at a time across all sessions, each in its own process, its state on disk.

    data/jobs/running             the one-job lock; its text names the job holding it
    data/jobs/<id>/request.json   what to train;  pid;  log.txt;  progress.json;  status.json (when over)
    data/jobs/<id>/cancel         present once someone asked the job to stop

The lock is an ``fcntl.flock`` on data/jobs/running, taken by ``start`` and handed to the job's
process, which holds it for its whole life: the OS releases it when that process ends, however it
ends (kill -9 included). So a job is running exactly while it holds the lock: one still starting
cannot look dead, and a dead one cannot look alive because another process took its PID.

A job writes its bundle only when complete (engine.training.train), so a crash, a cancel or a kill never
touches the active model; starting the same request again resumes from the last finished epoch.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import config
from ..config import (MODELS_DIR_ENV, Environment, MAX_UPLOAD_MB, MIN_UPLOAD_DOCUMENTS, ModelConfig, TrainConfig,
                     check_model_name, preset_configs)
from ..corpus import CorpusError, documents_from_frame, read_table
from ..jsonio import read_json, write_json_atomic

LOCK = "running"
LOCK_WAIT_S = 1.0  # how long start() waits for readers that hold the lock for an instant


class JobError(Exception):
    """A job that cannot start; the message says why."""


class Cancelled(Exception):
    pass


@contextmanager
def _writing():
    """A failure to write the jobs directory (read-only, full, not a directory) as a JobError for visitors."""
    try:
        yield
    except OSError as exc:
        raise JobError(f"The server cannot write its training files ({exc.strerror or type(exc).__name__}); "
                       "whoever runs the app should check that its data directory is writable.") from None


@dataclass(frozen=True)
class JobRequest:
    name: str  # the bundle to write in models/
    preset: str = "lstm"
    overrides: dict = field(default_factory=dict)  # ModelConfig / TrainConfig fields
    data: str | None = None  # corpus file (None: the default corpus)
    text_column: str | None = None

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """The preset with the overrides applied; ValueError for unknown or invalid settings."""
        return preset_configs(self.preset, self.overrides)


@dataclass
class JobStatus:
    job_id: str
    state: str  # running, finished, failed, cancelled, interrupted
    request: JobRequest
    message: str = ""
    progress: dict = field(default_factory=dict)

    @property
    def over(self) -> bool:
        return self.state != "running"

    @property
    def resumable(self) -> bool:
        return self.state in ("cancelled", "interrupted", "failed")


def save_upload(content: bytes, filename: str, text_column: str | None, jobs_dir: Path | None = None) -> Path:
    """Validate an uploaded corpus before anything starts; returns where it was saved."""
    jobs_dir = jobs_dir or config.JOBS_DIR
    if len(content) > MAX_UPLOAD_MB * 2**20:
        raise CorpusError(f"The file is larger than {MAX_UPLOAD_MB} MB.")
    suffix = ".txt" if filename.lower().endswith(".txt") else ".csv"
    path = jobs_dir / "uploads" / (hashlib.sha256(content).hexdigest()[:16] + suffix)
    with _writing():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    try:
        docs = documents_from_frame(read_table(path, text_column, label=repr(filename)))
        if len(docs) < MIN_UPLOAD_DOCUMENTS:
            raise CorpusError(f"The file holds {len(docs)} usable documents; training needs at least "
                              f"{MIN_UPLOAD_DOCUMENTS}.")
    except CorpusError:
        path.unlink(missing_ok=True)
        raise
    return path


def _lock_holder(jobs_dir: Path) -> str | None:
    """The id of the job whose process holds the lock, None when no process holds it."""
    try:
        fd = os.open(jobs_dir / LOCK, os.O_RDONLY)
    except OSError:  # no lock file (no job yet), or no jobs directory to hold one
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def status(job_id: str, jobs_dir: Path | None = None) -> JobStatus:
    jobs_dir = jobs_dir or config.JOBS_DIR
    job = jobs_dir / job_id
    request = JobRequest(**read_json(job / "request.json", {"name": "?"}))
    progress = read_json(job / "progress.json", {})
    final = read_json(job / "status.json")
    if final:
        return JobStatus(job_id, final["state"], request, final.get("message", ""), progress)
    if _lock_holder(jobs_dir) == job_id:
        return JobStatus(job_id, "running", request, "", progress)
    if (job / "cancel").exists():  # stopped before it could record it (e.g. while still loading)
        return JobStatus(job_id, "cancelled", request, CANCELLED, progress)
    return JobStatus(job_id, "interrupted", request, "The training process stopped without finishing "
                     "(killed or crashed). Resume it to continue from the last finished epoch.", progress)


def running_job(jobs_dir: Path | None = None) -> str | None:
    """The id of the job now running (holding the lock, its end not yet recorded), if any."""
    jobs_dir = jobs_dir or config.JOBS_DIR
    job_id = _lock_holder(jobs_dir)
    return job_id if job_id and not (jobs_dir / job_id / "status.json").exists() else None


def recent_jobs(jobs_dir: Path | None = None, limit: int = 10) -> list[str]:
    jobs_dir = jobs_dir or config.JOBS_DIR
    if not jobs_dir.is_dir():
        return []
    jobs = [p for p in jobs_dir.iterdir() if (p / "request.json").exists()]
    return [p.name for p in sorted(jobs, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]]


def _take_lock(jobs_dir: Path) -> int:
    """An open descriptor holding the one-job lock; JobError when a job holds it."""
    fd = os.open(jobs_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise JobError("A training job is already running; wait for it or cancel it.") from None
            time.sleep(0.02)


def start(request: JobRequest, jobs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """Start a training process for ``request``; JobError if it is invalid or another job is running."""
    jobs_dir, models_dir = jobs_dir or config.JOBS_DIR, models_dir or config.MODELS_DIR
    try:
        check_model_name(request.name)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    try:
        request.configs()
    except (ValueError, TypeError) as exc:
        raise JobError(f"Invalid settings: {exc}") from None
    if (models_dir / request.name).exists():
        raise JobError(f"A model named {request.name!r} exists already; choose another name.")
    with _writing():
        jobs_dir.mkdir(parents=True, exist_ok=True)
        lock = _take_lock(jobs_dir)
    try:
        with _writing():
            job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
            os.ftruncate(lock, 0)
            os.pwrite(lock, job_id.encode(), 0)
            job = jobs_dir / job_id
            job.mkdir()
            write_json_atomic(job / "request.json", asdict(request))
            env = {**os.environ, MODELS_DIR_ENV: str(models_dir), "PYTHONUNBUFFERED": "1"}
            with open(job / "log.txt", "w") as log:
                child = subprocess.Popen([sys.executable, "-m", "engine.training.jobs", str(job), str(lock)],
                                         cwd=config.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, pass_fds=(lock,))
            (job / "pid").write_text(str(child.pid))
    finally:
        os.close(lock)  # the child holds the lock now (or, if it did not start, nobody does)
    threading.Thread(target=child.wait, daemon=True).start()  # reaped as soon as it ends: no zombie
    return job_id


def log_tail(job_id: str, jobs_dir: Path | None = None, lines: int = 30) -> str:
    path = (jobs_dir or config.JOBS_DIR) / job_id / "log.txt"
    if not path.exists():
        return ""
    kept = [line for line in path.read_text(errors="replace").splitlines()
            if not line.startswith(("I0000", "E0000", "W0000"))]  # TensorFlow's start-up chatter
    return "\n".join(kept[-lines:])


def cancel(job_id: str, jobs_dir: Path | None = None) -> None:
    """Ask the job's process to stop; it records 'cancelled' and keeps its last epoch for a resume."""
    job = (jobs_dir or config.JOBS_DIR) / job_id
    if status(job_id, jobs_dir).state != "running":
        return
    (job / "cancel").touch()  # says "cancelled" even if the process dies before it can record it
    try:
        os.killpg(int((job / "pid").read_text()), signal.SIGTERM)
    except ProcessLookupError:  # it ended meanwhile
        pass


def resume(job_id: str, jobs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """Start the same request again: training continues from the last finished epoch."""
    return start(status(job_id, jobs_dir).request, jobs_dir, models_dir)


CANCELLED = "Cancelled. Resume to continue from the last finished epoch."


def _trainer():
    """engine.train.train_bundle, or the function named by $PATENT_JOB_TRAINER ("module:function")."""
    module, _, name = (Environment.read().job_trainer or "engine.train:train_bundle").partition(":")
    return getattr(importlib.import_module(module), name)


def _run(job: Path) -> None:
    """The job's process (holding the lock): train, then record how it ended."""
    state, message = "failed", ""
    try:
        request = JobRequest(**read_json(job / "request.json"))
        model_config, train_config = request.configs()
        from ..corpus import load_corpus

        corpus = load_corpus(request.data, request.text_column)
        out = _trainer()(corpus, model_config, train_config, config.MODELS_DIR / request.name,
                         job / "progress.json", log=lambda line: print(line, flush=True))
        state, message = "finished", f"Wrote {out.name}."
    except Cancelled:
        state, message = "cancelled", CANCELLED
    except Exception as exc:  # recorded for the page; the log has the traceback
        import traceback

        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
    finally:
        write_json_atomic(job / "status.json", {"state": state, "message": message, "ended": time.time()})


def _stop(signum, frame):
    raise Cancelled()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)  # before anything slow: a cancel while loading is a cancel
    os.set_inheritable(int(sys.argv[2]), False)  # the lock stays with this process, not its children
    _run(Path(sys.argv[1]))
