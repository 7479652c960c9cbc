"""The results table across bundles and baselines, in the spirit of the tutorial's.

    python -m engine.results            # markdown, for the README
"""
from __future__ import annotations

import argparse

from .bundle import Bundle, list_bundles, load_bundle

BASELINE_NAMES = {"most_common_token": "Most common token (baseline)",
                  "kneser_ney_trigram": "Kneser-Ney trigram (baseline)"}
COLUMNS = ("model", "kind", "embedding / units", "layers", "bidirectional", "window", "pre-trained", "test log loss", "perplexity",
           "top-1", "top-5", "vocab size", "training time", "device")


def bundle_row(bundle: Bundle) -> dict:
    c, m, p = bundle.model_config, bundle.metrics.get("model", {}).get("all_tokens", {}), bundle.provenance
    minutes = p.get("train_seconds", 0) / 60
    budget = " (time budget)" if p.get("time_budget_hit") else ""
    return {"model": bundle.name, "kind": "many-to-one window" if c.kind == "window" else "whole-abstract LM",
            "embedding / units": f"{c.embedding_dim} / {c.lstm_units}", "layers": str(c.lstm_layers), "bidirectional": "yes" if c.bidirectional else "no",
            "window": f"{c.window} words" if c.kind == "window" else "all previous words",
            "pre-trained": "GloVe 50d" if c.glove else "no", "test log loss": m.get("cross_entropy"),
            "perplexity": m.get("perplexity"), "top-1": m.get("top1"), "top-5": m.get("top5"),
            "vocab size": len(bundle.tokenizer), "training time": f"{minutes:.0f} min{budget}",
            "device": p.get("device", "")}


def baseline_rows(bundle: Bundle) -> list[dict]:
    rows = []
    for key, name in BASELINE_NAMES.items():
        m = bundle.metrics.get("baselines", {}).get(key, {}).get("all_tokens", {})
        rows.append({**dict.fromkeys(COLUMNS, "–"), "model": name, "test log loss": m.get("cross_entropy"),
                     "perplexity": m.get("perplexity"), "top-1": m.get("top1"), "top-5": m.get("top5"),
                     "vocab size": len(bundle.tokenizer), "training time": "seconds", "device": "CPU"})
    return rows


def results_table(bundles: list[Bundle]) -> list[dict]:
    """One row per bundle, then the baselines of the first bundle (same split when the seed and data match)."""
    return [bundle_row(b) for b in bundles] + (baseline_rows(bundles[0]) if bundles else [])


def markdown(rows: list[dict]) -> str:
    def cell(key, value):
        if isinstance(value, float) and key in ("top-1", "top-5"):
            return f"{value:.1%}"
        return str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(k, row[k]) for k in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", help="bundle directories (default: all in models/)")
    args = parser.parse_args(argv)
    print(markdown(results_table([load_bundle(p) for p in (args.bundles or list_bundles())])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
