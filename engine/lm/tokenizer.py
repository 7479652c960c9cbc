"""Word-level tokenizer: words and punctuation as tokens, a training-split vocabulary, readable decoding."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..config import BOS, EOS, PAD, SPECIAL_TOKENS, UNK

_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}"  # abbreviations: e.g. i.e. U.S.
    r"|\d+(?:[.,]\d+)*"  # numbers: 1.0, 10,000
    r"|[^\W\d_]+(?:['\-][^\W_]+)*(?:'s)?"  # words, hyphenated words
    r"|[^\w\s]",  # any other single symbol
)
NO_SPACE_BEFORE = set(".,;:!?)]}%/")
_NO_SPACE_AFTER = set("([{/")
_SENTENCE_END = {".", "!", "?"}


def split_words(text: str) -> list[str]:
    """Split text into word and punctuation tokens, folding case except for acronyms (CMOS, pH)."""
    return [t if any(c.isupper() for c in t[1:]) else t.lower() for t in _TOKEN.findall(text)]


@lru_cache(maxsize=1 << 16)  # asked for every token of every candidate of every quiz round
def is_word(token: str) -> bool:
    return token not in SPECIAL_TOKENS and any(c.isalnum() for c in token)


def detokenize_pieces(tokens: Iterable[str], sentence_start: bool = True,
                      previous: str | None = None) -> list[tuple[str, str]]:
    """(separator, text) per token: punctuation attached, sentences capitalised, specials dropped.

    previous: the token the text follows (an opening's last), so the first separator is right too.
    Renderers that style each token use this; ``detokenize`` joins it.
    """
    pieces: list[tuple[str, str]] = []
    capitalise = sentence_start
    for token in tokens:
        if token in SPECIAL_TOKENS:
            continue
        # mixed case (pH, mRNA) stays as it is: "PH" would read back as another token
        text = token[0].upper() + token[1:] if capitalise and is_word(token) and token.islower() else token
        glue = previous is not None and token not in NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER
        pieces.append((" " if glue else "", text))
        previous = token
        if is_word(token):
            capitalise = False
        elif token in _SENTENCE_END:
            capitalise = True
    return pieces


def detokenize(tokens: Iterable[str], sentence_start: bool = True, previous: str | None = None) -> str:
    """Join tokens into text that reads like the original (after ``previous``, see ``detokenize_pieces``)."""
    return "".join(sep + text for sep, text in detokenize_pieces(tokens, sentence_start, previous))


@dataclass
class Tokenizer:
    """Maps tokens to ids; ids 0-3 are PAD, UNK, BOS, EOS."""

    vocab: list[str]

    def __post_init__(self):
        if tuple(self.vocab[:4]) != SPECIAL_TOKENS:
            raise ValueError("vocabulary must start with the special tokens " + ", ".join(SPECIAL_TOKENS))
        self.index = {token: i for i, token in enumerate(self.vocab)}

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int, min_count: int = 1) -> "Tokenizer":
        """Keep the ``vocab_size`` most frequent tokens seen at least ``min_count`` times."""
        counts = Counter(t for text in texts for t in split_words(text))
        ranked = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        return cls(list(SPECIAL_TOKENS) + ranked[:vocab_size])

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self.index.get(t, self.unk_id) for t in split_words(text)]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` outside the vocabulary, in order, without repeats."""
        return list(dict.fromkeys(t for t in split_words(text) if t not in self.index))

    def tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    def decode(self, ids: Iterable[int], sentence_start: bool = True) -> str:
        return detokenize(self.tokens(ids), sentence_start)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"vocab": self.vocab}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> "Tokenizer":
        return cls(json.loads(Path(path).read_text())["vocab"])


__all__ = ["Tokenizer", "split_words", "detokenize", "is_word", "PAD", "UNK", "BOS", "EOS"]
