"""Where the tests find the real corpus (never committed): $PATENT_CORPUS, else ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_shared_corpus(environ=os.environ) -> Path:
    given = environ.get("PATENT_CORPUS")
    return Path(given) if given else ROOT.parent / "shared" / "data" / "neural_network_patent_query.csv"
