"""AppTest: a presenter's room and a phone in it, each its own session, sharing the store."""
import pytest

from starlette.applications import Starlette
from starlette.testclient import TestClient

from apptest_helpers import errors, html_bodies, page
from ui.audience import ROUTES
from ui.live import rooms


@pytest.fixture(autouse=True)
def setup(app_setup):
    pass


def click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not errors(at)
    return at


def test_a_phone_on_the_light_channel_shows_on_the_presenters_screen():
    """The presenter is a Streamlit page, the phone the JSON routes of the same process: one store."""
    presenter = click(page("app_pages/live.py"), "Create a room")
    code, _ = presenter.session_state["live"].room
    assert code in html_bodies(presenter) and f"/join?room={code}" in " ".join(c.value for c in presenter.caption)
    phone = TestClient(Starlette(routes=ROUTES))
    player = phone.post(f"/api/rooms/{code}/players", json={"nickname": "<i>Ana</i>"}).json()["player"]
    presenter.run()
    assert "1 joined" in " ".join(m.value for m in presenter.markdown)
    assert "&lt;i&gt;Ana&lt;/i&gt;" in html_bodies(presenter)
    click(presenter, "Start round 1")
    human = rooms().room(code).round.human_index
    assert phone.post(f"/api/rooms/{code}/votes", json={"player": player, "round": 1, "choice": human}).json()["counted"]
    presenter.run()
    assert "1 of 1 voted" in " ".join(m.value for m in presenter.markdown)
    click(presenter, "Reveal")
    assert phone.get(f"/api/rooms/{code}", params={"player": player}).json()["you"]["rank"] == 1


def test_only_the_presenter_link_gives_control():
    presenter = click(page("app_pages/live.py"), "Create a room")
    code, key = presenter.session_state["live"].room
    stranger = page("app_pages/live.py", {"room": code, "key": "guess"})
    assert "not valid" in stranger.warning[0].value and stranger.session_state["live"].room is None
    again = page("app_pages/live.py", {"room": code, "key": key})
    assert again.session_state["live"].room == (code, key) and "key" not in again.query_params
    assert not errors(again)


def test_a_presenter_creating_too_many_rooms_is_told_to_use_one(monkeypatch):
    """Anyone could create rooms without limit (15 in 2 s), each starting a background deal of rounds."""
    from dataclasses import replace

    from engine import config

    monkeypatch.setattr(config, "LIVE", replace(config.LIVE, rooms_per_visitor=1))
    presenter = click(page("app_pages/live.py"), "Create a room")
    first = presenter.session_state["live"].room
    click(presenter, "Leave this room")
    click(presenter, "Create a room")
    assert "You have created 1 rooms in the last" in presenter.warning[0].value
    assert presenter.session_state["live"].room is None and first

@pytest.mark.parametrize("public_url, warned", [("http://localhost:8611", True), ("http://127.0.0.2:8501", True),
                                                ("http://[::1]:8501", True), ("https://quiz.example.org", False),
                                                ("http://192.168.1.20:8501", False)])
def test_the_presenter_is_warned_when_phones_cannot_reach_the_join_link(monkeypatch, public_url, warned):
    """The QR code pointed at http://localhost:8611/join?..., the presenter's own address, and nothing said so."""
    monkeypatch.setenv("PUBLIC_URL", public_url)
    presenter = click(page("app_pages/live.py"), "Create a room")
    warnings = [w.value for w in presenter.warning]
    assert any("Phones cannot open this link" in w and "`PUBLIC_URL`" in w for w in warnings) == warned


def test_a_room_whose_difficulty_no_abstract_fits_tells_the_presenter(monkeypatch):
    from dataclasses import replace

    from engine.config import QUIZ
    from engine.games import bank, quiz

    unreachable = replace(QUIZ, levels=(*QUIZ.levels[:-1], replace(QUIZ.levels[-1], length=500)))
    for module in (quiz, bank):
        monkeypatch.setattr(module, "QUIZ", unreachable)
    presenter = page("app_pages/live.py")
    presenter.selectbox(key="live_difficulty").select("hard")
    click(presenter, "Create a room")
    click(presenter, "Start round 1")
    assert "try an easier one" in presenter.warning[0].value
    code, _ = presenter.session_state["live"].room
    assert rooms().room(code).round is None  # no round opened
