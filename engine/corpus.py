"""The corpus: find it, load it (CSV or plain text), clean it, and split it by patent family."""
from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .config import (CORPUS_ENV, CORPUS_FILENAME, CORPUS_URL, DATA_DIR, DATA_DIR_ENV, FAMILY_SHARE, FAMILY_SHINGLE,
                     PRETRAIN_FILENAME, ROOT, Environment)
from .sanitise import AdvisedError, app_relative

TEXT_COLUMN = "patent_abstract"
_PLACEHOLDER = re.compile(r"##[A-Z]+\d*##")  # ##EQU1##, ##STR1##: equations and structures cut out
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")


class CorpusError(AdvisedError):
    """A corpus that cannot be used; the message says what to do about it."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str
    title: str = ""
    date: str = ""


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    source: str  # where it was read from
    sha256: str  # of the file's bytes

    def split(self, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1) -> "Split":
        """Split by patent family: abstracts are shuffled into train / validation / test with ``seed``,
        then every family of near-duplicates (see ``families``) joins its member's split that comes
        first in the order train, validation, test; so no held-out abstract has a near-duplicate in
        training, and the test and validation splits only lose abstracts."""
        ids = sorted(d.doc_id for d in self.documents)
        order = np.random.default_rng(seed).permutation(len(ids))
        n_test = max(1, round(len(ids) * test_fraction)) if len(ids) >= 3 else 0
        n_val = max(1, round(len(ids) * val_fraction)) if len(ids) >= 3 else 0
        shuffled = [ids[i] for i in order]
        plain = {**dict.fromkeys(shuffled[:n_test], 2), **dict.fromkeys(shuffled[n_test:n_test + n_val], 1),
                 **dict.fromkeys(shuffled[n_test + n_val:], 0)}  # 0 train, 1 validation, 2 test
        texts = self.by_id()
        final = dict(plain)
        for family in families([texts[i].text for i in ids]):
            members = [ids[k] for k in family]
            part = min(plain[m] for m in members)
            final.update(dict.fromkeys(members, part))
        part_ids = [tuple(sorted(i for i in ids if final[i] == part)) for part in range(3)]
        return Split(*part_ids, moved=sum(final[i] != plain[i] for i in ids))

    def select(self, doc_ids) -> list[Document]:
        wanted = set(doc_ids)
        return [d for d in self.documents if d.doc_id in wanted]

    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


@dataclass(frozen=True)
class Split:
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]
    moved: int | None = None  # abstracts the family split moved away from a plain split by abstract

    def to_dict(self) -> dict:
        return {"train": list(self.train), "validation": list(self.validation), "test": list(self.test),
                "moved": self.moved}

    @classmethod
    def from_dict(cls, data: dict) -> "Split":
        return cls(tuple(data["train"]), tuple(data["validation"]), tuple(data["test"]), data.get("moved"))


def shingles(text: str, n: int = FAMILY_SHINGLE) -> set[int]:
    """Hashes of the text's runs of ``n`` consecutive words (case folded, punctuation dropped)."""
    words = re.findall(r"\w+", text.lower())
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


def near_duplicates(a: set, b: set, share: float = FAMILY_SHARE) -> bool:
    """Two abstracts are near-duplicates when they share ``share`` of the smaller one's word runs."""
    return bool(a and b) and len(a & b) >= share * min(len(a), len(b))


def families(texts: list[str], share: float = FAMILY_SHARE) -> list[list[int]]:
    """Groups (indices into ``texts``, two or more each) linked by chains of near-duplicates:
    continuations and divisionals of one patent family. Union-find over shared word runs."""
    runs = [shingles(t) for t in texts]
    parent = list(range(len(texts)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holders: dict[int, list[int]] = {}
    for i, rs in enumerate(runs):
        for r in rs:
            holders.setdefault(r, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    for docs in holders.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                shared[docs[x], docs[y]] = shared.get((docs[x], docs[y]), 0) + 1
    for (i, j), n in shared.items():
        if n >= share * min(len(runs[i]), len(runs[j])):
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def clean_text(text: str) -> str:
    """Remove stray quote characters and placeholders, and normalise spacing."""
    text = _PLACEHOLDER.sub(" ", str(text)).replace('"', " ")
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACE_AFTER_OPEN.sub(r"\1", text)


def _hash_id(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _read_bytes(path: Path, label: str) -> bytes:
    try:
        if path.exists() and not path.is_file():  # a directory, a device (/dev/zero never ends), a pipe
            raise CorpusError(f"{label} is not a regular file. Point it at a CSV or text file.")
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"No file at {label}. Check the path, or set {CORPUS_ENV} to a local CSV.") from None
    except OSError as exc:
        raise CorpusError(f"Cannot read {label}: {exc.strerror}.") from None
    if not data.strip():
        raise CorpusError(f"{label} is empty. Point the app at a CSV with one abstract per row.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{label} is not UTF-8 text. Save it as UTF-8 (CSV UTF-8 in spreadsheet programs).") from None
    return data


def read_table(path: Path, text_column: str | None = None, label: str | None = None) -> pd.DataFrame:
    """Read a CSV (with a text column) or a plain text file (one document per line) into a frame;
    messages name the file as ``label`` (default: its path)."""
    path = Path(path)
    label = label or str(path)
    data = _read_bytes(path, label)
    if path.suffix.lower() == ".txt":
        lines = data.decode("utf-8").splitlines()
        return pd.DataFrame({TEXT_COLUMN: [line for line in lines if line.strip()]})
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise CorpusError(f"{label} is not a readable CSV ({first}). Check quoting and separators.") from None
    column = text_column or TEXT_COLUMN
    if column not in frame.columns:
        raise CorpusError(f"{label} has no column {column!r}; its columns are {list(frame.columns)}. "
                          "Name the column holding the text.")
    return frame.rename(columns={column: TEXT_COLUMN})


def documents_from_frame(frame: pd.DataFrame) -> tuple[Document, ...]:
    """Clean every text; drop empty and duplicate ones; keep number, title and date when present."""
    seen, docs = set(), []
    for row in frame.to_dict("records"):
        text = clean_text(row[TEXT_COLUMN])
        if not text or text in seen:
            continue
        seen.add(text)
        number = str(row.get("patent_number", "") or "").strip()
        docs.append(Document(doc_id=number or _hash_id(text), text=text, title=clean_text(row.get("patent_title", "")),
                             date=str(row.get("patent_date", "") or "")))
    return tuple(docs)


def load_corpus(path: Path | str | None = None, text_column: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Load, clean and de-duplicate the corpus found by ``locate_corpus``."""
    path = locate_corpus(path, progress)
    frame = read_table(path, text_column)
    docs = documents_from_frame(frame)
    if not docs:
        raise CorpusError(f"{path} has no non-empty text rows.")
    if len({d.doc_id for d in docs}) != len(docs):  # repeated patent numbers: fall back to text hashes
        docs = tuple(Document(_hash_id(d.text), d.text, d.title, d.date) for d in docs)
    return Corpus(docs, str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def locate_corpus(path: Path | str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """An explicit path, else $PATENT_CORPUS, else the local cache, else a download into the cache."""
    if path:
        return Path(path)
    if given := Environment.read().corpus:
        return Path(given)
    cached = DATA_DIR / CORPUS_FILENAME
    if cached.exists():
        return cached
    return download_corpus(cached, progress=progress)


def locate_pretrain_corpus() -> Path | None:
    """The optional pre-training corpus: $PATENT_PRETRAIN_CORPUS, else data/extra_patent_abstracts.csv;
    None when neither exists (pre-training is then not offered)."""
    path = Path(Environment.read().pretrain_corpus or DATA_DIR / PRETRAIN_FILENAME)
    return path if path.is_file() else None


def download_corpus(target: Path, url: str = CORPUS_URL,
                    progress: Callable[[int, int], None] | None = None, timeout: float = 15) -> Path:
    """Download the public corpus to ``target`` (atomically); offline, a CorpusError says what to do."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        os.replace(partial, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        folder = app_relative(target.parent, ROOT)
        raise CorpusError(
            f"Could not download the patent corpus ({reason}).",
            f"If this machine is offline, get {CORPUS_FILENAME} elsewhere and either set "
            f"{CORPUS_ENV}=/path/to/{CORPUS_FILENAME}, copy it into "
            + (f"the folder {folder}/ of the app" if folder else f"the folder {DATA_DIR_ENV} names")
            + ", or pass --data /path/to/file.csv."
        ) from None
    return target
