"""A visitor plays two rounds of "Human or Machine?" in Chromium."""
from playwright.sync_api import Page, expect

from helpers import wait_idle


def test_play_two_rounds(page: Page, base_url, screenshot_dir, shared_corpus_path):
    page.goto(f"{base_url}/quiz")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Human or Machine?")).to_be_visible(timeout=60_000)
    page.get_by_label("Nickname for the leaderboard").fill("Playwright")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.screenshot(path=str(screenshot_dir / "quiz.png"), full_page=True)
    for round_number in (1, 2):
        page.get_by_role("button", name="A human wrote this").first.click()
        wait_idle(page)
        expect(page.get_by_text("was written by people")).to_be_visible()
        expect(page.get_by_text("Human", exact=False).first).to_be_visible()
        expect(page.locator(".passage .tok").first).to_be_visible()
        if round_number == 1:
            page.screenshot(path=str(screenshot_dir / "quiz-reveal.png"), full_page=True)
            page.get_by_role("button", name="Next round").click()
            wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stMetric").filter(has_text="Rounds")).to_contain_text("2")
