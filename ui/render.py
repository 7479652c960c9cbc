"""HTML for generated text: every word coloured by the model's rank for it (as GLTR does).

Pure functions without streamlit, so tests can check them; all text is escaped here.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

from engine.config import OPTION_LABELS
from engine.lm.reader import READER_NAME
from engine.lm.tokenizer import detokenize_pieces, split_words

# (rank below, css class, label): GLTR's buckets
BUCKETS = ((10, "r10", "top 10"), (100, "r100", "top 100"), (1000, "r1000", "top 1,000"),
           (float("inf"), "rest", "beyond 1,000"))
CSS = (Path(__file__).resolve().parent.parent / "assets" / "style.css").read_text()


def bucket(rank: int) -> str:
    return next(css for limit, css, _ in BUCKETS if rank < limit)


def words_html(words, sentence_start: bool = True, previous: str | None = None) -> str:
    """Coloured spans for generated words (objects with token, prob, rank and optionally copied) after
    the token ``previous``; hover shows the numbers. A word the model copied from the text so far is underlined."""
    pieces = detokenize_pieces([w.token for w in words], sentence_start, previous)
    spans = []
    for (sep, text), word in zip(pieces, words):
        copied = getattr(word, "copied", False)
        tip = f"probability {word.prob:.2%} · rank {word.rank + 1}" + (" · copied from the text so far" if copied else "")
        css = f"tok {bucket(word.rank)}" + (" copied" if copied else "")
        spans.append(f'{sep}<span class="{css}" title="{tip}">{html.escape(text)}</span>')
    return "".join(spans)


def passage_html(seed: str, words, sentence_start: bool = True, ended: bool = False) -> str:
    """The seed in plain type followed by the coloured continuation (no space before its punctuation)."""
    seed_part = f'<span class="seed">{html.escape(seed)}</span>' if seed else ""
    previous = next(reversed(split_words(seed)), None)
    end = ' <span class="end" title="the model ended the abstract here">■</span>' if ended else ""
    return f'<div class="passage">{seed_part}{words_html(words, sentence_start, previous)}{end}</div>'


def legend_html() -> str:
    items = "".join(f'<span class="tok {css}">{label}</span>' for _, css, label in BUCKETS)
    copied = '<span class="tok copied">copied from the text so far</span>'
    return f'<div class="legend">How likely the model thought each word: {items} {copied}</div>'


def plain_html(text: str, css: str = "passage") -> str:
    return f'<div class="{css}">{html.escape(text)}</div>'


def tally_html(counts, labels: str = OPTION_LABELS, human: int | None = None) -> str:
    """Votes per option as bars; after the reveal (``human`` given) the human option is green."""
    total = max(sum(counts), 1)
    rows = []
    for i, (label, n) in enumerate(zip(labels, counts)):
        css = "" if human is None else (" human" if i == human else " machine")
        rows.append(f'<div class="tally-row{css}" data-option="{label}"><span class="tally-label">{label}</span>'
                    f'<span class="tally-bar"><span style="width:{100 * n / total:.0f}%"></span></span>'
                    f'<span class="tally-count">{n}</span></div>')
    return f'<div class="tally">{"".join(rows)}</div>'


def names_html(names, css: str = "chips") -> str:
    """Nicknames as chips (escaped: they are typed by the audience)."""
    return f'<div class="{css}">' + "".join(f"<span>{html.escape(n)}</span>" for n in names) + "</div>"


def leaderboard_html(rows, rounds: int) -> str:
    """The room's ranking as a table large enough for a projector (nicknames escaped)."""
    body = "".join(f'<tr><td>{r["rank"]}</td><td class="name">{html.escape(r["nickname"])}</td>'
                   f'<td>{r["right"]} of {rounds}</td></tr>' for r in rows)
    return f'<table class="board"><tr><th>#</th><th>nickname</th><th>right</th></tr>{body}</table>'


def sentences_html(sentences, shown: int, boundary: int | None = None, guess: int | None = None) -> str:
    """The first ``shown`` sentences of a boundary round (objects with text, human and words) as one
    passage. While playing (``boundary`` None) the text is plain and the last sentence is marked as
    the one to judge (id ``current-sentence``, to scroll to); at the reveal the machine's sentences are coloured, where it took over is
    marked, and so is the sentence the player named (``guess``)."""
    parts = []
    for i, s in enumerate(sentences[:shown]):
        if boundary is None:
            current = ' id="current-sentence" class="sentence current anchor"' if i == shown - 1 else ' class="sentence"'
            parts.append(f"<span{current}>{html.escape(s.text)}</span>")
            continue
        if i == boundary:
            parts.append('<span class="takeover">machine from here</span>')
        body = html.escape(s.text) if s.human else words_html(s.words)
        mark = '<span class="guess-mark">you said machine</span>' if i == guess else ""
        parts.append(f'<span class="sentence {"human" if s.human else "machine"}{" guess" if i == guess else ""}">'
                     f"{mark}{body}</span>")
    if boundary is not None and boundary >= len(sentences):
        parts.append('<span class="takeover never">the inventors wrote every sentence</span>')
    return f'<div class="passage sentences">{" ".join(parts)}</div>'


def reader_verdict(options, labels: str = OPTION_LABELS) -> str | None:
    """What the 2024 reader thought of a round's options (objects with human and reader_logp): its pick,
    whether that was the human, and how much likelier per word it found its pick than each other
    option. None when the round carries no reader scores."""
    scores = [o.reader_logp for o in options]
    if None in scores:
        return None
    pick = max(range(len(scores)), key=scores.__getitem__)
    ratios = " and ".join(f"{math.exp(scores[pick] - s):.1f}x likelier than {labels[i]}"
                          for i, s in enumerate(scores) if i != pick)
    outcome = ", the human's" if options[pick].human else " and been fooled"
    return (f"The 2024 reader ({READER_NAME}, a small modern language model) would have picked "
            f"{labels[pick]}{outcome}: per word, it found {labels[pick]} {ratios}.")
