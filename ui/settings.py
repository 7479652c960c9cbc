"""Playground settings: defaults, the ranges the widgets offer, and their round trip through the page URL.

A shared link carries the settings. Each value is parsed with the engine's rules (engine.lm.settings):
one that is not a finite number falls back to its default, one outside its widget's range is
brought into it, and every fix is reported.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from engine.lm.settings import Sampling, clean_opening, parse_number, trim_opening

DIVERSITY_RANGE = (0.0, 2.0)  # what the slider offers (the engine accepts up to config.MAX_DIVERSITY)
WORDS_RANGE = (5, 300)
TOP_P_RANGE = (0.05, 1.0)
TOP_K_RANGE = (0, 1000)
RNG_RANGE = (0, 2**31 - 1)
GUARDS = (0, 2, 3, 4)  # repetition guard choices: off, or the n-gram size
COMPARE_DIVERSITIES = (0.2, 0.6, 1.0, 1.5)
URL_NAMES = {"opening": "seed", "repetition_guard": "guard", "rng_seed": "rng"}  # short names in shared links


@dataclass
class PlaygroundSettings:
    opening: str = "A neural network"
    words: int = 60
    until_end: bool = False
    diversity: float = 0.8
    top_k: int = 0
    top_p: float = 1.0
    repetition_guard: int = 3
    rng_seed: int = 1

    def to_query(self) -> dict[str, str]:
        return {URL_NAMES.get(k, k): str(int(v) if isinstance(v, bool) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_query(cls, query: dict) -> tuple["PlaygroundSettings", list[str]]:
        """Settings from URL parameters; unknown keys are ignored, bad values replaced by defaults."""
        base, values, problems = cls(), {}, []
        for f in fields(cls):
            if (key := URL_NAMES.get(f.name, f.name)) not in query:
                continue
            raw, default = str(query[key]), getattr(base, f.name)
            if isinstance(default, str):
                values[f.name] = raw
                continue
            try:
                value = parse_number(f.name, raw)
            except ValueError as exc:
                problems.append(f"{exc}; using {default}")
                continue
            values[f.name] = bool(value) if isinstance(default, bool) else value
        settings = cls(**{**asdict(base), **values})
        return settings, problems + settings.clamp()

    def clamp(self) -> list[str]:
        """Bring every value into its widget's range; returns what had to change."""
        fixes = []

        def fit(name, low, high):
            value = getattr(self, name)
            if not low <= value <= high:
                setattr(self, name, type(low)(min(max(value, low), high)))
                fixes.append(f"{name} {value:g} is outside {low}–{high}; using {getattr(self, name)}")

        fit("words", *WORDS_RANGE)
        fit("diversity", *DIVERSITY_RANGE)
        fit("top_p", *TOP_P_RANGE)
        fit("top_k", *TOP_K_RANGE)
        fit("rng_seed", *RNG_RANGE)
        if self.repetition_guard not in GUARDS:
            fixes.append(f"repetition guard {self.repetition_guard} is not one of {GUARDS}; using 0")
            self.repetition_guard = 0
        trimmed = trim_opening(self.opening)
        if len(trimmed) < len(clean_opening(self.opening)):  # not quotation marks or invisible characters left out
            fixes.append(f"the opening was cut to its last {len(trimmed):,} characters")
        if trimmed != " ".join(self.opening.split()):
            self.opening = trimmed
        return fixes

    def sampling(self) -> Sampling:
        """The settings as the generator takes them (``words`` None: until the model ends the abstract)."""
        return Sampling(self.diversity, self.top_k, self.top_p, self.repetition_guard, self.rng_seed,
                        None if self.until_end else self.words)
