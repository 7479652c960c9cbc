"""Playground settings: defaults, the ranges the widgets offer, and their round trip through the page URL.

A shared link carries the settings. Each value is parsed with the engine's rules (engine.settings):
one that is not a finite number falls back to its default, one outside its widget's range is
brought into it, and every fix is reported.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from engine.settings import clean_seed, parse_number, trim_seed

DIVERSITY_RANGE = (0.0, 2.0)  # what the slider offers (the engine accepts up to config.MAX_DIVERSITY)
WORDS_RANGE = (5, 300)
TOP_P_RANGE = (0.05, 1.0)
TOP_K_RANGE = (0, 1000)
RNG_RANGE = (0, 2**31 - 1)
GUARDS = (0, 2, 3, 4)  # repetition guard choices: off, or the n-gram size
COMPARE_DIVERSITIES = (0.2, 0.6, 1.0, 1.5)
ENGINE_NAMES = {"guard": "repetition_guard", "rng": "rng_seed"}  # the URL's short names for engine settings


@dataclass
class PlaygroundSettings:
    seed: str = "A neural network"
    words: int = 60
    until_end: bool = False
    diversity: float = 0.8
    top_k: int = 0
    top_p: float = 1.0
    guard: int = 3
    rng: int = 1

    def to_query(self) -> dict[str, str]:
        return {k: str(int(v) if isinstance(v, bool) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_query(cls, query: dict) -> tuple["PlaygroundSettings", list[str]]:
        """Settings from URL parameters; unknown keys are ignored, bad values replaced by defaults."""
        base, values, problems = cls(), {}, []
        for f in fields(cls):
            if f.name not in query:
                continue
            raw, default = str(query[f.name]), getattr(base, f.name)
            if isinstance(default, str):
                values[f.name] = raw
                continue
            try:
                value = parse_number(ENGINE_NAMES.get(f.name, f.name), raw)
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
        fit("rng", *RNG_RANGE)
        if self.guard not in GUARDS:
            fixes.append(f"repetition guard {self.guard} is not one of {GUARDS}; using 0")
            self.guard = 0
        trimmed = trim_seed(self.seed)
        if len(trimmed) < len(clean_seed(self.seed)):  # not quotation marks or invisible characters left out
            fixes.append(f"the opening was cut to its last {len(trimmed):,} characters")
        if trimmed != " ".join(self.seed.split()):
            self.seed = trimmed
        return fixes

    def engine_kwargs(self) -> dict:
        return dict(diversity=self.diversity, top_k=self.top_k, top_p=self.top_p, rng_seed=self.rng,
                    repetition_guard=self.guard)
