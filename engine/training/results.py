"""The results table across bundles and baselines, in the spirit of the tutorial's.

    python -m engine.training.results            # markdown, for the README

Rows are ranked by open-vocabulary bits per character (lower is better), the one figure that
compares models with different vocabularies; the per-token figures beside it depend on the vocabulary.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..lm.bundle import Bundle, BundleError, list_bundles, load_bundles, read_metrics

BASELINE_NAMES = {"most_common_token": "Most common token (baseline)",
                  "kneser_ney_trigram": "Kneser-Ney trigram (baseline)"}
COLUMNS = ("model", "kind", "embedding / units", "layers", "regularisation", "pre-trained", "copy",
           "bits per char (open vocab)", "per-token log loss", "per-token perplexity", "top-1", "top-5",
           "vocab size", "test abstracts", "training time", "device")
RANKED_BY = "bits per char (open vocab)"  # fair across vocabularies


def _figures(m: dict) -> dict:
    return {"bits per char (open vocab)": m.get("bits_per_char"), "per-token log loss": m.get("cross_entropy"),
            "per-token perplexity": m.get("perplexity"), "top-1": m.get("top1"), "top-5": m.get("top5")}


def bits_per_char(metrics: dict) -> float:
    """A bundle's open-vocabulary test figure from its metrics (infinity when it predates the metric)."""
    return metrics.get("model", {}).get("all_tokens", {}).get("bits_per_char") or float("inf")


def not_better_than_baselines(metrics: dict) -> list[str]:
    """What speaks against making a model everyone's: each baseline it does not beat in bits per
    character on its test split, or that it has no such figure at all."""
    mine = bits_per_char(metrics)
    if mine == float("inf"):
        return ["It has no test figures (metrics.json), so nothing shows it writes better than a baseline."]
    return [f"Its {mine:.4f} bits per character are no better than the {name.removesuffix(' (baseline)')} "
            f"baseline's {theirs:.4f}." for key, name in BASELINE_NAMES.items()
            if (theirs := metrics.get("baselines", {}).get(key, {}).get("all_tokens", {}).get("bits_per_char"))
            is not None and theirs <= mine]


def ranked(paths: list[Path]) -> list[Path]:
    """Bundle directories, best first by bits per character (read from metrics.json alone)."""
    def key(path):
        try:
            return bits_per_char(read_metrics(path))
        except BundleError:  # a damaged bundle goes last; loading it says what is wrong
            return float("inf")

    return sorted(paths, key=key)


def bundle_rows(bundle: Bundle) -> list[dict]:
    """The bundle's row, and a row without its continuous cache when it has one."""
    c, p, metrics = bundle.model_config, bundle.provenance, bundle.metrics
    minutes = (p.get("train_seconds", 0) + (p.get("pretrain_data") or {}).get("seconds", 0)) / 60
    budget = " (time budget)" if p.get("time_budget_hit") else ""
    regularisation = ", ".join(name for name, on in (
        ("tied embeddings", c.tie_embeddings), (f"{'locked ' if c.locked_dropout else ''}dropout {c.dropout:g}", c.dropout),
        (f"embedding dropout {c.embedding_dropout:g}", c.embedding_dropout),
        (f"weight drop {c.weight_drop:g}", c.weight_drop)) if on) or "none"
    pretrained = ["GloVe 50d"] * c.glove + ["extra abstracts"] * bool(p.get("pretrain_data"))
    cache = metrics.get("cache", {})
    common = f", words outside the {cache['common']} commonest" if cache.get("common") else ""
    row = {"model": bundle.name, "kind": "many-to-one window" if c.kind == "window" else "whole-abstract LM",
           "embedding / units": f"{c.embedding_dim} / {c.lstm_units}", "layers": str(c.lstm_layers),
           "regularisation": regularisation, "pre-trained": ", ".join(pretrained) or "no",
           "copy": f"cache (λ {cache['mix']:g}, θ {cache['theta']:g}{common})" if cache.get("mix") else "no",
           **_figures(metrics.get("model", {}).get("all_tokens", {})),
           "vocab size": len(bundle.tokenizer), "test abstracts": metrics.get("documents"),
           "training time": f"{minutes:.0f} min{budget}", "device": p.get("device", "")}
    rows = [row]
    if "model_without_cache" in metrics:
        rows.append({**row, "model": f"{bundle.name} without the cache", "copy": "no",
                     **_figures(metrics["model_without_cache"]["all_tokens"])})
    return rows


def baseline_rows(bundle: Bundle) -> list[dict]:
    rows = []
    for key, name in BASELINE_NAMES.items():
        m = bundle.metrics.get("baselines", {}).get(key, {}).get("all_tokens", {})
        rows.append({**dict.fromkeys(COLUMNS, "–"), "model": name, **_figures(m), "vocab size": len(bundle.tokenizer),
                     "test abstracts": bundle.metrics.get("documents"), "training time": "seconds", "device": "CPU"})
    return rows


def results_table(bundles: list[Bundle]) -> list[dict]:
    """Every bundle (and its cache-less variant) and the baselines of the best bundle (the same test
    abstracts when the bundles were evaluated on one split), ranked by bits per character."""
    bundles = sorted(bundles, key=lambda b: bits_per_char(b.metrics))
    rows = [row for b in bundles for row in bundle_rows(b)] + (baseline_rows(bundles[0]) if bundles else [])
    return sorted(rows, key=lambda r: r[RANKED_BY] or float("inf"))


def markdown(rows: list[dict]) -> str:
    def cell(key, value):
        if isinstance(value, float) and key in ("top-1", "top-5"):
            return f"{value:.1%}"
        return "–" if value is None else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(k, row[k]) for k in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", help="bundle directories (default: all in models/)")
    args = parser.parse_args(argv)
    bundles, problems = load_bundles(args.bundles or list_bundles())
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(markdown(results_table(bundles)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
