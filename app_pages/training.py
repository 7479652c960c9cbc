"""Training dashboard: how the models learned, how they compare, their embeddings, and retraining."""
import streamlit as st

from engine.lm.bundle import list_bundles, load_bundles
from engine.sanitise import hide_paths
from engine.lm.embeddings import nearest, pca_map
from engine.training.results import results_table
from ui.charts import embedding_figure, history_figure
from ui.common import current_bundle
from ui.layout import PLOTLY_CONFIG, results_dataframe
from ui.render import plain_html
from ui.retrain import activate_button, job_monitor, retrain_form, token_field

active = current_bundle()
bundles, problems = load_bundles(list_bundles())
for problem in problems:
    st.warning(hide_paths(problem))
names = [b.name for b in bundles]

st.title("Training")
token_field()
runs, card, embed, retrain = st.tabs(["Compare runs", "Model card", "Embeddings", "Retrain"])
with runs:
    chosen = st.multiselect("Runs", names, default=names, key="training_runs")
    shown = [b for b in bundles if b.name in chosen]
    if shown:
        st.plotly_chart(history_figure({b.name: b.history for b in shown}), width="stretch", key="training_curves",
                        config=PLOTLY_CONFIG)
        st.markdown("**Test results** on abstracts no model trained on (nor a near-duplicate of them), beside "
                    "baselines fitted on the same training split and scored on the same tokens; ranked by bits "
                    "per character, which is fair across vocabularies (per-token figures depend on the vocabulary)")
        results_dataframe(results_table(shown))
        history_csv = "\n".join(["model,epoch,loss,accuracy,val_loss,val_accuracy"] + [
            f"{b.name},{r['epoch']},{r.get('loss')},{r.get('accuracy')},{r.get('val_loss')},{r.get('val_accuracy')}"
            for b in shown for r in b.history])
        st.download_button("Download history (CSV)", history_csv, "training-history.csv", key="training_download")
with card:
    pick = st.selectbox("Model", names, index=names.index(active.name) if active.name in names else 0,
                        key="training_card_model")
    bundle = next(b for b in bundles if b.name == pick)
    left, right = st.columns(2)
    with left:
        st.markdown("**Model card**")
        if caveat := bundle.caveat():
            st.warning(caveat, icon=":material/warning:")
        st.json({"config": vars(bundle.model_config), "training": vars(bundle.train_config),
                 "vocabulary": len(bundle.tokenizer), "provenance": bundle.provenance}, expanded=1)
        activate_button(bundle.name, "Make this the active model", "training_make_active",
                        disabled=bundle.name == active.name)
    with right:
        epochs = sorted({s["epoch"] for s in bundle.samples})
        if epochs:
            epoch = st.select_slider("Samples written after epoch", epochs, value=epochs[-1], key="training_epoch")
            for sample in (s for s in bundle.samples if s["epoch"] == epoch):
                st.markdown(f"**Diversity {sample['diversity']:g}**")
                st.html(plain_html(sample["text"]))
with embed:
    word = st.text_input("Nearest words to", "network", key="training_word", max_chars=40).strip()
    if word:
        try:
            st.dataframe([{"word": w, "cosine similarity": round(s, 3)} for w, s in nearest(active, word)],
                         hide_index=True)
        except KeyError:
            st.info(f"“{word}” is not in the vocabulary of {active.name}.")
    words, xy = pca_map(active, 300)
    st.caption(f"The {len(words)} most frequent words of {active.name}, projected on the two main directions "
               "of their embeddings (PCA). The word searched above is in red; the others are labelled where "
               "there is room (hover a point for its word). Drag a box to zoom in, double-click to zoom out.")
    st.plotly_chart(embedding_figure(words, xy, word), width="stretch", key="training_map",
                    config={**PLOTLY_CONFIG, "displayModeBar": True, "displaylogo": False})
with retrain:
    retrain_form(active.model_config)
    st.divider()
    job_monitor()
