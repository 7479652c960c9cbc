"""A newcomer's first look and a walk through every page, each at the size it was seen at."""
import pytest
from playwright.sync_api import Browser, Page, expect

from helpers import cut_texts, font_size, in_view, wait_idle

expect.set_options(timeout=90_000)  # a page written by the model, on two shared cores
# the sidebar's names; every page but the landing page and the presenter's is headed by its name
PAGES = {"Home": None, "Human or Machine?": "Human or Machine?",
         "Where does the machine take over?": "Where does the machine take over?", "Playground": "Playground",
         "Training": "Training", "Live (presenter)": "Live: play with a room"}


def new_page(browser: Browser, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(90_000)
    return page


def test_every_page_comes_from_the_app_alone_goes_by_one_name_and_cuts_no_label(browser, base_url,
                                                                               shared_corpus_path):
    """Each page asked fonts.gstatic.com for its icon; the sidebar said "Where does it take over?"; a tile's
    delta read "+21.4 pts vs. most commo…" and the retrain form's pre-training switch was cut too."""
    page = new_page(browser, 1280, 800)
    elsewhere = []
    page.context.on("request", lambda r: None if r.url.startswith(base_url) else elsewhere.append(r.url))
    page.context.route(lambda url: not url.startswith(base_url), lambda route: route.abort())  # offline: fail fast
    page.goto(base_url)
    wait_idle(page)
    for name, heading in PAGES.items():
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1).first).to_have_text(heading or "Human or Machine?")
        wait_idle(page)
        if name == "Training":
            page.get_by_role("tab", name="Retrain").click()
            expect(page.get_by_text("Pre-train on the extra patent abstracts")).to_be_visible()
        page.wait_for_timeout(500)
        assert cut_texts(page) == [], f"{name}: text cut short"
        expect(page.get_by_test_id("stException")).to_have_count(0)
    assert elsewhere == [], "requests to hosts other than the app's own server"
    page.context.close()


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 720)], ids=["phone", "projector"])
def test_each_new_quiz_round_opens_at_its_top(browser, base_url, shared_corpus_path, width, height):
    """After Next round the new round kept the reveal's scroll, its opening above the screen (a phone: about
    half the rounds, 424-455 px down; a projector: 1 in 3)."""
    page = new_page(browser, width, height)
    page.goto(f"{base_url}/quiz")
    for number in range(1, 5):
        pick = page.get_by_role("button", name="A: a human wrote this")
        expect(pick).to_be_visible()
        wait_idle(page)
        assert in_view(page, page.locator(".passage").first), f"round {number} opened below its opening"
        pick.click()
        next_round = page.get_by_role("button", name="Next round")
        expect(next_round).to_be_visible()
        wait_idle(page)
        assert in_view(page, next_round)  # scrolled to the verdict, as a player who read the reveal is
        next_round.click()
    page.context.close()


def test_presenter_view_keeps_labels_small_values_clear_and_the_reveal_on_screen(browser, base_url,
                                                                                shared_corpus_path):
    """At 1280x720 the quiz's metric labels were larger than their values, the reveal's passages ran below the
    screen, the playground's slider values sat on their thumbs and a checkbox label was cut."""
    page = new_page(browser, 1280, 720)
    page.goto(f"{base_url}/quiz")
    expect(page.locator(".passage").first).to_be_visible()
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_text("Presenter view").click()
    expect(page.get_by_text("Why? (optional")).to_have_count(0)
    wait_idle(page)
    for metric in page.get_by_test_id("stMetric").all():
        label, value = (metric.get_by_test_id(part).locator("p") for part in ("stMetricLabel", "stMetricValue"))
        assert font_size(label) < font_size(value), metric.inner_text()  # both were 1.45rem
    page.get_by_role("button", name="A: a human wrote this").click()
    expect(page.get_by_role("button", name="Next round")).to_be_visible()
    wait_idle(page)
    for passage in page.locator("[class*='st-key-quiz_option_'] .passage").all():
        assert in_view(page, passage), "a passage of the reveal runs below the projector's screen"
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Playground").click()
    sliders = page.get_by_test_id("stSlider")
    expect(sliders.first).to_be_visible()
    wait_idle(page)
    for slider in sliders.all():
        value = slider.get_by_test_id("stSliderThumbValue")
        thumb = value.locator("xpath=..").bounding_box()  # the value is drawn above its thumb
        box = value.bounding_box()
        assert box["y"] + box["height"] <= thumb["y"] + 1, f"{value.inner_text()} overlaps its thumb"
    assert cut_texts(page) == []
    page.context.close()


def test_the_training_curves_legend_clears_the_axis_titles_on_a_phone(browser, base_url):
    page = new_page(browser, 390, 844)
    page.goto(f"{base_url}/training")
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".legend")).to_be_visible()
    wait_idle(page)
    legend = chart.locator(".legend").bounding_box()
    for title in chart.locator(".xtitle").all():
        box = title.bounding_box()
        assert box["y"] + box["height"] <= legend["y"], "the legend overlaps the axis title"
    page.context.close()


def test_without_the_corpus_each_game_shows_its_notice_at_one_height(browser, offline_url):
    """The live page's notice sat higher than the quiz's and the boundary game's."""
    page = new_page(browser, 1280, 800)
    tops = {}
    for path in ("quiz", "boundary", "live"):
        page.goto(f"{offline_url}/{path}")
        notice = page.get_by_test_id("stAlert").first
        expect(notice).to_contain_text("PATENT_CORPUS")
        wait_idle(page)
        tops[path] = round(notice.bounding_box()["y"])
    assert len(set(tops.values())) == 1, tops
    page.context.close()
