"""Text from people made safe to show, store and export.

Invisible format characters (bidi overrides, zero-width spaces) are removed so a nickname or an
opening cannot reverse or hide text; server paths are cut from messages shown to visitors (but
not from the advice an ``AdvisedError`` carries: it is written for them); cells that a spreadsheet
would run as a formula are quoted.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .config import NICKNAME_MAX

_PATH = re.compile(r"(?<![\w.:/~-])~?/(?:[\w.@+-]+/)*([\w.@+-]+)")  # /a/b/c.txt -> c.txt
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible_text(text: str) -> str:
    """``text`` without format characters (Unicode Cf: bidi overrides and isolates, zero-width
    spaces and joiners, byte-order marks); control characters (Cc: tabs, newlines, NUL) become spaces."""
    return "".join(" " if category == "Cc" else c for c in text
                   if (category := unicodedata.category(c)) != "Cf")


def clean_nickname(name: str | None) -> str | None:
    """Visible characters only (no bidi overrides or zero-width characters), spaces folded, at most
    NICKNAME_MAX long; None when nothing is left."""
    name = " ".join(visible_text(name or "").split())[:NICKNAME_MAX]
    return name or None


def nickname_key(name: str) -> str:
    """What two nicknames must not share in one room: "Desk", "DESK" and "Ｄｅｓｋ" are one name."""
    return unicodedata.normalize("NFKC", name).casefold()


def hide_paths(message: str) -> str:
    """A message for visitors: every absolute path replaced by its last part (its file name)."""
    return _PATH.sub(r"\1", message)


class AdvisedError(Exception):
    """An error that reports what went wrong (it may name server paths) and advises what to do next;
    the advice is written for visitors (placeholders such as /path/to/, folders relative to the app)."""

    def __init__(self, report: str, advice: str = ""):
        super().__init__(" ".join(filter(None, (report, advice))))
        self.report, self.advice = report, advice


def for_visitors(error: Exception) -> str:
    """An error's message for visitors: paths cut from its report, its advice (if any) kept whole."""
    if isinstance(error, AdvisedError):
        return " ".join(filter(None, (hide_paths(error.report), error.advice)))
    return hide_paths(str(error))


def app_relative(path: Path, root: Path) -> str | None:
    """``path`` relative to the app's folder ``root`` (a name visitors may see), None when outside it."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None


def spreadsheet_safe(value):
    """A CSV cell that spreadsheets show as text: a leading =, +, -, @, tab or CR gets a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
