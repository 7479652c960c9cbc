"""AppTest: a presenter's room and a phone in it, each its own session, sharing the store."""
import pytest

from apptest_helpers import errors, html_bodies, page


@pytest.fixture(autouse=True)
def setup(app_setup):
    pass


def click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not errors(at)
    return at


def test_a_phone_joins_votes_and_sees_its_rank():
    presenter = click(page("app_pages/live.py"), "Create a room")
    code, _ = presenter.session_state["live_room"]
    assert code in html_bodies(presenter)
    phone = page("app_pages/join.py", {"room": code})
    phone.text_input(key="join_nickname").input("<i>Ana</i>")
    click(phone, "Join")
    assert "You are in" in phone.info[0].value and "&lt;i&gt;Ana&lt;/i&gt;" in html_bodies(phone)
    click(presenter, "Start round 1")
    from ui.live import rooms

    human = rooms().room(code).round.human_index
    phone.run()
    phone.button(key=f"join_vote_{'ABC'[human]}").click().run()
    assert "You voted" in phone.success[0].value
    presenter.run()
    assert "1 of 1 voted" in " ".join(m.value for m in presenter.markdown)
    click(presenter, "Reveal")
    phone.run()
    assert "Right!" in phone.success[0].value
    assert any("1st of 1" in m.value for m in phone.markdown)


def test_only_the_presenter_link_gives_control():
    presenter = click(page("app_pages/live.py"), "Create a room")
    code, key = presenter.session_state["live_room"]
    stranger = page("app_pages/live.py", {"room": code, "key": "guess"})
    assert "not valid" in stranger.warning[0].value and "live_room" not in stranger.session_state
    again = page("app_pages/live.py", {"room": code, "key": key})
    assert again.session_state["live_room"] == (code, key) and "key" not in again.query_params
    assert not errors(again)


def test_a_wrong_code_is_explained():
    phone = page("app_pages/join.py")
    phone.text_input(key="join_code").input("nope1")
    phone.text_input(key="join_nickname").input("Bo")
    click(phone, "Join")
    assert "no room NOPE1" in phone.warning[0].value


def test_a_presenter_creating_too_many_rooms_is_told_to_use_one(monkeypatch):
    """Anyone could create rooms without limit (15 in 2 s), each starting a background deal of rounds."""
    from dataclasses import replace

    from engine import config

    monkeypatch.setattr(config, "LIVE", replace(config.LIVE, rooms_per_visitor=1))
    presenter = click(page("app_pages/live.py"), "Create a room")
    first = presenter.session_state["live_room"]
    click(presenter, "Leave this room")
    click(presenter, "Create a room")
    assert "You have created 1 rooms in the last" in presenter.warning[0].value
    assert "live_room" not in presenter.session_state and first

@pytest.mark.parametrize("public_url, warned", [("http://localhost:8611", True), ("http://127.0.0.2:8501", True),
                                                ("http://[::1]:8501", True), ("https://quiz.example.org", False),
                                                ("http://192.168.1.20:8501", False)])
def test_the_presenter_is_warned_when_phones_cannot_reach_the_join_link(monkeypatch, public_url, warned):
    """The QR code pointed at http://localhost:8611/join?..., the presenter's own address, and nothing said so."""
    monkeypatch.setenv("PUBLIC_URL", public_url)
    presenter = click(page("app_pages/live.py"), "Create a room")
    warnings = [w.value for w in presenter.warning]
    assert any("Phones cannot open this link" in w and "`PUBLIC_URL`" in w for w in warnings) == warned
