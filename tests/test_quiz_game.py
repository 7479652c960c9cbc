"""The game's rules: a deck without repeats, adaptive difficulty on its own staircase, the
memorisation guard, and the human-likeness critic."""
from dataclasses import replace

import numpy as np
import pytest

from engine.games.bank import RoundBank
from engine.config import NOVELTY_RUN, QUIZ
from engine.corpus import load_corpus
from engine.games.critic import FEATURES, Critic, load_critic
from engine.games import fit_critic, quiz
from engine.games.fit_critic import fit_bundle_critic
from engine.lm.generate import Word
from engine.games.novelty import TrainingRuns
from engine.games.quiz import Game, NoRounds, Option, Round, make_rounds, quiz_pool
from engine.lm.tokenizer import split_words


def fake_round(level: int, doc_id: str = "d") -> Round:
    options = tuple(Option(t, t == "h", (Word(t, 0.5, 0),)) for t in "hmm")
    return Round(f"r{np.random.random()}", doc_id, "", "", "opening", options, 1.0, "b", {"level": level}, 0.0)


def test_the_deck_deals_every_abstract_once_before_any_repeats(tiny_bundle, tiny_pool):
    game, bank = Game(difficulty="easy"), RoundBank(stock=2)
    n = len(tiny_pool.documents)
    dealt = [game.deal(bank, tiny_bundle, tiny_pool).doc_id for _ in range(n + 3)]
    assert n >= 8 and sorted(dealt[:n]) == sorted(tiny_pool.ids)  # the whole deck, each abstract once
    assert len(set(dealt[n:])) == 3  # then a fresh pass, again without repeats


def test_a_hard_round_comes_only_from_an_abstract_that_fits_it(tiny_bundle, tiny_pool, monkeypatch):
    hard = QUIZ.levels[QUIZ.difficulties["hard"]]
    playable = tiny_pool.playable(tiny_bundle, hard)
    assert playable and all(quiz.opening_of(tiny_bundle, d, hard)[0][-1] == "." for d in playable)
    dealt = Game(difficulty="hard").deal(RoundBank(stock=1), tiny_bundle, tiny_pool)
    assert dealt.doc_id in {d.doc_id for d in playable} and dealt.opening.endswith(".")
    unreachable = replace(QUIZ, levels=(*QUIZ.levels[:-1], replace(hard, length=500)))
    monkeypatch.setattr(quiz, "QUIZ", unreachable)
    with pytest.raises(NoRounds, match="try an easier one"):
        Game(difficulty="hard").deal(RoundBank(stock=1), tiny_bundle, tiny_pool)


def test_scoring_streaks_and_points_by_rung():
    game = Game(difficulty="hard")
    hard = fake_round(QUIZ.difficulties["hard"])
    game.start(hard)
    assert game.answer(hard.round_id, hard.human_index).correct
    assert (game.score, game.streak) == (3, 1)  # the hardest level is worth 3
    assert game.answer(hard.round_id, 0) is None  # already answered
    easy = fake_round(0)
    game.start(easy)
    assert not game.answer(easy.round_id, (easy.human_index + 1) % 3, ["grammar"]).correct
    assert (game.score, game.streak, game.best_streak, game.rounds, game.accuracy) == (3, 0, 1, 2, 0.5)
    game.start(easy)
    with pytest.raises(ValueError):
        game.answer(easy.round_id, 7)


def test_fixed_difficulty_rounds_leave_the_adaptive_staircase_alone():
    game = Game(difficulty="easy")
    before = game.adaptive_position
    for _ in range(5):  # a winning streak at a fixed difficulty
        r = fake_round(0)
        game.start(r)
        game.answer(r.round_id, r.human_index)
    assert game.adaptive_position == before
    game.difficulty = "adaptive"
    r = fake_round(game.level())
    game.start(r)
    game.difficulty = "easy"  # changed while the adaptive round was showing: it still counts as adaptive
    game.answer(r.round_id, r.human_index)
    assert game.adaptive_position == before + QUIZ.adaptive_step


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adaptive_play_stays_within_a_rung_of_where_the_player_is_right_half_the_time(seed):
    """A simulated player is right with a probability that falls with the level; after a few rounds
    the staircase stays within one level of level 3, where that probability is nearest 50%."""
    right = [0.95, 0.85, 0.65, 0.45, 0.3]
    target = {2, 3, 4}
    rng, game, visited = np.random.default_rng(seed), Game(difficulty="adaptive"), []
    for n in range(600):
        r = fake_round(game.level())
        game.start(r)
        game.answer(r.round_id, r.human_index if rng.random() < right[r.level] else (r.human_index + 1) % 3)
        if n >= 10:
            visited.append(r.level)
    assert np.isin(visited, list(target)).mean() > 0.9
    assert 0.4 < np.mean([right[k] for k in visited]) < 0.65


def test_the_guard_finds_runs_copied_from_training_text():
    runs = TrainingRuns.of(["The sensor array converts light pulses into a stream of binary weights for the "
                            "recurrent layer of the chip."])
    copied = split_words("pulses into a stream of binary weights for the recurrent layer")
    assert runs.longest_copy([], copied) == 11
    assert runs.longest_copy([], split_words("pulses into a stream of binary weights")) == 0  # 7 words
    opening = split_words("A sensor array converts light")  # a run that starts in the opening counts too
    assert runs.longest_copy(opening, split_words("pulses into a stream of a wholly new kind")) == 9
    assert runs.longest_copy(opening, split_words("waves onto a plate of glass")) == 0


def longest_machine_copy(rounds, pool) -> int:
    return max(pool.training.longest_copy(split_words(r.opening), split_words(o.text))
               for r in rounds for o in r.options if not o.human)


def test_no_machine_option_copies_a_training_abstract(tiny_bundle, tiny_pool, invented_csv):
    """The tiny model learnt a few templates by heart: the guard must throw those copies out."""
    pool = quiz_pool(tiny_bundle, load_corpus(invented_csv))
    unguarded = make_rounds(tiny_bundle, tiny_pool, list(pool.documents), 2, np.random.default_rng(0), reader=False)
    assert longest_machine_copy(unguarded, pool) >= NOVELTY_RUN  # the model does copy
    guarded = make_rounds(tiny_bundle, pool, list(pool.documents), 2, np.random.default_rng(0), reader=False)
    assert guarded and longest_machine_copy(guarded, pool) < NOVELTY_RUN


def test_a_fitted_critic_is_saved_loaded_and_chooses_the_machine_options(tiny_bundle, tiny_pool, invented_csv,
                                                                         tmp_path, monkeypatch):
    critic = fit_bundle_critic(tiny_bundle, load_corpus(invented_csv), 30, np.random.default_rng(0))
    assert len(critic.weights) == len(FEATURES) and critic.fitted_on["abstracts"] == "training split"
    critic.save(tmp_path / "critic.json")
    assert Critic.load(tmp_path / "critic.json") == critic
    (tmp_path / "bad.json").write_text('{"features": ["something else"]}')
    assert Critic.load(tmp_path / "bad.json") is None and Critic.load(tmp_path / "missing.json") is None
    monkeypatch.setattr(quiz, "load_critic", lambda bundle: critic)  # as if read from the bundle
    rounds = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:4]), 2, np.random.default_rng(1),
                         reader=False)  # the reader's choice among the critic's: tests/test_reader.py
    assert rounds and {r.settings["chosen_by"] for r in rounds} == {"critic"}
    monkeypatch.setattr(quiz, "load_critic", lambda bundle: None)
    plain = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:2]), 2, np.random.default_rng(1),
                        reader=False)
    assert {r.settings["chosen_by"] for r in plain} == {"surprise"}  # a bundle without a critic still plays


@pytest.mark.parametrize("extra_looks, expected", [(-4.5, "pre-training corpus"), (-3.6, "training split")])
def test_the_critic_learns_from_the_pre_training_corpus_unless_the_model_memorised_it(
        tiny_bundle, invented_csv, monkeypatch, extra_looks, expected):
    corpus = load_corpus(invented_csv)
    extra = replace(corpus, sha256="pre-training")
    pretrained = replace(tiny_bundle, provenance={**tiny_bundle.provenance, "pretrain_data": {"sha256": "pre-training"}})
    train_ids = {d.doc_id for d in corpus.select(tiny_bundle.split.train)}
    validation_ids = {d.doc_id for d in corpus.select(tiny_bundle.split.validation)}

    def familiarity(bundle, documents):  # -3.5 on the training split, -4.3 on validation
        ids = {d.doc_id for d in documents}
        return -3.5 if ids <= train_ids else -4.3 if ids <= validation_ids else extra_looks

    monkeypatch.setattr(fit_critic, "mean_log_prob", familiarity)
    documents, source = fit_critic.critic_documents(pretrained, corpus, extra, np.random.default_rng(0))
    assert source.startswith(expected) and "-3.5 on the training split" in source
    assert len(documents) == (len(corpus.documents) if expected.startswith("pre") else len(train_ids))
    never_trained = fit_critic.critic_documents(tiny_bundle, corpus, extra, np.random.default_rng(0))
    assert never_trained[1] == "pre-training corpus (never trained on)"


def test_the_machine_options_are_those_the_critic_scores_closest_to_the_real_text_not_highest():
    """The most human-looking of many tries overshoot, and a judge learns that; matching the real
    continuation's own score leaves nothing to learn."""
    class Critic:  # scores a continuation by its first word's probability
        def features(self, opening, words, common):
            return np.array([words[0].prob])

        def score(self, x):
            return x[:, 0]

    def option(p):
        return (Word("coil", p, 0),) + tuple(Word("word", 0.5, 0) for _ in range(4))

    human, machine = option(0.3), [option(p) for p in (0.9, 0.28, 0.05, 0.33, 0.7)]
    assert sorted(quiz._like_the_human(["a"], human, machine, Critic(), frozenset())) == [1, 3]


def test_training_gives_the_bundle_its_critic(tiny_bundle):
    """A retrained model plays rounds chosen by its own critic, as the shipped one does."""
    assert (tiny_bundle.path / "critic.json").exists() and load_critic(tiny_bundle) is not None


def test_a_critic_from_too_few_abstracts_is_refused_in_plain_words(tiny_bundle, invented_csv):
    """A 3-abstract corpus made the critic fail with a raw numpy message."""
    corpus = load_corpus(invented_csv)
    few = replace(tiny_bundle, split=replace(tiny_bundle.split, train=tiny_bundle.split.train[:3]))
    with pytest.raises(ValueError, match="too few abstracts to learn from: 3 \\(training split\\)"):
        fit_bundle_critic(few, corpus, 30, np.random.default_rng(0))


@pytest.mark.parametrize("option, value", [("--seed", "-1"), ("--documents", "0")])
def test_the_critic_command_line_refuses_bad_numbers_before_reading_data(option, value, capsys, tmp_path):
    """Numeric options had no bounds and failed only after the corpus had loaded."""
    with pytest.raises(SystemExit) as exit_info:
        fit_critic.main([option, value, "--data", str(tmp_path / "absent.csv")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"{option[2:]} must be a whole number" in err and "absent" not in err
