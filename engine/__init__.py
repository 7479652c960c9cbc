"""Patent-abstract LSTM engine: corpus, tokenizer, model, training, generation, quiz and storage.

Nothing in this package imports streamlit; the pages in ``app_pages/`` are its users.
"""
