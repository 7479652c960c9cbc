"""Human or Machine? The opening of a real abstract, three continuations, one written by people."""
import streamlit as st

from engine.config import NICKNAME_MAX, OPTION_LABELS, QUIZ, QUIZ_OPTIONS
from engine.games.quiz import Game, NoRounds, Round
from engine.games.round_library import fooled_share
from engine.lm.reader import installed as reader_installed
from engine.storage.connection import StoreError
from ui.charts import accuracy_figure
from ui.common import current_bundle, leaderboard, outbox_notice, quiz_pool_or_stop, round_library, store
from ui.constants import QUIZ_REASONS
from ui.layout import PLOTLY_CONFIG, anchor, presenter_view, scroll_to
from ui.render import legend_html, plain_html, reader_verdict, words_html
from ui.state import QuizPage

bundle = current_bundle()
pool = quiz_pool_or_stop(bundle)
state = st.session_state  # the widgets' values
page: QuizPage = state.setdefault("quiz", QuizPage())
game = page.game


def next_round():
    try:
        game.start(game.deal(round_library(), bundle, pool))  # stored ahead: a read
    except NoRounds as exc:  # no abstract fits the difficulty (more fit the easiest), or every try copied
        page.notice = str(exc)
        if game.difficulty != "easy":
            page.notice += " Playing on easy."
            game.difficulty = state.quiz_difficulty = "easy"
            next_round()
        return
    state.quiz_reasons = []
    page.scroll = "quiz-top"  # the browser keeps the reveal's scroll, below the new round's opening


def choose(round_id: str, index: int):
    answer = game.answer(round_id, index, state.get("quiz_reasons", []))
    if answer is not None:  # None: a double click, or a click on a round that is gone
        page.outbox.send(store, answer, page.player, state.get("quiz_nickname"))
        if state.get("quiz_nickname"):  # only named players are on the board
            leaderboard.clear()
            page.rerun_page = True
        page.scroll = "quiz-verdict"  # the verdict may be above the button the player scrolled down to


def read_or_say(read):
    """What ``read()`` gives, or None after saying that the database is away."""
    try:
        return read()
    except StoreError as exc:
        st.info(str(exc), icon=":material/cloud_off:")
        return None


def difficulty_words(game: Game) -> str:
    """What the chosen difficulty means, in plain words."""
    if game.difficulty == "adaptive":
        return (f"Adapts to you: each right answer makes the machine harder to spot, each miss easier, so you "
                f"stay near 50%. Now: {QUIZ.levels[game.level()].meaning}")
    return QUIZ.levels[game.level()].meaning


def change_difficulty():
    game.difficulty = state.quiz_difficulty
    next_round()


def reveal(r: Round, labels: str) -> None:
    """The verdict and the way on first, then the coloured texts, then the source and how others did."""
    anchor("quiz-verdict")
    answer = game.last
    human = labels[r.human_index]
    if answer.correct:
        st.success(f"Right: **{human}** was written by people. +{answer.points} points", icon=":material/check:")
    else:
        st.error(f"Not this time: **{human}** was written by people; you picked {labels[answer.choice]}.",
                 icon=":material/smart_toy:")
    st.button("Next round", type="primary", key="quiz_next", on_click=next_round, icon=":material/arrow_forward:")
    for col, option, label in zip(st.columns(QUIZ_OPTIONS), r.options, labels):
        with col.container(border=True, key=f"quiz_option_{label}"):
            st.markdown(f"**{label} · {'Human' if option.human else 'Machine'}**")
            st.html(f'<div class="passage option">… {words_html(option.words, r.opening[-1] in ".!?")} …</div>')
    st.html(legend_html())
    st.markdown(f"US patent **{r.doc_id}** · *{r.title}* · granted {r.date} · machine diversity **{r.diversity:g}**")
    try:
        record = store().round_record(r.stored_id) if r.stored_id else None
        if record and record[0] >= QUIZ.round_record_min:
            st.caption(f"This very round: {record[1]} of {record[0]} players found the human; by its rating it "
                       f"fools {fooled_share(record[2]):.0%} of players.")
        others, found = store().others_on(r.doc_id, page.player)
        where = "Other players on this abstract"
        if not others:  # each abstract is dealt once per level: in a small group, compare with the level
            others, found = store().others_at(r.level, r.bundle, page.player)
            where = "No one else has played this abstract yet; other players at this level"
        if others:
            st.caption(f"{where}: {found} of {others} found the human ({found / others:.0%}).")
    except StoreError:
        pass  # the page already says when the database is away
    verdict = reader_verdict(r.options, labels)
    if verdict or not reader_installed():
        st.caption(verdict or "The 2024 reader's view is not shown: it is not installed on this server.")


if game.current is None or game.current.bundle != bundle.name:
    next_round()

anchor("quiz-top")
st.title("Human or Machine?")
if not presenter_view():  # the room hears it from the presenter
    st.caption("A real patent abstract begins below. One continuation is what its inventors wrote; "
               "two are the model's. Find the human.")
if page.notice:
    st.info(page.notice, icon=":material/info:")
    page.notice = None
if game.current is None:  # not one abstract gives a round, even on easy: the notice said why
    st.stop()


@st.fragment
def play() -> None:
    """The round, its reveal and the score. A click here reruns only this part of the page: at 200 players
    every element a rerun sends costs the server. A named answer reruns the whole page (its leaderboard)."""
    if page.rerun_page:
        page.rerun_page = False
        st.rerun(scope="app")
    outbox_notice(page.outbox, "quiz_retry")

    r = game.current
    st.html(plain_html(r.opening + " …"))
    labels = OPTION_LABELS[:QUIZ_OPTIONS]
    if game.last is None:
        if not presenter_view():
            st.pills("Why? (optional, tick before choosing)", QUIZ_REASONS, selection_mode="multi", key="quiz_reasons")
        for col, option, label in zip(st.columns(QUIZ_OPTIONS), r.options, labels):
            with col.container(border=True, key=f"quiz_option_{label}"):  # equal heights: see assets/style.css
                st.button(f"{label}: a human wrote this", key=f"quiz_pick_{label}", width="stretch",
                          on_click=choose, args=(r.round_id, labels.index(label)))
                st.html(plain_html("… " + option.text + " …", "passage option"))
    else:
        reveal(r, labels)
    if page.scroll:
        scroll_to(page.scroll)
        page.scroll = None

    with st.container(horizontal=True, gap="medium"):  # compact: side by side even on a phone
        st.metric("Score", game.score, width="content")
        st.metric("Streak", game.streak, help=f"Best: {game.best_streak}", width="content")
        st.metric("Rounds", game.rounds, width="content")
        st.metric("Right", f"{game.accuracy:.0%}" if game.rounds else "–", width="content")


play()
if not presenter_view():
    c1, c2 = st.columns(2)
    c1.selectbox("Difficulty", [*QUIZ.difficulties, "adaptive"], key="quiz_difficulty", on_change=change_difficulty,
                 index=[*QUIZ.difficulties, "adaptive"].index(game.difficulty),
                 help="Each difficulty was set by measuring how often judges find the human text.")
    c1.caption(difficulty_words(game))
    c2.text_input("Nickname for the leaderboard", key="quiz_nickname", max_chars=NICKNAME_MAX, placeholder="optional")

st.divider()
# each tab runs only while it is open: the chart's query and figure cost every player's rerun otherwise
board, stats = st.tabs(["Leaderboard", "How convincing is the machine?"], key="quiz_tab", on_change="rerun")
with board:
    if board.open:
        leaders = read_or_say(leaderboard)
        if leaders:
            st.dataframe(leaders, hide_index=True,
                         column_config={"accuracy": st.column_config.NumberColumn(format="percent")})
        elif leaders is not None:
            st.caption("No named players yet: add a nickname and play a round.")
with stats:
    if stats.open:
        by_diversity = read_or_say(lambda: store().accuracy_by_diversity())
        if by_diversity:
            st.plotly_chart(accuracy_figure(by_diversity), width="stretch", key="quiz_stats_chart",
                            config=PLOTLY_CONFIG)
            st.caption("Share of all players' answers that found the human continuation, by the diversity the "
                       "machine wrote at; bars are 95% confidence intervals. Below the dashed line, the machine "
                       "fools people.")
            st.download_button("Download all answers (CSV)", store().export_csv, "quiz-answers.csv",
                               key="quiz_export")  # the CSV is built only when someone asks for it
        elif by_diversity is not None:
            st.caption("No answers yet.")
