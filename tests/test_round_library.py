"""The round library: rounds stored without the abstract's text and rebuilt equal, workers that never
write one round twice and stop at the stock, rounds dealt to many players within their decks,
records and ratings from answers, and a worker process that stops on SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace

import numpy as np
import pytest

from engine.config import QUIZ, ROOT
from engine.games.bank import RoundBank
from engine.games.library_server import RoundLibrary, fill_in_child
from engine.games.make_rounds import make
from engine.games.quiz import Answer, make_rounds
from engine.games.round_library import fill, fooled_share, round_content, stored_round
from engine.games.store import Store


@pytest.fixture()
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'library.sqlite'}"


@pytest.fixture(scope="module")
def postgres_server():
    """A throwaway PostgreSQL cluster (bench/live_room.py starts it); skipped where PostgreSQL is not installed."""
    sys.path.insert(0, str(ROOT / "bench"))
    from live_room import postgres

    cluster = postgres()
    try:
        server = cluster.__enter__()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield server
    cluster.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, url):
    """A fresh database on SQLite, and on PostgreSQL where it is installed (its claims once never stopped)."""
    if request.param == "sqlite":
        return url
    from sqlalchemy import create_engine, text

    server, name = request.getfixturevalue("postgres_server"), f"library_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server.rsplit('/', 1)[0]}/{name}"


def answer(round_, correct: bool) -> Answer:
    choice = round_.human_index if correct else (round_.human_index + 1) % 3
    return Answer(round_, choice, correct, 1, 900, ())


def test_a_stored_round_keeps_no_abstract_text_and_is_rebuilt_equal(tiny_bundle, tiny_pool):
    at_full_stop = tuple(replace(spec, at_sentence=True, plain=3) for spec in QUIZ.levels)
    rounds = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:3]), 1, np.random.default_rng(0))
    rounds += make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[3:6]), 1, np.random.default_rng(0),
                          levels=at_full_stop)
    assert any(r.opening.endswith(".") for r in rounds) and any(not r.opening.endswith(".") for r in rounds)
    for r in rounds:
        content = json.loads(json.dumps(round_content(r)))  # as the database keeps it
        human = r.options[r.human_index]
        assert human.text not in json.dumps(content) and r.title not in json.dumps(content)
        assert not {"opening", "title", "date"} & set(content)
        doc = next(d for d in tiny_pool.documents if d.doc_id == r.doc_id)
        assert stored_round(content, r.round_id, tiny_bundle, doc) == replace(r, stored_id=r.round_id)
    old = rounds[0]  # cut anywhere: stored before rounds kept where their opening ends, it is cut the same again
    settings = {k: v for k, v in old.settings.items() if k != "opening_tokens"}
    content = {**json.loads(json.dumps(round_content(old))), "settings": settings}
    doc = next(d for d in tiny_pool.documents if d.doc_id == old.doc_id)
    assert stored_round(content, old.round_id, tiny_bundle, doc) == replace(old, stored_id=old.round_id,
                                                                            settings=settings)


def test_two_workers_never_write_one_round_twice_and_stop_at_the_stock(tiny_bundle, tiny_pool, any_url):
    url = any_url
    stock, made, ready = 6, [], threading.Barrier(2)

    def worker():
        store, stop = Store(url), threading.Event()
        ready.wait(60)  # both connected: neither gets a head start on the other's connection time
        made.append(make(store, tiny_bundle, tiny_pool, [0], None, True, stop, stock=stock, batch=2))

    workers = [threading.Thread(target=worker) for _ in range(2)]  # each its own engine, as on two machines
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    store = Store(url)
    stored = store.ready(tiny_bundle.name, 0)
    assert sum(made) == len(stored) and all(made)  # both worked, and every round they wrote is stored
    assert stock <= len(stored) <= stock + 1  # two claims at once may each pass the stock by one
    assert len(set(stored.values())) == len(stored)  # one round per abstract
    assert fill(store, tiny_bundle, tiny_pool, 0, 2, "a third", stock) == (0, 0)  # stocked: nothing claimed


def test_a_failed_batch_gives_its_abstracts_back(tiny_bundle, tiny_pool, any_url, monkeypatch):
    store = Store(any_url)
    monkeypatch.setattr("engine.games.round_library.make_rounds", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fill(store, tiny_bundle, tiny_pool, 0, 3, "w1", stock=3)
    monkeypatch.undo()
    assert fill(store, tiny_bundle, tiny_pool, 0, 3, "w2", stock=3) == (3, 3)


def test_rounds_are_dealt_to_many_players_within_their_decks(tiny_bundle, tiny_pool, url):
    store = Store(url)
    fill(store, tiny_bundle, tiny_pool, 1, 4, "w", stock=4)
    stored = store.ready(tiny_bundle.name, 1)
    library = RoundLibrary(lambda: store, RoundBank(stock=1), background=False)
    dealt = [library.take(tiny_bundle, tiny_pool, 1, frozenset(stored.values())) for _ in range(12)]
    assert {r.stored_id for r in dealt} <= set(stored) and len({r.round_id for r in dealt} - set(stored)) == 12
    outside = frozenset(tiny_pool.ids - set(stored.values()))
    written = library.take(tiny_bundle, tiny_pool, 1, outside)  # none stored fits: written, then kept
    assert written.doc_id in outside and written.stored_id == written.round_id
    assert store.stock(tiny_bundle.name, 1) == 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a priority per thread is Linux's")
def test_the_library_thread_runs_below_the_pages_it_serves(tiny_bundle, tiny_pool, url):
    store = Store(url)
    library = RoundLibrary(lambda: store, RoundBank(stock=1), stock=1)
    library.take(tiny_bundle, tiny_pool, 1, frozenset(tiny_pool.ids))  # starts the filler thread
    pages = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    for _ in range(100):
        if os.getpriority(os.PRIO_PROCESS, library._filler.native_id) > pages:
            break
        time.sleep(0.05)
    assert os.getpriority(os.PRIO_PROCESS, library._filler.native_id) == min(pages + QUIZ.library_nice, 19)


def test_the_library_thread_waits_while_the_machine_is_busy(tiny_bundle, tiny_pool, url):
    """At 200 players the thread writing rounds for later took a core from the pages being served."""
    store, busy = Store(url), threading.Event()
    busy.set()
    library = RoundLibrary(lambda: store, RoundBank(stock=1), stock=2, busy=busy.is_set)
    library.take(tiny_bundle, tiny_pool, 1, frozenset(tiny_pool.ids))  # starts the filler thread
    time.sleep(1.5)
    assert store.stock(tiny_bundle.name, 1) <= 1  # at most the round the bank wrote for the player
    busy.clear()
    for _ in range(200):
        if store.stock(tiny_bundle.name, 1) == 2:
            break
        time.sleep(0.05)
    assert store.stock(tiny_bundle.name, 1) == 2


def test_the_app_servers_thread_writes_rounds_in_a_child_process(tiny_bundle, tiny_pool, url, invented_csv):
    """The reader that chooses rounds took 140 MiB of the server's memory: a child process writes them,
    reading the corpus the pool came from."""
    store = Store(url)
    stored = fill_in_child(store, tiny_bundle, replace(tiny_pool, source=str(invented_csv)), 0, 2, "unused", stock=3)
    assert stored <= 3 and store.stock(tiny_bundle.name, 0) == stored
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT worker, status FROM quiz_rounds").all()
    # every claim written and finished by the child: a round, or barren (the tiny model copies its training text)
    assert rows and {status for _, status in rows} <= {"ready", "barren"}
    assert all(worker.split(":")[1] != str(os.getpid()) for worker, _ in rows)


def test_a_database_in_memory_is_filled_in_this_process(tiny_bundle, tiny_pool):
    store = Store("sqlite://")
    assert fill_in_child(store, tiny_bundle, tiny_pool, 1, 2, "here", stock=2) == 2 == store.stock(tiny_bundle.name, 1)


def test_answers_give_a_stored_round_its_record_and_rating(tiny_bundle, tiny_pool, url):
    store = Store(url)
    fill(store, tiny_bundle, tiny_pool, 0, 2, "w", stock=2)
    ready = store.ready(tiny_bundle.name, 0)
    documents = {d.doc_id: d for d in tiny_pool.documents}
    easy, hard = [stored_round(content, i, tiny_bundle, documents[ready[i]])
                  for i, content in store.contents(list(ready)).items()]
    for player in range(10):
        for r, correct in ((easy, True), (hard, player % 5 == 0)):
            dealt = replace(r, round_id=uuid.uuid4().hex)
            assert store.record(answer(dealt, correct), f"p{player}")
    assert not store.record(answer(dealt, False), "p9")  # a repeat: not counted again
    (n, found, easy_rating), (_, hard_found, hard_rating) = (store.round_record(r.stored_id)
                                                                for r in (easy, hard))
    assert (n, found, hard_found) == (10, 10, 2)
    assert easy_rating < 0 < hard_rating and fooled_share(hard_rating) > 0.5 > fooled_share(easy_rating)
    assert store.round_record("no-such-round") is None


def test_the_worker_stops_on_sigterm(tiny_bundle, invented_csv, url):
    worker = subprocess.Popen([sys.executable, "-m", "engine.games.make_rounds", "--model", str(tiny_bundle.path),
                               "--data", str(invented_csv), "--database", url, "--levels", "0"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(8)  # loading, then writing or (stocked) waiting
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0 and "stopped" in out, out
