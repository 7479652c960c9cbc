"""Live: the presenter's screen. A room code and QR code, rounds in large type, the votes as they arrive."""
import html

import streamlit as st

from engine.config import LIVE, QUIZ
from engine.games.quiz import Game, NoRounds
from engine.games.rooms import LABELS, RoomError
from ui.common import current_bundle, quiz_pool_or_stop, round_bank
from ui.constants import LIVE_POLL_SECONDS
from ui.live import in_background, join_link, loopback_warning, qr_png, rooms, steady, visitor
from ui.render import leaderboard_html, names_html, plain_html, tally_html, words_html
from ui.state import LivePage

bundle = current_bundle()
pool = quiz_pool_or_stop(bundle)  # without the corpus, its notice sits where every page's does
steady()
state = st.session_state  # the widgets' values
page: LivePage = state.setdefault("live", LivePage())
query = st.query_params
if query.get("room") and query.get("key"):  # a presenter link: take the room over, keep the key off screen
    if rooms().is_presenter(query["room"], query["key"]):
        page.room = (query["room"], query["key"])
    else:
        page.error = "That presenter link is not valid for this room."
    del query["key"]


def act(action, *args):
    """Run a presenter action; a refusal becomes a message on the page instead of an error."""
    try:
        action(*page.room, *args)
    except RoomError as exc:
        page.error = str(exc)


def create():
    try:
        code, key = rooms().create(state.live_rounds, bundle.name, state.live_difficulty, visitor())
    except RoomError as exc:
        page.error = str(exc)
        return
    page.room = (code, key)
    st.query_params["room"] = code
    prepare_round()


def prepare_round():
    """Take the next round from the bank in the background (it may still be being written) while this one plays:
    not from the round library, whose thread would start writing rounds for later while a room's phones vote."""
    code = page.room[0]
    if page.deck is None or page.deck[0] != code:
        page.deck = (code, Game(difficulty=rooms().room(code).difficulty or "medium"))
    page.upcoming = in_background(page.deck[1].deal, round_bank(), bundle, pool)


def next_round():
    if page.upcoming is None:
        prepare_round()
    upcoming, page.upcoming = page.upcoming, None
    try:
        act(rooms().open_round, upcoming.result())
    except NoRounds as exc:  # no abstract of this corpus fits the room's difficulty
        page.error = str(exc)
        return
    prepare_round()


def leave():
    page.room = None
    st.query_params.clear()


if page.error:
    st.warning(page.error, icon=":material/block:")
    page.error = None

if page.room is None:
    st.title("Live: play with a room")
    st.markdown("Create a room, show this screen on the projector, and the audience votes from their phones: "
                "which continuation did the inventors write?")
    with st.form("live_new"):
        st.slider("Rounds", 1, LIVE.max_rounds, 3, key="live_rounds")
        st.selectbox("Difficulty", list(QUIZ.difficulties), index=1, key="live_difficulty",
                     help="Harder rounds use a lower diversity, so the machine writes more fluently.")
        st.form_submit_button("Create a room", type="primary", icon=":material/groups:", on_click=create)
    st.stop()

code, key = page.room
room = rooms().room(code)
link = join_link(code)


@st.fragment(run_every=LIVE_POLL_SECONDS)
def live_tally(number: int) -> None:
    """The votes as they arrive, read from the database twice a second."""
    tally = rooms().tally(code, number)
    st.markdown(f"**{tally.votes} of {tally.players} voted**")
    st.html(tally_html(tally.counts))
    st.html(names_html(tally.voters))


@st.fragment(run_every=LIVE_POLL_SECONDS)
def lobby() -> None:
    names = rooms().players(code)
    st.markdown(f"**{len(names)} joined**")
    st.html(names_html(names))


loopback_warning(link)
side, stage = st.columns([1, 2.4], gap="large")
r = room.round
with side:  # what the presenter needs at a glance: how to join, the button for the next step, the votes
    st.html(f'<div class="room-code">{code}</div>')
    st.image(qr_png(link), width=170)
    st.caption(link)
    if room.phase == "lobby":
        st.button("Start round 1", type="primary", key="live_next", on_click=next_round,
                  icon=":material/play_arrow:", width="stretch")
        lobby()
    elif room.phase == "voting":
        st.button("Reveal", type="primary", key="live_reveal", on_click=act, args=(rooms().reveal,),
                  icon=":material/visibility:", width="stretch")
        live_tally(r.number)
    elif room.phase == "revealed":
        last = r.number >= room.rounds_total
        st.button("Final leaderboard" if last else "Next round", type="primary", key="live_next",
                  on_click=act if last else next_round, args=(rooms().finish,) if last else (),
                  icon=":material/emoji_events:" if last else ":material/arrow_forward:", width="stretch")
        tally = rooms().tally(code, r.number)
        right = [name for name, choice in zip(tally.voters, tally.choices) if choice == r.human_index]
        st.html(tally_html(tally.counts, human=r.human_index))
        st.markdown(f"**{len(right)} of {tally.votes} found it**")
        st.html(names_html(right))
    else:
        st.button("New room", key="live_new_room", on_click=leave, icon=":material/add:")
    with st.expander("Presenter link (keep it private)"):
        st.caption("Opens this room's controls on another device.")
        st.code(f"{link.replace('/join?', '/live?')}&key={key}", language=None)
    if room.phase != "finished":
        st.button("Leave this room", key="live_leave", on_click=leave, icon=":material/logout:")

with stage:
    if room.phase == "lobby":
        st.title("Human or Machine?")
        st.markdown(f"Scan the code or open the link, pick a nickname, and get ready: **{room.rounds_total} "
                    "rounds**, each the opening of a real patent abstract and three continuations. "
                    "One is the inventors'; find it.")
    elif room.phase == "voting":
        st.markdown(f"**Round {r.number} of {room.rounds_total}** · which continuation did people write?")
        st.html(plain_html(r.opening + " …", "passage big"))
        for col, label, text in zip(st.columns(len(LABELS)), LABELS, r.options):
            col.html(f'<div class="passage mid"><b>{label}</b> … {html.escape(text)} …</div>')
    elif room.phase == "revealed":
        st.markdown(f"**Round {r.number} of {room.rounds_total}** · **{LABELS[r.human_index]}** was written by "
                    f"people: US patent {r.doc_id}, *{r.title}* · machine diversity {r.diversity:g}")
        st.html(plain_html(r.opening + " …", "passage big"))
        sentence_start = r.opening[-1] in ".!?"
        for i, (col, label, words) in enumerate(zip(st.columns(len(LABELS)), LABELS, r.words)):
            kind = "Human" if i == r.human_index else "Machine"
            col.html(f'<div class="passage mid{" real" * (i == r.human_index)}"><b>{label} · {kind}</b> … '
                     f'{words_html(words, sentence_start)} …</div>')
    else:
        st.title("Leaderboard")
        board = rooms().leaderboard(code)
        if board:
            st.html(leaderboard_html(board[:15], room.rounds_total))
        else:
            st.caption("Nobody joined this room.")
