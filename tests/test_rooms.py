"""Live rooms: presenter-only control, one vote per person per round, late votes refused, ranks."""
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.lm.generate import Word
from engine.games.quiz import Option, Round
from engine.games.rooms import RoomError, Rooms, normalise_code
from engine.games.store import Store


def invented_round(human: int, n: int = 0) -> Round:
    texts = ["the network stores the weights", "a circuit adds the signals", "the controller reads a sensor"]
    options = tuple(Option(t, i == human, tuple(Word(w, 0.1, 5) for w in t.split())) for i, t in enumerate(texts))
    return Round(f"r{n}", f"doc{n}", "Invented <title>", "2001-01-01", "A system of neurons", options, 1.0,
                 "tiny", {}, 0.0)


@pytest.fixture()
def rooms(tmp_path) -> Rooms:
    return Rooms(Store(os.environ.get("ROOMS_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'rooms.sqlite'}"))


def test_only_the_presenter_runs_the_room(rooms):
    code, key = rooms.create(3)
    assert len(code) == 5 and rooms.room(code.lower()).phase == "lobby"
    assert rooms.is_presenter(code, key)
    assert not rooms.is_presenter(code, "guess") and not rooms.is_presenter(code, None)
    for action in (lambda k: rooms.open_round(code, k, invented_round(0)), lambda k: rooms.reveal(code, k),
                   lambda k: rooms.finish(code, k)):
        with pytest.raises(RoomError, match="Only the presenter"):
            action("guess")
    assert rooms.open_round(code, key, invented_round(1)) == 1
    with pytest.raises(RoomError, match="Reveal"):
        rooms.open_round(code, key, invented_round(2))
    shown = rooms.room(code).round
    assert shown.human_index == 1 and shown.title == "Invented <title>" and shown.words[0][0] == Word("the", 0.1, 5)
    with pytest.raises(RoomError, match="no room"):
        rooms.room("ZZZZZ")


def test_one_vote_per_person_and_late_votes_refused(rooms):
    code, key = rooms.create(2)
    assert rooms.join(code, "p1", "  Ana\n") == "Ana"
    assert rooms.join(code, "p1", "Other") == "Ana"  # joining again keeps the first name
    with pytest.raises(RoomError, match="already called"):
        rooms.join(code, "p2", "Ana")
    with pytest.raises(RoomError, match="nickname"):
        rooms.join(code, "p2", "\x00 ")
    rooms.join(code, "p2", "Bo")
    with pytest.raises(RoomError, match="not showing"):
        rooms.vote(code, "p1", 1, 0)
    rooms.open_round(code, key, invented_round(2))
    assert rooms.vote(code, "p1", 1, 2) is True
    assert rooms.vote(code, "p1", 1, 0) is False  # a second vote is refused, the first stands
    assert rooms.my_vote(code, "p1", 1) == 2
    with pytest.raises(RoomError, match="Join"):
        rooms.vote(code, "stranger", 1, 0)
    with pytest.raises(RoomError, match="A, B or C"):
        rooms.vote(code, "p2", 1, 3)
    assert rooms.leaderboard(code)[0]["right"] == 0  # the open round does not count yet
    rooms.reveal(code, key)
    with pytest.raises(RoomError, match="Too late"):
        rooms.vote(code, "p2", 1, 2)
    tally = rooms.tally(code, 1)
    assert tally.counts == (0, 0, 1) and tally.voters == ("Ana",) and tally.choices == (2,) and tally.players == 2
    assert rooms.players(code) == ["Ana", "Bo"]
    rooms.open_round(code, key, invented_round(0))
    rooms.vote(code, "p2", 2, 0)
    rooms.vote(code, "p1", 2, 1)
    rooms.reveal(code, key)
    board = rooms.leaderboard(code)
    assert sorted((r["nickname"], r["right"], r["votes"]) for r in board) == [("Ana", 1, 2), ("Bo", 1, 1)]
    assert board[0]["ms"] <= board[1]["ms"]  # equal right answers: quicker first, same time same rank
    assert [r["rank"] for r in board] == [1, 1 if board[0]["ms"] == board[1]["ms"] else 2]
    with pytest.raises(RoomError, match="all its rounds"):
        rooms.open_round(code, key, invented_round(1))


def test_players_equal_in_right_answers_and_time_share_a_rank(rooms):
    code, key = rooms.create(2)
    for player in ("p1", "p2", "p3", "p4"):
        rooms.join(code, player, player.upper())
    rooms.open_round(code, key, invented_round(0))
    for player, choice in (("p1", 0), ("p2", 1), ("p3", 2)):  # p1 right; p2, p3 wrong; p4 silent
        rooms.vote(code, player, 1, choice)
    rooms.reveal(code, key)
    board = rooms.leaderboard(code)
    assert [(r["nickname"], r["rank"]) for r in board] == [("P1", 1), ("P2", 2), ("P3", 2), ("P4", 2)]


def test_a_nickname_is_taken_whatever_its_case_or_unicode_form(rooms):
    code, _ = rooms.create(1)
    assert rooms.join(code, "p1", "Desk") == "Desk"
    for i, same in enumerate(["desk", "DESK", "ｄｅｓｋ", " Desk "]):
        with pytest.raises(RoomError, match="already called .*pick another nickname"):
            rooms.join(code, f"q{i}", same)
    assert rooms.join(code, "p2", "Desks") == "Desks" and rooms.players(code) == ["Desk", "Desks"]
    assert rooms.join(code, "p1", "anything") == "Desk"  # joining again keeps the name


def test_simultaneous_and_repeated_votes_count_once(rooms):
    code, key = rooms.create(1)
    players = [f"p{i}" for i in range(24)]
    for p in players:
        rooms.join(code, p, p)
    rooms.open_round(code, key, invented_round(0))
    with ThreadPoolExecutor(6) as pool:  # every player votes twice, from six threads at once
        results = list(pool.map(lambda p: rooms.vote(code, p, 1, int(p[1:]) % 3), players * 2))
    assert sorted(results) == [False] * 24 + [True] * 24
    tally = rooms.tally(code, 1)
    assert tally.counts == (8, 8, 8) and sorted(tally.voters) == sorted(players)


def test_codes_are_read_leniently():
    assert normalise_code(" ab-c d2 ") == "ABCD2"
    assert normalise_code(None) == ""


def test_room_creation_is_limited_per_visitor_and_in_total(rooms, monkeypatch):
    """Anyone could create rooms without limit (15 in 2 s), each starting a background deal of rounds."""
    from dataclasses import replace

    from engine import config

    monkeypatch.setattr(config, "LIVE", replace(config.LIVE, rooms_per_visitor=2, max_open_rooms=4))
    rooms.create(3, creator="10.0.0.1")
    rooms.create(3, creator="10.0.0.1")
    with pytest.raises(RoomError, match="You have created 2 rooms in the last 10 minutes"):
        rooms.create(3, creator="10.0.0.1")
    code, key = rooms.create(3, creator="10.0.0.2")
    rooms.create(3, creator="10.0.0.2")
    with pytest.raises(RoomError, match="as many live rooms open as it can run"):
        rooms.create(3, creator="10.0.0.3")
    rooms.finish(code, key)
    rooms.create(3, creator="10.0.0.3")


def test_idle_rooms_are_closed(rooms, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from engine import config
    from engine.games.rooms import room_rounds
    from engine.games.rooms import rooms as rooms_table

    idle, _ = rooms.create(3)
    playing, key = rooms.create(3)
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=config.LIVE.idle_minutes + 1)
    with rooms.engine.begin() as conn:
        conn.execute(update(rooms_table).values(created_at=long_ago))
    rooms.open_round(playing, key, invented_round(0))
    with rooms.engine.begin() as conn:  # a round opened long ago in an idle room does not keep it open
        conn.execute(room_rounds.insert().values(room_code=idle, number=1, opened_at=long_ago, human_index=0))
    assert rooms.close_idle() == 1
    assert rooms.room(idle).phase == "finished" and rooms.room(playing).phase == "voting"


@pytest.mark.parametrize("raw, expected", [("7", 7), (" 7 ", 7), ("abc", 50), ("0", 50), ("100001", 50), ("", 50)])
def test_a_malformed_room_setting_falls_back_to_its_default(raw, expected):
    from engine.config import Environment, LiveConfig

    live = LiveConfig.from_environment(Environment.read({"LIVE_MAX_OPEN_ROOMS": raw, "LIVE_IDLE_MINUTES": "30"}))
    assert (live.max_open_rooms, live.idle_minutes, live.rooms_per_visitor) == (expected, 30, 3)
