"""Offline and without a local corpus, the game pages say how to get one, and the advice reads whole."""
import urllib.error
import urllib.request

import pytest

from tests.apptest_helpers import page


@pytest.mark.parametrize("path", ["app_pages/quiz.py", "app_pages/boundary.py", "app_pages/live.py"])
def test_offline_the_download_notice_keeps_its_advice(path, app_setup, monkeypatch, tmp_path):
    from engine import corpus as corpus_module
    from ui.common import corpus

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.delenv("PATENT_CORPUS")
    monkeypatch.setattr(corpus_module, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    corpus.clear()
    at = page(path)
    notice = at.info[0].value
    assert not at.exception and "Could not download the patent corpus (no network)" in notice
    assert "PATENT_CORPUS=/path/to/neural_network_patent_query.csv," in notice
    assert "copy it into the folder PATENT_DATA_DIR names" in notice and "--data /path/to/file.csv" in notice
    assert str(tmp_path) not in notice
