"""The audience's routes (ui/audience.py) through Starlette's TestClient: join, follow, vote, rank."""
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.testclient import TestClient

from engine.games.rooms import Rooms
from engine.games.store import Store
from engine.storage.connection import StoreError
from test_rooms import invented_round
from ui import audience


@pytest.fixture()
def room(tmp_path, monkeypatch):
    """A room on a fresh store (the routes' rooms), its presenter key, and a client for the routes."""
    rooms = Rooms(Store(f"sqlite:///{tmp_path / 'rooms.sqlite'}"))
    monkeypatch.setattr(audience, "rooms", lambda: rooms)
    monkeypatch.setattr(audience, "recent", audience.Recent(0))  # every poll reads the database
    code, key = rooms.create(2)
    return rooms, code, key, TestClient(Starlette(routes=audience.ROUTES))


def join(client, code, nickname):
    response = client.post(f"/api/rooms/{code}/players", json={"nickname": nickname})
    assert response.status_code == 200, response.text
    return response.json()["player"]


def test_a_phone_joins_votes_once_and_sees_its_rank(room):
    rooms, code, key, client = room
    ana = join(client, code.lower(), "  <b>Ana</b>\n")  # the code as typed; the name cleaned, kept as text
    state = client.get(f"/api/rooms/{code}", params={"player": ana}).json()
    assert state["phase"] == "lobby" and state["you"] == {"nickname": "<b>Ana</b>", "vote": None}
    rooms.open_round(code, key, invented_round(2))
    state = client.get(f"/api/rooms/{code}", params={"player": ana}).json()
    assert state["round"]["number"] == 1 and state["round"]["human"] is None  # the answer stays hidden
    assert state["round"]["options"][0] == "the network stores the weights"
    first = client.post(f"/api/rooms/{code}/votes", json={"player": ana, "round": 1, "choice": 2})
    again = client.post(f"/api/rooms/{code}/votes", json={"player": ana, "round": 1, "choice": 0})
    assert first.json() == {"counted": True, "message": None}
    assert again.json()["counted"] is False and "first vote counts" in again.json()["message"]
    assert rooms.tally(code, 1).counts == (0, 0, 1)
    rooms.reveal(code, key)
    state = client.get(f"/api/rooms/{code}", params={"player": ana}).json()
    assert state["round"]["human"] == 2
    assert state["you"] == {"nickname": "<b>Ana</b>", "vote": 2, "rank": 1, "right": 1, "of": 1}
    rooms.finish(code, key)
    board = client.get(f"/api/rooms/{code}", params={"player": ana}).json()["board"]
    assert board == [{"rank": 1, "nickname": "<b>Ana</b>", "right": 1}]


def test_a_late_vote_is_refused_and_the_tally_unchanged(room):
    rooms, code, key, client = room
    bo = join(client, code, "Bo")
    rooms.open_round(code, key, invented_round(0))
    rooms.reveal(code, key)
    late = client.post(f"/api/rooms/{code}/votes", json={"player": bo, "round": 1, "choice": 0})
    assert late.status_code == 400 and late.json() == {"error": "Too late: voting on that round has closed."}
    assert rooms.tally(code, 1).votes == 0


@pytest.mark.parametrize("path, body, message", [
    ("/api/rooms/NOPE1/players", {"nickname": "Bo"}, "There is no room NOPE1: check the code on the screen."),
    ("/api/rooms/{code}/players", {"nickname": "\u200b "}, "Pick a nickname so the room can see your score."),
    ("/api/rooms/{code}/players", {"nickname": ["Bo"]}, audience.NOT_UNDERSTOOD),
    ("/api/rooms/{code}/players", "not an object", audience.NOT_UNDERSTOOD),
    ("/api/rooms/{code}/votes", {"player": "stranger", "round": 1, "choice": 0}, "Join the room with a nickname first."),
    ("/api/rooms/{code}/votes", {"player": "p", "round": "1", "choice": 0}, audience.NOT_UNDERSTOOD),
    ("/api/rooms/{code}/votes", {"player": "p", "round": 1, "choice": 7}, "Vote A, B or C."),
])
def test_bad_requests_get_a_clear_message(room, path, body, message):
    rooms, code, key, client = room
    rooms.open_round(code, key, invented_round(0))
    response = client.post(path.format(code=code), json=body)
    assert response.status_code == 400 and response.json() == {"error": message}


def test_a_taken_nickname_and_broken_json_are_explained(room):
    _, code, _, client = room
    join(client, code, "Desk")
    taken = client.post(f"/api/rooms/{code}/players", json={"nickname": "DESK"})
    assert "already called DESK" in taken.json()["error"]
    broken = client.post(f"/api/rooms/{code}/players", content=b"{nickname", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json() == {"error": audience.NOT_UNDERSTOOD}


def test_a_database_that_does_not_answer_is_a_plain_503(room, monkeypatch):
    _, code, _, client = room

    class Down:
        def room(self, code):
            raise OperationalError("SELECT", {}, Exception("unable to open /srv/quiz/answers.sqlite"))

    def unopened():
        raise StoreError("Could not open the answer database /srv/quiz/answers.sqlite")

    for failing in (Down, unopened):
        monkeypatch.setattr(audience, "rooms", failing)
        response = client.get(f"/api/rooms/{code}")
        assert response.status_code == 503 and "not answering" in response.json()["error"]
        assert "/srv" not in response.text


def test_the_phone_page_is_served_at_the_join_link_and_writes_text_only_as_text(room):
    *_, client = room
    page = client.get("/join", params={"room": "ABCDE"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "textContent" in page.text and "innerHTML" not in page.text and "http" not in page.text.split("<script>")[1]


def test_phones_polling_together_share_one_read_of_the_room(room, monkeypatch):
    """300 phones polling every 1.5 s read the room 200 times a second: tap-to-tally p95 was 3.2 s."""
    rooms, code, key, client = room
    monkeypatch.setattr(audience, "recent", audience.Recent(60))
    reads = []
    monkeypatch.setattr(rooms, "room", lambda c, read=rooms.room: reads.append(c) or read(c))
    players = [join(client, code, f"p{i}") for i in range(5)]
    for player in players:
        assert client.get(f"/api/rooms/{code}", params={"player": player}).json()["phase"] == "lobby"
    assert len(reads) == 5 + 1  # each join reads the room itself; the five polls shared one read


def test_a_phone_that_joins_after_the_board_was_read_still_gets_its_rank(room, monkeypatch):
    rooms, code, key, client = room
    monkeypatch.setattr(audience, "recent", audience.Recent(60))
    first = join(client, code, "Ana")
    rooms.open_round(code, key, invented_round(1))
    rooms.reveal(code, key)
    assert client.get(f"/api/rooms/{code}", params={"player": first}).json()["you"]["of"] == 1
    late = join(client, code, "Bo")
    assert client.get(f"/api/rooms/{code}", params={"player": late}).json()["you"] == {
        "nickname": "Bo", "vote": None, "rank": 1, "right": 0, "of": 2}
