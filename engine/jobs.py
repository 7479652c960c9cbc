"""Training jobs: one at a time across all sessions, each in its own process, its state on disk.

    data/jobs/running         the id of the running job (created exclusively: the one-job lock)
    data/jobs/<id>/request.json   what to train;  pid;  log.txt;  progress.json;  status.json (when over)

A job writes its bundle only when complete (engine.train), so a crash, a cancel or a kill never
touches the active model; starting the same request again resumes from the last finished epoch.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import config
from .bundle import write_json_atomic  # not from .callbacks: that imports Keras
from .config import MAX_UPLOAD_MB, MIN_UPLOAD_DOCUMENTS, ModelConfig, TrainConfig, preset_configs
from .corpus import CorpusError, documents_from_frame, read_table

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
_CHILDREN: dict[int, subprocess.Popen] = {}  # reaped on status checks, so finished jobs leave no zombie


class JobError(Exception):
    """A job that cannot start; the message says why."""


class Cancelled(Exception):
    pass


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


def check_token(given: str | None, configured: str | None) -> bool:
    """True when no token is configured (a local run), else only for the right token."""
    return not configured or hmac.compare_digest((given or "").encode(), configured.encode())


def save_upload(content: bytes, filename: str, text_column: str | None, jobs_dir: Path | None = None) -> Path:
    """Validate an uploaded corpus before anything starts; returns where it was saved."""
    jobs_dir = jobs_dir or config.JOBS_DIR
    if len(content) > MAX_UPLOAD_MB * 2**20:
        raise CorpusError(f"The file is larger than {MAX_UPLOAD_MB} MB.")
    suffix = ".txt" if filename.lower().endswith(".txt") else ".csv"
    path = jobs_dir / "uploads" / (hashlib.sha256(content).hexdigest()[:16] + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    try:
        docs = documents_from_frame(read_table(path, text_column))
        if len(docs) < MIN_UPLOAD_DOCUMENTS:
            raise CorpusError(f"The file holds {len(docs)} usable documents; training needs at least "
                              f"{MIN_UPLOAD_DOCUMENTS}.")
    except CorpusError:
        path.unlink(missing_ok=True)
        raise
    return path


def _alive(pid: int) -> bool:
    if pid in _CHILDREN:
        return _CHILDREN[pid].poll() is None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (exited, not yet reaped by a parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return True


def _read(path: Path, default=None):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def status(job_id: str, jobs_dir: Path | None = None) -> JobStatus:
    job = (jobs_dir or config.JOBS_DIR) / job_id
    request = JobRequest(**_read(job / "request.json", {"name": "?"}))
    progress = _read(job / "progress.json", {})
    final = _read(job / "status.json")
    if final:
        return JobStatus(job_id, final["state"], request, final.get("message", ""), progress)
    pid = int((job / "pid").read_text()) if (job / "pid").exists() else 0
    if pid and _alive(pid):
        return JobStatus(job_id, "running", request, "", progress)
    return JobStatus(job_id, "interrupted", request, "The training process stopped without finishing "
                     "(killed or crashed). Resume it to continue from the last finished epoch.", progress)


def running_job(jobs_dir: Path | None = None) -> str | None:
    """The id of the job now running, if any (a stale lock left by a dead job is cleared)."""
    jobs_dir = jobs_dir or config.JOBS_DIR
    lock = jobs_dir / "running"
    try:
        job_id = lock.read_text().strip()
    except OSError:
        return None
    if job_id and (jobs_dir / job_id).exists() and status(job_id, jobs_dir).state == "running":
        return job_id
    lock.unlink(missing_ok=True)
    return None


def recent_jobs(jobs_dir: Path | None = None, limit: int = 10) -> list[str]:
    jobs_dir = jobs_dir or config.JOBS_DIR
    if not jobs_dir.is_dir():
        return []
    jobs = [p for p in jobs_dir.iterdir() if (p / "request.json").exists()]
    return [p.name for p in sorted(jobs, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]]


def start(request: JobRequest, jobs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """Start a training process for ``request``; JobError if it is invalid or another job is running."""
    jobs_dir, models_dir = jobs_dir or config.JOBS_DIR, models_dir or config.MODELS_DIR
    if not NAME.match(request.name):
        raise JobError("Name the model with letters, digits, '-', '_' or '.' (at most 60).")
    if (models_dir / request.name).exists():
        raise JobError(f"A model named {request.name!r} exists already; choose another name.")
    try:
        request.configs()
    except (ValueError, TypeError) as exc:
        raise JobError(f"Invalid settings: {exc}") from None
    jobs_dir.mkdir(parents=True, exist_ok=True)
    job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    lock = jobs_dir / "running"
    running_job(jobs_dir)  # clears a stale lock
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise JobError("A training job is already running; wait for it or cancel it.") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(job_id)
    job = jobs_dir / job_id
    job.mkdir()
    write_json_atomic(job / "request.json", asdict(request))
    env = {**os.environ, "PATENT_MODELS_DIR": str(models_dir), "PYTHONUNBUFFERED": "1"}
    with open(job / "log.txt", "w") as log:
        child = subprocess.Popen([sys.executable, "-m", "engine.jobs", str(job)], cwd=config.ROOT, env=env,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _CHILDREN[child.pid] = child
    (job / "pid").write_text(str(child.pid))
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
    if status(job_id, jobs_dir).state == "running":
        os.killpg(int((job / "pid").read_text()), signal.SIGTERM)


def resume(job_id: str, jobs_dir: Path | None = None, models_dir: Path | None = None) -> str:
    """Start the same request again: training continues from the last finished epoch."""
    return start(status(job_id, jobs_dir).request, jobs_dir, models_dir)


def _run(job: Path) -> None:
    """The job's process: train, then record how it ended and release the lock."""
    from .corpus import load_corpus
    from .train import train

    def stop(signum, frame):
        raise Cancelled()

    signal.signal(signal.SIGTERM, stop)
    request = JobRequest(**json.loads((job / "request.json").read_text()))
    state, message = "failed", ""
    try:
        model_config, train_config = request.configs()
        corpus = load_corpus(request.data, request.text_column)
        out = train(corpus, model_config, train_config, config.MODELS_DIR / request.name, job / "progress.json",
                    log=lambda line: print(line, flush=True))
        state, message = "finished", f"Wrote {out.name}."
    except Cancelled:
        state, message = "cancelled", "Cancelled. Resume to continue from the last finished epoch."
    except Exception as exc:  # recorded for the page; the log has the traceback
        import traceback

        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
    finally:
        write_json_atomic(job / "status.json", {"state": state, "message": message, "ended": time.time()})
        lock = job.parent / "running"
        if lock.exists() and lock.read_text().strip() == job.name:
            lock.unlink(missing_ok=True)


if __name__ == "__main__":
    _run(Path(sys.argv[1]))
