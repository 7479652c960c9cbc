"""The active-bundle marker and damaged bundles: always a clear message, never a silent substitute."""
import shutil

import pytest

from engine.lm.bundle import BundleError, active_bundle, active_bundle_path, load_bundle, set_active_bundle
from engine.config import DEFAULT_BUNDLE


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
