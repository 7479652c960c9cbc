"""A presenter retrains a tiny model from the browser, watches it, and finds the new bundle."""
import re

from playwright.sync_api import Page, expect

from helpers import wait_idle


def test_tiny_retrain_from_the_browser(page: Page, base_url, app_env, screenshot_dir, shared_corpus_path):
    page.goto(f"{base_url}/training")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Training")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(screenshot_dir / "training.png"), full_page=True)

    page.get_by_role("tab", name="Retrain").click()
    page.get_by_test_id("stSelectbox").filter(has_text="Starting point").click()
    page.get_by_role("option", name=re.compile(r"^tiny")).click()
    wait_idle(page)
    name = page.get_by_label("Name of the new model")
    name.fill("browser-tiny")
    epochs = page.get_by_label("Epochs at most")
    epochs.fill("1")
    page.get_by_role("button", name="Retrain").click()
    expect(page.get_by_text(re.compile(r"model `?browser-tiny`? · \*?\*?(running|finished)"))).to_be_visible(timeout=60_000)
    expect(page.get_by_text("CPU").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(screenshot_dir / "training-job.png"), full_page=True)
    expect(page.get_by_role("button", name="Activate this model")).to_be_visible(timeout=240_000)
    page.reload()
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    expect(page.get_by_role("option", name="browser-tiny")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
