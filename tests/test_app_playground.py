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
    at = page("app_pages/playground.py")
    at.text_area(key="playground_opening").input("The system receives <b>input</b>").run()
    at.button(key="playground_generate").click().run()
    assert not errors(at)
    body = html_bodies(at)
    assert '<span class="seed">The system receives &lt;b&gt;input&lt;/b&gt;</span>' in body
    assert 'class="tok r10"' in body and "rank 1" in body
    assert at.query_params["seed"] == "The system receives <b>input</b>" and at.query_params["guard"] == "3"
    assert at.get("plotly_chart") and at.get("download_button")
    notes = [c.value for c in at.caption if "**Novel:**" in c.value or "**Memorised:**" in c.value]
    assert len(notes) == 1  # the memorisation guard's verdict on what was written


def test_a_shared_link_reproduces_the_text():
    query = {"seed": "A neural network", "diversity": "1.3", "rng": "77", "words": "20"}
    first, second = page("app_pages/playground.py", query), page("app_pages/playground.py", query)
    for at in (first, second):
        assert at.slider(key="playground_diversity").value == 1.3
        assert 'class="tok' in html_bodies(at)  # written on arrival, no click needed
    assert html_bodies(first) == html_bodies(second)
    first.button(key="playground_generate").click().run()
    assert html_bodies(first) == html_bodies(second)


def test_the_page_says_when_the_model_ended_early(monkeypatch):
    from engine.lm import generate

    real_stream = generate.stream

    def ends_after_two(bundle, generation, sampling, **settings):  # the model writes its end mark early
        for n, word in enumerate(real_stream(bundle, generation, sampling, **settings)):
            if n == 2:
                generation.ended = True
                return
            yield word

    at = page("app_pages/playground.py")
    monkeypatch.setattr("engine.lm.generate.stream", ends_after_two)
    at.button(key="playground_generate").click().run()
    assert any("ended the abstract" in c.value and "before the 60" in c.value for c in at.caption)
    assert at.slider(key="playground_words").label == "Length"


def test_absurd_link_values_are_clamped_with_a_message():
    at = page("app_pages/playground.py", {"diversity": "1e9", "words": "-5", "rng": "abc"})
    assert at.slider(key="playground_diversity").value == 2.0 and at.slider(key="playground_words").value == 5
    warnings = " ".join(w.value for w in at.warning)
    assert "diversity" in warnings and "rng" in warnings and not at.exception


def test_real_abstract_shows_the_true_continuation(invented_csv):
    at = page("app_pages/playground.py")
    at.button(key="playground_pick_real").click().run()
    assert not errors(at)
    assert any("What the inventors wrote" in m.value for m in at.markdown)
    assert 'class="passage real"' in html_bodies(at)
    assert at.text_area(key="playground_opening").value


def test_compare_diversities_side_by_side():
    at = page("app_pages/playground.py")
    at.button(key="playground_compare").click().run()
    assert [m.value for m in at.markdown if m.value.startswith("**Diversity")] == [
        "**Diversity 0.2**", "**Diversity 0.6**", "**Diversity 1**", "**Diversity 1.5**"]


@pytest.mark.parametrize("seed, kind, text", [
    ("zzqx wvqq 🚀", "error", "knows none of these words"),
    ("", "info", "from scratch"),
    ("The quantum system receives 🚀", "warning", "`quantum`, `🚀`"),
])
def test_bad_seeds_get_helpful_messages(seed, kind, text):
    at = page("app_pages/playground.py")
    at.text_area(key="playground_opening").input(seed).run()
    at.button(key="playground_generate").click().run()
    assert not at.exception
    assert any(text in el.value for el in getattr(at, kind))


def test_missing_model_gives_a_clear_page(tmp_path, monkeypatch):
    from engine import config

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    for path in ("streamlit_app.py", "app_pages/playground.py"):
        at = page(path)
        assert not at.exception and "could not be loaded" in at.error[0].value


@pytest.mark.parametrize("query", [
    {"words": "1e400"}, {"words": "inf"}, {"rng": "inf"}, {"top_k": "-inf"}, {"guard": "inf"},
    {"words": "9" * 400}, {"diversity": "nan", "top_p": "-1e400"},
])
def test_links_with_infinite_or_huge_numbers_are_fixed_with_a_message(query):
    """Such links get a warning and values the widgets can show, not an OverflowError."""
    at = page("app_pages/playground.py", query)
    assert not at.exception and at.warning
    at.button(key="playground_generate").click().run()
    assert not errors(at)


def test_a_pasted_opening_longer_than_the_limit_is_kept(tiny_bundle):
    """A pasted opening over the limit stays in the box; the model reads its last 5,000 characters."""
    long_text = "The system receives input signals. " * 200  # 7,000 characters
    at = page("app_pages/playground.py")
    assert not at.text_area(key="playground_opening").proto.max_chars  # the box takes it all
    at.text_area(key="playground_opening").input(long_text).run()
    assert at.text_area(key="playground_opening").value == long_text
    assert any("last 5,000 characters" in c.value for c in at.caption)
    at.button(key="playground_generate").click().run()
    assert not errors(at)
    seed_html = html_bodies(at).split('<span class="seed">')[1].split("</span>")[0]
    assert 4900 < len(seed_html) <= 5000 and long_text.strip().endswith(" " + seed_html)  # from a word's start
    assert at.query_params["seed"] == seed_html  # the link carries what the model read, not 7,000 characters


def test_settings_survive_a_visit_to_another_page():
    """Streamlit drops a widget's value after a run without that widget (another page, a run cut
    short under load): the settings come back from their plain session entry, not from the URL of
    the last Generate or the sliders' minimums."""
    at = page("app_pages/playground.py")
    at.button(key="playground_generate").click().run()  # the URL now holds the settings of this run
    at.slider(key="playground_diversity").set_value(1.3).run()
    at.slider(key="playground_words").set_value(20).run()
    at.text_area(key="playground_opening").input("The system stores").run()
    for _ in range(2):
        at.switch_page("app_pages/training.py").run()
        at.switch_page("app_pages/playground.py").run()
        assert at.slider(key="playground_diversity").value == 1.3
        assert at.slider(key="playground_words").value == 20
        assert at.text_area(key="playground_opening").value == "The system stores"
    at.button(key="playground_generate").click().run()
    assert not errors(at) and at.query_params["diversity"] == "1.3"



def test_a_link_whose_opening_has_quotes_and_direction_marks_is_not_called_cut():
    """An opening with `"` or bidi characters was reported as "cut" on the page."""
    at = page("app_pages/playground.py", {"seed": 'The "weight matrix"\u202e in real time'})
    assert not errors(at) and not at.warning, [w.value for w in at.warning]
    assert at.text_area(key="playground_opening").value == "The weight matrix in real time"
