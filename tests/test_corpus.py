import pandas as pd
import pytest

from engine import corpus as corpus_mod
from engine.corpus import (Corpus, CorpusError, Document, clean_text, download_corpus, families, load_corpus,
                           locate_corpus, near_duplicates, shingles)


def test_clean_text_removes_quotes_placeholders_and_odd_spacing():
    raw = ' A ""Widget"" neuron  computes ##EQU1## values , then  stops ( quickly ) . '
    assert clean_text(raw) == "A Widget neuron computes values, then stops (quickly)."


def write_csv(path, rows, **cols):
    pd.DataFrame({"patent_abstract": rows, **cols}).to_csv(path, index=False)
    return path


def test_load_drops_empty_and_duplicate_abstracts(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["One text here.", '"One text here."', "   ", "Two texts."],
                     patent_number=["1", "2", "3", "4"], patent_title=["t1", "t2", "t3", "t4"],
                     patent_date=["2000-01-01"] * 4)
    docs = load_corpus(path).documents
    assert [d.text for d in docs] == ["One text here.", "Two texts."]
    assert [(d.doc_id, d.title, d.date) for d in docs] == [("1", "t1", "2000-01-01"), ("4", "t4", "2000-01-01")]


def test_text_file_is_one_document_per_line(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("First invented document.\n\nSecond invented document.\n")
    docs = load_corpus(path).documents
    assert [d.text for d in docs] == ["First invented document.", "Second invented document."]
    assert all(len(d.doc_id) == 12 for d in docs)


def test_named_text_column(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"body": ["Alpha beta.", "Gamma delta."]}).to_csv(path, index=False)
    assert len(load_corpus(path, text_column="body").documents) == 2
    with pytest.raises(CorpusError, match="no column 'patent_abstract'.*'body'"):
        load_corpus(path)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"patent_abstract\n\xff\xfe bad bytes\n", "not UTF-8"),
    (b'patent_abstract,x\n"unclosed quote,1\n', "not a readable CSV"),
    (b"patent_abstract\n \n", "no non-empty text rows"),
])
def test_bad_files_get_one_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus(path)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(CorpusError, match="PATENT_CORPUS"):
        load_corpus(tmp_path / "nope.csv")


def test_split_is_by_document_deterministic_and_disjoint(invented_csv):
    corpus = load_corpus(invented_csv)
    a, b = corpus.split(seed=7), corpus.split(seed=7)
    assert a == b
    assert corpus.split(seed=8) != a
    parts = [set(a.train), set(a.validation), set(a.test)]
    assert sum(map(len, parts)) == len(corpus.documents)
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert len(a.test) == round(0.1 * len(corpus.documents))


FAMILY = ("A rotary coil winder draws copper wire through a tension arm and lays it on a spindle "
          "while a stepper motor advances a guide carriage across the bobbin face at each turn.")


def test_near_duplicates_share_a_fifth_of_their_eight_word_runs():
    assert len(shingles("one two three four five six seven eight nine")) == 2
    continuation = FAMILY + " A sensor counts the turns and a controller stops the spindle at the set count."
    unrelated = "A garden hose reel rewinds itself with a spring and a ratchet that locks at any length."
    assert near_duplicates(shingles(FAMILY), shingles(continuation))
    assert not near_duplicates(shingles(FAMILY), shingles(unrelated))
    texts = [FAMILY, unrelated, continuation, "Short text."]
    assert families(texts) == [[0, 2]]


def test_family_split_keeps_every_family_on_one_side(invented_csv):
    base = load_corpus(invented_csv)
    plain = base.split(seed=3)
    # a family of three: copies of a test abstract with a different last sentence, one of them in training
    test_doc = base.by_id()[plain.test[0]]
    relatives = tuple(Document(f"fam{i}", f"{test_doc.text} Invented ending number {i} of this family.")
                      for i in range(2))
    corpus = Corpus(base.documents + relatives, "invented", "x")
    split = corpus.split(seed=3)
    assert split.moved >= 1 and sum(map(len, (split.train, split.validation, split.test))) == len(corpus.documents)
    side = {i: k for k, part in enumerate((split.train, split.validation, split.test)) for i in part}
    assert len({side[i] for i in (test_doc.doc_id, "fam0", "fam1")}) == 1
    assert split == corpus.split(seed=3)


def test_shared_corpus_split_leaves_no_near_duplicate_across_splits(shared_corpus_path):
    corpus = load_corpus(shared_corpus_path)
    split, texts = corpus.split(42), corpus.by_id()
    train_runs = [shingles(texts[i].text) for i in split.train]
    held_out = [shingles(texts[i].text) for i in split.validation + split.test]
    index: dict[int, list[int]] = {}
    for k, runs in enumerate(train_runs):
        for r in runs:
            index.setdefault(r, []).append(k)
    for runs in held_out:  # brute force over every training abstract sharing at least one run
        candidates = {k for r in runs for k in index.get(r, ())}
        assert not any(near_duplicates(runs, train_runs[k]) for k in candidates)
    assert 0 < split.moved < 0.1 * len(corpus.documents)


def test_locate_prefers_explicit_then_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_mod, "DATA_DIR", tmp_path)
    monkeypatch.setenv("PATENT_CORPUS", "/from/env.csv")
    assert str(locate_corpus("/explicit.csv")) == "/explicit.csv"
    assert str(locate_corpus()) == "/from/env.csv"
    monkeypatch.delenv("PATENT_CORPUS")
    (tmp_path / "neural_network_patent_query.csv").write_text("patent_abstract\nx\n")
    assert locate_corpus() == tmp_path / "neural_network_patent_query.csv"


def test_offline_download_fails_with_instructions_and_leaves_nothing(tmp_path):
    target = tmp_path / "cache" / "corpus.csv"
    with pytest.raises(CorpusError, match="offline.*PATENT_CORPUS=/path/to/") as raised:
        download_corpus(target, url="http://127.0.0.1:9/none.csv", timeout=2)
    assert "copy it into the folder PATENT_DATA_DIR names" in raised.value.advice  # outside the app's folder
    assert list(target.parent.iterdir()) == []


def test_download_reports_progress(tmp_path):
    source = tmp_path / "src.csv"
    source.write_bytes(b"patent_abstract\n" + b"Invented words here.\n" * 5000)
    seen = []
    out = download_corpus(tmp_path / "c" / "x.csv", url=source.as_uri(), progress=lambda d, t: seen.append(d))
    assert out.read_bytes() == source.read_bytes() and seen[-1] == source.stat().st_size


def test_shared_corpus_is_cleaned(shared_corpus_path):
    corpus = load_corpus(shared_corpus_path)
    texts = [d.text for d in corpus.documents]
    assert 2500 < len(texts) <= 3217
    assert not any('"' in t or "##" in t or "  " in t for t in texts)
    assert len(set(texts)) == len(texts)


def test_the_real_corpus_is_found_through_patent_corpus_too(tmp_path):
    """The real corpus is found through PATENT_CORPUS as well as in the shared data folder."""
    from shared_corpus import ROOT, find_shared_corpus

    assert find_shared_corpus({"PATENT_CORPUS": str(tmp_path / "c.csv")}) == tmp_path / "c.csv"
    assert find_shared_corpus({}) == ROOT.parent / "shared" / "data" / "neural_network_patent_query.csv"
