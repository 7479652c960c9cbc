"""Playground: an opening, a diversity, and the model writes; words coloured by how likely it found them."""
import random
import time

import streamlit as st

from engine.config import MAX_OPENING_CHARS, NOVELTY_RUN, QUIZ
from engine.lm.generate import candidates, generate_many, prepare_opening, stream
from engine.lm.tokenizer import is_word
from ui.charts import candidates_figure
from ui.common import corpus, corpus_hint, current_bundle, quiz_pool_or_none
from ui.layout import PLOTLY_CONFIG, anchor, presenter_view, scroll_to
from ui.render import legend_html, passage_html, plain_html
from ui.settings import (COMPARE_DIVERSITIES, DIVERSITY_RANGE, GUARDS, TOP_P_RANGE, URL_NAMES, WORDS_RANGE,
                         PlaygroundSettings)
from ui.state import PlaygroundPage

bundle = current_bundle()
state = st.session_state
if "playground" not in state:  # first visit: settings from a shared link, if any, whose text is written at once
    state.playground = PlaygroundPage(*PlaygroundSettings.from_query(st.query_params.to_dict()),
                                      run="generate" if URL_NAMES["opening"] in st.query_params else None)
page: PlaygroundPage = state.playground
# Streamlit drops a widget's value after any run that ended without the widget (a run cut short under
# load, a visit to another page); the sliders then fall to their minimums. The plain copy above is
# never dropped: restore from it whatever is missing.
for name, value in vars(page.settings).items():
    state.setdefault(f"playground_{name}", value)


def pick_real_abstract():
    docs, message = corpus()
    tests = bundle.test_documents(docs) if docs else []
    if not tests:
        page.notice = message or "The loaded corpus is not the one this model was trained on."
        return
    doc = random.choice(tests)
    words = doc.text.split()
    cut = min(QUIZ.prompt_words, len(words) // 2)
    state.update(playground_opening=" ".join(words[:cut]), playground_until_end=False,
                 playground_words=max(WORDS_RANGE[0], min(len(words) - cut, WORDS_RANGE[1])))
    page.real, page.run = (doc, " ".join(words[:cut]), " ".join(words[cut:])), "generate"


def novelty_note(result) -> None:
    """Did the model write something new, or recite a training abstract? (needs the corpus)"""
    pool, _ = quiz_pool_or_none(bundle)
    if pool is None or not result.words:
        return
    copied = pool.training.longest_copy(result.opening_tokens, [w.token for w in result.words])
    if copied:
        st.caption(f":material/content_copy: **Memorised:** {copied} words in a row come straight from an "
                   "abstract the model trained on.")
    else:
        st.caption(f":material/verified: **Novel:** no run of {NOVELTY_RUN} words in this text comes from an "
                   "abstract the model trained on.")


def request(kind):
    page.run = kind


st.title("Playground")
st.caption("Give the model an opening; it continues one word at a time.")
for problem in page.link_problems:
    st.warning(f"The link had a setting out of range: {problem}.")
page.link_problems = []
opening, knobs = st.columns([3, 2], gap="large")  # on a phone: the opening, then the knobs, then the text
with opening:
    st.text_area("Opening words", key="playground_opening", height=110,
                 placeholder="e.g. A method for training a neural network")
    if len(state.playground_opening) > MAX_OPENING_CHARS:
        st.caption(f"The model reads the last {MAX_OPENING_CHARS:,} characters of this opening (from the start "
                   "of a word); only the last few sentences really shape what it writes.")
with knobs:
    st.slider("Diversity", *DIVERSITY_RANGE, step=0.05, key="playground_diversity")
    st.caption("**Diversity** reshapes the model's odds: near 0 it always takes its likeliest word and "
               "repeats itself; around 1 it writes as it learned; above 1 it gets creative, then incoherent.")
    st.slider("Length", *WORDS_RANGE, key="playground_words", format="up to %d words",
              disabled=state.playground_until_end,
              help="The model may end the abstract sooner: it writes an end mark when it thinks it is done.")
    st.checkbox("Until the model ends the abstract", key="playground_until_end")
    if not presenter_view():
        with st.expander("Advanced"):
            st.number_input("Top-k (0 = off)", 0, 1000, key="playground_top_k",
                            help="Only the k likeliest words may be picked.")
            st.slider("Top-p", *TOP_P_RANGE, step=0.05, key="playground_top_p",
                      help="Only the likeliest words that together hold this much probability may be picked.")
            st.selectbox("Repetition guard", GUARDS, key="playground_repetition_guard",
                         format_func=lambda n: "off" if n == 0 else f"never repeat {n} words in a row")
            st.number_input("Random seed", 0, 2**31 - 1, key="playground_rng_seed",
                            help="The same seed and settings give the same text: share the link to reproduce it.")
anchor("playground-output")  # results scroll here: the buttons, then what they wrote
b1, b2, b3 = st.columns(3)
b1.button("Generate", type="primary", icon=":material/edit:", key="playground_generate", width="stretch",
          on_click=request, args=("generate",))
b2.button("Real abstract", icon=":material/casino:", key="playground_pick_real", width="stretch",
          help="Start from the opening of a real abstract the model never trained on.",
          on_click=pick_real_abstract)
b3.button("Compare", icon=":material/compare:", help="Four diversities side by side.",
          key="playground_compare", width="stretch", on_click=request, args=("compare",))
if page.notice:
    corpus_hint(page.notice)
    page.notice = None
left, right = st.columns([3, 2], gap="large")

settings = page.settings = PlaygroundSettings(
    **{k: state[f"playground_{k}"] for k in vars(PlaygroundSettings())})
real = page.real
if real and settings.opening != real[1]:  # the user edited the opening: no real continuation to show
    real = page.real = None
sampling = settings.sampling()
words = sampling.words

run, page.run = page.run, None
if run:
    prepared = prepare_opening(bundle, settings.opening)
    known = len(prepared.opening_tokens) - prepared.opening_tokens.count("<unk>")
    if prepared.opening_tokens and known == 0:
        st.error("The model knows none of these words, so it has nothing to go on. Try an opening in "
                 "English about neural networks, e.g. *a method for training a neural network*.", icon=":material/help:")
        st.stop()
    link = settings.to_query()
    if len(settings.opening) > MAX_OPENING_CHARS:  # the link carries the part the model read, not a huge paste
        link[URL_NAMES["opening"]] = prepared.opening
    st.query_params.from_dict(link)
    if run == "generate":
        with left:
            placeholder = st.empty()
            for _ in stream(bundle, prepared, sampling):
                placeholder.html(passage_html(prepared.opening, prepared.words, not prepared.opening_tokens))
                time.sleep(0.015)  # a visible, readable stream; the model itself needs ~1 ms a word
            placeholder.empty()
        page.result, page.comparison = prepared, None
    else:
        rows = generate_many(bundle, prepared, sampling, COMPARE_DIVERSITIES, [sampling.rng_seed] * len(COMPARE_DIVERSITIES))
        page.comparison = list(zip(COMPARE_DIVERSITIES, rows))  # written together, in one batch

result = page.result
if result is not None:
    with left:
        if not result.opening_tokens:
            st.info("No opening given: the model wrote an abstract from scratch.")
        if result.unknown_words:
            can_copy = " It can still copy them (underlined) from the text so far." if bundle.cache.mix else ""
            st.warning("Not in the model's vocabulary (it read them as 'unknown'): "
                       + ", ".join(f"`{w}`" for w in result.unknown_words[:20]) + "." + can_copy)
        machine = passage_html(result.opening, result.words, not result.opening_tokens, result.ended)
        written = sum(is_word(w.token) for w in result.words)
        if result.ended and words and written < words:
            st.caption(f"The model ended the abstract (■) after {written} words, before the {words} it was allowed.")
        if real:  # the machine's continuation beside the inventors'
            ours, theirs = st.columns(2)
            ours.markdown("**What the model wrote**")
            ours.html(machine)
            theirs.markdown(f"**What the inventors wrote** — US {real[0].doc_id}, *{real[0].title}*")
            theirs.html(plain_html(real[1] + " " + real[2], "passage real"))
        else:
            st.html(machine)
        st.html(legend_html())
        novelty_note(result)
        if not presenter_view():
            st.download_button("Download text", result.text, file_name="machine-abstract.txt",
                               key="playground_download")
    with right:
        st.markdown("**What could come next**", help="The model's ten likeliest next words after the text, "
                    "with their chances before and after the diversity reshapes them.")
        rows = candidates(bundle, result, sampling, 10)
        st.plotly_chart(candidates_figure(rows, sampling.diversity), width="stretch", key="playground_chart",
                        config=PLOTLY_CONFIG)

if comparison := page.comparison:
    anchor("playground-compare")
    st.subheader("Same opening, same random seed, four diversities")
    for col, (diversity, generation) in zip(st.columns(len(comparison)), comparison):
        col.markdown(f"**Diversity {diversity:g}**")
        col.html(passage_html("", generation.words, not generation.opening_tokens, generation.ended))
    st.html(legend_html())

if run:  # what was just written may start below the fold: bring it into view
    scroll_to("playground-compare" if run == "compare" else "playground-output")
