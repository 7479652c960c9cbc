"""The boundary game ("Where does the machine take over?"): sentences, points, rounds, and the answer store."""
import csv
import io
import sqlite3
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.games.boundary import (BoundaryAnswer, BoundaryGame, BoundaryRound, Sentence, draw_boundary,
                                   make_boundary_round, points, sentence_spans, split_sentences, verdict,
                                   writable_prefix, write_sentences)
from engine.config import BOUNDARY
from engine.corpus import Document, load_corpus
from engine.games.boundary_store import boundary_answers
from engine.games.store import Store
from engine.storage.answer_log import Outbox
from engine.storage.connection import StoreError
from engine.lm.tokenizer import detokenize, is_word
from ui.render import sentences_html


def test_sentences_end_at_stops_but_not_inside_figures_abbreviations_or_subscripts():
    text = ("A sensor array, e.g. a camera, reads 2.5 volts. As shown in FIG. 3, the weight W.sub.1 is updated! "
            "Is it stable? Yes, within 10,000 steps")
    assert [detokenize(s) for s in split_sentences(text)] == [
        "A sensor array, e.g. a camera, reads 2.5 volts.",
        "As shown in FIG. 3, the weight w. Sub. 1 is updated!",  # the detokenizer, for both writers
        "Is it stable?", "Yes, within 10,000 steps"]
    assert split_sentences("") == [] and len(split_sentences("One sentence only.")) == 1


def test_no_sentence_ends_after_etc_in_brackets_inside_brackets_or_before_any_word():
    def sentences(text):
        return [" ".join(s) for s in split_sentences(text)]

    text = ("The coil holds metals (copper, tin, etc.). Operators (e.g., + -.) join terms. "
            "A bias (of 2 V. or less) is set, etc., and kept. Done.")
    assert sentences(text) == ["the coil holds metals ( copper , tin , etc . ) .", "operators ( e.g. , + - . ) join terms .",
                               "a bias ( of 2 v . or less ) is set , etc . , and kept .", "done ."]
    assert sentences("An open (bracket. Never closes. Fine.") == ["an open ( bracket .", "never closes .", "fine ."]
    assert sentences(". . A start.") == [". . a start ."]
    assert sentences("A gain .eta. of x.times.y.sub.2 is set. It runs several times. Done.") == [
        "a gain . eta . of x . times . y . sub . 2 is set .", "it runs several times .", "done ."]


@given(st.lists(st.sampled_from(["coil", "a", ".", ",", "(", ")", "etc", "e.g.", "+", "-", "!", "fig", "1"]),
                max_size=40))
def test_sentences_cover_the_tokens_in_order_and_each_but_the_last_holds_a_word_and_ends(tokens):
    spans = sentence_spans(tokens)
    assert [t for a, b in spans for t in tokens[a:b]] == tokens
    for a, b in spans[:-1]:
        assert tokens[b - 1] in ".!?" and any(is_word(t) for t in tokens[a:b])


@pytest.mark.parametrize("boundary, guess, expected", [
    (2, 2, 5), (2, 3, 4), (2, 6, 1), (2, 7, 0),  # exact, one, four and five sentences late
    (2, 1, 0), (2, 0, 0),  # too early: said machine on a human sentence
    (2, None, 0),  # never said it, but the machine wrote
    (8, None, 5), (8, 3, 0)])  # the inventors wrote all 8: never saying it wins, saying it is too early
def test_points(boundary, guess, expected):
    assert points(boundary, 8, guess) == expected


def test_the_boundary_is_never_the_first_sentence_and_sometimes_never():
    rng = np.random.default_rng(0)
    drawn = Counter(draw_boundary(5, rng, never=0.2) for _ in range(4000))
    assert set(drawn) == {1, 2, 3, 4, 5}
    assert drawn[5] / 4000 == pytest.approx(0.2, abs=0.03)
    assert all(drawn[k] / 4000 == pytest.approx(0.2, abs=0.03) for k in range(1, 5))


@pytest.fixture(scope="module")
def documents(tiny_bundle, invented_csv):
    return tiny_bundle.held_out_documents(load_corpus(invented_csv))


def test_the_held_out_documents_are_the_validation_and_test_splits(tiny_bundle, documents):
    split = tiny_bundle.split
    assert {d.doc_id for d in documents} == set(split.validation + split.test)
    assert not {d.doc_id for d in documents} & set(split.train)


def test_a_round_keeps_the_human_sentences_and_the_model_writes_the_rest(tiny_bundle, documents):
    rng = np.random.default_rng(1)
    rounds = [make_boundary_round(tiny_bundle, documents, rng, (0.5, 1.5), max_sentences=5) for _ in range(25)]
    texts = {d.doc_id: d.text for d in documents}
    assert {r.boundary for r in rounds} >= {1, 2, 3, 4} and any(r.never for r in rounds)
    for r in rounds:
        real = [detokenize(s) for s in split_sentences(texts[r.doc_id])][:5]
        assert [s.text for s in r.sentences[:r.boundary]] == real[:r.boundary]
        assert all(s.human and not s.words for s in r.sentences[:r.boundary])
        machine = r.sentences[r.boundary:]
        assert all(not s.human and s.words and s.text == detokenize([w.token for w in s.words]) for s in machine)
        assert all(s.text[-1] in ".!?" for s in machine)  # whole sentences
        assert len(r.sentences) == len(real)  # as many as the real abstract (the tiny model always ends them)
        assert 0.5 <= r.diversity <= 1.5 and r.settings["diversity"] == r.diversity and r.bundle == "tiny"


def test_the_machine_stops_at_whole_sentences(tiny_bundle):
    opening = "A neural network stores input signals."
    for n, max_words in [(3, 250), (50, 12)]:  # enough words; too few for 50 sentences
        written = write_sentences(tiny_bundle, opening, n, 1.0, rng_seed=4, max_words=max_words)
        assert all(words[-1].token in ".!?" for words in written) and 1 <= len(written) <= n
    assert len(write_sentences(tiny_bundle, opening, 3, 1.0, rng_seed=4)) == 3
    [unfinished] = write_sentences(tiny_bundle, opening, 2, 1.0, rng_seed=4, max_words=2)  # kept: the only one
    assert len(unfinished) >= 2 and unfinished[-1].token not in ".!?"


@pytest.mark.parametrize("mix, expected", [(0.3, 3), (0.0, 2)])
def test_an_abstract_ends_before_a_word_the_model_could_not_write(tiny_bundle, mix, expected):
    from types import SimpleNamespace

    from engine.config import CacheConfig

    model = SimpleNamespace(tokenizer=tiny_bundle.tokenizer, cache=CacheConfig(mix=mix),
                            net=SimpleNamespace(windowed=False))
    sentences = split_sentences("The zorbulator receives sensor data. The system updates a weight matrix. "
                                "The zorbulator stores input signals. A flumox compares output values. "
                                "The system updates a weight matrix.")
    assert "zorbulator" not in tiny_bundle.tokenizer.index
    # with a cache the model may copy "zorbulator" from the first sentence, never write "flumox"
    assert writable_prefix(model, sentences) == expected


def test_the_boundary_is_drawn_before_the_abstract_so_short_ones_do_not_make_it_early(tiny_bundle):
    short = [Document(f"s{i}", "A neural network stores input signals. The system compares output values.")
             for i in range(8)]
    long = [Document("long", " ".join(["The processor updates a weight matrix."] * 5))]
    rng = np.random.default_rng(5)
    rounds = [make_boundary_round(tiny_bundle, short + long, rng, max_sentences=5) for _ in range(300)]
    drawn = Counter(r.boundary if not r.never else "never" for r in rounds)
    assert all(drawn[k] / 300 == pytest.approx((1 - BOUNDARY.never) / 4, abs=0.06) for k in range(1, 5))  # not mostly 1
    assert all(r.doc_id == "long" for r in rounds if not r.never and r.boundary > 1)


def test_one_sentence_abstracts_are_skipped(tiny_bundle):
    rng = np.random.default_rng(2)
    one, two = Document("1", "A neural network stores input signals."), Document("2", "A neural network. The system stores input signals.")
    flumox = Document("3", "A neural network. A flumox stores input signals.")  # a word it could never write
    assert make_boundary_round(tiny_bundle, [one, two, flumox], rng).doc_id == "2"
    with pytest.raises(ValueError, match="two sentences"):
        make_boundary_round(tiny_bundle, [one, flumox], rng)


def test_unplayed_abstracts_come_first(tiny_bundle, documents):
    rng, game = np.random.default_rng(3), BoundaryGame()
    for _ in range(len(documents)):
        game.start(make_boundary_round(tiny_bundle, documents, rng, played=game.played))
    assert sorted(game.played) == sorted(d.doc_id for d in documents)


def invented_round(boundary: int = 2, n: int = 4) -> BoundaryRound:
    from engine.lm.generate import Word

    sentences = [Sentence(f"People wrote <b>{i}</b>.", True) for i in range(boundary)]
    sentences += [Sentence("The net = wrote.", False, (Word("the", 0.3, 0), Word("net", 0.01, 200),
                                                      Word("=", 0.2, 3), Word("wrote", 0.1, 20), Word(".", 0.5, 0)))
                  for _ in range(n - boundary)]
    return BoundaryRound(f"r{boundary}-{n}-{np.random.default_rng().integers(1 << 30)}", "=doc", "T", tuple(sentences),
                         boundary, 0.8, "tiny", {"diversity": 0.8})


def play(game: BoundaryGame, round_: BoundaryRound, machine_at: int | None) -> BoundaryAnswer:
    """Say "still human" until ``machine_at`` (None: to the end), as the page's buttons do."""
    game.start(round_)
    for i in range(len(round_.sentences)):
        answer = game.say(round_.round_id, i, i == machine_at)
        if answer is not None:
            return answer
    raise AssertionError("the round never ended")


def test_a_game_shows_sentence_by_sentence_and_ignores_double_clicks():
    game, r = BoundaryGame(), invented_round(2, 4)
    game.start(r)
    assert game.shown == 1 and game.say(r.round_id, 0, False) is None and game.shown == 2
    assert game.say(r.round_id, 0, False) is None and game.shown == 2  # the second click of a double click
    assert game.say("another-round", 1, True) is None
    assert game.say(r.round_id, 1, False) is None and game.shown == 3
    answer = game.say(r.round_id, 2, True)
    assert (answer.guess, answer.points, answer.late, game.score, game.exact) == (2, 5, 0, 5, 1)
    assert game.say(r.round_id, 2, True) is None and game.rounds == 1  # over: nothing counts twice
    assert verdict(answer) == "Exactly: the machine took over at sentence 3."


def test_late_early_missed_and_never_rounds():
    game = BoundaryGame()
    late = play(game, invented_round(1, 4), 3)
    assert (late.points, late.late) == (3, 2) and verdict(late).startswith("2 sentences late")
    early = play(game, invented_round(2, 4), 1)
    assert (early.points, early.late) == (0, None) and verdict(early).startswith("Too early")
    missed = play(game, invented_round(2, 4), None)
    assert (missed.guess, missed.points) == (None, 0) and verdict(missed).startswith("Missed")
    never = play(game, invented_round(4, 4), None)
    assert never.points == BOUNDARY.points and verdict(never).startswith("Right: the inventors wrote every")
    assert (game.score, game.rounds, game.exact) == (8, 4, 1)


def test_sentences_are_escaped_while_playing_and_coloured_at_the_reveal():
    r = invented_round(2, 4)
    playing = sentences_html(r.sentences, 2)
    assert "<b>" not in playing and "&lt;b&gt;1&lt;/b&gt;" in playing and "net" not in playing
    assert playing.count('id="current-sentence"') == 1 and playing.index("current-sentence") > playing.index("0&lt;")
    reveal = sentences_html(r.sentences, 4, r.boundary, guess=3)
    assert reveal.count("machine from here") == 1 and reveal.index("machine from here") < reveal.index('class="tok')
    assert reveal.count('class="tok r10"') == 6 and "<b>" not in reveal and reveal.count("you said machine") == 1
    assert "every sentence" in sentences_html(r.sentences[:2], 2, 2)


def test_answers_are_stored_once_exported_formula_safe_and_summarised(tmp_path):
    store, game = Store(f"sqlite:///{tmp_path / 'a.sqlite'}"), BoundaryGame()
    answers = [play(game, invented_round(1, 4), 1), play(game, invented_round(1, 4), 3),
               play(game, invented_round(2, 4), 0), play(game, invented_round(2, 4), None),
               play(game, invented_round(4, 4), None)]
    for answer in answers:
        assert store.record_boundary(answer, "p1", "=HYPERLINK(1)")
    assert not store.record_boundary(answers[0], "p1")  # the same round again
    rows = list(csv.DictReader(io.StringIO(store.export_csv(boundary_answers))))
    assert [(r["boundary"], r["guess"], r["points"], r["late"]) for r in rows] == [
        ("1", "1", "5", "0"), ("1", "3", "3", "2"), ("2", "0", "0", ""), ("2", "", "0", ""), ("4", "", "5", "")]
    assert {r["nickname"] for r in rows} == {"'=HYPERLINK(1)"} and {r["doc_id"] for r in rows} == {"'=doc"}
    assert rows[0]["bundle"] == "tiny" and '"diversity": 0.8' in rows[0]["settings"]
    assert "<b>0</b>" in rows[3]["sentences"]  # kept as written; escaped only where shown
    assert store.count() == 0  # the quiz's table is apart
    store.record_boundary(play(game, replace(invented_round(1, 4), bundle="other", diversity=1.25), 1), "p2")
    other, tiny = store.boundary_stats()  # by model name; the "never" round has nothing to notice
    assert tiny == {"bundle": "tiny", "diversity": 0.9, "answers": 4, "noticed": 2, "too_early": 1, "missed": 1,
                    "mean_late": 1.0, "half_width": pytest.approx(1.96)}
    assert other == {"bundle": "other", "diversity": 1.3, "answers": 1, "noticed": 1, "too_early": 0, "missed": 0,
                     "mean_late": 0.0, "half_width": None}  # no interval from one answer


def test_an_older_database_gets_the_new_table_and_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE boundary_answers (id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, "
                   "round_id VARCHAR(32) NOT NULL UNIQUE, player_id VARCHAR(64) NOT NULL, points INTEGER)")
    store = Store(f"sqlite:///{path}")
    assert store.record_boundary(play(BoundaryGame(), invented_round(1, 3), 1), "p1")
    assert store.boundary_stats()[0]["noticed"] == 1


def test_an_answer_waits_in_the_outbox_while_the_store_is_down(tmp_path):
    def down():
        raise StoreError("Could not save the answer: the answer database is not available right now.")

    outbox, answer = Outbox(record=Store.record_boundary), play(BoundaryGame(), invented_round(1, 3), 2)
    outbox.send(down, answer, "p1", "Ada")
    assert len(outbox.waiting) == 1 and "not available" in outbox.problem
    store = Store(f"sqlite:///{tmp_path / 'back.sqlite'}")
    outbox.send(lambda: store)
    assert not outbox.waiting and outbox.problem is None
    assert list(csv.DictReader(io.StringIO(store.export_csv(boundary_answers))))[0]["nickname"] == "Ada"

