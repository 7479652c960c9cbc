"""What visitors see of errors, nicknames and openings, and what a spreadsheet gets from the export."""
from engine.corpus import CorpusError
from pathlib import Path

from engine.sanitise import AdvisedError, app_relative, for_visitors, hide_paths, spreadsheet_safe, visible_text


def test_messages_for_visitors_name_files_not_server_paths(tmp_path):
    """Upload errors and tracebacks shown to visitors name the file, never the server path."""
    from engine.training.jobs import save_upload

    try:
        save_upload(b"\xff\xfe not text", "mine.csv", None, tmp_path)
    except CorpusError as exc:
        message = hide_paths(str(exc))
    assert str(tmp_path) not in message and ".csv" in message
    trace = 'File "/usr/lib/python3.11/site-packages/keras/src/trainer.py", line 3, in fit'
    assert hide_paths(trace) == 'File "trainer.py", line 3, in fit'
    assert hide_paths("see https://example.org/a/b.csv or ~/x/y.txt") == "see https://example.org/a/b.csv or y.txt"


def test_an_errors_advice_reaches_visitors_whole_and_its_report_without_paths():
    error = AdvisedError("Cannot read /srv/app/data/c.csv.", "Set PATENT_CORPUS=/path/to/c.csv or copy it into data/.")
    assert for_visitors(error) == "Cannot read c.csv. Set PATENT_CORPUS=/path/to/c.csv or copy it into data/."
    assert str(error) == "Cannot read /srv/app/data/c.csv. Set PATENT_CORPUS=/path/to/c.csv or copy it into data/."
    assert for_visitors(ValueError("bad /srv/x.csv")) == "bad x.csv"
    assert app_relative(Path("/srv/app/data"), Path("/srv/app")) == "data"
    assert app_relative(Path("/tmp/data"), Path("/srv/app")) is None


def test_invisible_characters_are_removed_and_controls_become_spaces():
    assert visible_text("a\u202eb\u2067c\u200bd\u200de\ufefff") == "abcdef"
    assert visible_text("one\ttwo\nthree\x00four") == "one two three four"


def test_cells_a_spreadsheet_would_run_are_quoted():
    assert [spreadsheet_safe(v) for v in ["=1+1", "+1", "-1", "@A1", "\tx", "ok", -1, None]] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "ok", -1, None]
