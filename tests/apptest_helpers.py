"""Helpers for Streamlit AppTest: run a page against a chosen models directory and corpus."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def page(path: str = "streamlit_app.py", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def html_bodies(at: AppTest) -> str:
    return "\n".join(el.proto.body for el in at.get("html"))


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]
