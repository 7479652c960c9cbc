"""Playground settings: defaults, limits, and their round trip through the page URL.

A shared link carries the settings; anything absurd in it is clamped, and the fixes are reported.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from engine.config import MAX_SEED_CHARS

DIVERSITY_RANGE = (0.0, 2.0)  # what the slider offers (the engine accepts up to config.MAX_DIVERSITY)
WORDS_RANGE = (5, 300)
TOP_P_RANGE = (0.05, 1.0)
GUARDS = (0, 2, 3, 4)  # repetition guard choices: off, or the n-gram size
COMPARE_DIVERSITIES = (0.2, 0.6, 1.0, 1.5)


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
            try:
                value = type(default)(float(raw)) if not isinstance(default, str) else raw
                if isinstance(value, float) and not math.isfinite(value):
                    raise ValueError
            except ValueError:
                problems.append(f"{f.name}={raw[:20]!r} is not a number; using {default}")
                continue
            values[f.name] = value
        settings = cls(**{**asdict(base), **values})
        return settings, problems + settings.clamp()

    def clamp(self) -> list[str]:
        """Bring every value into its range; returns what had to change."""
        fixes = []

        def fit(name, low, high):
            value = getattr(self, name)
            if not low <= value <= high:
                setattr(self, name, min(max(value, low), high))
                fixes.append(f"{name} {value} is outside {low}–{high}; using {getattr(self, name)}")

        fit("words", *WORDS_RANGE)
        fit("diversity", *DIVERSITY_RANGE)
        fit("top_p", *TOP_P_RANGE)
        fit("top_k", 0, 1000)
        fit("rng", 0, 2**31 - 1)
        if self.guard not in GUARDS:
            fixes.append(f"repetition guard {self.guard} is not one of {GUARDS}; using 0")
            self.guard = 0
        if len(self.seed) > MAX_SEED_CHARS:
            self.seed = self.seed[-MAX_SEED_CHARS:]
            fixes.append(f"the seed was cut to its last {MAX_SEED_CHARS:,} characters")
        return fixes

    def engine_kwargs(self) -> dict:
        return dict(diversity=self.diversity, top_k=self.top_k, top_p=self.top_p, rng_seed=self.rng,
                    repetition_guard=self.guard)
