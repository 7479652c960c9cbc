"""The quiz engine (rounds, scoring) and the answer store (schema, concurrency, export)."""
import csv
import io
import sqlite3
import threading

import numpy as np
import pytest

from engine.config import QUIZ
from engine.corpus import load_corpus
from engine.games.quiz import Game, make_rounds, opening_end
from engine.games.store import Store
from engine.sanitise import clean_nickname
from engine.stats import wilson
from engine.storage.answer_log import Outbox
from engine.storage.connection import StoreError
from engine.lm.tokenizer import is_word, split_words


@pytest.fixture(scope="module")
def rounds(tiny_bundle, tiny_pool):
    rounds = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents), QUIZ.difficulties["medium"],
                         np.random.default_rng(0), reader=False)  # storing rounds: the reader's choice is not tested here
    return (rounds * 2)[:12]


def test_a_round_is_fair(rounds, tiny_bundle, invented_csv):
    held_out = set(tiny_bundle.split.validation + tiny_bundle.split.test)
    positions = set()
    for r in rounds:
        assert r.doc_id in held_out
        assert sum(o.human for o in r.options) == 1
        assert {sum(map(is_word, split_words(o.text))) for o in r.options} == {r.settings["words"]}
        assert all(len(o.words) == len(split_words(o.text)) for o in r.options)
        assert all(t in tiny_bundle.tokenizer.index for t in split_words(r.options[r.human_index].text))
        positions.add(r.human_index)
    assert positions == {0, 1, 2}  # shuffled


def test_the_human_option_is_the_real_continuation(rounds, invented_csv):
    texts = {d.doc_id: d.text for d in load_corpus(invented_csv).documents}
    for r in rounds[:3]:
        real = r.options[r.human_index].text
        assert real.lower()[:40] in texts[r.doc_id].lower()


def answer_for(round_, choice=0):
    game = Game()
    game.start(round_)
    return game.answer(round_.round_id, choice, ["generic", "other"])


def test_store_schema_record_and_export(rounds, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert store.record(answer_for(rounds[0]), "p1", "  Ada\x00 Lovelace ")
    assert not store.record(answer_for(rounds[0]), "p1", "Ada")  # the same round again
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert len(rows) == 1 and rows[0]["nickname"] == "Ada Lovelace" and rows[0]["reasons"] == "generic,other"
    assert rows[0]["doc_id"] == rounds[0].doc_id and rows[0]["human_index"] == str(rounds[0].human_index)


def test_an_older_database_is_migrated(tmp_path, rounds):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, "
                   "round_id VARCHAR(32) NOT NULL UNIQUE, player_id VARCHAR(64) NOT NULL, choice INTEGER)")
    store = Store(f"sqlite:///{path}")
    assert store.record(answer_for(rounds[1]), "p2") and store.count() == 1


def test_concurrent_writers_lose_nothing(rounds, tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    base = rounds[0]
    from dataclasses import replace

    def writer(n):
        store = Store(url)  # each thread its own engine, as separate app servers would have
        for i in range(40):
            store.record(answer_for(replace(base, round_id=f"{n}-{i}"), i % 3), f"player{n}", f"p{n}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = Store(url)
    assert store.count() == 240
    board = store.leaderboard(limit=10)
    assert len(board) == 6 and all(row["rounds"] == 40 for row in board)
    by_diversity = store.accuracy_by_diversity()
    assert sum(row["answers"] for row in by_diversity) == 240


def test_nicknames_are_cleaned():
    assert clean_nickname("<b>x</b>" * 2000) == ("<b>x</b>" * 2000)[:30]
    assert clean_nickname(" \n\t ") is None


def test_wilson_interval():
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.404, abs=1e-3) and high == pytest.approx(0.596, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_opening_ends_where_the_real_words_are_all_known():
    tokens = ("w " * 25 + "rare " + "w " * 40).split()
    end = opening_end(tokens, {"w"}, prompt_words=20, length=30)
    assert end == 26  # after the rare word, the closest cut to 20 words with 30 known words next
    assert opening_end(tokens, {"w"}, prompt_words=20, length=60) is None


def test_an_opening_can_end_at_a_full_stop_before_a_plain_continuation():
    text = ("The cell stores a charge in a plate. The plate holds the charge of the cell. A laser etches the anode "
            "grid nearby. The cell stores the charge of the plate. The plate holds a charge.")
    tokens = split_words(text)
    known = set(tokens)
    assert opening_end(tokens, known, prompt_words=15, length=5) == 16  # anywhere: 15 words (16 tokens), mid-sentence
    assert tokens[opening_end(tokens, known, prompt_words=15, length=5, at_sentence=True) - 1] == "."
    assert opening_end(tokens, known, prompt_words=15, length=5, at_sentence=True) == 18  # the closest full stop
    # the five words after 16 bring "laser", "etches" and "anode": with plain=2 the opening runs on to 23 words
    assert opening_end(tokens, known, prompt_words=15, length=5, at_sentence=True, plain=2) == 26
    assert opening_end(tokens, known, prompt_words=15, length=5, at_sentence=True, plain=3) == 18
    assert opening_end(tokens, known, prompt_words=15, length=5, at_sentence=True, plain=2,
                       common=frozenset({"laser"})) == 18  # a common word is not new
    dotted = split_words("The cell stores a charge on the plate of a grid of cells (a plate, a grid, etc.) as in FIG. 2 "
                         "of the cell and the plate. The plate holds the charge of the cell. The cell stores the "
                         "charge of the plate.")
    ends = [opening_end(dotted, set(dotted), prompt_words=n, length=5, at_sentence=True) for n in (18, 21, 35)]
    assert [" ".join(dotted[:end][-3:]) for end in ends] == ["the plate ."] * 2 + ["the cell ."]  # not at "etc." or "FIG."


def test_invisible_and_control_characters_leave_nicknames():
    """Right-to-left overrides and zero-width characters cannot reverse or hide leaderboard names."""
    assert clean_nickname("\u202eevil\u202c\u200bname\u2066") == "evilname"
    assert clean_nickname("\u200b\u200d\ufeff") is None and clean_nickname("tab\there") == "tab here"


def test_the_export_neutralises_spreadsheet_formulas(rounds, tmp_path):
    """A nickname starting with '=' (or +, -, @) is exported as text, not as a formula."""
    store = Store(f"sqlite:///{tmp_path / 'f.sqlite'}")
    for i, name in enumerate(["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"]):
        store.record(answer_for(rounds[i], 0), f"p{i}", name)
    names = [row["nickname"] for row in csv.DictReader(io.StringIO(store.export_csv()))]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "plain"]


@pytest.mark.parametrize("url", ["sqlite:////proc/forbidden/quiz.sqlite", "nonsense://", "postgresql+nodriver://x"])
def test_an_unusable_database_gives_a_plain_message(url):
    """An unwritable or malformed DATABASE_URL gives a plain message, not a SQLAlchemy traceback."""
    with pytest.raises(StoreError, match="answer database is not available") as error:
        Store(url)
    assert url.split("://")[0] not in str(error.value) and "/proc" not in str(error.value)


def test_an_answer_waits_in_the_outbox_until_the_database_is_back(rounds, tmp_path):
    """An answer given while the database is down is kept and stored once it is back."""
    url = {"now": "nonsense://"}
    outbox = Outbox(record=Store.record)
    outbox.send(lambda: Store(url["now"]), answer_for(rounds[0], 0), "p1", "Ann")
    outbox.send(lambda: Store(url["now"]), answer_for(rounds[1], 1), "p1", "Ann")
    assert len(outbox.waiting) == 2 and "not available" in outbox.problem
    url["now"] = f"sqlite:///{tmp_path / 'back.sqlite'}"
    outbox.send(lambda: Store(url["now"]))
    assert outbox.waiting == [] and outbox.problem is None and Store(url["now"]).count() == 2


def test_an_in_memory_database_works_from_other_threads(rounds):
    """`sqlite://` is one database for every thread (not an empty one per thread)."""
    store = Store("sqlite://")
    thread = threading.Thread(target=store.record, args=(answer_for(rounds[0], 0), "p1", "Ann"))
    thread.start()
    thread.join()
    assert store.count() == 1 and store.leaderboard()[0]["nickname"] == "Ann"


def test_twenty_threads_share_an_in_memory_database_without_losing_an_answer(rounds):
    """`sqlite://` with 20 threads: record() said True 496 times, 490 rows were kept, with a SystemError."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    store = Store("sqlite://")

    def answer(k):  # any exception here reaches the test through map()
        return store.record(answer_for(replace(rounds[0], round_id=f"r{k}"), k % 3), f"p{k % 20}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        saved = list(pool.map(answer, range(500)))
    assert saved.count(True) == 500 and store.count() == 500


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+pysqlite"])
def test_a_sqlite_url_is_parsed_not_sliced(tmp_path, monkeypatch, scheme):
    """`sqlite+pysqlite:////abs/path.db` was refused, and a directory named after a slice of the URL
    appeared in the working directory."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "data" / "answers.sqlite"
    assert Store(f"{scheme}:///{target}").count() == 0
    assert target.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_driver_that_is_not_installed_gives_the_plain_message():
    """`mysql://` without its driver raised ModuleNotFoundError instead of StoreError."""
    with pytest.raises(StoreError, match="answer database is not available.*ModuleNotFoundError") as error:
        Store("mysql://quiz:secret@localhost/quiz")
    assert "secret" not in str(error.value) and "mysql" not in str(error.value).lower()
