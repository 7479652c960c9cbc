"""The active-bundle marker and damaged bundles: always a clear message, never a silent substitute."""
import json
import shutil

import numpy as np
import pytest

from engine import config
from engine.lm.bundle import (BundleError, active_bundle, active_bundle_path, expected_shapes, list_bundles,
                              load_bundle, load_bundles, read_layers, set_active_bundle)
from engine.config import DEFAULT_BUNDLE
from engine.training.results import ranked


@pytest.fixture()
def models(tmp_path):
    for name in (DEFAULT_BUNDLE, "aaa-test", "mine"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    return tmp_path


@pytest.mark.parametrize("marker", ["ghost", "", "../../../etc", "mine/../../x", "\udcff"])
def test_a_marker_naming_no_bundle_gives_the_default_and_a_warning(models, marker):
    """ACTIVE naming a missing bundle (or empty, or a path) gives the default bundle and says so."""
    (models / "ACTIVE").write_text(marker, errors="surrogateescape")
    path, problem = active_bundle(models)
    assert path == models / DEFAULT_BUNDLE and "ACTIVE" in problem and DEFAULT_BUNDLE in problem
    assert "etc" not in problem


def test_a_good_marker_and_no_marker(models):
    assert active_bundle(models) == (models / DEFAULT_BUNDLE, None)
    set_active_bundle("mine", models)
    assert active_bundle(models) == (models / "mine", None) and active_bundle_path(models) == models / "mine"
    with pytest.raises(BundleError):
        set_active_bundle("../mine", models)


def test_a_directory_named_active_breaks_nothing(models):
    """models/ACTIVE/ as a directory gives the default bundle and a warning, not IsADirectoryError."""
    (models / "ACTIVE").mkdir()
    path, problem = active_bundle(models)
    assert path == models / DEFAULT_BUNDLE and problem


def test_a_truncated_model_file_is_reported_as_damaged(tiny_bundle, tmp_path):
    """A truncated model file is reported as damaged, not as 'File not found'."""
    copy = tmp_path / "cut"
    shutil.copytree(tiny_bundle.path, copy)
    data = (copy / "weights.npz").read_bytes()
    (copy / "weights.npz").write_bytes(data[:len(data) // 2])
    with pytest.raises(BundleError, match="damaged") as error:
        _ = load_bundle(copy).net
    assert "not found" not in str(error.value).lower() and str(tmp_path) not in str(error.value)


def _copy(bundle, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(bundle.path, copy)
    return copy


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_an_unreadable_bundle_directory_is_listed_and_refused_alone(tiny_bundle, tmp_path, unreadable):
    """A bundle directory the server could not read made the bundle list (every page) raise PermissionError."""
    good = _copy(tiny_bundle, tmp_path, "good")
    (tmp_path / "secret").mkdir()
    unreadable(tmp_path / "secret")
    assert list_bundles(tmp_path) == [good, tmp_path / "secret"]
    assert ranked(list_bundles(tmp_path)) == [good, tmp_path / "secret"]
    with pytest.raises(BundleError, match="'secret' cannot be read.*Permission denied") as error:
        load_bundle(tmp_path / "secret")
    assert str(tmp_path) not in str(error.value)


def test_a_figure_that_is_not_a_number_marks_that_bundle_damaged(tiny_bundle, tmp_path):
    """A metrics.json giving "bits_per_char": "abc" made ranking (every page) raise TypeError."""
    good, bad = _copy(tiny_bundle, tmp_path, "good"), _copy(tiny_bundle, tmp_path, "bad")
    _edit_json(bad / "metrics.json", lambda m: m["model"]["all_tokens"].update(bits_per_char="abc"))
    assert ranked([bad, good]) == [good, bad]
    with pytest.raises(BundleError, match="'bad' is damaged: metrics.json gives bits_per_char as 'abc'"):
        load_bundle(bad)
    bundles, problems = load_bundles([bad, good])
    assert [b.name for b in bundles] == ["good"] and len(problems) == 1 and "bad" in problems[0]


def test_a_malformed_history_marks_that_bundle_damaged(tiny_bundle, tmp_path):
    """A history.csv with a word for a number made the Training page raise ValueError."""
    bad = _copy(tiny_bundle, tmp_path, "bad")
    (bad / "history.csv").write_text("epoch,loss\n0,0.5\none,lots\n")
    with pytest.raises(BundleError, match="is damaged: history.csv is malformed"):
        load_bundle(bad)


def test_weights_that_do_not_fit_the_config_mark_the_bundle_damaged(tiny_bundle, tmp_path):
    """Weights of another shape raised IndexError in the middle of generation."""
    bad = _copy(tiny_bundle, tmp_path, "bad")
    _edit_json(bad / "config.json", lambda c: c["model"].update(lstm_units=c["model"]["lstm_units"] * 2))
    bundle = load_bundle(bad)
    with pytest.raises(BundleError, match="'bad' is damaged: the weights of layer lstm_0 have shapes"):
        _ = bundle.net


def test_a_bundle_written_when_the_random_seed_was_called_seed_keeps_it(tiny_bundle, tmp_path):
    old = _copy(tiny_bundle, tmp_path, "old")
    _edit_json(old / "config.json", lambda c: c["train"].update(seed=c["train"].pop("rng_seed") + 5))
    assert load_bundle(old).train_config.rng_seed == load_bundle(tiny_bundle.path).train_config.rng_seed + 5


def test_the_expected_shapes_are_those_of_every_shipped_and_trained_bundle(tiny_bundle):
    for bundle in [tiny_bundle] + [load_bundle(p) for p in list_bundles(config.MODELS_DIR)]:
        with np.load(bundle.path / "weights.npz") as npz:
            layers = read_layers(npz)
        assert {k: [w.shape for w in ws] for k, ws in layers.items()} == \
            expected_shapes(bundle.model_config, len(bundle.tokenizer)), bundle.name


def test_a_truncated_legacy_model_file_is_damaged_not_missing(tiny_bundle, tmp_path):
    """A cut model.keras (no weights.npz) was reported as 'File not found'."""
    old = _copy(tiny_bundle, tmp_path, "old")
    (old / "weights.npz").unlink()
    (old / "model.keras").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(BundleError, match="'old' is damaged: model.keras is not a complete Keras archive") as error:
        _ = load_bundle(old).weights
    assert "not found" not in str(error.value).lower()


def test_unreadable_weights_are_not_called_damaged(tiny_bundle, tmp_path):
    """A weights file the server may not read was reported as damaged (retrain it) instead of unreadable."""
    bad = _copy(tiny_bundle, tmp_path, "bad")
    (bad / "weights.npz").unlink()
    (bad / "weights.npz").mkdir()  # as unreadable for root as a file without permissions is for others
    with pytest.raises(BundleError, match="'bad' cannot be read \\(weights.npz: .*may read its files") as error:
        _ = load_bundle(bad).weights
    assert "damaged" not in str(error.value)


def test_a_model_knowing_only_its_special_tokens_is_flagged(tiny_bundle):
    """A model trained on the patent-number column (4 tokens) was offered without a word."""
    from dataclasses import replace

    from engine.lm.tokenizer import Tokenizer

    numbers = replace(tiny_bundle, tokenizer=Tokenizer.fit(["9000001", "9000002", "9000003"], 100, 2))
    assert "knows 0 word(s)" in numbers.caveat() and tiny_bundle.caveat() is None
