import numpy as np
from nltk.lm import KneserNeyInterpolated
from nltk.util import everygrams

from engine.training.ngram import KneserNeyTrigram

DOCS = [[5, 6, 7, 5, 6, 8, 3], [6, 7, 9, 5, 6, 7, 3], [5, 9, 9, 6, 8, 3]]  # token ids after BOS (2)


def test_probabilities_equal_nltk_kneser_ney():
    ours = KneserNeyTrigram(DOCS, vocab_size=10, bos=2, discount=0.75)
    ref = KneserNeyInterpolated(3, discount=0.75)
    ref.fit([list(everygrams(["2", "2"] + [str(t) for t in d], max_len=3)) for d in DOCS],
            vocabulary_text=[str(i) for i in range(10)])
    for a, b in [(2, 2), (5, 6), (6, 7), (9, 9), (4, 4), (4, 5), (7, 5)]:
        expected = [ref.score(str(w), [str(a), str(b)]) for w in range(10)]
        assert np.allclose(ours.distribution(a, b), expected), (a, b)


def test_doc_predictions_rank_the_seen_continuation_first():
    model = KneserNeyTrigram(DOCS, vocab_size=10, bos=2)
    probs, ranks = model.doc_predictions([5, 6, 7])
    assert len(probs) == 3 and ranks[2] == 0
