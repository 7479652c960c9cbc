"""AppTest: the training dashboard and its retrain form."""
import shutil
import time
from pathlib import Path

import pytest

from apptest_helpers import errors, page


@pytest.fixture()
def dashboard(app_setup, tiny_bundle, tmp_path, monkeypatch):
    """The dashboard over a private models directory, so that retrained bundles stay in this test."""
    import shutil

    from engine import config

    shutil.copytree(tiny_bundle.path, tmp_path / "models" / tiny_bundle.name)
    (tmp_path / "models" / "ACTIVE").write_text(tiny_bundle.name)
    monkeypatch.setattr(config, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(config, "JOBS_DIR", tmp_path / "jobs")
    monkeypatch.delenv("RETRAIN_TOKEN", raising=False)
    monkeypatch.setenv("PATENT_JOB_TRAINER", "fake_trainer:train")  # tests/fake_trainer.py: no TensorFlow
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    monkeypatch.setenv("FAKE_EPOCH_S", "1")
    at = page("app_pages/training.py")
    assert not errors(at)
    return at


def test_curves_results_card_and_embeddings(dashboard, tiny_bundle):
    at = dashboard
    assert [t.label for t in at.tabs] == ["Compare runs", "Model card", "Embeddings", "Retrain"]
    charts = at.get("plotly_chart")
    assert len(charts) >= 2  # curves and the embedding map
    table = at.dataframe[0].value
    assert sorted(table["model"]) == sorted([tiny_bundle.name, "Most common token (baseline)",
                                             "Kneser-Ney trigram (baseline)"])
    bits = list(table["bits per char (open vocab)"])
    assert bits == sorted(bits)  # ranked by the open-vocabulary figure



def test_the_results_table_keeps_its_ranking_column_in_view(dashboard):
    """At 1280 px the ranking column was the eighth of sixteen, off-screen; now pinned beside the model."""
    import json

    from engine.training.results import RANKED_BY

    at = dashboard
    table = at.dataframe[0].proto
    assert list(table.column_order[:2]) == ["model", RANKED_BY]
    columns = json.loads(table.columns)
    assert columns["model"]["pinned"] and columns[RANKED_BY]["pinned"]
    assert any("scroll the table sideways for kind" in c.value for c in at.caption)
    assert at.get("download_button")
    assert any("Diversity" in m.value for m in at.markdown)  # samples per epoch
    neighbours = at.dataframe[1].value
    assert len(neighbours) == 10 and "network" not in list(neighbours["word"])
    at.text_input(key="training_word").input("zzzz").run()
    assert any("not in the vocabulary" in i.value for i in at.info)


def test_retrain_starts_a_job_that_the_monitor_follows(dashboard, tiny_bundle, tmp_path):
    from engine.training import jobs

    at = dashboard
    at.selectbox(key="retrain_preset").select("tiny").run()
    at.number_input(key="retrain_tiny_epochs").set_value(8).run()  # 8 s with the fake trainer
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    assert not errors(at), [e.value for e in at.error]
    job = at.session_state["training"].job
    jobs_dir = tmp_path / "jobs"
    assert jobs.status(job, jobs_dir).state == "running"
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()  # a second press while it runs
    assert any("already running" in e.value for e in at.error)
    deadline = time.time() + 60
    while not jobs.status(job, jobs_dir).over and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.status(job, jobs_dir).state == "finished"
    at.run()
    assert "finished: trained, evaluated and saved" in at.get("progress")[0].proto.text
    at.button(key="training_activate").click().run()
    assert (tmp_path / "models" / "ACTIVE").read_text() == tiny_bundle.name  # not before it is confirmed
    assert any("no test figures" in w.value for w in at.warning)  # the fake trainer writes no metrics
    at.button(key="training_activate_yes").click().run()
    assert (tmp_path / "models" / "ACTIVE").read_text() == jobs.status(job, jobs_dir).request.name


def test_activating_a_model_worse_than_the_trigram_warns_and_can_be_cancelled(dashboard, tiny_bundle, tmp_path):
    import json

    models = tmp_path / "models"
    shutil.copytree(tiny_bundle.path, models / "salad")
    metrics = json.loads((models / "salad" / "metrics.json").read_text())
    trigram = metrics["baselines"]["kneser_ney_trigram"]["all_tokens"]["bits_per_char"]
    metrics["model"]["all_tokens"]["bits_per_char"] = trigram + 0.25
    (models / "salad" / "metrics.json").write_text(json.dumps(metrics))
    at = dashboard.run()
    at.selectbox(key="training_card_model").select("salad").run()
    at.button(key="training_make_active").click().run()
    warning = " ".join(w.value for w in at.warning)
    assert f"no better than the Kneser-Ney trigram baseline's {trigram:.4f}" in warning
    assert (models / "ACTIVE").read_text() == tiny_bundle.name
    at.button(key="training_make_active_no").click().run()
    assert not at.warning and (models / "ACTIVE").read_text() == tiny_bundle.name
    at.button(key="training_make_active").click().run()
    at.button(key="training_make_active_yes").click().run()
    assert (models / "ACTIVE").read_text() == "salad"


@pytest.mark.parametrize("progress, state, text", [
    ({"phase": "pre-training", "epoch": 1, "epochs": 6, "batch": 1, "batches": 90, "eta_s": 5000.0}, "running",
     "pre-training epoch 1/6 · batch 1/90 · about 83 min left at most"),
    ({"epoch": 2, "epochs": 2, "batch": 40, "batches": 90, "eta_s": 20.0}, "running",
     "epoch 2/2 · batch 40/90 · under a minute left"),
    ({"status": "evaluating", "epoch": 2, "epochs": 2, "batch": 90, "batches": 90, "eta_s": 0.0}, "running",
     "epoch 2/2 · batch 90/90 · evaluating on the test split"),
    ({"status": "evaluating", "epoch": 2, "epochs": 2, "batch": 90, "batches": 90}, "finished",
     "epoch 2/2 · batch 90/90 · finished: trained, evaluated and saved"),
    ({"epoch": 1, "epochs": 2, "batch": 9, "batches": 90, "eta_s": 600.0}, "cancelled",
     "epoch 1/2 · batch 9/90 · cancelled")])
def test_the_progress_line_says_what_the_job_is_doing_now(progress, state, text):
    from ui.retrain import progress_line

    assert progress_line(progress, state)[1] == text


def test_a_configured_token_is_required(app_setup, tmp_path, monkeypatch):
    from engine import config

    monkeypatch.setattr(config, "JOBS_DIR", tmp_path / "jobs")
    monkeypatch.setenv("RETRAIN_TOKEN", "s3cret")
    at = page("app_pages/training.py")
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    assert any("Wrong retrain token" in e.value for e in at.error)
    assert not (tmp_path / "jobs").exists()


def test_the_retrain_form_starts_from_the_active_models_preset(dashboard, tiny_bundle):
    """It started from lstm, the first preset, whatever the model (the shipped patent-awd is awd)."""
    assert dashboard.selectbox(key="retrain_preset").value == "tiny"
    assert dashboard.number_input(key="retrain_tiny_units").value == tiny_bundle.model_config.lstm_units


def test_retrain_form_limits_come_from_the_config(dashboard):
    from ui.constants import RETRAIN_RANGES

    at = dashboard
    for field, key in (("embedding_dim", "embedding"), ("lstm_units", "units"), ("lstm_layers", "layers"),
                       ("epochs", "epochs"), ("batch_size", "batch")):
        widget = at.number_input(key=f"retrain_tiny_{key}")
        assert (widget.min, widget.max) == RETRAIN_RANGES[field]
    dropout = at.slider(key="retrain_tiny_dropout")
    assert (dropout.min, dropout.max) == RETRAIN_RANGES["dropout"]


def test_with_a_token_configured_no_visitor_can_cancel_resume_or_activate(dashboard, tiny_bundle, tmp_path,
                                                                          monkeypatch):
    """With RETRAIN_TOKEN set, cancelling, resuming and switching the active model need the token too."""
    from engine import auth
    from engine.training import jobs

    monkeypatch.setenv("RETRAIN_TOKEN", "s3cret")
    monkeypatch.setattr(auth, "GATE", auth.TokenGate(first_delay_s=0.01, max_delay_s=0.01))
    models, jobs_dir = tmp_path / "models", tmp_path / "jobs"
    shutil.copytree(tiny_bundle.path, models / "other")
    job = jobs.start(jobs.JobRequest("slow", preset="tiny", overrides={"epochs": 60}), jobs_dir, models)
    at = dashboard.run()
    at.button(key="training_cancel").click().run()
    assert any("Wrong retrain token" in e.value for e in at.error)
    assert jobs.status(job, jobs_dir).state == "running"
    jobs.cancel(job, jobs_dir)
    while not jobs.status(job, jobs_dir).over:
        time.sleep(0.1)
    at.run().button(key="training_resume").click().run()
    assert any("Wrong retrain token" in e.value for e in at.error) and jobs.running_job(jobs_dir) is None
    at.selectbox(key="training_card_model").select("other").run()
    at.button(key="training_make_active").click().run()
    at.button(key="training_make_active_yes").click().run()
    assert (models / "ACTIVE").read_text() == tiny_bundle.name
    time.sleep(0.05)
    at.text_input(key="training_token").input("s3cret").run()
    at.button(key="training_make_active").click().run()
    at.button(key="training_make_active_yes").click().run()
    assert (models / "ACTIVE").read_text() == "other"
    at.button(key="training_resume").click().run()
    assert jobs.running_job(jobs_dir) == at.session_state["training"].job
    jobs.cancel(jobs.running_job(jobs_dir), jobs_dir)


def test_a_damaged_bundle_is_reported_without_server_paths(dashboard, tiny_bundle, tmp_path):
    """A damaged bundle's error names no server path."""
    broken = tmp_path / "models" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    at = dashboard.run()
    shown = " ".join(w.value for w in at.warning)
    assert "broken" in shown and "incomplete" in shown and str(tmp_path) not in shown


def test_retrain_with_a_data_directory_that_cannot_be_written_says_so(dashboard, tmp_path, monkeypatch):
    """A read-only data directory made Retrain fail with a raw OSError."""
    from engine import config

    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setattr(config, "JOBS_DIR", tmp_path / "file" / "jobs")
    at = dashboard.run()
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "cannot write its training files" in shown and str(tmp_path) not in shown
