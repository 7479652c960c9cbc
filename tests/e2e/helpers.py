"""Waiting for a Streamlit page to settle in Playwright."""
from playwright.sync_api import Page


def wait_idle(page: Page, timeout: int = 60_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           state="attached", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           state="attached", timeout=timeout)
