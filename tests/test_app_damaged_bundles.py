"""AppTest: damaged bundles in models/ beside a good one: each is reported alone, every page serves."""
import json
import shutil

import pytest

from apptest_helpers import errors, page


def _bundle(source, models, name, edit=None):
    shutil.copytree(source, models / name)
    if edit:
        edit(models / name)


def _non_numeric_figure(path):
    metrics = json.loads((path / "metrics.json").read_text())
    metrics["model"]["all_tokens"]["bits_per_char"] = "abc"
    (path / "metrics.json").write_text(json.dumps(metrics))


def _misfit_weights(path):
    config = json.loads((path / "config.json").read_text())
    config["model"]["lstm_units"] *= 2
    (path / "config.json").write_text(json.dumps(config))


@pytest.fixture()
def models(app_setup, tiny_bundle, tmp_path, monkeypatch, unreadable):
    """models/: the tiny bundle (active), one unreadable, one with "abc" for a figure, one with a
    malformed history.csv, one whose weights do not fit its config."""
    from engine import config

    models = tmp_path / "models"
    models.mkdir()
    _bundle(tiny_bundle.path, models, tiny_bundle.name)
    _bundle(tiny_bundle.path, models, "abc-figures", _non_numeric_figure)
    _bundle(tiny_bundle.path, models, "bad-history",
            lambda p: (p / "history.csv").write_text("epoch,loss\nzero,high\n"))
    _bundle(tiny_bundle.path, models, "misfit", _misfit_weights)
    (models / "locked").mkdir()
    unreadable(models / "locked")
    (models / "ACTIVE").write_text(tiny_bundle.name)
    monkeypatch.setattr(config, "MODELS_DIR", models)
    return models


@pytest.mark.parametrize("path", ["streamlit_app.py", "app_pages/playground.py", "app_pages/quiz.py", "app_pages/boundary.py"])
def test_every_page_serves_beside_damaged_bundles(models, path):
    at = page(path)
    assert not errors(at), errors(at)
    assert at.title  # the page itself, not an error page


def test_the_training_page_names_each_damaged_bundle_and_shows_the_rest(models, tiny_bundle, tmp_path):
    at = page("app_pages/training.py")
    assert not errors(at), errors(at)
    shown = " ".join(w.value for w in at.warning)
    assert "'abc-figures' is damaged: metrics.json gives bits_per_char as 'abc'" in shown
    assert "'bad-history' is damaged: history.csv is malformed" in shown
    assert "'locked' cannot be read" in shown and str(tmp_path) not in shown
    assert tiny_bundle.name in list(at.dataframe[0].value["model"])


def test_a_model_whose_weights_do_not_fit_says_so_on_the_playground(models):
    at = page("app_pages/playground.py")
    at.session_state["model_name"] = "misfit"  # as the sidebar's model picker sets it
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "could not be loaded" in shown and "'misfit' is damaged: the weights of layer" in shown


def test_a_model_that_learned_from_three_abstracts_is_flagged_to_visitors(app_setup, tiny_bundle, tmp_path,
                                                                          monkeypatch):
    """3-abstract and 4-token models were offered to every visitor without a word."""
    from engine import config

    models = tmp_path / "models"
    models.mkdir()

    def three_abstracts(path):
        split = json.loads((path / "split.json").read_text())
        split["train"] = split["train"][:3]
        (path / "split.json").write_text(json.dumps(split))

    _bundle(tiny_bundle.path, models, "toy", three_abstracts)
    (models / "ACTIVE").write_text("toy")
    monkeypatch.setattr(config, "MODELS_DIR", models)
    for path in ("streamlit_app.py", "app_pages/training.py"):
        at = page(path)
        assert not errors(at)
        assert any("toy learned from 3 abstract(s) and knows 40 word(s)" in w.value for w in at.warning), path
