"""How often a word outside the vocabulary, given in the opening, comes back in what the model writes.

    python bench/unknown_words.py [--model models/patent-awd] [--seeds 8] [--words 50]

Only the copy step can write such a word. Prints, per diversity, the opening's unknown words per 100
written words and the most any one continuation held; the openings are invented.

Measured 2026-12-03 on patent-awd, 8 seeds, 50 words, repetition guard 3 (per 100 words, most in one):
before the copy step's gate and gap 7.41/15 at diversity 0.2, 5.22/9 at 0.6, 1.85/4 at 1.0; after
1.02/2, 1.54/3, 0.99/2. Bits per character on the test split with the cache: 1.0532 before, 1.0530 after.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.lm.bundle import load_bundle  # noqa: E402
from engine.lm.generate import generate_many, prepare_opening  # noqa: E402
from engine.lm.settings import Sampling  # noqa: E402
from engine.lm.tokenizer import is_word  # noqa: E402

OPENINGS = ("A neural network is trained to recognise handwritten digits",
            "The system comprises a flibbertron coupled to a neural network",
            "A method for training a zorblat classifier using gradient descent",
            "Disclosed is a quuxinator that receives sensor data and a neural network")
DIVERSITIES = (0.2, 0.6, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/patent-awd")
    parser.add_argument("--seeds", type=int, default=8, help="continuations per opening and diversity")
    parser.add_argument("--words", type=int, default=50)
    args = parser.parse_args()
    bundle, seeds = load_bundle(args.model), list(range(args.seeds))
    for diversity in DIVERSITIES:
        unknown = written = most = 0
        for text in OPENINGS:
            opening = prepare_opening(bundle, text)
            for row in generate_many(bundle, opening, Sampling(repetition_guard=3, words=args.words),
                                     [diversity] * len(seeds), seeds):
                words = [w.token for w in row.words if is_word(w.token)]
                count = sum(w in opening.unknown_words for w in words)
                unknown, written, most = unknown + count, written + len(words), max(most, count)
        print(f"diversity {diversity}: {100 * unknown / written:.2f} unknown words per 100 written "
              f"({unknown} of {written}); at most {most} in one continuation of {args.words} words")


if __name__ == "__main__":
    main()
