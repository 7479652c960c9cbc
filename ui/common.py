"""What every page shares: the cached model and corpus, the sidebar, and the error page."""
from __future__ import annotations

import gc

import streamlit as st

from engine import config
from engine.games.bank import RoundBank
from engine.games.library_server import RoundLibrary, fill_in_child
from engine.lm.bundle import (Bundle, BundleError, active_bundle, active_bundle_path, list_bundles, load_bundle,
                              stamp)
from engine.config import CORPUS_ENV
from engine.corpus import Corpus, CorpusError, load_corpus
from engine.games.quiz import Pool, quiz_pool
from engine.training.results import ranked
from engine.sanitise import for_visitors, hide_paths
from engine.games.store import Store
from engine.storage.answer_log import Outbox
from ui.constants import LEADERBOARD_SECONDS
from ui.render import CSS

MODEL_KEY = "model_name"  # plain session key (widget keys are dropped on pages without the widget)


def permanent(loaded):
    """Take what a cached loader built (and the libraries it imported) out of garbage collection.

    It lives as long as the process. Python's full collections (Streamlit's after every rerun is off:
    .streamlit/config.toml) would walk it each time; over TensorFlow's objects each cost 0.3-1 s of
    CPU. After gc.freeze() a collection takes ~1 ms.
    """
    gc.freeze()
    return loaded


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _load_bundle(path: str, stamp: float) -> Bundle:
    """One read-only bundle per process, shared by every session (reloaded when its files change)."""
    bundle = load_bundle(path)
    bundle.net  # noqa: B018 - reads weights.npz now, not in the first user's request (and never imports Keras)
    return permanent(bundle)


@st.cache_resource(show_spinner=False)
def round_bank() -> RoundBank:
    """Quiz rounds written for a player who waits (see engine.games.bank), shared by every session of this
    server: without the reader, which costs seconds a round and 140 MiB; the rounds it chooses come from
    the round library's worker."""
    return RoundBank(reader=False)


@st.cache_resource(show_spinner=False)
def round_library() -> RoundLibrary:
    """Stored quiz rounds (engine.games.round_library), shared by every session and every server on the
    database; the bank writes one when none fits, and this server's thread keeps the library stocked
    through a child process (the reader that chooses rounds stays out of the server's memory)."""
    return RoundLibrary(store, round_bank(), filler=fill_in_child)


@st.cache_resource(show_spinner="Loading the corpus…", ttl=600)
def corpus() -> tuple[Corpus | None, str | None]:
    """(corpus, None), or (None, a message saying how to point the app at a local CSV)."""
    try:
        return permanent(load_corpus()), None
    except CorpusError as exc:
        return None, for_visitors(exc)


@st.cache_data(ttl=LEADERBOARD_SECONDS, show_spinner=False)
def leaderboard() -> list[dict]:
    """The quiz's leaderboard, read once for every session within LEADERBOARD_SECONDS, or until a named
    answer is stored (``leaderboard.clear()``); a StoreError is not kept."""
    return store().leaderboard()


@st.cache_resource(show_spinner=False)
def store() -> Store:
    """The answer store, shared by every session (SQLite by default, $DATABASE_URL otherwise)."""
    return Store()


def style() -> None:
    st.html(f"<style>{CSS}</style>")


@st.cache_data(show_spinner=False, max_entries=4)
def _ranked_names(bundles: tuple[tuple[str, float], ...]) -> list[str]:
    """Names of ``bundles`` ((name, stamp) in models/), best first: every metrics file is read once per change."""
    return [p.name for p in ranked([config.MODELS_DIR / name for name, _ in bundles])]


def model_picker() -> None:
    """Sidebar: choose the bundle for this session (default: the active one) and show its numbers."""
    names = _ranked_names(tuple((p.name, stamp(p)) for p in list_bundles()))  # best first by bits per character
    active, problem = active_bundle()
    active = active.name
    with st.sidebar:
        if not names:
            return
        if active not in names:
            problem = f"{problem or f'The active model {active} is missing.'} Showing {names[0]} instead."
        if problem:
            st.warning(problem, icon=":material/warning:")
        state = st.session_state
        if state.get(MODEL_KEY) not in names:
            state[MODEL_KEY] = active if active in names else names[0]
        st.selectbox("Model", names, index=names.index(state[MODEL_KEY]), key="sidebar_model",
                     format_func=lambda n: f"{n} (active)" if n == active else n,
                     on_change=lambda: state.update({MODEL_KEY: state.sidebar_model}),
                     help="The bundle from models/ that writes for you in this browser session.")
        try:
            bundle = current_bundle(stop=False)
        except BundleError:
            return
        st.caption(model_caption(bundle))
        if caveat := bundle.caveat():
            st.warning(caveat, icon=":material/warning:")


def model_caption(bundle: Bundle) -> str:
    m = bundle.metrics.get("model", {}).get("all_tokens", {})
    p = bundle.provenance
    date = p.get("finished", "")[:10]
    return (f"Test **{m.get('bits_per_char', '–')}** bits per character (open vocabulary)  \n"
            f"Per token: perplexity {m.get('perplexity', '–')} · top-1 {m.get('top1', 0):.1%}  \n"
            f"Trained on {p.get('device', '?')} · {date}")


@st.cache_resource(show_spinner="Preparing the quiz's abstracts…", max_entries=4)
def _quiz_pool(_bundle: Bundle, _corpus: Corpus, bundle_id: int, corpus_sha: str) -> Pool:
    """One pool per bundle and corpus (the ids key the cache; the bundles it holds are kept alive)."""
    return permanent(quiz_pool(_bundle, _corpus))


def quiz_pool_or_none(bundle: Bundle) -> tuple[Pool | None, str]:
    """(the bundle's quiz pool, "") or (None, why there is none)."""
    docs, message = corpus()
    if docs is None:
        return None, message
    pool = _quiz_pool(bundle, docs, id(bundle), docs.sha256)
    if not pool.documents:
        return None, _not_its_corpus(docs, bundle)
    return pool, ""


def _not_its_corpus(docs: Corpus, bundle: Bundle) -> str:
    return hide_paths(f"The corpus at {docs.source} is not the one {bundle.name} was trained on.")


def quiz_pool_or_stop(bundle: Bundle) -> Pool:
    """The bundle's quiz pool (engine.games.quiz.Pool); without one, say how to get the corpus and stop."""
    pool, message = quiz_pool_or_none(bundle)
    if pool is None:
        corpus_hint(message)
        st.stop()
    return pool


def held_out_or_stop(bundle: Bundle) -> list:
    """The corpus's abstracts the bundle never trained on; without them, say how to get them and stop."""
    docs, message = corpus()
    held_out = bundle.held_out_documents(docs) if docs else []
    if not held_out:
        corpus_hint(message or _not_its_corpus(docs, bundle))
        st.stop()
    return held_out


def current_bundle(stop: bool = True) -> Bundle:
    """The session's bundle; when it cannot be loaded, explain why and how to fix it, then stop."""
    name = st.session_state.get(MODEL_KEY)
    path = config.MODELS_DIR / name if name else active_bundle_path()
    try:
        return _load_bundle(str(path), stamp(path))
    except BundleError as exc:
        if not stop:
            raise
        st.error(f"**The model could not be loaded.** {hide_paths(str(exc))}", icon=":material/error:")
        st.markdown("The app needs a trained model bundle in `models/`. The repository ships one "
                    f"(`models/{config.DEFAULT_BUNDLE}`); to make another, run "
                    "`python -m engine.train --out models/my-model`.")
        st.stop()


def corpus_hint(message: str) -> None:
    """Say why there are no real abstracts (``message``, already fit for visitors: its advice would not
    survive ``hide_paths`` twice) and how to start the app with them."""
    st.info(f"{message}\n\nReal abstracts need the corpus CSV: start the app with "
            f"`{CORPUS_ENV}=/path/to/neural_network_patent_query.csv streamlit run streamlit_app.py`.",
            icon=":material/description:")


def outbox_notice(outbox: Outbox, key: str) -> None:
    """Retry the session's unsaved answers; while some remain, say so and offer "Retry saving" (button ``key``)."""
    if outbox.waiting:
        outbox.send(store)  # retry on every run
    if outbox.waiting:
        st.warning(f"{outbox.problem} Your {len(outbox.waiting)} unsaved answer(s) are kept in this session and "
                   "will be saved when it is back.", icon=":material/cloud_off:")
        st.button("Retry saving", key=key, on_click=outbox.send, args=(store,))
