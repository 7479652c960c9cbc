"""Training jobs: start, progress, finish, one at a time, cancel, kill, resume, and upload checks."""
import os
import signal
import time

import pandas as pd
import pytest

from engine import jobs
from engine.bundle import load_bundle
from engine.corpus import CorpusError
from engine.jobs import JobError, JobRequest
from engine.train import partial_dir

FAST = {"epochs": 2, "batch_size": 16}
SLOW = {"epochs": 40, "batch_size": 2, "patience": 40}  # many short batches: time to interrupt it


@pytest.fixture()
def dirs(tmp_path):
    return tmp_path / "jobs", tmp_path / "models"


def wait_for(predicate, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def request(name, invented_csv, **overrides):
    return JobRequest(name=name, preset="tiny", overrides=overrides, data=str(invented_csv))


def test_a_job_runs_to_a_new_bundle_and_releases_the_lock(invented_csv, dirs):
    jobs_dir, models_dir = dirs
    job = jobs.start(request("fresh", invented_csv, **FAST), jobs_dir, models_dir)
    assert jobs.running_job(jobs_dir) == job
    with pytest.raises(JobError, match="already running"):
        jobs.start(request("second", invented_csv, **FAST), jobs_dir, models_dir)
    final = wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s)
    assert final.state == "finished", (jobs_dir / job / "log.txt").read_text()[-2000:]
    assert final.progress["epochs"] == 2 and len(final.progress["history"]) == 2
    assert load_bundle(models_dir / "fresh").metrics["model"]
    assert jobs.running_job(jobs_dir) is None
    assert jobs.recent_jobs(jobs_dir) == [job]
    with pytest.raises(JobError, match="exists already"):
        jobs.start(request("fresh", invented_csv), jobs_dir, models_dir)


def started_training(job, jobs_dir):
    return lambda: jobs.status(job, jobs_dir).progress.get("history")


def test_cancel_keeps_nothing_half_written_and_resume_finishes(invented_csv, dirs):
    jobs_dir, models_dir = dirs
    job = jobs.start(request("cancelled", invented_csv, **SLOW), jobs_dir, models_dir)
    wait_for(started_training(job, jobs_dir))
    jobs.cancel(job, jobs_dir)
    final = wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s)
    assert final.state == "cancelled" and final.resumable
    assert not (models_dir / "cancelled").exists() and partial_dir(models_dir / "cancelled").exists()
    assert jobs.running_job(jobs_dir) is None


def test_a_killed_process_is_reported_and_resumes(invented_csv, dirs):
    jobs_dir, models_dir = dirs
    job = jobs.start(request("killed", invented_csv, **{**SLOW, "epochs": 4}), jobs_dir, models_dir)
    wait_for(started_training(job, jobs_dir))
    os.killpg(int((jobs_dir / job / "pid").read_text()), signal.SIGKILL)
    interrupted = wait_for(lambda: (s := jobs.status(job, jobs_dir)).over and s)
    assert interrupted.state == "interrupted" and "Resume" in interrupted.message
    assert not (models_dir / "killed").exists()
    assert jobs.running_job(jobs_dir) is None  # the stale lock is cleared
    epochs_done = len(interrupted.progress["history"])
    again = jobs.resume(job, jobs_dir, models_dir)
    final = wait_for(lambda: (s := jobs.status(again, jobs_dir)).over and s)
    assert final.state == "finished", (jobs_dir / again / "log.txt").read_text()[-2000:]
    assert "resuming" in (jobs_dir / again / "log.txt").read_text()
    assert len(load_bundle(models_dir / "killed").history) == 4 and epochs_done >= 1


def test_invalid_requests_are_refused_before_anything_starts(invented_csv, dirs):
    jobs_dir, models_dir = dirs
    with pytest.raises(JobError, match="Name the model"):
        jobs.start(request("../evil", invented_csv), jobs_dir, models_dir)
    with pytest.raises(JobError, match="Invalid settings"):
        jobs.start(request("x", invented_csv, dropout=3), jobs_dir, models_dir)
    with pytest.raises(JobError, match="Invalid settings"):
        jobs.start(request("x", invented_csv, rm_rf=True), jobs_dir, models_dir)
    assert jobs.running_job(jobs_dir) is None


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


def test_token_check():
    assert jobs.check_token(None, None) and jobs.check_token("anything", "")
    assert jobs.check_token("s3cret", "s3cret") and not jobs.check_token("guess", "s3cret")
    assert not jobs.check_token(None, "s3cret")
