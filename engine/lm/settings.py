"""Generation settings as people give them (command line, page URL, form): one parser, one set of
limits, and ``Sampling``, the settings as one value passed whole to the generator.

Every value is parsed here before anything uses it: not a number, infinite, NaN, fractional where a
whole number is needed, or outside its limits is refused with a message naming the setting.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..config import MAX_DIVERSITY, MAX_GENERATED_WORDS, MAX_REPETITION_GUARD, MAX_OPENING_CHARS, MAX_TOP_K
from ..corpus import clean_text
from ..sanitise import visible_text

LIMITS: dict[str, tuple[float, float]] = {  # the engine's names; inclusive bounds
    "words": (0, MAX_GENERATED_WORDS),  # 0: until the model ends the abstract
    "diversity": (0.0, MAX_DIVERSITY),
    "top_k": (0, MAX_TOP_K),  # 0: off
    "top_p": (0.01, 1.0),
    "repetition_guard": (0, MAX_REPETITION_GUARD),  # 0 or 1: off; n: never repeat n tokens in a row
    "rng_seed": (0, 2**31 - 1),
}
WHOLE = {"words", "top_k", "repetition_guard", "rng_seed"}
OPTIONAL = {"rng_seed", "words"}  # None: fresh randomness; until the model ends the abstract


def parse_number(name: str, raw) -> int | float:
    """``raw`` as the setting's kind of number; ValueError unless finite (and whole where it must be)."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"{name} must be a number, not {str(raw)[:20]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {str(raw)[:20]!r}")
    if name in WHOLE:
        if value != int(value):
            raise ValueError(f"{name} must be a whole number, not {str(raw)[:20]!r}")
        return int(value)
    return value


def parse_setting(name: str, raw) -> int | float:
    """``parse_number``, then within ``LIMITS[name]``; ValueError saying the range otherwise."""
    value = parse_number(name, raw)
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low:g} to {high:g}, not {value:g}")
    return value


@dataclass(frozen=True)
class Sampling:
    """How the model writes, checked against LIMITS when it is made (from numbers or from the text
    of a command line, URL or form) and passed whole to the generator; ``to_dict`` is how it is kept."""

    diversity: float = 1.0  # 0: always the likeliest word; 1: as the model learned; higher: more surprising
    top_k: int = 0  # only the k likeliest tokens may be drawn (0: off)
    top_p: float = 1.0  # only the likeliest tokens that together hold this much probability
    repetition_guard: int = 0  # n > 1: never repeat n tokens in a row, nor one token twice in a row
    rng_seed: int | None = None  # None: fresh randomness
    words: int | None = 50  # word tokens to write; 0 or None: until the model ends the abstract

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.name not in OPTIONAL:
                object.__setattr__(self, f.name, parse_setting(f.name, value))

    def to_dict(self) -> dict:
        return asdict(self)


def check_limits(**values) -> None:
    """ValueError unless every value given (by its setting's name) is within its limits."""
    for name, value in values.items():
        parse_setting(name, value)


def clean_opening(text: str) -> str:
    """The opening's visible characters, quotation marks left out and spacing normalised (engine.corpus)."""
    return clean_text(visible_text(text or ""))


def trim_opening(text: str) -> str:
    """The opening as the model reads it (``clean_opening``), at most MAX_OPENING_CHARS of its end,
    starting at a word (a cut never leaves half a word)."""
    text = clean_opening(text)
    if len(text) <= MAX_OPENING_CHARS:
        return text
    cut = text[-MAX_OPENING_CHARS:]
    if text[-MAX_OPENING_CHARS - 1] == " ":
        return cut
    _, space, rest = cut.partition(" ")
    return rest if space else cut  # one enormous "word": nothing better to cut at
