"""Entry point: navigation, the shared sidebar, and the landing page; and the server that runs them.

`streamlit run streamlit_app.py` finds ``app`` below and serves it: Streamlit's pages plus the
audience's phone page and JSON routes (ui/audience.py), in one process. Streamlit then runs this
file as ``__main__`` for every visit to draw the pages.
"""
from pathlib import Path

import streamlit as st

from ui.common import current_bundle, model_picker, style
from ui.layout import presenter_toggle
from ui.navigation import pages

if __name__ != "__main__":  # imported by the server (streamlit run, uvicorn): the app, not a page
    from ui.audience import ROUTES

    app = st.App(__file__, routes=ROUTES)


def home() -> None:
    st.title("Human or Machine?")
    st.markdown(
        "An LSTM read a few thousand US patent abstracts about neural networks and learned to write "
        "new ones, one word at a time. Play with how it writes, try to tell its text from a real "
        "inventor's, and watch how it learned."
    )
    links = [("quiz", "Three continuations of a real abstract, one by its inventors. **Can you tell?**"),
             ("boundary", "A real abstract, sentence by sentence. **Spot where the machine takes over.**"),
             ("live", "Play with a **whole room**: phones vote, the projector counts."),
             ("playground", "Give it an opening and a **diversity**, and watch it write."),
             ("training", "See how it learned, how it compares with simpler models, and **retrain** it.")]
    for row in (links[:3], links[3:]):  # the games, then the model
        for col, (key, text) in zip(st.columns(3), row):
            with col.container(border=True):
                st.page_link(PAGES[key], icon=PAGES[key].icon)
                st.markdown(text)
    bundle = current_bundle()
    metrics = bundle.metrics
    model = metrics.get("model", {}).get("all_tokens", {})
    kn = metrics.get("baselines", {}).get("kneser_ney_trigram", {}).get("all_tokens", {})
    common = metrics.get("baselines", {}).get("most_common_token", {}).get("all_tokens", {})
    st.subheader(f"The active model: {bundle.name}")
    a, b, c, d = st.columns(4)
    bits, kn_bits = model.get("bits_per_char"), kn.get("bits_per_char")
    a.metric("Bits per character", bits or "–", f"{(bits / kn_bits - 1):+.0%} vs. n-gram" if bits and kn_bits else None,
             delta_color="inverse", help="Open-vocabulary cross-entropy: what it costs the model to write the "
             "test text, rare words spelled out letter by letter. Lower is better; fair across vocabularies.")
    b.metric("Next-word accuracy", f"{model.get('top1', 0):.1%}",
             f"{(model.get('top1', 0) - common.get('top1', 0)) * 100:+.1f} pts vs. most common word", delta_color="normal",
             help="Per token: how often its likeliest next word (or punctuation mark) is the right one.")
    c.metric("Perplexity", model.get("perplexity", "–"),
             f"{model.get('perplexity', 0) - kn.get('perplexity', 0):+.1f} vs. n-gram", delta_color="inverse",
             help="Per token, over its own vocabulary: not comparable between models with different vocabularies.")
    d.metric("Vocabulary", f"{len(bundle.tokenizer):,} words")
    st.caption(f"Measured on {metrics.get('documents', '?')} abstracts the model never saw during training "
               f"({model.get('tokens', 0):,} words and punctuation marks; no near-duplicate of them in training).")


if __name__ == "__main__":
    # the icon is a file the app serves itself (a :material/ icon would be fetched from fonts.gstatic.com)
    st.set_page_config(page_title="Human or Machine? Patent LSTM",
                       page_icon=Path(__file__).parent / "assets" / "icon.png", layout="wide")
    PAGES = pages(home)
    style()
    model_picker()
    presenter_toggle()
    st.navigation(list(PAGES.values())).run()
