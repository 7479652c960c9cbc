"""AppTest: the landing page and the playground, with the tiny bundle as the active model."""
import pytest

from apptest_helpers import errors, html_bodies, page


@pytest.fixture(autouse=True)
def setup(app_setup):
    pass


def test_landing_page_shows_links_and_headline_numbers(tiny_bundle):
    at = page()
    assert not at.exception and at.title[0].value == "Human or Machine?"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Bits per character", "Next-word accuracy", "Perplexity"]
    top1 = tiny_bundle.metrics["model"]["all_tokens"]["top1"]
    assert at.metric[0].value == str(tiny_bundle.metrics["model"]["all_tokens"]["bits_per_char"])
    assert at.metric[1].value == f"{top1:.1%}"


def test_generate_streams_coloured_text_and_sets_the_link():
    at = page("pages/playground.py")
    at.text_area(key="playground_seed").input("The system receives <b>input</b>").run()
    at.button(key="playground_generate").click().run()
    assert not errors(at)
    body = html_bodies(at)
    assert '<span class="seed">The system receives &lt;b&gt;input&lt;/b&gt;</span>' in body
    assert 'class="tok r10"' in body and "rank 1" in body
    assert at.query_params["seed"] == "The system receives <b>input</b>" and at.query_params["guard"] == "3"
    assert at.get("plotly_chart") and at.get("download_button")


def test_a_shared_link_reproduces_the_text():
    query = {"seed": "A neural network", "diversity": "1.3", "rng": "77", "words": "20"}
    first, second = page("pages/playground.py", query), page("pages/playground.py", query)
    for at in (first, second):
        assert at.slider(key="playground_diversity").value == 1.3
        at.button(key="playground_generate").click().run()
    assert html_bodies(first) == html_bodies(second)


def test_absurd_link_values_are_clamped_with_a_message():
    at = page("pages/playground.py", {"diversity": "1e9", "words": "-5", "rng": "abc"})
    assert at.slider(key="playground_diversity").value == 2.0 and at.slider(key="playground_words").value == 5
    warnings = " ".join(w.value for w in at.warning)
    assert "diversity" in warnings and "rng" in warnings and not at.exception


def test_real_abstract_shows_the_true_continuation(invented_csv):
    at = page("pages/playground.py")
    at.button(key="playground_pick_real").click().run()
    assert not errors(at)
    assert any("What the inventors wrote" in m.value for m in at.markdown)
    assert 'class="passage real"' in html_bodies(at)
    assert at.text_area(key="playground_seed").value


def test_compare_diversities_side_by_side():
    at = page("pages/playground.py")
    at.button(key="playground_compare").click().run()
    assert [m.value for m in at.markdown if m.value.startswith("**Diversity")] == [
        "**Diversity 0.2**", "**Diversity 0.6**", "**Diversity 1**", "**Diversity 1.5**"]


@pytest.mark.parametrize("seed, kind, text", [
    ("zzqx wvqq 🚀", "error", "knows none of these words"),
    ("", "info", "from scratch"),
    ("The quantum system receives 🚀", "warning", "`quantum`, `🚀`"),
])
def test_bad_seeds_get_helpful_messages(seed, kind, text):
    at = page("pages/playground.py")
    at.text_area(key="playground_seed").input(seed).run()
    at.button(key="playground_generate").click().run()
    assert not at.exception
    assert any(text in el.value for el in getattr(at, kind))


def test_missing_model_gives_a_clear_page(tmp_path, monkeypatch):
    from engine import config

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    for path in ("streamlit_app.py", "pages/playground.py"):
        at = page(path)
        assert not at.exception and "could not be loaded" in at.error[0].value
