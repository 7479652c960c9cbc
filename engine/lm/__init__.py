"""The language model at use: tokenizer, bundle on disk, NumPy network, sampler, continuous cache,
generation and its settings. Imports neither Keras nor the games."""
