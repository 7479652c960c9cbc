"""Helpers for Streamlit AppTest: run a page against a chosen models directory and corpus."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def page(path: str = "streamlit_app.py", query: dict | None = None) -> AppTest:
    """Run the app through its entry script, as a browser would, then open ``path``."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    if path != "streamlit_app.py":
        at.switch_page(path)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def html_bodies(at: AppTest) -> str:
    """The page's HTML elements, less the scroll-into-view scripts (they differ on every request)."""
    return "\n".join(el.proto.body for el in at.get("html") if "scrollIntoView" not in el.proto.body)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]
