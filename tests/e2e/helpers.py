"""Waiting for a Streamlit page to settle in Playwright, and what the eye sees on it."""
from playwright.sync_api import Page


def wait_idle(page: Page, timeout: int = 60_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           state="attached", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           state="attached", timeout=timeout)


CUT_TEXTS_JS = """() => [...document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *')]
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText.trim()).filter(Boolean)"""


def cut_texts(page: Page) -> list[str]:
    """Texts on the page that Streamlit cut short with an ellipsis ("+21.4 pts vs. most commo…")."""
    return page.evaluate(CUT_TEXTS_JS)


def in_view(page: Page, locator, wait_ms: int = 5000) -> bool:
    """The element comes to lie inside the visible part of the page, below Streamlit's header
    (within ``wait_ms``: a smooth scroll on a busy machine takes a moment)."""
    for _ in range(max(1, wait_ms // 250)):
        box = locator.bounding_box()
        if box is not None and 50 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]:
            return True
        page.wait_for_timeout(250)
    return False


def below_header(page: Page, locator) -> bool:
    """The element starts below Streamlit's header (which is drawn over the page's top)."""
    header = page.get_by_test_id("stHeader").bounding_box()
    return locator.bounding_box()["y"] >= header["y"] + header["height"]


def font_size(locator) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
