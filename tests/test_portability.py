"""Any Keras backend and device, a few fixed batch shapes, the installable package, one config."""
import importlib
import itertools
import os
import subprocess
import sys
import time
import tomllib

import numpy as np
import pytest

from conftest import ROOT
from engine import config
from engine.training import jobs
from engine.training.dataset import fixed_widths, sequence_batches
from engine.training.devices import Device, cpu_cores


def test_fixed_widths_leave_the_least_padding():
    lengths = np.random.default_rng(3).integers(1, 25, 200)
    values = sorted(set(lengths))

    def padding(widths):
        widths = np.array(widths)
        return int((widths[np.searchsorted(widths, lengths)] - lengths).sum())

    best = min(padding(sorted([*c, values[-1]])) for c in itertools.combinations(values[:-1], 3))
    widths = fixed_widths(lengths, 4)
    assert len(widths) == 4 and widths[-1] == values[-1] and padding(widths) == best
    assert fixed_widths([5, 5, 9], 4) == [5, 9] and fixed_widths([5, 7, 9], 1) == [9]


def test_fixed_width_batches_keep_every_token_in_a_few_shapes():
    rng = np.random.default_rng(0)
    chunks = [list(range(1, n + 2)) for n in rng.integers(1, 65, 200)]
    per_batch = sequence_batches(chunks, 16, np.random.default_rng(1))
    assert len({x.shape for x, _, _ in per_batch}) > 4  # what a compiled backend used to get
    assert per_batch[0][0].shape[1] != per_batch[1][0].shape[1]
    assert all(x.shape[1] == int((w > 0).sum(axis=1).max()) for x, _, w in per_batch)
    widths = fixed_widths([len(c) - 1 for c in chunks], 4)
    for seed in (1, None):
        rng = np.random.default_rng(seed) if seed else None
        fixed = sequence_batches(chunks, 15, rng, widths, 16)
        assert {x.shape for x, _, _ in fixed} <= {(16, w) for w in widths}
        assert fixed[0][0].shape != fixed[1][0].shape  # Keras tells TensorFlow the width varies
        rows = sorted(tuple(x[i, :int(w[i].sum())]) for x, _, w in fixed for i in range(len(x))
                      if w[i].sum())
        assert rows == sorted(tuple(c[:-1]) for c in chunks)  # each chunk once, nothing cut
        assert all(((y > 0) == (w > 0)).all() for _, y, w in fixed)


def test_device_descriptions_name_the_backend():
    assert Device("jax", "gpu", ("NVIDIA H100",)).description == "GPU: NVIDIA H100 · jax"
    two = Device("tensorflow", "gpu", ("NVIDIA H100", "NVIDIA H100"))
    assert two.description == "2 GPUs: NVIDIA H100 ×2 · tensorflow" and two.replicas == 2
    assert Device("torch", "cpu", ("CPU",)).description.startswith("CPU (")


def run_python(code: str, **env) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="JAX is not installed (pip install -r requirements-dev.txt)")


@pytest.mark.parametrize("backend", ["tensorflow", pytest.param("jax", marks=needs_jax)])
def test_threads_limit_the_cores_on_every_backend(backend):
    out = run_python("from engine.training.devices import detect_device, limit_threads\n"
                     "limit_threads(1)\nprint(detect_device().description)", KERAS_BACKEND=backend)
    assert out.strip() == f"CPU (1 of {os.cpu_count()} cores) · {backend}"


BLOCK_TENSORFLOW = '''import sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError("TensorFlow is blocked in this test")
sys.meta_path.insert(0, NoTensorFlow())
'''


@needs_jax
def test_retrain_on_jax_without_tensorflow_in_a_few_batch_shapes(invented_csv, tmp_path,
                                                                  monkeypatch):
    """The Retrain button's path (a job in its own process) with KERAS_BACKEND=jax, TensorFlow
    unimportable, and the CPU split into two JAX devices so that keras.distribution's data
    parallelism runs (batch 15: each batch gets one empty row, 8 rows per device)."""
    from engine.lm.bundle import load_bundle
    from engine.lm.generate import generate
    from engine.lm.settings import Sampling

    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCK_TENSORFLOW)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "block"))
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    request = jobs.JobRequest(name="on-jax", preset="tiny", data=str(invented_csv),
                              overrides={"batch_size": 15})
    job = jobs.start(request, tmp_path / "jobs", tmp_path / "models")
    deadline = time.time() + 300
    while not (status := jobs.status(job, tmp_path / "jobs")).over and time.time() < deadline:
        time.sleep(0.5)
    assert status.state == "finished", jobs.log_tail(job, tmp_path / "jobs")
    bundle = load_bundle(tmp_path / "models" / "on-jax")
    provenance = bundle.provenance
    assert provenance["backend"] == "jax" and "tensorflow" not in provenance["versions"]
    cores = f"{cpu_cores()} of {os.cpu_count()} cores"
    assert provenance["device"] == f"CPU ({cores}, as 2 devices) · jax"
    shapes = provenance["batch_shapes"]
    assert 1 <= len(shapes) <= bundle.train_config.batch_widths == 4
    assert {rows for rows, _ in shapes} == {16}
    assert len(bundle.history) == 2 and np.isfinite(bundle.history[-1]["val_loss"])
    text = generate(bundle, "A neural network", Sampling(0.8, rng_seed=1, words=12)).text
    assert len(text.split()) > 5


def test_console_scripts_point_at_the_engine_commands():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"patent-train", "patent-evaluate", "patent-generate", "patent-fit-critic", "patent-make-rounds"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_streamlit_upload_limit_is_the_configured_one():
    streamlit_config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_config["server"]["maxUploadSize"] == config.MAX_UPLOAD_MB


def test_seed_box_reports_the_configured_length(app_setup, monkeypatch):
    """The box takes any paste; past the configured length the page says how much the model reads."""
    from apptest_helpers import page

    monkeypatch.setattr(config, "MAX_OPENING_CHARS", 40)
    at = page("app_pages/playground.py")
    at.text_area(key="playground_opening").input("a neural network " * 5).run()
    assert any("last 40 characters" in c.value for c in at.caption)
