"""AppTest: the training dashboard and its retrain form."""
import time

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
    at = page("pages/training.py")
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
    assert at.get("download_button")
    assert any("Diversity" in m.value for m in at.markdown)  # samples per epoch
    neighbours = at.dataframe[1].value
    assert len(neighbours) == 10 and "network" not in list(neighbours["word"])
    at.text_input(key="training_word").input("zzzz").run()
    assert any("not in the vocabulary" in i.value for i in at.info)


def test_retrain_starts_a_job_that_the_monitor_follows(dashboard, tiny_bundle, tmp_path):
    from engine import jobs

    at = dashboard
    at.selectbox(key="retrain_preset").select("tiny").run()
    at.number_input(key="retrain_tiny_epochs").set_value(1).run()
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    assert not errors(at), [e.value for e in at.error]
    job = at.session_state["training_job"]
    jobs_dir = tmp_path / "jobs"
    assert jobs.status(job, jobs_dir).state in ("running", "finished")
    # a second press while it runs is refused
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    if jobs.running_job(jobs_dir):
        assert any("already running" in e.value for e in at.error)
    deadline = time.time() + 180
    while not jobs.status(job, jobs_dir).over and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.status(job, jobs_dir).state == "finished"
    at.run()
    at.button(key="training_activate").click().run()
    assert (tmp_path / "models" / "ACTIVE").read_text() == jobs.status(job, jobs_dir).request.name


def test_a_configured_token_is_required(app_setup, tmp_path, monkeypatch):
    from engine import config

    monkeypatch.setattr(config, "JOBS_DIR", tmp_path / "jobs")
    monkeypatch.setenv("RETRAIN_TOKEN", "s3cret")
    at = page("pages/training.py")
    at.button(key="FormSubmitter:retrain_form-Retrain").click().run()
    assert any("Wrong retrain token" in e.value for e in at.error)
    assert not (tmp_path / "jobs").exists()
