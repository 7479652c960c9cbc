import json
import shutil

import numpy as np

from engine.training.charlm import SpellingModel
from engine.training.evaluate import EvalText, TokenScores, eval_text, main, most_common_scores, summarize
from engine.lm.tokenizer import Tokenizer


def test_summary_math():
    scores = TokenScores(np.array([0.5, 0.25, 1.0, 0.125]), np.array([0, 3, 0, 7]))
    s = summarize(scores)
    assert s["tokens"] == 4 and s["top1"] == 0.5 and s["top5"] == 0.75
    assert np.isclose(s["cross_entropy"], -np.mean(np.log([0.5, 0.25, 1.0, 0.125])), atol=1e-4)
    assert summarize(scores, np.array([True, False, False, False]))["perplexity"] == 2.0


def test_most_common_baseline_ranks_by_training_frequency():
    text = EvalText([[2, 5, 6, 7]], [["e", "f", "g"]], np.ones(3), np.full(3, 2))
    scores = most_common_scores([[2, 5, 5, 5, 6, 3]], text, vocab_size=8)
    assert scores.ranks.tolist()[:2] == [0, 2] and scores.ranks[2] > 2  # 5 first, 3 and 6 tie next


def test_cli_on_the_training_corpus_scores_the_test_split(tiny_bundle, invented_csv, capsys):
    assert main(["--model", str(tiny_bundle.path), "--data", str(invented_csv)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluated_on"] == "test split" and result["documents"] == len(tiny_bundle.split.test)
    assert result["model"] == tiny_bundle.metrics["model"]  # same numbers as at training time
    assert result["unk_share"] < 0.05


def test_several_bundles_are_scored_in_one_run_on_the_first_ones_test_split(tiny_bundle, invented_csv, tmp_path,
                                                                             capsys):
    for name in ("first", "twin"):
        shutil.copytree(tiny_bundle.path, tmp_path / name)
    assert main(["--model", str(tmp_path / "first"), str(tmp_path / "twin"), "--data", str(invented_csv),
                 "--write"]) == 0
    first, second = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("first", "twin"))
    assert first["evaluated_on"] == "test split" and second["evaluated_on"] == "test split of first"
    assert second["model"] == first["model"] == tiny_bundle.metrics["model"]
    assert capsys.readouterr().out.count('"evaluated_on"') == 2


def test_cli_on_another_file_scores_every_row(tiny_bundle, invented_csv, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text("The system stores sensor data.\nA neural network updates output values.\n")
    assert main(["--model", str(tiny_bundle.path), "--data", str(other), "--train-data", str(invented_csv)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluated_on"] == "every row" and result["documents"] == 2


def test_an_untrained_spelling_model_is_uniform_over_its_alphabet():
    model = SpellingModel([])  # alphabet: end of word and "other" only
    assert np.isclose(model.log2prob("xyz"), -4 * np.log2(2))  # 3 letters + end, 1 bit each
    model = SpellingModel(["ab"], order=1)  # unigram Witten-Bell: a, b, end seen once each (3 types, 3 tokens)
    base = 1 / 4  # uniform over the alphabet a, b, end, other
    assert np.isclose(2 ** model.log2prob("a"), ((1 + 3 * base) / (3 + 3)) ** 2)  # "a", then the end


def test_bits_per_char_textbook_example():
    """Two known words and one unknown, each with probability 1/4 under the model: with a uniform
    spelling model over k symbols, the unknown word also costs log2(k) bits per character it spells."""
    tok = Tokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "ab", "cd"])
    spelling = SpellingModel([])  # uniform over 2 symbols: 1 bit per character, end of word included
    text = eval_text(tok, ["ab cd xyz"], spelling)
    assert text.chars.tolist() == [3, 3, 4, 1]  # each token plus one separator; the end counts 1
    assert np.allclose(text.spelling, [1, 1, 2.0 ** -4, 1])
    probs = np.full(4, 0.25)
    scores = TokenScores(probs, np.zeros(4, int), probs * text.spelling)
    s = summarize(scores, chars=text.chars)
    assert s["characters"] == 11 and np.isclose(s["bits_per_char"], (4 * 2 + 4) / 11, atol=1e-4)
