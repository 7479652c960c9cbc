"""The bank of prepared rounds: each round handed out once, stock refilled, failures reported, no hang."""
import threading
import time

import pytest

from engine.bank import RoundBank
from engine.corpus import load_corpus


@pytest.fixture(scope="module")
def documents(tiny_bundle, invented_csv):
    return tiny_bundle.test_documents(load_corpus(invented_csv))


def test_rounds_are_prepared_ahead_and_handed_out_once(tiny_bundle, documents):
    bank = RoundBank(stock=3)
    first = bank.take(tiny_bundle, documents, 0.9, 1.3)
    assert 0.9 <= first.diversity <= 1.3 and first.bundle == tiny_bundle.name
    deadline = time.time() + 60
    while len(bank.prepared()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    ready = {r.round_id for r in bank.prepared()}
    assert len(ready) == 3 and first.round_id not in ready
    assert bank.take(tiny_bundle, documents, 0.9, 1.3).round_id in ready  # a read, no waiting
    assert bank.take(tiny_bundle, documents, 0.5, 0.5).diversity == 0.5  # another range: its own stock


def test_a_crowd_gets_distinct_rounds(tiny_bundle, documents):
    bank, taken = RoundBank(stock=2), []
    players = [threading.Thread(target=lambda: taken.extend(bank.take(tiny_bundle, documents, 1.0, 1.0)
                                                             for _ in range(3))) for _ in range(8)]
    for player in players:
        player.start()
    for player in players:
        player.join(120)
    assert len({r.round_id for r in taken}) == len(taken) == 24


def test_a_round_that_cannot_be_made_is_an_error_not_a_wait(tiny_bundle):
    with pytest.raises(ValueError, match="no abstract"):
        RoundBank().take(tiny_bundle, [], 1.0, 1.0)
