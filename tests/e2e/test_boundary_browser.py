"""A visitor plays whole abstracts of "Where does the machine take over?" in Chromium (projector and phone
sizes), then finds the answers in the CSV the page offers."""
import csv
import io

import pytest
from engine.config import DEFAULT_BUNDLE
from playwright.sync_api import Browser, expect

from helpers import wait_idle

WAIT = 90_000  # a page written by the model, on two shared cores
expect.set_options(timeout=WAIT)


def open_page(browser: Browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url)
    expect(page.get_by_role("heading", name="Where does the machine take over?")).to_be_visible()
    wait_idle(page)
    return page


def play(page, machine_at: int | None, screenshot=None) -> int:
    """Say "still human" until sentence ``machine_at`` (from 0; None: to the end); the sentences shown."""
    shown = 0
    while not page.get_by_role("button", name="Next abstract").is_visible():
        shown += 1
        expect(page.locator(".sentences .sentence")).to_have_count(shown)
        expect(page.locator(".sentences .sentence.current")).to_have_count(1)
        expect(page.locator(".sentences .tok")).to_have_count(0)  # no colours before the reveal
        sentence = page.locator("#current-sentence")
        expect(sentence).to_be_in_viewport()
        if sentence.bounding_box()["height"] < page.viewport_size["height"] / 2:  # a long one pushes the buttons down
            expect(sentence).to_be_in_viewport(ratio=1)  # scrolled to, on a phone too, with its buttons
            expect(page.get_by_role("button", name="Still human")).to_be_in_viewport()
        if screenshot and shown == 2:
            page.wait_for_timeout(800)  # the end of the smooth scroll
            page.screenshot(path=screenshot)
        name = "The machine wrote this one" if shown - 1 == machine_at else "Still human"
        page.get_by_role("button", name=name).click()
        page.wait_for_function(  # the next sentence, or the reveal
            "n => document.querySelectorAll('.sentences .sentence').length > n"
            " || [...document.querySelectorAll('button')].some(b => b.innerText.includes('Next abstract'))", arg=shown)
        wait_idle(page)
    return shown


def test_play_a_whole_abstract_then_download_the_answers(browser: Browser, base_url, screenshot_dir,
                                                          shared_corpus_path):
    page = open_page(browser, f"{base_url}/boundary", 1280, 720)
    page.get_by_label("Nickname (saved with your answers)").fill("=Playwright")
    page.keyboard.press("Enter")
    wait_idle(page)
    shown = play(page, None, screenshot=str(screenshot_dir / "boundary-projector.png"))
    verdict = page.get_by_test_id("stAlert").first
    expect(verdict).to_contain_text("points")
    expect(page.locator(".sentences .takeover")).to_have_count(1)  # where the machine took over, or "never"
    expect(page.get_by_role("button", name="Next abstract")).to_be_in_viewport()
    page.screenshot(path=str(screenshot_dir / "boundary-reveal-projector.png"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stMetric").filter(has_text="Rounds")).to_contain_text("1")

    export = page.get_by_role("button", name="Download all answers to this game (CSV)")
    export.scroll_into_view_if_needed()
    wait_idle(page)
    with page.expect_download() as download:
        export.click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    mine = [r for r in rows if r["nickname"] == "'=Playwright"]  # a spreadsheet shows it as text
    assert len(mine) == 1 and mine[0]["guess"] == "" and int(mine[0]["n_sentences"]) == shown
    assert mine[0]["bundle"] == DEFAULT_BUNDLE and '"diversity"' in mine[0]["settings"]
    page.context.close()


@pytest.mark.parametrize("screen, width, height", [("phone", 390, 844), ("desktop", 1440, 900)])
def test_a_player_says_machine_and_sees_the_verdict_without_scrolling(browser: Browser, base_url, screenshot_dir,
                                                                      shared_corpus_path, screen, width, height):
    page = open_page(browser, f"{base_url}/boundary", width, height)
    play(page, 1, screenshot=str(screenshot_dir / f"boundary-{screen}.png"))
    expect(page.get_by_test_id("stAlert").first).to_contain_text("points")
    expect(page.locator(".sentences .guess")).to_have_count(1)
    next_abstract = page.get_by_role("button", name="Next abstract")
    expect(next_abstract).to_be_in_viewport()
    page.wait_for_timeout(800)  # the smooth scroll to the verdict
    page.screenshot(path=str(screenshot_dir / f"boundary-reveal-{screen}.png"))
    next_abstract.click()
    wait_idle(page)
    expect(page.locator(".sentences .sentence")).to_have_count(1)
    page.context.close()
