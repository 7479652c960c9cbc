"""Layout helpers: the presenter view (large type, fewer controls), scrolling results into view, charts."""
from __future__ import annotations

import streamlit as st

from engine.training.results import COLUMNS, RANKED_BY

PRESENTER_KEY = "presenter_view"  # plain session key, so the choice survives pages without the toggle
PLOTLY_CONFIG = {"displayModeBar": False, "responsive": True}  # no toolbar over the legends
# content starts just below Streamlit's header (3.75rem high), not under it, and higher than its default 6rem
TOP_CSS = '[data-testid="stMainBlockContainer"] { padding-top: 4rem; }'
PRESENTER_CSS = TOP_CSS + """
[data-testid="stMain"] :is([data-testid="stMarkdown"], [data-testid="stAlert"]) :is(p, li) {
    font-size: 1.45rem; line-height: 1.5; }
[data-testid="stMain"] h1 { font-size: 2.4rem; padding-top: 0; }
[data-testid="stMain"] .passage:not(.big):not(.mid):not(.option) { font-size: 1.55rem; line-height: 1.5; }
[data-testid="stMain"] .passage.option { font-size: 1.25rem; line-height: 1.45; }
/* the reveal's options stay on a 720-pixel screen below the verdict; a long one scrolls inside its card */
[data-testid="stMain"] [class*="st-key-quiz_option_"] .passage.option { max-height: 40vh; overflow-y: auto; }
[data-testid="stMain"] button p { font-size: 1.3rem; }
[data-testid="stMain"] [class*="st-key-quiz_option_"] button p { font-size: 1.1rem; }
"""


def presenter_toggle() -> None:
    """Sidebar switch for the presenter view; pages ask presenter_view() what to hide."""
    state = st.session_state
    st.sidebar.toggle("Presenter view", value=state.get(PRESENTER_KEY, False), key="sidebar_presenter",
                      on_change=lambda: state.update({PRESENTER_KEY: state.sidebar_presenter}),
                      help="Large type and fewer controls, to read from the back of a room.")
    if presenter_view():
        st.html(f"<style>{PRESENTER_CSS}</style>")


def presenter_view() -> bool:
    return bool(st.session_state.get(PRESENTER_KEY))


def scroll_to(anchor: str) -> None:
    """Bring the element with id ``anchor`` into view (a result that just appeared below the fold)."""
    n = st.session_state["layout_scrolls"] = st.session_state.get("layout_scrolls", 0) + 1
    # a new element each time: Streamlit would not run an identical script again on the next request
    st.html(f'<div id="{anchor}-scroll" data-n="{n}"></div><script>'
            f'setTimeout(() => document.getElementById("{anchor}")?.scrollIntoView({{behavior: "smooth", '
            f'block: "start"}}), 150);</script>', unsafe_allow_javascript=True)


def anchor(name: str) -> None:
    """A place scroll_to can bring to the top of the screen, just below Streamlit's header."""
    st.html(f'<div id="{name}" class="anchor"></div>')


def results_dataframe(rows: list[dict]) -> None:
    """The results table with the model and the figure it is ranked by pinned at the left, the other figures
    next, every text column wide enough for its longest cell, and a caption naming what scrolls sideways."""
    figures = [RANKED_BY, "top-1", "top-5", "per-token perplexity", "per-token log loss"]
    described = [c for c in COLUMNS if c not in ("model", *figures)]

    def width(column: str) -> int:  # pixels for the longest cell (or the header), at most 360
        return min(8 * max(len(str(r[column])) for r in [{column: column}, *rows]) + 24, 360)

    config = {"model": st.column_config.Column(width=width("model"), pinned=True),
              RANKED_BY: st.column_config.NumberColumn(pinned=True, help="The table is ranked by it; lower is better."),
              **{c: st.column_config.NumberColumn(format="percent") for c in ("top-1", "top-5")},
              **{c: st.column_config.Column(width=width(c)) for c in described}}
    st.dataframe(rows, hide_index=True, column_order=["model", *figures, *described], column_config=config)
    st.caption(f"The model and its {RANKED_BY} stay in view; scroll the table sideways for "
               f"{', '.join(described)}.")
