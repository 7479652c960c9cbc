"""The retrain form and the live job monitor of the training page."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from engine import config
from engine.training import jobs
from engine.auth import NotAllowed, authorise
from engine.lm.bundle import BundleError, set_active_bundle
from engine.config import MAX_UPLOAD_MB, PRESETS, Environment, ModelConfig, preset_of
from engine.corpus import CorpusError, locate_pretrain_corpus
from engine.jsonio import read_json
from engine.training.results import not_better_than_baselines
from engine.sanitise import for_visitors, hide_paths
from ui.charts import history_figure
from ui.constants import RETRAIN_RANGES
from ui.state import TrainingPage




def configured_token() -> str | None:
    """RETRAIN_TOKEN from the environment, else retrain_token from Streamlit secrets, else None."""
    if token := Environment.read().retrain_token:
        return token
    try:
        return st.secrets.get("retrain_token")
    except Exception:  # no secrets.toml at all (a local run); Streamlit's error type varies by version
        return None


def token_field() -> None:
    """Where a visitor gives the token, when one is configured (see ``allowed``)."""
    if configured_token():
        st.text_input("Retrain token", type="password", key="training_token",
                      help="This app is public: training, cancelling, resuming and activating a model need "
                           "the token from whoever runs it.")


def allowed() -> bool:
    """The one gate before any action that changes what every visitor shares; says why when refused."""
    try:
        authorise(st.session_state.get("training_token"), configured_token())
        return True
    except NotAllowed as exc:
        st.error(str(exc), icon=":material/lock:")
        return False


def page() -> TrainingPage:
    """This visitor's training page state."""
    return st.session_state.setdefault("training", TrainingPage())


def _ask_to_activate(name: str | None) -> None:
    page().confirming = name


def activate_button(name: str, label: str, key: str, disabled: bool = False) -> None:
    """A button that makes ``name`` the model every visitor gets, after a confirmation that warns
    when the model is no better than its baselines (and behind the token gate)."""
    st.button(label, key=key, disabled=disabled, icon=":material/check_circle:", on_click=_ask_to_activate, args=(name,))
    if page().confirming != name:
        return
    with st.container(border=True, key=f"{key}_confirmation"):
        concerns = not_better_than_baselines(read_json(config.MODELS_DIR / name / "metrics.json", {}))
        question = f"Make **{name}** the model every visitor gets, in every game?"
        if concerns:
            st.warning(" ".join([question, *concerns, "Its rounds will be easy to spot."]), icon=":material/warning:")
        else:
            st.info(question, icon=":material/help:")
        yes, no = st.columns(2)
        confirmed = yes.button(f"Yes, activate {name}", key=f"{key}_yes", type="primary")
        no.button("Cancel", key=f"{key}_no", on_click=_ask_to_activate, args=(None,))
    if confirmed and allowed():
        page().confirming = None
        try:
            set_active_bundle(name)
            st.session_state.model_name = name
            st.success(f"{name} is now the active model.")
        except BundleError as exc:
            st.error(hide_paths(str(exc)))


def retrain_form(start: ModelConfig) -> None:
    """The form, starting from the preset of the model ``start`` describes (the shipped patent-awd: awd)."""
    st.markdown("Train a new model in a separate process. The app keeps using the active model until you "
                "activate the new one.")
    upload = st.file_uploader(f"Your own corpus (optional): CSV or text file, one document per line, "
                              f"at most {MAX_UPLOAD_MB} MB", type=["csv", "txt"], key="retrain_upload")
    column = None
    if upload is not None and upload.name.lower().endswith(".csv"):
        try:
            columns = list(pd.read_csv(upload, nrows=0).columns)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
            columns = []
        upload.seek(0)
        if columns:
            column = st.selectbox("Text column", columns, key="retrain_column")
        else:
            st.error("This file cannot be read as a CSV.")
    names = list(PRESETS)
    preset = st.selectbox("Starting point", names, index=names.index(preset_of(start) or names[0]), key="retrain_preset",
                          format_func=lambda k: f"{k}: {PRESETS[k].description}")
    model, train = PRESETS[preset].model, PRESETS[preset].train
    with st.form("retrain_form"):
        state = page()
        state.default_name = state.default_name or time.strftime("retrain-%Y%m%d-%H%M")
        name = st.text_input("Name of the new model", value=state.default_name, max_chars=60)
        a, b, c = st.columns(3)
        key = f"retrain_{preset}_"  # the fields start from the chosen preset's values
        glove = a.toggle("GloVe 50d embeddings (pre-trained)", model.glove, key=key + "glove")
        embedding_dim = a.number_input("Embedding size (50 with GloVe)",
                                       *RETRAIN_RANGES["embedding_dim"], model.embedding_dim,
                                       step=8, key=key + "embedding")
        units = b.number_input("LSTM units", *RETRAIN_RANGES["lstm_units"], model.lstm_units,
                               step=8, key=key + "units")
        layers = b.number_input("LSTM layers", *RETRAIN_RANGES["lstm_layers"], model.lstm_layers,
                                key=key + "layers")
        dropout = b.slider("Dropout", *RETRAIN_RANGES["dropout"], model.dropout, step=0.05,
                           key=key + "dropout")
        epochs = c.number_input("Epochs at most", *RETRAIN_RANGES["epochs"], train.epochs,
                                key=key + "epochs")
        batch = c.number_input("Batch size", *RETRAIN_RANGES["batch_size"], train.batch_size,
                               key=key + "batch")
        extra = locate_pretrain_corpus()
        pretrain = c.toggle("Pre-train on the extra patent abstracts", False, key=key + "pretrain",
                            disabled=extra is None or model.kind != "sequence",
                            help="First train on 4,863 more patent abstracts with the training split, then "
                                 "fine-tune on the training split." if extra else
                                 "Set PATENT_PRETRAIN_CORPUS to extra_patent_abstracts.csv to offer this.")
        submitted = st.form_submit_button("Retrain", type="primary", icon=":material/model_training:")
    if not submitted or not allowed():
        return
    overrides = {"epochs": int(epochs), "batch_size": int(batch), "embedding_dim": int(embedding_dim),
                 "lstm_units": int(units), "lstm_layers": int(layers), "dropout": float(dropout), "glove": glove}
    if pretrain and extra is not None:
        overrides["pretrain_data"] = str(extra)
    try:
        data = jobs.save_upload(upload.getvalue(), upload.name, column) if upload is not None else None
        job = jobs.start(jobs.JobRequest(name=name.strip(), preset=preset, overrides=overrides,
                                         data=str(data) if data else None, text_column=column))
    except (jobs.JobError, CorpusError) as exc:
        st.error(for_visitors(exc))
        return
    page().job, page().default_name = job, None  # the next job gets a fresh default name
    st.success(f"Started job {job}.")


def progress_line(p: dict, state: str) -> tuple[float, str]:
    """(fraction done, text) for the progress bar of a job in ``state`` from its progress file."""
    done = (p["epoch"] - 1 + p["batch"] / max(p["batches"], 1)) / max(p["epochs"], 1)
    phase = "pre-training " if p.get("phase") == "pre-training" else ""
    text = f"{phase}epoch {p['epoch']}/{p['epochs']} · batch {p['batch']}/{p['batches']}"
    if state == "finished":
        return 1.0, text + " · finished: trained, evaluated and saved"
    if state != "running":
        return min(max(done, 0.0), 1.0), f"{text} · {state}"
    if p.get("status") == "evaluating":
        text += " · evaluating on the test split"
    elif p.get("eta_s") is not None:
        text += " · under a minute left" if p["eta_s"] < 60 else f" · about {p['eta_s'] / 60:.0f} min left at most"
    return min(max(done, 0.0), 1.0), text


def _device_badge(device: str) -> None:
    if "GPU" in device:
        st.badge(device, icon=":material/bolt:", color="green")
    elif device:
        st.badge(device, icon=":material/memory:", color="orange")
        st.caption("No GPU found: training runs on the CPU. A GPU trains this model many times faster "
                   "(see docs/gpu.md).")


@st.fragment(run_every=2)
def job_monitor() -> None:
    """Follows the running job (or the last one) from its files: any browser, any reload."""
    job = jobs.running_job() or page().job or next(iter(jobs.recent_jobs()), None)
    if job is None:
        st.caption("No training job has run yet.")
        return
    s = jobs.status(job)
    p = s.progress
    st.markdown(f"**Job {job}** → model `{s.request.name}` · **{s.state}**")
    _device_badge(p.get("device", ""))
    if p:
        done, text = progress_line(p, s.state)
        st.progress(done, text=text)
        if p.get("history"):
            st.plotly_chart(history_figure({s.request.name: p["history"]}), width="stretch", key="training_live")
    if s.message:
        (st.error if s.state in ("failed", "interrupted") else st.info)(hide_paths(s.message))
    cols = st.columns(3)
    if s.state == "running" and cols[0].button("Cancel", key="training_cancel", icon=":material/stop:") \
            and allowed():
        jobs.cancel(job)
    if s.resumable and cols[0].button("Resume", key="training_resume", icon=":material/play_arrow:") \
            and allowed():
        try:
            page().job = jobs.resume(job)
        except jobs.JobError as exc:
            st.error(hide_paths(str(exc)))
    if s.state == "finished":
        with cols[1]:
            activate_button(s.request.name, "Activate this model", "training_activate")
    log = jobs.log_tail(job)
    if log:
        with st.expander("Log"):
            st.code(hide_paths(log), language=None)
