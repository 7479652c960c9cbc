"""The app's pages, in one list for the entry script and for the guard every page runs first."""
from __future__ import annotations

import streamlit as st

ENTRY_FLAG = "app_entry_ran"


def pages(home) -> dict[str, st.Page]:
    return {
        "home": st.Page(home, title="Home", icon=":material/home:", default=True),
        "quiz": st.Page("pages/quiz.py", title="Human or Machine?", icon=":material/psychology_alt:", url_path="quiz"),
        "boundary": st.Page("pages/boundary.py", title="Where does the machine take over?", icon=":material/timeline:",
                            url_path="boundary"),
        "playground": st.Page("pages/playground.py", title="Playground", icon=":material/edit_note:",
                              url_path="playground"),
        "training": st.Page("pages/training.py", title="Training", icon=":material/monitoring:", url_path="training"),
        "live": st.Page("pages/live.py", title="Live (presenter)", icon=":material/co_present:", url_path="live"),
        "join": st.Page("pages/join.py", title="Join a room", icon=":material/how_to_vote:", url_path="join"),
    }


def require_entry() -> None:
    """Hand a page that Streamlit ran on its own over to the entry script.

    Streamlit runs files in pages/ by themselves (its older multipage mode) until the first session
    calls st.navigation; a deep link opened first on a fresh server would skip the entry script's
    sidebar and styling. Registering the navigation and rerunning puts the page back inside it.
    """
    if not st.session_state.get(ENTRY_FLAG):
        st.session_state[ENTRY_FLAG] = True  # once: a page run on purpose (AppTest) then goes on
        st.navigation(list(pages(lambda: None).values()), position="hidden")
        st.rerun()
