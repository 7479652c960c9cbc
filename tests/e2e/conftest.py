"""Browser tests: a real Streamlit server on a free local port, driven by Playwright in Debian's Chromium."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        # several pages at once (a presenter and an audience): none is throttled as a background tab
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_env(tmp_path_factory) -> dict:
    """Environment for the server: the repo's models copied aside (tests may add bundles), the corpus."""
    models = tmp_path_factory.mktemp("e2e") / "models"
    shutil.copytree(Path(os.environ.get("PATENT_MODELS_DIR", ROOT / "models")), models,
                    ignore=shutil.ignore_patterns(".*"))
    env = {**os.environ, "PATENT_MODELS_DIR": str(models), "PATENT_DATA_DIR": str(models.parent / "data"),
           # retrain jobs use tests/fake_trainer.py (the page flow is under test; tests/test_jobs.py trains for real)
           "PATENT_JOB_TRAINER": "fake_trainer:train", "PYTHONPATH": str(ROOT / "tests"), "FAKE_EPOCH_S": "1",
           # every browser test's presenter is the same visitor (127.0.0.1): lift the per-visitor room limit
           "LIVE_ROOMS_PER_VISITOR": "1000"}
    shared = ROOT.parent / "shared" / "data" / "neural_network_patent_query.csv"
    if shared.exists():
        env.setdefault("PATENT_CORPUS", str(shared))
    return env


@contextlib.contextmanager
def serve(env: dict, log_dir: Path):
    """A Streamlit server for the app on a free port, with ``env``; yields its address, stops it after."""
    port = _free_port()
    log = open(log_dir / "streamlit.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"streamlit did not start; see {log.name}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a busy machine: do not leave it running
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def base_url(app_env, tmp_path_factory):
    with serve(app_env, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="session")
def offline_url(app_env, tmp_path_factory):
    """The app without its corpus (as offline, where the download fails): pages show how to get it."""
    empty = tmp_path_factory.mktemp("offline")
    env = {**app_env, "PATENT_CORPUS": str(empty / "absent.csv"), "PATENT_DATA_DIR": str(empty)}
    with serve(env, empty) as url:
        yield url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1360, "height": 900}}


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("E2E_SCREENSHOT_DIR", ROOT / "artifacts" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path
