"""Machine options chosen for careful readers (the quiz's levels ``for_readers``).

Blind readers name their clues: stutters and repeated phrases, reference numerals that break the
opening's numbering ("a memory 14" after "a processor 14"), generic text, and text far likelier or far
less fluent than the inventors'. The first two are dropped as candidates (``gives_itself_away``);
the reader model (``engine.lm.reader``) chooses among the critic's shortlist the two closest to the
real continuation in its likelihood per token that are at least as specific (MMI) as the real one
(``reader_choice``): the likeliest candidate is fluent but generic, and a judge that picks the
reader's favourite would find the human at once if the machine's were far likelier or far worse.
"""
from __future__ import annotations

import numpy as np

from ..config import QUIZ_OPTIONS
from ..lm.reader import specificity
from ..lm.tokenizer import is_word

START_WORDS = 3  # machine options starting with the same words give each other away


def stutters(tokens: list[str]) -> bool:
    """A word said twice in a row, or a run of three words said twice."""
    words = [t.lower() for t in tokens if is_word(t)]
    runs = list(zip(words, words[1:], words[2:]))
    return any(a == b for a, b in zip(words, words[1:])) or len(set(runs)) < len(runs)


def numerals(tokens: list[str]) -> dict[str, str]:
    """Reference numerals and the terms they number: "a processor (12)" -> {"12": "processor"}."""
    named = {}
    for i, token in enumerate(tokens):
        before = [t for t in tokens[max(i - 2, 0):i] if t.isalpha()]
        if token.isdigit() and before:
            named.setdefault(token, before[-1].lower())
    return named


def breaks_numbering(opening: list[str], tokens: list[str]) -> bool:
    """Whether ``tokens`` give one of the opening's numerals to another term, or a numbered term another numeral."""
    named = numerals(opening)
    numbered = {term: numeral for numeral, term in named.items()}
    return any(named.get(numeral, term) != term or numbered.get(term, numeral) != numeral
               for numeral, term in numerals(tokens).items())


def gives_itself_away(opening: list[str], tokens: list[str]) -> bool:
    """The clues readers name that a candidate's tokens carry (after the ``opening`` tokens)."""
    return stutters(tokens) or breaks_numbering(opening, tokens)


def reader_choice(reader, opening: str, human: str, candidates: list[str], keep: int = QUIZ_OPTIONS - 1) -> list[int]:
    """Indices of the ``keep`` candidates the reader finds most like ``human`` after ``opening``: the
    distance of their mean log-probability per token from the human's, plus how far they fall short
    of the human's specificity."""
    texts = [human, *candidates]
    given, alone = reader.score(opening, texts), reader.score("", texts)
    fluency = np.array([g.mean for g in given])
    specific = np.array([specificity(g, a) for g, a in zip(given, alone)])
    cost = np.abs(fluency[1:] - fluency[0]) + np.maximum(0.0, specific[0] - specific[1:])
    order = np.argsort(cost, kind="stable").tolist()
    kept, starts = [], set()
    for i in order:  # two options that start alike are both the machine's: alike only when no other is left
        start = tuple(candidates[i].lower().split()[:START_WORDS])
        if start not in starts:
            kept.append(i)
            starts.add(start)
    return (kept + [i for i in order if i not in kept])[:keep]
