"""Join: the audience's page, made for a phone. Join a room with a nickname, vote, see your rank."""
import html
import uuid

import streamlit as st

from engine.config import NICKNAME_MAX
from engine.games.rooms import LABELS, RoomError, normalise_code
from ui.constants import LIVE_AUDIENCE_POLL_SECONDS
from ui.live import rooms, steady
from ui.render import leaderboard_html, plain_html

steady()
state = st.session_state
query = st.query_params
# who you are travels in the link, so reloading the page on a phone keeps your place in the room
player = state.setdefault("join_player", query.get("me") or uuid.uuid4().hex)


def join():
    try:
        name = rooms().join(state.join_code, player, state.join_nickname)
    except RoomError as exc:
        state.join_error = str(exc)
        return
    state.join_room = normalise_code(state.join_code)
    st.query_params.update(room=state.join_room, me=player)
    state.join_name = name


def vote(number: int, choice: int):
    try:
        if not rooms().vote(state.join_room, player, number, choice):
            state.join_error = "You already voted on this round; your first vote counts."
    except RoomError as exc:
        state.join_error = str(exc)


if "join_room" not in state and query.get("me") and query.get("room"):  # back after a reload
    try:
        state.join_name = rooms().join(query["room"], player, None)
        state.join_room = normalise_code(query["room"])
    except RoomError:
        pass

if "join_room" not in state:
    st.title("Join a room")
    if message := state.pop("join_error", None):
        st.warning(message, icon=":material/info:")
    with st.form("join_form"):
        st.text_input("Room code", value=normalise_code(query.get("room")), key="join_code", max_chars=10,
                      placeholder="on the presenter's screen")
        st.text_input("Your nickname", key="join_nickname", max_chars=NICKNAME_MAX)
        st.form_submit_button("Join", type="primary", icon=":material/login:", on_click=join, width="stretch")
    st.stop()


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@st.fragment(run_every=LIVE_AUDIENCE_POLL_SECONDS)
def screen() -> None:
    """What the room shows now, read from the database about once a second."""
    code = state.join_room
    room = rooms().room(code)
    st.html(f'<p class="whoami">Room <b>{code}</b> · you are <b>{html.escape(state.join_name)}</b></p>')
    if message := state.pop("join_error", None):
        st.warning(message, icon=":material/info:")
    r = room.round
    if room.phase == "lobby":
        st.info("You are in. The first round starts when the presenter says so.", icon=":material/hourglass_top:")
        return
    board = rooms().leaderboard(code)
    me = next(row for row in board if row["player_id"] == player)
    standing = f"You are **{ordinal(me['rank'])} of {len(board)}** with {me['right']} right."
    if room.phase == "finished":
        st.subheader("Final ranking")
        st.markdown(standing)
        st.html(leaderboard_html(board[:10], room.rounds_total))
        return
    st.markdown(f"**Round {r.number} of {room.rounds_total}**")
    mine = rooms().my_vote(code, player, r.number)
    if room.phase == "voting" and mine is None:
        st.markdown("Which continuation did people write?")
        with st.expander("The opening (on the big screen)"):
            st.html(plain_html(r.opening + " …"))
        for label, text in zip(LABELS, r.options):
            st.html(plain_html(f"{label} … {text} …", "passage option"))
            st.button(f"People wrote {label}", key=f"join_vote_{label}", type="primary", width="stretch",
                      on_click=vote, args=(r.number, LABELS.index(label)))
        return
    if room.phase == "voting":
        st.success(f"You voted **{LABELS[mine]}**. Wait for the reveal on the big screen.",
                   icon=":material/how_to_vote:")
        return
    human = LABELS[r.human_index]
    if mine is None:
        st.info(f"You did not vote this round. **{human}** was written by people.", icon=":material/schedule:")
    elif mine == r.human_index:
        st.success(f"Right! **{human}** was written by people.", icon=":material/check:")
    else:
        st.error(f"Not this time: **{human}** was written by people; you voted {LABELS[mine]}.",
                 icon=":material/smart_toy:")
    st.markdown(standing)


screen()
