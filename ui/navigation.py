"""The app's pages, in one list for the entry script's st.navigation.

They live in app_pages/, not pages/: Streamlit runs files in a pages/ folder by themselves (its
older multipage mode), which skipped the entry script's sidebar and styling on a deep link.
"""
from __future__ import annotations

import streamlit as st

def pages(home) -> dict[str, st.Page]:
    return {
        "home": st.Page(home, title="Home", icon=":material/home:", default=True),
        "quiz": st.Page("app_pages/quiz.py", title="Human or Machine?", icon=":material/psychology_alt:", url_path="quiz"),
        "boundary": st.Page("app_pages/boundary.py", title="Where does the machine take over?", icon=":material/timeline:",
                            url_path="boundary"),
        "playground": st.Page("app_pages/playground.py", title="Playground", icon=":material/edit_note:",
                              url_path="playground"),
        "training": st.Page("app_pages/training.py", title="Training", icon=":material/monitoring:", url_path="training"),
        "live": st.Page("app_pages/live.py", title="Live (presenter)", icon=":material/co_present:", url_path="live"),
    }
