"""Settings only the pages use: how often they poll, the reasons a quiz player may tick, the retrain form's limits."""

LIVE_POLL_SECONDS = 0.5  # how often the presenter's tally reads the votes (one session: cheap)
LIVE_AUDIENCE_POLL_SECONDS = 1.5  # how often a phone looks for the next round or the reveal
LEADERBOARD_SECONDS = 2.0  # how long every quiz player shares one read of the leaderboard (200 players: 9% of a core)
QUIZ_REASONS = ("grammar", "repetition", "off-topic", "contradiction", "generic", "other")
RETRAIN_RANGES = {"embedding_dim": (8, 512), "lstm_units": (8, 1024), "lstm_layers": (1, 4),
                  "dropout": (0.0, 0.8), "epochs": (1, 200), "batch_size": (1, 4096)}  # the form's limits
