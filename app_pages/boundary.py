"""Where does the machine take over? A real abstract, one sentence at a time; from some sentence on the model writes."""
import streamlit as st

from engine.games.boundary import BoundaryGame, make_boundary_round, verdict
from engine.config import BOUNDARY, NICKNAME_MAX
from engine.games.boundary_store import boundary_answers
from engine.storage.connection import StoreError
from ui.charts import boundary_figure
from ui.common import corpus_hint, current_bundle, outbox_notice, store, held_out_or_stop
from ui.layout import PLOTLY_CONFIG, anchor, presenter_view, scroll_to
from ui.render import legend_html, plain_html, sentences_html
from ui.state import BoundaryPage

RULES = (f"**{BOUNDARY.points} points** for saying *machine* at the first sentence it wrote, one less for each "
         "sentence late, **none** for saying it on a sentence the inventors wrote (too early) or never saying it "
         f"when the machine did write. In about {BOUNDARY.never:.0%} of the abstracts the inventors wrote every "
         f"sentence: reading to the end without saying *machine* then earns {BOUNDARY.points}.")

bundle = current_bundle()
abstracts = held_out_or_stop(bundle)  # validation and test splits: never trained on
page: BoundaryPage = st.session_state.setdefault("boundary", BoundaryPage())
game: BoundaryGame = page.game


def say(round_id: str, sentence: int, machine: bool):
    answer = game.say(round_id, sentence, machine)
    if answer is not None:  # the round is over (a double click or a stale button gives None)
        page.outbox.send(store, answer, page.player, st.session_state.get("boundary_nickname"))
    page.scroll = "boundary-verdict" if game.last else "current-sentence"  # with its buttons below


def next_abstract(round_id: str):
    if game.current is not None and game.current.round_id == round_id:  # a second click changes nothing
        game.current = None  # the next one is written below, under a spinner


st.title("Where does the machine take over?")
st.caption("A real patent abstract, one sentence at a time. The first sentence is always the inventors'; from "
           "some sentence on (sometimes never) the model writes the rest. Say *machine* as soon as you see it.")
if game.current is None or game.current.bundle != bundle.name:
    with st.spinner("Choosing an abstract…"):
        try:
            game.start(make_boundary_round(bundle, abstracts, page.rng, played=game.played))
        except ValueError as exc:
            corpus_hint(f"{exc}: this game needs abstracts of two sentences or more.")
            st.stop()
outbox_notice(page.outbox, "boundary_retry")

r = game.current
if r.title:
    st.html(plain_html(r.title, "abstract-title"))
if game.last is None:
    st.html(sentences_html(r.sentences, game.shown))
    st.caption(f"Sentence {game.shown}: who wrote the highlighted one?")  # not "of n": the length would tell
    with st.container(horizontal=True):
        args = (r.round_id, game.shown - 1)
        st.button("Still human", key="boundary_human", on_click=say, args=(*args, False), icon=":material/person:")
        st.button("The machine wrote this one", key="boundary_machine", type="primary", on_click=say,
                  args=(*args, True), icon=":material/smart_toy:")
else:  # the verdict and the way on first, then the whole abstract coloured
    anchor("boundary-verdict")
    answer = game.last
    earned = f"+{answer.points}" if answer.points else "0"
    (st.success if answer.points else st.error)(f"{verdict(answer)} **{earned} points**",
                                                icon=":material/check:" if answer.points else ":material/smart_toy:")
    st.button("Next abstract", type="primary", key="boundary_next", on_click=next_abstract, args=(r.round_id,),
              icon=":material/arrow_forward:")
    st.html(sentences_html(r.sentences, len(r.sentences), r.boundary, answer.guess))
    if not r.never:
        st.html(legend_html())
    st.caption(f"US patent {r.doc_id} · machine diversity {r.diversity:g} · model {r.bundle}")
if page.scroll:
    scroll_to(page.scroll)
    page.scroll = None

with st.container(horizontal=True, gap="medium"):
    st.metric("Score", game.score, width="content")
    st.metric("Rounds", game.rounds, width="content")
    st.metric("Exact", game.exact, width="content", help=f"Rounds scored in full ({BOUNDARY.points} points)")
if not presenter_view():
    st.text_input("Nickname (saved with your answers)", key="boundary_nickname", max_chars=NICKNAME_MAX,
                  placeholder="optional")
    with st.expander("How points work"):
        st.markdown(RULES)

st.divider()
st.subheader("How many sentences does it take to notice?")
try:
    stats = store().boundary_stats()
except StoreError as exc:
    stats = None
    st.info(str(exc), icon=":material/cloud_off:")
if stats and any(r["noticed"] for r in stats):
    st.plotly_chart(boundary_figure(stats), width="stretch", key="boundary_stats_chart", config=PLOTLY_CONFIG)
    st.caption("All players, in abstracts the machine took over: how many sentences after the first machine "
               "sentence they said *machine* (0 = at once), by the diversity it wrote at and the model; bars are "
               "95% intervals, labels say how many noticed out of all answers (the others were too early or missed it).")
elif stats:  # answers, but no one noticed the machine yet: a chart would be empty axes
    early, missed = sum(r["too_early"] for r in stats), sum(r["missed"] for r in stats)
    st.caption(f"No one has noticed the machine yet in the abstracts it took over: of {early + missed} answers, "
               f"{early} said *machine* too early and {missed} never said it. The chart starts with the first "
               "player who notices.")
elif stats is not None:
    st.caption("No answers yet in abstracts the machine took over.")
if stats is not None:  # the CSV is built only when someone asks for it
    st.download_button("Download all answers to this game (CSV)", lambda: store().export_csv(boundary_answers),
                       "boundary-answers.csv", key="boundary_export", on_click="ignore")  # no rerun for a download
