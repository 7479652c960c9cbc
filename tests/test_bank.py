"""The bank of prepared rounds: each round handed out once, stock refilled, decks honoured, failures
reported, no hang."""
import threading
import time

import pytest

from engine.games.bank import RoundBank
from engine.games.novelty import TrainingRuns
from engine.games.quiz import NoRounds, Pool


def test_rounds_are_prepared_ahead_and_handed_out_once(tiny_bundle, tiny_pool):
    bank, everything = RoundBank(stock=3), tiny_pool.ids  # level 1: no reader, 2 s a round
    first = bank.take(tiny_bundle, tiny_pool, 1, everything)
    assert first.level == 1 and first.bundle == tiny_bundle.name
    deadline = time.time() + 60
    while len(bank.prepared()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    ready = {r.round_id for r in bank.prepared()}
    assert len(ready) == 3 and first.round_id not in ready
    assert bank.take(tiny_bundle, tiny_pool, 1, everything).round_id in ready  # a read, no waiting
    assert bank.take(tiny_bundle, tiny_pool, 0, everything).level == 0  # another level: its own stock


def test_a_player_only_gets_abstracts_from_their_deck(tiny_bundle, tiny_pool):
    bank = RoundBank(stock=4)
    bank.take(tiny_bundle, tiny_pool, 1, tiny_pool.ids)
    only = sorted(tiny_pool.ids)[:1]
    for _ in range(3):  # the stock holds other abstracts: one is written for this player
        assert bank.take(tiny_bundle, tiny_pool, 1, frozenset(only)).doc_id == only[0]


def test_a_crowd_gets_distinct_rounds(tiny_bundle, tiny_pool):
    bank, taken = RoundBank(stock=2), []
    players = [threading.Thread(target=lambda: taken.extend(bank.take(tiny_bundle, tiny_pool, 0, tiny_pool.ids)
                                                             for _ in range(3))) for _ in range(8)]
    for player in players:
        player.start()
    for player in players:
        player.join(120)
    assert len({r.round_id for r in taken}) == len(taken) == 24


def test_an_empty_deck_is_an_error_not_a_wait(tiny_bundle, tiny_pool):
    with pytest.raises(NoRounds, match="No abstract"):
        RoundBank().take(tiny_bundle, Pool((), TrainingRuns.of([])), 0, frozenset())
    with pytest.raises(NoRounds, match="No abstract"):
        RoundBank().take(tiny_bundle, tiny_pool, 0, frozenset({"not-in-the-pool"}))


def test_a_deck_of_abstracts_that_give_no_round_falls_back_to_others(tiny_bundle, tiny_pool):
    bank = RoundBank(stock=1)
    barren, *rest = sorted(tiny_pool.ids)
    bank.take(tiny_bundle, tiny_pool, 0, tiny_pool.ids)
    bank._barren[(id(tiny_bundle), id(tiny_pool), 0)].add(barren)  # as if every try at it copied training text
    assert bank.take(tiny_bundle, tiny_pool, 0, frozenset({barren})).doc_id in rest


def test_a_bank_players_wait_on_chooses_without_the_reader(tiny_bundle, tiny_pool):
    """Rounds the reader chooses cost seconds each and its 140 MiB: the library's worker writes those."""
    dealt = RoundBank(stock=1, reader=False).take(tiny_bundle, tiny_pool, 2, tiny_pool.ids)  # a level for readers
    assert dealt.reader_pick is None and "reader" not in dealt.settings["chosen_by"]
