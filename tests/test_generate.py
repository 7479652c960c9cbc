import json
from dataclasses import replace

import numpy as np
import pytest

from engine.lm.generate import advance, candidates, fork, generate, generate_many, main, prepare_opening, score, stream
from engine.lm.settings import Sampling
from engine.lm.tokenizer import is_word


def test_same_rng_seed_same_text(tiny_bundle):
    a = generate(tiny_bundle, "A neural network", Sampling(1.2, rng_seed=5, words=20))
    b = generate(tiny_bundle, "A neural network", Sampling(1.2, rng_seed=5, words=20))
    assert a.text == b.text and a.continuation
    assert generate(tiny_bundle, "A neural network", Sampling(1.2, rng_seed=6, words=20)).words != a.words


def test_word_count_probabilities_and_ranks(tiny_bundle):
    result = generate(tiny_bundle, "The system", Sampling(0.0, words=15), stop_at_eos=False)
    assert sum(is_word(w.token) for w in result.words) == 15
    assert all(0 < w.prob <= 1 and w.rank == 0 for w in result.words)  # greedy: always the top word
    assert "<unk>" not in result.text


def test_greedy_follows_the_invented_grammar(tiny_bundle):
    text = generate(tiny_bundle, "The system receives input", Sampling(0.0, words=3)).continuation
    assert text.split()[0] == "signals"


def test_generation_can_end_by_itself(tiny_bundle):
    result = generate(tiny_bundle, "", Sampling(0.3, rng_seed=1, words=None))
    assert result.ended and result.text.endswith(".")


def test_unknown_seed_words_are_reported(tiny_bundle):
    seed = prepare_opening(tiny_bundle, 'The "quantum" system 🚀 receives')
    assert seed.unknown_words == ["quantum", "🚀"] and seed.opening == "The quantum system 🚀 receives"


def test_repetition_guard_forbids_repeated_ngrams(tiny_bundle):
    result = generate(tiny_bundle, "", Sampling(0.0, repetition_guard=3, words=60), stop_at_eos=False)
    tokens = ["<bos>"] + [w.token for w in result.words]
    trigrams = list(zip(tokens, tokens[1:], tokens[2:]))
    assert len(trigrams) == len(set(trigrams))


def test_streaming_yields_what_generate_returns(tiny_bundle):
    generation = prepare_opening(tiny_bundle, "A learning circuit")
    streamed = list(stream(tiny_bundle, generation, Sampling(0.8, rng_seed=2, words=10)))
    assert streamed == generation.words == generate(tiny_bundle, "A learning circuit",
                                                    Sampling(0.8, rng_seed=2, words=10)).words


def test_candidates_before_and_after_diversity(tiny_bundle):
    rows = candidates(tiny_bundle, prepare_opening(tiny_bundle, "The system receives"), Sampling(0.5), k=5)
    assert len(rows) == 5 and rows[0]["model"] >= rows[1]["model"]
    assert rows[0]["sampled"] > rows[0]["model"]  # a low diversity sharpens the distribution


def test_a_generation_keeps_the_state_after_its_words(tiny_bundle):
    result = generate(tiny_bundle, "The system", Sampling(0.0, words=6), stop_at_eos=False)
    reread = prepare_opening(tiny_bundle, result.text)
    assert result.ids == reread.ids
    assert np.allclose(tiny_bundle.net.log_probs(result.state), tiny_bundle.net.log_probs(reread.state), atol=1e-5)
    assert candidates(tiny_bundle, result, Sampling(1.0)) == candidates(tiny_bundle, reread, Sampling(1.0))


def test_rows_written_together_equal_rows_written_alone(tiny_bundle):
    opening = prepare_opening(tiny_bundle, "A neural network")
    sampling = Sampling(top_p=0.9, repetition_guard=3, words=12)
    rows = generate_many(tiny_bundle, opening, sampling, [0.0, 0.7, 1.2, 1.2], [1, 2, 3, 4], stop_at_eos=False)
    for row, diversity, rng_seed in zip(rows, [0.0, 0.7, 1.2, 1.2], [1, 2, 3, 4]):
        alone = generate(tiny_bundle, "A neural network", replace(sampling, diversity=diversity, rng_seed=rng_seed),
                         stop_at_eos=False)
        assert [w.token for w in row.words] == [w.token for w in alone.words]
        assert np.allclose([w.prob for w in row.words], [w.prob for w in alone.words], atol=1e-5)
    assert not opening.words and rows[2].words != rows[3].words  # the opening is untouched; own random streams


def test_absurd_settings_are_refused(tiny_bundle):
    with pytest.raises(ValueError, match="diversity"):
        generate(tiny_bundle, "The system", Sampling(99, words=5))


def test_cli_prints_text_and_reports_errors(tiny_bundle, capsys, tmp_path):
    assert main(["--model", str(tiny_bundle.path), "--seed-text", "The quantum system", "--words", "5",
                 "--rng-seed", "1"]) == 0
    captured = capsys.readouterr()
    assert "not in the vocabulary: quantum" in captured.err and captured.out.startswith("The quantum system")
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(tmp_path / "missing")])
    assert exit_info.value.code == 2 and "No model bundle" in capsys.readouterr().err


def test_scores_of_a_given_text_alone_and_beside_written_rows(tiny_bundle):
    opening, tokens = prepare_opening(tiny_bundle, "The system"), ["receives", "input", "signals", "."]
    net, tok, state = tiny_bundle.net, tiny_bundle.tokenizer, opening.state
    expected = []
    for token in tokens:
        log_probs = net.log_probs(state)[0]
        expected.append(np.exp(log_probs[tok.index[token]]))
        state = net.step(state, [tok.index[token]])
    alone = score(tiny_bundle, opening, tokens)
    assert [w.token for w in alone] == tokens and np.allclose([w.prob for w in alone], expected, atol=1e-6)
    rows = fork(opening, 3)
    list(advance(tiny_bundle, rows, Sampling(1.0, words=4), rng_seeds=[1, 2, 3], forced={1: tokens}))
    assert [w.token for w in rows[1].words] == tokens
    assert np.allclose([w.prob for w in rows[1].words], expected, atol=1e-5)
    assert [w.token for w in rows[0].words] == [w.token for w in generate(tiny_bundle, "The system", Sampling(rng_seed=1, words=4)).words]


@pytest.mark.parametrize("option, value, message", [
    ("--words", "-5", "words must be from 0"), ("--repetition-guard", "-3", "repetition_guard must be from 0"),
    ("--diversity", "nan", "diversity must be a finite"), ("--words", "1e400", "words must be a finite"),
    ("--top-k", "2.5", "top_k must be a whole"),
])
def test_the_command_line_refuses_bad_settings(tiny_bundle, capsys, option, value, message):
    """Out-of-range or malformed values (`--words -5`, `--repetition-guard -3`) are refused with a message."""
    with pytest.raises(SystemExit) as exit_:
        main(["--model", str(tiny_bundle.path), option, value])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_long_opening_is_cut_at_a_word(tiny_bundle):
    """A long opening is cut at the start of a word, never mid-word."""
    from engine.config import MAX_OPENING_CHARS

    seed = prepare_opening(tiny_bundle, "x" + " temperature" * 1000)
    assert len(seed.opening) <= MAX_OPENING_CHARS and seed.opening.startswith("temperature ")


def test_invisible_characters_leave_the_opening(tiny_bundle):
    """Right-to-left overrides and zero-width characters leave the opening."""
    seed = prepare_opening(tiny_bundle, "The sys\u200btem \u202ereceives\u202c input\ufeff")
    assert seed.opening == "The system receives input"


def test_the_command_line_warns_about_a_broken_active_marker(tiny_bundle, tmp_path, monkeypatch, capsys):
    """A broken models/ACTIVE is reported on stderr, and the default bundle writes."""
    import shutil

    from engine import config

    shutil.copytree(tiny_bundle.path, tmp_path / config.DEFAULT_BUNDLE)
    (tmp_path / "ACTIVE").write_text("ghost")
    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    assert main(["--words", "3", "--rng-seed", "1"]) == 0
    assert "ACTIVE names 'ghost'" in capsys.readouterr().err


@pytest.mark.parametrize("damaged", [slice(None), 42], ids=["every weight", "one word's weights"])
def test_damaged_weights_raise_instead_of_writing_forever(tiny_bundle, damaged):
    """NaN probabilities drew <pad> for ever (never a word), so generation never ended."""
    from dataclasses import replace

    from engine.lm.generate import Snapshot

    weights = tiny_bundle.net.output[0].copy()
    weights[:, damaged] = np.nan
    net = replace(tiny_bundle.net, output=(weights, tiny_bundle.net.output[1]))
    with pytest.raises(ValueError, match="NaN"):
        generate(Snapshot(tiny_bundle.tokenizer, net), "The system", Sampling(rng_seed=0, words=5))


def test_json_output_holds_json_alone_when_the_opening_has_unknown_words(tiny_bundle, capsys):
    """`generate --json` printed its "note:" about unknown words on stdout before the JSON."""
    assert main(["--model", str(tiny_bundle.path), "--opening", "The zzqxv system", "--words", "3",
                 "--rng-seed", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["unknown_words"] == ["zzqxv"] and "zzqxv" in captured.err


def test_weights_that_do_not_fit_the_config_stop_the_command_line_with_a_message(tiny_bundle, capsys, tmp_path):
    """Weights of another shape than the config's raised IndexError in the middle of generation."""
    import shutil

    bad = tmp_path / "misfit"
    shutil.copytree(tiny_bundle.path, bad)
    config = json.loads((bad / "config.json").read_text())
    config["model"]["embedding_dim"] += 4
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(bad), "--opening", "The system", "--words", "3"])
    assert exit_info.value.code == 2 and "'misfit' is damaged: the weights of layer" in capsys.readouterr().err
