"""A visitor opens the app, changes the diversity, generates, and sees coloured text."""
import re

from playwright.sync_api import Page, expect

from helpers import wait_idle


def test_generate_with_changed_diversity(page: Page, base_url, screenshot_dir):
    page.goto(base_url)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Human or Machine?")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Playground").click()
    expect(page).to_have_url(re.compile(r"/playground"))
    wait_idle(page)
    slider = page.get_by_role("slider", name="Diversity")
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    expect(slider).to_have_value("1")
    wait_idle(page)
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".passage .tok").first).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "diversity=1.0" in page.url
    expect(page.locator("div.legend")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").locator(".main-svg").first).to_be_visible(timeout=20_000)
    page.screenshot(path=str(screenshot_dir / "playground.png"), full_page=True)
