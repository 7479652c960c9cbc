"""The audience's channel: a small phone page and its JSON routes, served beside the Streamlit app.

A phone is not a Streamlit session (a websocket and a script rerun every poll) but a static page
that polls one cheap route. The routes are thin: every rule (one vote per person per round, no
late votes, nicknames and codes) is engine.games.rooms' and the database's. Text travels as JSON
and the page writes it with textContent only, so nothing typed by the audience becomes HTML.

    GET  /join?room=CODE                 the phone page (the join link and QR code point here)
    POST /api/rooms/CODE/players         {"nickname"} -> {"player", "nickname"}: the player's token
    GET  /api/rooms/CODE?player=TOKEN    the room as this phone shows it: phase, round, your vote, rank
    POST /api/rooms/CODE/votes           {"player", "round", "choice"} -> {"counted", "message"}

A refusal is a 4xx with {"error": message for the person}; a database that does not answer, a 503.
"""
from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from pathlib import Path

from anyio import CapacityLimiter, to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from engine.games.rooms import LABELS, RoomError, normalise_code
from engine.storage.connection import StoreError
from ui.constants import LIVE_AUDIENCE_POLL_SECONDS
from ui.live import rooms

PHONE_PAGE = Path(__file__).resolve().parents[1] / "assets" / "phone.html"
AUDIENCE_THREADS = 4
ALREADY_VOTED = "You already voted on this round; your first vote counts."
NOT_UNDERSTOOD = "That request was not understood: reload the page and try again."


class BadRequest(ValueError):
    """A request the routes cannot read; the message is for the person on the phone."""


@functools.cache
def _database_threads() -> CapacityLimiter:
    """The database calls block, so they run off the event loop, but on a few threads: hundreds of
    phones on as many threads fought over the GIL with the presenter's script run (made on first use:
    a limiter belongs to the running event loop)."""
    return CapacityLimiter(AUDIENCE_THREADS)


def _refusal(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def answers(handler):
    """Run a route; a refusal by the room or a malformed request becomes {"error"}, never a traceback."""
    async def route(request: Request) -> JSONResponse:
        try:
            body = await request.json() if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise BadRequest(NOT_UNDERSTOOD)
            return JSONResponse(await to_thread.run_sync(handler, normalise_code(request.path_params["code"]), body,
                                                         dict(request.query_params), limiter=_database_threads()))
        except (RoomError, BadRequest) as exc:
            return _refusal(str(exc))
        except json.JSONDecodeError:
            return _refusal(NOT_UNDERSTOOD)
        except (SQLAlchemyError, StoreError):  # a query failed, or the store could not be opened
            return _refusal("The room's database is not answering; try again in a moment.", 503)
    return route


def _field(body: dict, name: str, kind: type):
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadRequest(NOT_UNDERSTOOD)
    return value


def join(code: str, body: dict, query: dict) -> dict:
    nickname = body.get("nickname")
    if nickname is not None and not isinstance(nickname, str):
        raise BadRequest(NOT_UNDERSTOOD)
    player = secrets.token_urlsafe(16)
    return {"player": player, "nickname": rooms().join(code, player, nickname)}


def vote(code: str, body: dict, query: dict) -> dict:
    counted = rooms().vote(code, _field(body, "player", str), _field(body, "round", int), _field(body, "choice", int))
    return {"counted": counted, "message": None if counted else ALREADY_VOTED}


class Recent:
    """What was read from the database in the last ``seconds``, shared by every phone on this server:
    hundreds of phones polling one room cost the database a read or two a second, not hundreds."""

    def __init__(self, seconds: float):
        self.seconds, self.values, self.lock = seconds, {}, threading.Lock()

    def get(self, key, read):
        now = time.monotonic()
        with self.lock:
            at, value = self.values.get(key, (None, None))
        if at is None or now - at >= self.seconds:
            value = read()
            with self.lock:
                self.values = {k: v for k, v in self.values.items() if now - v[0] < self.seconds}  # rooms come and go
                self.values[key] = (now, value)
        return value


recent = Recent(LIVE_AUDIENCE_POLL_SECONDS / 3)  # a phone sees a change at most this much later than it could


def room_state(code: str, body: dict, query: dict) -> dict:
    """What a phone shows: the room, its round (the human text only once revealed), this player."""
    room = recent.get(("room", code), lambda: rooms().room(code))
    r = room.round
    state = {"code": room.code, "phase": room.phase, "rounds": room.rounds_total, "labels": list(LABELS),
             "poll_ms": int(LIVE_AUDIENCE_POLL_SECONDS * 1000), "round": None, "you": None, "board": None}
    if r is not None:
        state["round"] = {"number": r.number, "opening": r.opening, "options": list(r.options),
                          "human": r.human_index if room.phase in ("revealed", "finished") else None}
    player = query.get("player")
    member = player and rooms().member(room.code, player, room.round_no)
    if not member:
        return state
    state["you"] = {"nickname": member[0], "vote": member[1]}
    if room.phase in ("revealed", "finished"):
        board = recent.get(("board", room.code, room.round_no, room.phase), lambda: rooms().leaderboard(room.code))
        if player not in {row["player_id"] for row in board}:  # they joined since it was read
            board = rooms().leaderboard(room.code)
        me = next(row for row in board if row["player_id"] == player)
        state["you"].update(rank=me["rank"], right=me["right"], of=len(board))
        if room.phase == "finished":
            state["board"] = [{"rank": row["rank"], "nickname": row["nickname"], "right": row["right"]}
                              for row in board[:10]]
    return state


async def phone_page(request: Request) -> FileResponse:
    return FileResponse(PHONE_PAGE, media_type="text/html", headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/join", phone_page, methods=["GET"]),
    Route("/api/rooms/{code}", answers(room_state), methods=["GET"]),
    Route("/api/rooms/{code}/players", answers(join), methods=["POST"]),
    Route("/api/rooms/{code}/votes", answers(vote), methods=["POST"]),
]
