"""Training jobs: start, progress, finish, one at a time, cancel, kill, resume, and upload checks.

Most tests run jobs with tests/fake_trainer.py (a second each, no TensorFlow); one runs a real training.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from engine.training import jobs
from engine.lm.bundle import load_bundle
from engine.corpus import CorpusError
from engine.training.jobs import JobError, JobRequest
from engine.training.train import partial_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def dirs(tmp_path):
    return tmp_path / "jobs", tmp_path / "models"


@pytest.fixture()
def fake(monkeypatch):
    """Jobs train with the fake trainer; returns a function setting its pace."""
    monkeypatch.setenv("PATENT_JOB_TRAINER", "fake_trainer:train")
    monkeypatch.setenv("PYTHONPATH", os.path.join(ROOT, "tests"))

    def pace(epoch_s=0.1, start_s=0.0):
        monkeypatch.setenv("FAKE_EPOCH_S", str(epoch_s))
        monkeypatch.setenv("FAKE_START_S", str(start_s))

    pace()
    return pace


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def request(name, invented_csv, **overrides):
    return JobRequest(name=name, preset="tiny", overrides=overrides, data=str(invented_csv))


def finished(job, jobs_dir):
    return wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s)


def log(job, jobs_dir):
    return (jobs_dir / job / "log.txt").read_text()


def test_a_job_runs_to_a_new_bundle_and_releases_the_lock(invented_csv, dirs, fake):
    jobs_dir, models_dir = dirs
    fake(epoch_s=1)  # still running when the second start comes, however slow the machine
    job = jobs.start(request("fresh", invented_csv, epochs=3), jobs_dir, models_dir)
    assert jobs.running_job(jobs_dir) == job and jobs.status(job, jobs_dir).state == "running"
    with pytest.raises(JobError, match="already running"):
        jobs.start(request("second", invented_csv), jobs_dir, models_dir)
    final = finished(job, jobs_dir)
    assert final.state == "finished", log(job, jobs_dir)
    assert final.progress["epochs"] == 3 and len(final.progress["history"]) == 3
    assert (models_dir / "fresh" / "config.json").exists()
    assert jobs.running_job(jobs_dir) is None
    assert jobs.recent_jobs(jobs_dir) == [job]
    with pytest.raises(JobError, match="exists already"):
        jobs.start(request("fresh", invented_csv), jobs_dir, models_dir)


def test_a_real_training_job_writes_a_complete_bundle(invented_csv, dirs):
    """End to end with TensorFlow: the job process trains the tiny preset and writes a bundle."""
    jobs_dir, models_dir = dirs
    job = jobs.start(request("real", invented_csv, epochs=2, batch_size=16), jobs_dir, models_dir)
    final = wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s, timeout=240)
    assert final.state == "finished", log(job, jobs_dir)[-2000:]
    assert len(final.progress["history"]) == 2
    assert load_bundle(models_dir / "real").metrics["model"]


def test_concurrent_starts_launch_exactly_one_job(invented_csv, dirs, fake):
    """Concurrent starts launch one job: the lock cannot be lost in a race (a starting job never looks dead)."""
    jobs_dir, models_dir = dirs
    fake(epoch_s=0.5, start_s=1)
    started, refused = [], []

    def go(n):
        try:
            started.append(jobs.start(request(f"m{n}", invented_csv, epochs=2), jobs_dir, models_dir))
        except JobError:
            refused.append(n)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1 and len(refused) == 5
    assert jobs.running_job(jobs_dir) == started[0]
    assert finished(started[0], jobs_dir).state == "finished"


def test_cancel_keeps_nothing_half_written_and_resume_finishes(invented_csv, dirs, fake):
    jobs_dir, models_dir = dirs
    fake(epoch_s=0.3)
    job = jobs.start(request("cancelled", invented_csv, epochs=40), jobs_dir, models_dir)
    wait_for(lambda: jobs.status(job, jobs_dir).progress.get("history"))
    jobs.cancel(job, jobs_dir)
    final = finished(job, jobs_dir)
    assert final.state == "cancelled" and final.resumable
    assert not (models_dir / "cancelled").exists() and partial_dir(models_dir / "cancelled").exists()
    assert jobs.running_job(jobs_dir) is None
    fake(epoch_s=0.01)
    again = jobs.resume(job, jobs_dir, models_dir)
    assert finished(again, jobs_dir).state == "finished" and "resuming" in log(again, jobs_dir)


def test_cancel_while_the_job_is_still_loading_is_a_cancel(invented_csv, dirs, fake):
    """Cancel before the trainer has loaded (TensorFlow takes ~20 s) reads as cancelled, not as a crash."""
    jobs_dir, models_dir = dirs
    fake(start_s=30)
    job = jobs.start(request("early", invented_csv), jobs_dir, models_dir)
    time.sleep(0.5)
    jobs.cancel(job, jobs_dir)
    final = wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s, timeout=10)
    assert final.state == "cancelled" and "Cancelled" in final.message
    assert jobs.running_job(jobs_dir) is None


def test_a_killed_process_is_reported_frees_the_lock_and_resumes(invented_csv, dirs, fake):
    jobs_dir, models_dir = dirs
    fake(epoch_s=0.3)
    job = jobs.start(request("killed", invented_csv, epochs=4), jobs_dir, models_dir)
    wait_for(lambda: jobs.status(job, jobs_dir).progress.get("history"))
    os.killpg(int((jobs_dir / job / "pid").read_text()), signal.SIGKILL)
    interrupted = finished(job, jobs_dir)
    assert interrupted.state == "interrupted" and "Resume" in interrupted.message
    assert not (models_dir / "killed").exists()
    assert jobs.running_job(jobs_dir) is None  # the OS released the lock with the process
    epochs_done = len(interrupted.progress["history"])
    fake(epoch_s=0.01)
    again = jobs.resume(job, jobs_dir, models_dir)
    final = finished(again, jobs_dir)
    assert final.state == "finished", log(again, jobs_dir)
    assert "resuming" in log(again, jobs_dir) and len(final.progress["history"]) == 4 and epochs_done >= 1


def test_a_recycled_pid_does_not_keep_a_dead_job_running(invented_csv, dirs, fake):
    """A dead job whose PID now belongs to another process is not 'running'."""
    jobs_dir, models_dir = dirs
    fake(epoch_s=5)
    job = jobs.start(request("recycled", invented_csv, epochs=3), jobs_dir, models_dir)
    os.killpg(int((jobs_dir / job / "pid").read_text()), signal.SIGKILL)
    wait_for(lambda: jobs.running_job(jobs_dir) is None, timeout=10)
    (jobs_dir / job / "pid").write_text(str(os.getpid()))  # a live process took the number
    assert jobs.status(job, jobs_dir).state == "interrupted"
    assert jobs.start(request("next", invented_csv), jobs_dir, models_dir)


def test_finished_jobs_leave_no_zombie(invented_csv, dirs, fake):
    """The app reaps its job processes as soon as they end."""
    jobs_dir, models_dir = dirs
    job = jobs.start(request("reaped", invented_csv, epochs=1), jobs_dir, models_dir)
    pid = int((jobs_dir / job / "pid").read_text())
    finished(job, jobs_dir)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10)


def test_importing_jobs_does_not_load_tensorflow():
    """Importing the jobs module loads neither Keras nor TensorFlow, so the app's job code starts fast."""
    code = ("import sys, engine.training.jobs; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_invalid_requests_are_refused_before_anything_starts(invented_csv, dirs):
    jobs_dir, models_dir = dirs
    with pytest.raises(JobError, match="Name the model"):
        jobs.start(request("../evil", invented_csv), jobs_dir, models_dir)
    with pytest.raises(JobError, match="Invalid settings"):
        jobs.start(request("x", invented_csv, dropout=3), jobs_dir, models_dir)
    with pytest.raises(JobError, match="Invalid settings"):
        jobs.start(request("x", invented_csv, rm_rf=True), jobs_dir, models_dir)
    with pytest.raises(JobError, match="Invalid settings: learning rate"):
        jobs.start(request("x", invented_csv, learning_rate=float("nan")), jobs_dir, models_dir)
    assert jobs.running_job(jobs_dir) is None


@pytest.mark.parametrize("name", ["ACTIVE", "active", "Active"])
def test_reserved_names_are_refused(invented_csv, dirs, name):
    """A model named ACTIVE is refused: it would shadow the models/ACTIVE marker and break every page."""
    jobs_dir, models_dir = dirs
    with pytest.raises(JobError, match="reserved"):
        jobs.start(request(name, invented_csv), jobs_dir, models_dir)
    assert not (models_dir / name).exists() and jobs.running_job(jobs_dir) is None


def test_upload_validation(tmp_path, invented_csv):
    path = jobs.save_upload(invented_csv.read_bytes(), "mine.csv", None, tmp_path)
    assert path.exists()
    few = pd.DataFrame({"body": ["One invented line.", "Two invented lines."]}).to_csv(index=False).encode()
    with pytest.raises(CorpusError, match="at least 20"):
        jobs.save_upload(few, "few.csv", "body", tmp_path)
    with pytest.raises(CorpusError, match="no column"):
        jobs.save_upload(few, "few.csv", "text", tmp_path)
    with pytest.raises(CorpusError, match="larger than"):
        jobs.save_upload(b"x" * (21 * 2**20), "big.csv", None, tmp_path)
    assert list((tmp_path / "uploads").iterdir()) == [path]


def test_a_jobs_directory_that_cannot_be_written_gives_a_job_error(tmp_path, invented_csv):
    """A read-only data directory made Retrain fail with a raw OSError."""
    (tmp_path / "file").write_text("not a directory")
    jobs_dir = tmp_path / "file" / "jobs"  # unwritable for root too
    with pytest.raises(jobs.JobError, match="cannot write its training files") as error:
        jobs.save_upload(invented_csv.read_bytes(), "mine.csv", None, jobs_dir)
    assert str(tmp_path) not in str(error.value)
    with pytest.raises(jobs.JobError, match="cannot write its training files"):
        jobs.start(request("fresh", invented_csv), jobs_dir, tmp_path / "models")
    assert jobs.running_job(jobs_dir) is None and jobs.recent_jobs(jobs_dir) == []


def test_upload_errors_name_the_file_as_the_visitor_called_it(tmp_path):
    """Upload errors named the file by the hash it is stored under."""
    with pytest.raises(CorpusError, match="^'my corpus.csv' is not UTF-8 text") as error:
        jobs.save_upload(b"\xff\xfe not text", "my corpus.csv", None, tmp_path)
    assert "uploads" not in str(error.value)
