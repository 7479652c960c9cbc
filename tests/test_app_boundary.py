"""AppTest: "Where does the machine take over?" sentence by sentence, the reveal, the store, the chart."""
import csv
import io

import pytest

from apptest_helpers import errors, html_bodies, page


@pytest.fixture()
def boundary(app_setup):
    at = page("app_pages/boundary.py")
    assert not errors(at)
    return at


def play_to_the_end(at, machine_at=None):
    """Say "still human" until sentence ``machine_at`` (None: to the end), then read the reveal."""
    game = at.session_state["boundary"].game
    while game.last is None:
        at.button(key="boundary_machine" if game.shown - 1 == machine_at else "boundary_human").click().run()
        assert not errors(at)
    return game


def test_a_whole_abstract_reveal_points_and_next(boundary):
    from engine.games.boundary_store import boundary_answers
    from ui.common import store

    at = boundary
    at.text_input(key="boundary_nickname").input("<b>Ada</b>").run()
    game = at.session_state["boundary"].game
    r = game.current
    assert at.caption[1].value.startswith("Sentence 1:") and html_bodies(at).count('id="current-sentence"') == 1
    assert r.sentences[0].text.split()[0] in html_bodies(at) and 'class="tok' not in html_bodies(at)  # no colours yet
    at.button(key="boundary_human").click().run()
    assert game.shown == 2 and at.caption[1].value.startswith("Sentence 2:")
    play_to_the_end(at, machine_at=r.boundary if not r.never else None)
    assert game.last.points == 5 and "+5 points" in at.success[0].value
    assert ("machine from here" in html_bodies(at)) != r.never and at.metric[0].value == "5"
    rows = list(csv.DictReader(io.StringIO(store().export_csv(boundary_answers))))
    assert len(rows) == 1 and rows[0]["nickname"] == "<b>Ada</b>" and rows[0]["points"] == "5"
    assert rows[0]["boundary"] == str(r.boundary) and rows[0]["doc_id"] == r.doc_id
    at.button(key="boundary_next").click().run()
    assert game.current.round_id != r.round_id and game.last is None and game.shown == 1


def test_too_early_scores_nothing_and_a_double_click_counts_once(boundary):
    from engine.games.boundary_store import boundary_answers
    from ui.common import store

    at = boundary
    assert "No answers yet" in at.main.caption[-1].value and not at.get("plotly_chart")
    game = at.session_state["boundary"].game
    r = game.current
    at.button(key="boundary_machine").click().run()  # the first sentence is always the inventors'
    assert game.last.points == 0 and at.error[0].value.startswith("Too early")
    assert game.say(r.round_id, 0, True) is None  # the second click of a double click
    at.button(key="boundary_next").click().run()
    rows = list(csv.DictReader(io.StringIO(store().export_csv(boundary_answers))))
    assert [(row["guess"], row["points"], row["late"]) for row in rows] == [("0", "0", "")] and game.rounds == 1


def test_before_anyone_notices_the_machine_the_page_says_so_instead_of_empty_axes(boundary):
    at = boundary
    while at.session_state["boundary"].game.current.never:  # an abstract the machine took over
        play_to_the_end(at)
        at.button(key="boundary_next").click().run()
    at.button(key="boundary_machine").click().run()  # too early: the first sentence is the inventors'
    assert not at.get("plotly_chart")
    notice = next(c.value for c in at.main.caption if "No one has noticed the machine yet" in c.value)
    assert "1 said *machine* too early" in notice


def test_the_chart_counts_players_who_noticed(boundary):
    at = boundary
    for _ in range(6):
        game = play_to_the_end(at, machine_at=at.session_state["boundary"].game.current.boundary)
        at.button(key="boundary_next").click().run()
    assert game.rounds == 6 and at.get("plotly_chart")
    assert at.get("download_button")


def test_an_answer_survives_a_database_outage(app_setup, monkeypatch, tmp_path):
    from engine.games.boundary_store import boundary_answers
    from ui.common import store

    monkeypatch.setenv("DATABASE_URL", "sqlite:////proc/forbidden/answers.sqlite")
    store.clear()
    at = page("app_pages/boundary.py")
    assert not at.exception and any("not available" in i.value for i in at.info)
    at.button(key="boundary_machine").click().run()
    warning = " ".join(w.value for w in at.warning)
    assert not at.exception and "1 unsaved answer" in warning and "/proc" not in warning
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'back.sqlite'}")
    at.button(key="boundary_retry").click().run()
    assert not at.warning and len(store().export_csv(boundary_answers).splitlines()) == 2  # header and the answer


def test_without_the_corpus_the_page_says_how_to_point_at_it(app_setup, monkeypatch, tmp_path):
    from ui.common import corpus

    monkeypatch.setenv("PATENT_CORPUS", str(tmp_path / "missing.csv"))
    corpus.clear()
    at = page("app_pages/boundary.py")
    assert not at.exception and "PATENT_CORPUS=" in at.info[0].value
