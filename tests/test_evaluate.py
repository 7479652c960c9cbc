import json

import numpy as np

from engine.evaluate import TokenScores, main, most_common_scores, summarize


def test_summary_math():
    scores = TokenScores(np.array([0.5, 0.25, 1.0, 0.125]), np.array([0, 3, 0, 7]))
    s = summarize(scores)
    assert s["tokens"] == 4 and s["top1"] == 0.5 and s["top5"] == 0.75
    assert np.isclose(s["cross_entropy"], -np.mean(np.log([0.5, 0.25, 1.0, 0.125])), atol=1e-4)
    assert summarize(scores, np.array([True, False, False, False]))["perplexity"] == 2.0


def test_most_common_baseline_ranks_by_training_frequency():
    scores = most_common_scores([[2, 5, 5, 5, 6, 3]], [[2, 5, 6, 7]], vocab_size=8)
    assert scores.ranks.tolist()[:2] == [0, 2] and scores.ranks[2] > 2  # 5 first, 3 and 6 tie next


def test_cli_on_the_training_corpus_scores_the_test_split(tiny_bundle, invented_csv, capsys):
    assert main(["--model", str(tiny_bundle.path), "--data", str(invented_csv)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluated_on"] == "test split" and result["documents"] == len(tiny_bundle.split.test)
    assert result["model"] == tiny_bundle.metrics["model"]  # same numbers as at training time
    assert result["unk_share"] < 0.05


def test_cli_on_another_file_scores_every_row(tiny_bundle, invented_csv, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text("The system stores sensor data.\nA neural network updates output values.\n")
    assert main(["--model", str(tiny_bundle.path), "--data", str(other), "--train-data", str(invented_csv)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluated_on"] == "every row" and result["documents"] == 2
