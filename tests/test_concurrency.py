"""Many players at once: 20 threads making quiz rounds finish (OpenBLAS once deadlocked them), and
the app's loading path and round making run without Keras or TensorFlow.

Both run in a fresh interpreter: this one has Keras loaded and BLAS already set up by other tests.
"""
import json
import os
import subprocess
import sys

import pytest

from engine.config import DEFAULT_BUNDLE, ROOT

PLAYERS = 20
SCRIPT = """
import json, sys, threading
import numpy as np
import ui.common, ui.retrain  # the app's loading path, and the training page's job control
from engine.lm.bundle import load_bundle
from engine.corpus import load_corpus
from engine.games.novelty import TrainingRuns
from engine.games.quiz import Pool, make_rounds, opening_of
from threadpoolctl import threadpool_info

bundle, documents = load_bundle(sys.argv[1]), load_corpus(sys.argv[2]).documents
pool = Pool(tuple(d for d in documents if opening_of(bundle, d)), TrainingRuns.of([]))
rounds = []
players = [threading.Thread(target=lambda i=i: rounds.extend(make_rounds(bundle, pool, [pool.documents[i]], 2,
                                                                         np.random.default_rng(i), reader=False)))
           for i in range(int(sys.argv[3]))]
for player in players:
    player.start()
for player in players:
    player.join()
print(json.dumps({"rounds": len(rounds),
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow")),
                  "blas_threads": [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]}))
"""


@pytest.fixture(scope="module")
def crowd(invented_csv):
    """20 threads each make a round with the shipped model (big enough for OpenBLAS to use threads); the reader,
    one model behind one lock, has its own threads test in tests/test_reader.py."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}  # the default install
    try:
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "models" / DEFAULT_BUNDLE), str(invented_csv),
                               str(PLAYERS)], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{PLAYERS} threads making quiz rounds did not finish in 240 s (BLAS threads fighting?)")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_twenty_players_making_rounds_at_once_all_finish(crowd):
    assert crowd["rounds"] == PLAYERS
    assert crowd["blas_threads"] and set(crowd["blas_threads"]) == {1}


def test_the_app_and_the_quiz_never_import_keras(crowd):
    assert crowd["heavy"] == []
