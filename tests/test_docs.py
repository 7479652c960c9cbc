"""The README and docs/: every relative link resolves; the figures of the shipped model and its data
are its bundle's (metrics.json, provenance.json, critic.json) and the levels are engine.config's; the
README stays short, leads with the two commands and names every console script and variable."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from engine.lm.bundle import list_bundles, load_bundle
from engine.config import DEFAULT_BUNDLE, QUIZ, ROOT
from engine.training.results import markdown, results_table

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
SEARCH_LOG = DOCS / "model-search.md"  # a dated log of runs: most of its figures are of runs not shipped
INSTALL_AND_RUN = ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt -e . "
                   "&& .venv/bin/streamlit run streamlit_app.py")
CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")  # [text](target) and ![alt](target)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)
BITS = re.compile(r"(\d+\.\d+)\**\s+bits\s+per\s+char")
TOP1 = re.compile(r"top-1\**\s+(?:is\s+|of\s+)?\**(\d+(?:\.\d+)?)%")
BELOW = re.compile(r"(\d+(?:\.\d+)?)%\**\s+below\s+(?:the\s+)?(Kneser-Ney trigram|trigram|patent-lstm)")
ENV_READ = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z_]+)["']|^\w+_ENV\s*=\s*["']([A-Z_]+)["']""", re.M)


def prose(path: Path) -> str:
    """A markdown file without its code blocks (a `# comment` in a shell block is no heading)."""
    return CODE_BLOCK.sub("", path.read_text())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Its headings' anchors; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose(path)):
        name = slug(heading)
        seen[name] = seen.get(name, -1) + 1
    return {f"{name}-{n}" if n else name for name, count in seen.items() for n in range(count + 1)}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path) if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_image_resolves(page):
    assert not broken_links(page)


def test_a_broken_link_or_anchor_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Generation speed\n\n## Generation speed\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#generation-speed-1) [gone](missing.png) [bad](other.md#speed) "
                    "[web](https://example.org/x) [self](#a-title)\n\n# A title?\n\n```\n# not-a-heading\n```\n")
    assert broken_links(page) == ["missing.png", "other.md#speed"]


def test_the_docs_index_links_every_doc():
    linked = {target.partition("#")[0] for target in LINK.findall(prose(DOCS / "README.md"))}
    assert {p.name for p in DOCS.glob("*.md")} - {"README.md"} <= linked


@pytest.fixture(scope="module")
def bundles():
    return {path.name: load_bundle(path) for path in list_bundles(ROOT / "models")}


@pytest.fixture(scope="module")
def shipped(bundles):
    return bundles[DEFAULT_BUNDLE]


def shown(value: float, text: str, percent: bool = False) -> bool:
    """Whether ``text``, a figure as a page prints it, is ``value`` to the digits it shows."""
    digits = len(text.partition(".")[2])
    return f"{value * (100 if percent else 1):.{digits}f}" == text


def test_the_results_page_shows_the_results_table_of_the_bundles(bundles):
    assert markdown(results_table(list(bundles.values()))) in (DOCS / "results.md").read_text()


def headline(label: str) -> list[str]:
    """The figures in the README's results row that starts with ``label``."""
    row = next(line for line in README.read_text().splitlines() if line.startswith(f"| {label}"))
    return re.findall(r"\d+\.\d+", row.split("|")[2])


def test_the_readme_headline_figures_are_the_bundles(bundles, shipped):
    baselines = shipped.metrics["baselines"]
    rows = [shipped.metrics["model"], baselines["kneser_ney_trigram"], bundles["tutorial"].metrics["model"]]
    bits, top1 = headline("bits per character"), headline("next-word top-1")
    assert len(bits) == len(top1) == 3
    for row, bits_shown, top1_shown in zip(rows, bits, top1):
        assert shown(row["all_tokens"]["bits_per_char"], bits_shown)
        assert shown(row["all_tokens"]["top1"], top1_shown, percent=True)


def test_every_figure_of_bits_top1_and_gain_in_the_pages_is_a_bundles(bundles):
    rows = {row["model"]: row for row in results_table(list(bundles.values()))}
    bits = [row["bits per char (open vocab)"] for row in rows.values()]
    top1 = [row["top-1"] for row in rows.values()]
    against = {"patent-lstm": rows["patent-lstm"], "trigram": rows["Kneser-Ney trigram (baseline)"]}
    wrong = []
    for page in PAGES:
        if page == SEARCH_LOG:
            continue
        text = " ".join(prose(page).split())
        wrong += [(page.name, f"{b} bits") for b in BITS.findall(text) if not any(shown(v, b) for v in bits)]
        wrong += [(page.name, f"top-1 {t}%") for t in TOP1.findall(text) if not any(shown(v, t, True) for v in top1)]
        for gain, name in BELOW.findall(text):
            base = against[name.removeprefix("Kneser-Ney ")]["bits per char (open vocab)"]
            if not any(shown(1 - v / base, gain, True) for v in bits):
                wrong.append((page.name, f"{gain}% below {name}"))
    assert not wrong


def test_the_shipped_models_epochs_training_time_and_data_are_its_bundles(shipped):
    pretrain = shipped.provenance["pretrain_data"]
    minutes = {"pre-training": pretrain["seconds"] / 60, "fine-tuning": shipped.provenance["train_seconds"] / 60}
    claims = {r"pre-trained for (\d+) epochs": len(pretrain["history"]),
              r"pre-trained for \d+ epochs \((\d+) min\)": round(minutes["pre-training"]),
              r"fine-tuned for (\d+) epochs": shipped.metrics["epochs_trained"],
              r"fine-tuned for \d+ epochs \((\d+) min": round(minutes["fine-tuning"]),
              r"(\d+) minutes on two CPU cores": round(sum(minutes.values())),
              r"\b(\d+) test abstracts": shipped.metrics["documents"],
              r"\b([\d,]+) US patent abstracts": shipped.provenance["documents"]["train"],
              r"\b([\d,]+) (?:more public|more|other) patent abstracts": pretrain["documents"],
              r"this moved (\d+) of": shipped.provenance["moved_by_family_split"],
              r"moved \d+ of ([\d,]+) abstracts": sum(shipped.provenance["documents"].values())}
    found = {pattern: [] for pattern in claims}
    for page in PAGES:
        text = " ".join(prose(page).split())
        for pattern in claims:
            found[pattern] += [int(n.replace(",", "")) for n in re.findall(pattern, text)]
    assert all(found.values()), "each claim is made somewhere"
    assert found == {pattern: [value] * len(found[pattern]) for pattern, value in claims.items()}


def test_the_model_searchs_shipped_run_is_the_shipped_bundle(shipped):
    bits = [shipped.metrics[key]["all_tokens"]["bits_per_char"] for key in ("model", "model_without_cache")]
    top1 = [shipped.metrics[key]["all_tokens"]["top1"] for key in ("model", "model_without_cache")]
    lines = [line for line in SEARCH_LOG.read_text().splitlines()
             if "shipped as `patent-awd`" in line or line.startswith("| run 4 (`patent-awd`)")]
    assert len(lines) == 3
    for line in lines:
        assert all(any(shown(v, b) for v in bits) for b in re.findall(r"\b1\.\d{3,4}\b", line))
        assert all(any(shown(v, t, True) for v in top1) for t in re.findall(r"(\d+\.\d)%", line))
    assert f"**{len(shipped.provenance['pretrain_data']['history'])}** pre-training epochs" in lines[0]


def test_the_critics_figures_are_its_critic_json(shipped):
    fitted = json.loads((shipped.path / "critic.json").read_text())["fitted_on"]
    game = " ".join(prose(DOCS / "game.md").split())
    assert re.findall(r"critic finds the human in (\d+)% of validation rounds", game) == [
        f"{fitted['critic_finds_human']:.0%}".rstrip("%")]
    for log_probability in re.findall(r"-\d\.\d+", fitted["abstracts"]):
        assert log_probability.replace("-", "−") in game


def test_the_games_rung_table_is_the_quiz_levels():
    rows = re.findall(r"^\| (\d) \|([^|]*)\| (\d+) \| ([\d.]+)–([\d.]+) \| (\d+) \|$",
                      (DOCS / "game.md").read_text(), re.M)
    names = {level: name for name, level in QUIZ.difficulties.items()}
    assert [(int(k), name.split("**")[1] if "**" in name else None, int(words), (float(low), float(high)),
             int(candidates)) for k, name, words, low, high, candidates in rows] == [
        (k, names.get(k), level.length, level.diversity, level.candidates) for k, level in enumerate(QUIZ.levels)]


def test_the_readme_is_short_and_leads_with_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    first, second = (block.strip() for block in CODE_BLOCK.findall(text)[:2])
    assert first == INSTALL_AND_RUN and second == "bash .ci/run"
    assert all((ROOT / name).is_file() for name in ("requirements.txt", "streamlit_app.py", ".ci/run"))


def test_the_readme_names_every_console_script():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert [name for name in scripts if f"`{name}`" not in README.read_text()] == []


def test_the_readme_configuration_names_every_environment_variable_the_code_reads():
    sources = [ROOT / "streamlit_app.py", *(p for d in ("engine", "ui", "pages") for p in (ROOT / d).rglob("*.py"))]
    read = {a or b for path in sources for a, b in ENV_READ.findall(path.read_text())}
    section = README.read_text().partition("## Configuration")[2].partition("\n## ")[0]
    named = set(re.findall(r"^\| `([A-Z_]+)`", section, re.M))
    assert len(read) >= 7 and read <= named


def test_the_architecture_lists_every_module_in_its_folder():
    """docs/architecture.md's layout names each module of app_pages/, ui/ and engine/ once, under its folder."""
    listed, folders = [], {}
    for line in CODE_BLOCK.findall((DOCS / "architecture.md").read_text())[0].splitlines():
        entry = re.match(r"^( *)(\S+)", line)
        if not entry:
            continue
        depth, name = len(entry[1]) // 2, entry[2]
        if name.endswith("/"):
            folders = {**{d: f for d, f in folders.items() if d < depth}, depth: name}
        elif name.endswith(".py") and depth:
            listed.append("".join(folders[d] for d in range(depth)) + name)
    modules = sorted(path.relative_to(ROOT).as_posix() for folder in ("app_pages", "ui", "engine")
                     for path in (ROOT / folder).rglob("*.py") if path.name != "__init__.py")
    assert sorted(listed) == modules


def test_the_readme_links_the_architecture_on_its_first_screen():
    assert "(docs/architecture.md)" in "\n".join(README.read_text().splitlines()[:25])
