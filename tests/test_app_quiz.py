"""AppTest: rounds of the quiz, scoring, difficulty, and what reaches the answer store."""
import time

import pytest

from apptest_helpers import errors, html_bodies, page


@pytest.fixture()
def quiz(app_setup):
    at = page("app_pages/quiz.py")
    assert not errors(at)
    return at


def stored_rounds(at, timeout=60) -> set[str]:
    """The ids of the library's rounds for the current level from abstracts other than the current one,
    once the server's thread has stored some and the server has read them."""
    from engine.config import QUIZ
    from ui.common import store

    current = at.session_state["quiz"].game.current
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready = {i for i, doc in store().ready(current.bundle, current.level).items() if doc != current.doc_id}
        if ready:
            time.sleep(QUIZ.library_refresh_s)
            return ready
        time.sleep(0.1)
    return set()


def human_label(at) -> str:
    game = at.session_state["quiz"].game
    return "ABC"[game.current.human_index]


def test_answer_reveal_score_and_next(quiz):
    at = quiz
    at.text_input(key="quiz_nickname").input("<b>Ada</b>").run()
    label = human_label(at)
    at.button(key=f"quiz_pick_{label}").click().run()
    assert not errors(at) and "was written by people" in at.success[0].value
    assert at.metric[0].value == str(at.session_state["quiz"].game.score) != "0"
    assert "Human" in " ".join(m.value for m in at.markdown) and 'class="tok' in html_bodies(at)
    assert stored_rounds(at)
    at.button(key="quiz_next").click().run()
    dealt = at.session_state["quiz"].game.current
    from ui.common import store

    assert dealt.stored_id in store().ready(dealt.bundle, dealt.level)  # a round the library holds: a read,
    assert dealt.round_id != dealt.stored_id  # dealt under an id of its own (a round written now keeps its id)
    wrong = next(x for x in "ABC" if x != human_label(at))
    at.button(key=f"quiz_pick_{wrong}").click().run()
    assert at.error and at.metric[1].value == "0"  # the streak is broken
    board = store().leaderboard()
    assert board == [{"nickname": "<b>Ada</b>", "score": board[0]["score"], "accuracy": 0.5, "rounds": 2}]
    assert at.dataframe  # rendered as data, never as HTML
    assert at.dataframe[0].value["rounds"].tolist() == [2]  # a named answer is on the board at once (not cached)


def test_the_reveal_says_how_other_players_did_on_the_same_abstract(quiz):
    from dataclasses import replace

    from engine.games.quiz import Answer
    from ui.common import store

    at = quiz
    current = at.session_state["quiz"].game.current
    for n, correct in enumerate([True, False, True]):  # three others played this abstract before
        other = replace(current, round_id=f"other-{n}")
        store().record(Answer(other, other.human_index if correct else (other.human_index + 1) % 3, correct, 1, 900, ()),
                       f"player-{n}")
    at.button(key="quiz_pick_A").click().run()
    assert "Other players on this abstract: 2 of 3 found the human (67%)." in [c.value for c in at.caption]


def test_the_reveal_gives_a_stored_rounds_own_record_once_it_has_enough_answers(quiz):
    import uuid
    from dataclasses import replace

    from engine.config import QUIZ
    from engine.games.quiz import Answer
    from engine.games.round_library import fooled_share
    from ui.common import store

    at = quiz
    at.button(key="quiz_pick_A").click().run()
    assert stored_rounds(at)
    at.button(key="quiz_next").click().run()
    current = at.session_state["quiz"].game.current
    assert current.stored_id  # dealt from the library
    for n in range(QUIZ.round_record_min - 1):  # others were dealt the same stored round, and fooled
        other = replace(current, round_id=uuid.uuid4().hex)
        store().record(Answer(other, (other.human_index + 1) % 3, False, 0, 900, ()), f"player-{n}")
    at.button(key=f"quiz_pick_{human_label(at)}").click().run()
    captions = [c.value for c in at.caption]
    assert (f"This very round: 1 of {QUIZ.round_record_min} players found the human; by its rating it fools "
            f"{fooled_share(store().round_record(current.stored_id)[2]):.0%} of players.") in captions


def test_without_others_on_the_abstract_the_reveal_says_how_others_did_at_this_level(quiz):
    from dataclasses import replace

    from engine.games.quiz import Answer
    from ui.common import store

    at = quiz
    current = at.session_state["quiz"].game.current
    level = {**current.settings, "level": current.level}
    for n, (settings, bundle, correct) in enumerate([(level, current.bundle, True), (level, current.bundle, False),
                                                     (level, current.bundle, False),
                                                     ({**level, "level": current.level + 1}, current.bundle, True),
                                                     (level, "another-model", True)]):
        other = replace(current, round_id=f"other-{n}", doc_id=f"elsewhere-{n}", settings=settings, bundle=bundle)
        store().record(Answer(other, other.human_index if correct else (other.human_index + 1) % 3, correct, 1, 900, ()),
                       f"player-{n}")
    at.button(key="quiz_pick_A").click().run()
    assert ("No one else has played this abstract yet; other players at this level: 1 of 3 found the human (33%)."
            in [c.value for c in at.caption])


def test_a_repeated_or_late_answer_counts_once(quiz):
    from ui.common import store

    at = quiz
    game = at.session_state["quiz"].game
    round_id = game.current.round_id
    at.button(key="quiz_pick_A").click().run()
    assert game.answer(round_id, 1) is None  # the second click of a double click
    assert game.answer("an-old-round", 0) is None
    assert store().count() == 1 and game.rounds == 1


def test_difficulty_sets_the_rung_and_says_what_it_means(quiz):
    from engine.config import QUIZ

    at = quiz
    at.selectbox(key="quiz_difficulty").select("hard").run()
    game = at.session_state["quiz"].game
    spec = QUIZ.levels[QUIZ.difficulties["hard"]]
    assert game.difficulty == "hard" and game.current.level == QUIZ.difficulties["hard"]
    assert spec.diversity[0] <= game.current.diversity <= spec.diversity[1]
    assert spec.meaning in [c.value for c in at.caption]
    assert game.current.opening.endswith(".")  # a hard round's options all start a sentence
    at.selectbox(key="quiz_difficulty").select("adaptive").run()
    assert any(c.value.startswith("Adapts to you") for c in at.caption)
    at.button(key="quiz_pick_A").click().run()
    assert any(t.label == "How convincing is the machine?" for t in at.tabs)
    assert not at.get("plotly_chart")  # a tab runs only while it is open
    at.session_state["quiz_tab"] = "How convincing is the machine?"
    at.run()
    assert at.get("plotly_chart")


def test_a_difficulty_no_abstract_fits_falls_back_to_easy_and_says_why(quiz, monkeypatch):
    from dataclasses import replace

    from engine.config import QUIZ
    from engine.games import bank, quiz as quiz_module
    from ui.common import round_bank, round_library

    round_bank.clear()  # a fresh bank: the tiny model copies its training text, and the suite's
    round_library.clear()  # earlier deals leave the shared bank few easy abstracts that give a round

    unreachable = replace(QUIZ, levels=(*QUIZ.levels[:-1], replace(QUIZ.levels[-1], length=500)))
    for module in (quiz_module, bank):
        monkeypatch.setattr(module, "QUIZ", unreachable)
    at = quiz
    at.selectbox(key="quiz_difficulty").select("hard").run()
    assert not errors(at) and "try an easier one" in at.info[0].value and "Playing on easy" in at.info[0].value
    game = at.session_state["quiz"].game
    assert game.difficulty == "easy" and game.current.level == 0
    at.run()
    assert not at.info  # said once


def test_a_corpus_that_gives_no_round_at_all_is_said_not_shown_as_an_error(app_setup, monkeypatch):
    from engine.games.quiz import NoRounds, Pool

    def none(*args):
        raise NoRounds("No abstract gives a round at this difficulty: every try copied a training abstract.")

    monkeypatch.setattr(Pool, "playable", none)
    at = page("app_pages/quiz.py")
    assert not errors(at) and "every try copied" in at.info[0].value
    assert at.session_state["quiz"].game.current is None and not at.button


@pytest.mark.parametrize("down", ["sqlite:////proc/forbidden/answers.sqlite", "mysql://quiz:pw@localhost/quiz"],
                         ids=["unwritable", "driver not installed"])
def test_an_answer_survives_a_database_outage(app_setup, monkeypatch, tmp_path, down):
    """With the database down (unwritable, or a driver that is not installed) the page shows a notice,
    no traceback, and keeps the answer."""
    from ui.common import store

    monkeypatch.setenv("DATABASE_URL", down)
    store.clear()
    at = page("app_pages/quiz.py")
    assert not at.exception and any("not available" in i.value for i in at.info)
    at.button(key=f"quiz_pick_{human_label(at)}").click().run()
    assert not at.exception and "was written by people" in at.success[0].value
    warning = " ".join(w.value for w in at.warning)
    assert "1 unsaved answer" in warning and "/proc" not in warning
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'back.sqlite'}")
    at.button(key="quiz_retry").click().run()
    assert not at.warning and store().count() == 1


def test_the_reveal_shows_what_the_2024_reader_thought(quiz, monkeypatch):
    from dataclasses import replace

    from engine.lm import reader

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (requirements-dev.txt has it)")
    at = quiz
    assert stored_rounds(at)  # chosen with the reader by the library's worker (a player never waits for one)
    at.button(key="quiz_pick_A").click().run()
    at.button(key="quiz_next").click().run()
    game = at.session_state["quiz"].game
    assert game.current.stored_id
    pick = "ABC"[game.current.reader_pick]
    at.button(key="quiz_pick_A").click().run()
    assert any(f"would have picked {pick}" in c.value for c in at.caption)
    at.button(key="quiz_next").click().run()
    game = at.session_state["quiz"].game  # a round made where the reader is not installed
    game.start(replace(game.current, options=tuple(replace(o, reader_logp=None) for o in game.current.options)))
    monkeypatch.setattr(reader, "READER_PACKAGE", "no-such-reader-package")
    at.button(key="quiz_pick_A").click().run()
    assert not at.exception and "The 2024 reader's view is not shown: it is not installed on this server." in [
        c.value for c in at.caption]
