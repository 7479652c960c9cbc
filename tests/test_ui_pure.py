"""The pure (streamlit-free) UI helpers: HTML rendering and playground settings."""
from engine.lm.generate import Word
from ui.render import bucket, legend_html, passage_html, words_html
from ui.settings import PlaygroundSettings


def test_words_are_escaped_coloured_and_joined_like_text():
    words = [Word("<script>", 0.5, 0), Word(",", 0.2, 15), Word("x&y", 0.01, 500), Word(".", 0.001, 5000)]
    out = words_html(words)
    assert "<script>" not in out and "&lt;script&gt;" in out and "x&amp;y" in out
    assert [bucket(w.rank) for w in words] == ["r10", "r100", "r1000", "rest"]
    assert '&lt;script&gt;</span><span class="tok r100"' in out  # no space before the comma
    assert 'title="probability 50.00% · rank 1"' in out


def test_a_copied_word_is_marked_and_escaped():
    out = words_html([Word("<memristive>", 0.4, 2, copied=True), Word("synapse", 0.3, 0)])
    assert '<span class="tok r10 copied" title="probability 40.00% · rank 3 · copied from the text so far">' \
           '&lt;memristive&gt;</span>' in out
    assert out.count("copied") == 2 and "copied from the text so far" in legend_html()


def test_passage_marks_the_seed_and_the_end():
    out = passage_html('He said "<b>"', [Word("yes", 0.3, 1)], sentence_start=False, ended=True)
    assert '<span class="seed">He said &quot;&lt;b&gt;&quot;</span>' in out and "■" in out
    assert "top 10" in legend_html()


def test_no_space_between_the_seed_and_the_punctuation_that_follows_it():
    out = passage_html("trained to read digits", [Word(".", 0.5, 0), Word("a", 0.2, 1)], sentence_start=False)
    assert 'digits</span><span class="tok r10" title="probability 50.00% · rank 1">.</span> <span' in out
    after_bracket = passage_html("a device (", [Word("wherein", 0.5, 0)], sentence_start=False)
    assert '(</span><span class="tok r10"' in after_bracket
    assert 'digits</span> <span' in passage_html("digits", [Word("a", 0.2, 1)], sentence_start=False)


def test_settings_round_trip_through_the_url():
    settings = PlaygroundSettings(opening="A neural network", words=42, diversity=1.25, repetition_guard=2, rng_seed=9)
    again, problems = PlaygroundSettings.from_query(settings.to_query())
    assert again == settings and problems == []


def test_bad_url_values_are_fixed_and_reported():
    settings, problems = PlaygroundSettings.from_query(
        {"diversity": "inf", "words": "100000", "top_p": "0", "guard": "7", "seed": "x" * 20000, "evil": "1"})
    assert (settings.diversity, settings.words, settings.top_p, settings.repetition_guard) == (0.8, 300, 0.05, 0)
    assert len(settings.opening) == 5000 and len(problems) == 5


def test_room_html_escapes_audience_names():
    from ui.render import leaderboard_html, names_html, tally_html

    out = tally_html((2, 0, 1), human=2)
    assert 'data-option="C"><span class="tally-label">C</span>' in out and 'class="tally-row human"' in out
    assert 'style="width:67%"' in out and '<span class="tally-count">0</span>' in out
    assert "<img" not in names_html(["<img src=x onerror=alert(1)>"])
    board = leaderboard_html([{"rank": 1, "nickname": "<b>Bo</b>", "right": 2}], 3)
    assert "&lt;b&gt;Bo&lt;/b&gt;" in board and "2 of 3" in board


def test_the_map_labels_a_readable_subset():
    import numpy as np

    from ui.charts import embedding_figure, readable_labels

    xy = np.array([[0, 0], [0.001, 0], [1, 1], [0.5, 0.5], [0.5001, 0.5]])
    assert readable_labels(xy) == [True, False, True, True, False]  # crowded points stay unlabelled
    assert sum(readable_labels(np.random.default_rng(0).normal(size=(300, 2)), keep=30)) <= 30
    fig = embedding_figure(["net", "nets", "layer", "unit", "units"], xy, highlight="nets")
    assert list(fig.data[0].text) == ["net", "nets", "layer", "unit", ""]  # the searched word always shows


def test_the_chance_label_sits_in_the_margin_and_full_marks_show():
    from ui.charts import accuracy_figure

    fig = accuracy_figure([{"diversity": 0.5, "rate": 1.0, "low": 0.6, "high": 1.0, "answers": 5}])
    assert fig.layout.annotations[0].xref == "paper" and fig.layout.annotations[0].x == 1
    assert fig.data[0].cliponaxis is False and fig.layout.yaxis.range[1] > 1


def test_quotation_marks_and_invisible_characters_are_not_reported_as_a_cut():
    """An opening with `"` or bidi characters was reported as "cut to its last N characters"."""
    settings, problems = PlaygroundSettings.from_query({"seed": 'The "smart" lens\u202e turns\u200b left'})
    assert problems == [] and settings.opening == "The smart lens turns left"


def test_a_runs_colour_stays_when_a_run_is_added():
    """Colours went by position: adding a run (or hiding one) repainted the others."""
    from ui.charts import history_figure

    rows = [{"epoch": 1, "loss": 2.0, "val_loss": 2.1, "accuracy": 0.2, "val_accuracy": 0.2}]

    def colours(histories):
        return {trace.legendgroup: trace.line.color for trace in history_figure(histories).data}

    before = colours({"patent-lstm": rows, "tutorial": rows})
    after = colours({"patent-awd": rows, "patent-lstm": rows, "tutorial": rows})
    assert {name: after[name] for name in before} == before
    assert len(set(after.values())) == 3  # the shipped runs apart


def test_the_reveal_says_which_option_the_reader_picked_and_by_how_much():
    from types import SimpleNamespace

    from ui.render import reader_verdict

    options = [SimpleNamespace(human=False, reader_logp=-3.0), SimpleNamespace(human=True, reader_logp=-2.4),
               SimpleNamespace(human=False, reader_logp=-2.0)]
    verdict = reader_verdict(options)
    assert "would have picked C and been fooled" in verdict
    assert "C 2.7x likelier than A and 1.5x likelier than B" in verdict  # e^1.0 and e^0.4 per word
    options[1].reader_logp = -1.9
    assert "picked B, the human's" in reader_verdict(options)
    options[0].reader_logp = None  # a round made without the reader
    assert reader_verdict(options) is None
