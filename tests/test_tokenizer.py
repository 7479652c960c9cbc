from engine.lm.tokenizer import Tokenizer, detokenize, split_words

TEXT = ("A neural network, e.g. a CMOS array, computes 1.0 values (with x-ray sensors). "
        "Then it stops; the output is stored.")


def test_words_and_punctuation_are_separate_tokens():
    assert split_words(TEXT)[:12] == ["a", "neural", "network", ",", "e.g.", "a", "CMOS", "array", ",",
                                      "computes", "1.0", "values"]


def test_decode_of_encode_reads_like_the_original():
    tok = Tokenizer.fit([TEXT], vocab_size=100)
    assert tok.decode(tok.encode(TEXT)) == TEXT


def test_detokenize_capitalises_after_a_sentence_end_only():
    assert detokenize(["the", "unit", ".", "it", "stops", "/", "starts", "."]) == "The unit. It stops/starts."
    assert detokenize(["and", "more"], sentence_start=False) == "and more"


def test_detokenize_after_a_given_token_spaces_its_first_piece_like_the_rest():
    assert detokenize([".", "it"], sentence_start=False, previous="digits") == ". It"
    assert detokenize(["it"], sentence_start=False, previous="digits") == " it"
    assert detokenize(["it"], sentence_start=False, previous="(") == "it"
    assert detokenize(["it"], sentence_start=False) == "it"


def test_vocabulary_comes_from_counts_with_specials_first():
    tok = Tokenizer.fit(["b a a c", "a b"], vocab_size=2, min_count=2)
    assert tok.vocab == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"]
    assert tok.encode("a c", bos=True, eos=True) == [2, 4, 1, 3]


def test_unknown_words_are_reported_not_dropped():
    tok = Tokenizer.fit(["the network learns"], vocab_size=10)
    assert tok.unknown_words("The quantum network learns quantum tricks") == ["quantum", "tricks"]
    assert tok.encode("quantum network") == [tok.unk_id, tok.index["network"]]


def test_save_and_load_round_trip(tmp_path):
    tok = Tokenizer.fit([TEXT], vocab_size=50)
    tok.save(tmp_path / "t.json")
    assert Tokenizer.load(tmp_path / "t.json").vocab == tok.vocab
