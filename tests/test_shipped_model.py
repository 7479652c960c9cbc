"""The shipped default model, checked against the shared corpus (skipped where the corpus is absent)."""
import pytest

from engine.lm.bundle import load_bundle
from engine.config import DEFAULT_BUNDLE, ROOT, preset_of
from engine.corpus import load_corpus
from engine.training.evaluate import evaluate_bundle

SHIPPED = ROOT / "models" / DEFAULT_BUNDLE


@pytest.fixture(scope="module")
def shipped():
    return load_bundle(SHIPPED)


def test_the_shipped_bundles_are_small_and_the_default_complete(shipped):
    size = sum(p.stat().st_size for p in (ROOT / "models").rglob("*") if p.is_file())
    assert size <= 25 * 2**20
    assert shipped.metrics and shipped.history and shipped.samples and shipped.split


def test_each_shipped_bundle_names_the_preset_a_retrain_starts_from():
    """The retrain form starts from the active model's preset: patent-awd's is awd, not the first in the list."""
    assert {p.name: preset_of(load_bundle(p).model_config) for p in (ROOT / "models").iterdir() if p.is_dir()} == {
        "patent-awd": "awd", "patent-lstm": "lstm", "tutorial": "tutorial"}


def test_its_metrics_reproduce_on_the_test_split_and_beat_the_baselines(shipped, shared_corpus_path):
    corpus = load_corpus(shared_corpus_path)
    assert corpus.sha256 == shipped.provenance["data_sha256"]
    assert not set(shipped.split.test) & set(shipped.split.train)
    result = evaluate_bundle(shipped, shared_corpus_path)
    assert result["evaluated_on"] == "test split" and result["documents"] == len(shipped.split.test)
    model = result["model"]["all_tokens"]
    assert model["perplexity"] == pytest.approx(shipped.metrics["model"]["all_tokens"]["perplexity"], rel=1e-3)
    assert model["bits_per_char"] == pytest.approx(shipped.metrics["model"]["all_tokens"]["bits_per_char"], rel=1e-3)
    assert result["unk_share"] < 0.05
    for baseline in result["baselines"].values():
        assert model["bits_per_char"] < baseline["all_tokens"]["bits_per_char"]
        assert model["perplexity"] < baseline["all_tokens"]["perplexity"]
        assert model["top1"] > baseline["all_tokens"]["top1"]


def test_it_is_evaluated_on_the_family_split_and_can_copy(shipped):
    assert shipped.provenance["split"] == "by patent family" and shipped.split.moved > 0
    assert shipped.cache.mix > 0  # tuned on the family split's validation abstracts


@pytest.mark.parametrize("diversity", [0.2, 0.6, 1.0])
def test_an_unknown_word_of_the_opening_comes_back_but_does_not_flood(shipped, diversity):
    """The playground's 'recognise' (outside the vocabulary) filled 9 to 11 of 50 words at diversity 0.2."""
    from engine.lm.generate import generate_many, prepare_opening
    from engine.lm.settings import Sampling

    opening = prepare_opening(shipped, "A neural network is trained to recognise handwritten digits")
    assert opening.unknown_words == ["recognise"]
    rows = generate_many(shipped, opening, Sampling(repetition_guard=3, words=50), [diversity] * 6, list(range(6)))
    counts = [sum(w.token == "recognise" for w in row.words) for row in rows]
    assert max(counts) <= 2, counts
