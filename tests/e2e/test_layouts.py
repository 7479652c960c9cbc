"""Every page on a desktop (1440x900), a projector (1280x720) and a phone (390x844): what the eyes need is on
screen. The screenshots in docs/screenshots come from here (docs/screenshots.md says how)."""
import pytest
from playwright.sync_api import Browser, Page, expect

from helpers import below_header, font_size, in_view, wait_idle

SCREENS = {"desktop": (1440, 900), "projector": (1280, 720), "phone": (390, 844)}
expect.set_options(timeout=90_000)  # a page written by the model, on two shared cores


def settle(page: Page) -> None:
    """Let lazily loaded widgets (links, charts) finish drawing before a screenshot."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)


@pytest.fixture(params=list(SCREENS))
def screen(request, browser: Browser):
    width, height = SCREENS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield request.param, page
    context.close()


def test_playground_controls_come_first_and_results_scroll_into_view(screen, base_url, screenshot_dir):
    name, page = screen
    page.goto(f"{base_url}/playground?seed=A+neural+network&words=40&rng=3")
    expect(page.locator(".passage .tok").first).to_be_visible()  # a shared link writes on arrival
    wait_idle(page)
    slider, output = page.get_by_role("slider", name="Diversity"), page.locator(".passage").first
    assert page.evaluate("([a, b]) => a.getBoundingClientRect().top < b.getBoundingClientRect().top",
                         [slider.element_handle(), output.element_handle()])  # the knobs first, on a phone too
    expect(page.get_by_text("up to 40 words")).to_be_visible()
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".passage .tok").first).to_be_visible()
    wait_idle(page)
    assert in_view(page, page.get_by_role("button", name="Generate"))
    # the scroll is asynchronous (a short delay, then a smooth scroll): wait for the text to arrive below the buttons
    page.wait_for_function("() => document.querySelector('.passage').getBoundingClientRect().top"
                           " < window.innerHeight * 0.6", timeout=15_000)
    page.screenshot(path=str(screenshot_dir / f"playground-{name}.png"))
    page.get_by_role("button", name="Compare").click()
    heading = page.get_by_text("Same opening, same random seed, four diversities")
    expect(heading).to_be_visible()
    wait_idle(page)
    page.wait_for_timeout(800)
    assert in_view(page, heading)
    page.screenshot(path=str(screenshot_dir / f"playground-compare-{name}.png"))
    expect(page.locator(".modebar")).to_have_count(0)  # no plotly toolbar over the legend


def test_quiz_opening_first_verdict_and_next_round_without_scrolling(screen, base_url, screenshot_dir,
                                                                     shared_corpus_path):
    name, page = screen
    page.goto(f"{base_url}/quiz")
    opening = page.locator(".passage").first
    expect(opening).to_be_visible()
    wait_idle(page)
    assert in_view(page, opening)
    settle(page)
    page.screenshot(path=str(screenshot_dir / f"quiz-{name}.png"))
    pick = page.get_by_role("button", name="A: a human wrote this")
    assert in_view(page, pick)  # the opening and the first choice, without scrolling
    pick.click()
    next_round = page.get_by_role("button", name="Next round")
    expect(next_round).to_be_visible()
    wait_idle(page)
    assert in_view(page, page.get_by_text("was written by people")) and in_view(page, next_round)
    page.screenshot(path=str(screenshot_dir / f"quiz-reveal-{name}.png"))


def test_other_pages_render(screen, base_url, screenshot_dir, shared_corpus_path):
    name, page = screen
    for path, heading in [("", "Human or Machine?"), ("training", "Training"), ("live", "Live: play with a room"),
                          ("join?room=ABCDE", "Join a room")]:
        page.goto(f"{base_url}/{path}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        if not path.startswith("join"):  # the phone page is not a Streamlit page
            wait_idle(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            settle(page)
        page.screenshot(path=str(screenshot_dir / f"{path.split('?')[0] or 'home'}-{name}.png"))
    page.goto(f"{base_url}/training")
    page.get_by_role("tab", name="Embeddings").click()
    expect(page.get_by_test_id("stPlotlyChart").last.locator(".main-svg").first).to_be_visible()
    wait_idle(page)
    page.get_by_test_id("stPlotlyChart").last.scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(screenshot_dir / f"training-embeddings-{name}.png"))


def test_presenter_view_enlarges_text_and_hides_secondary_controls(browser: Browser, base_url, screenshot_dir,
                                                                   shared_corpus_path):
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{base_url}/quiz")
    opening = page.locator(".passage").first
    expect(opening).to_be_visible()
    wait_idle(page)
    normal = font_size(opening)
    page.get_by_test_id("stSidebar").get_by_text("Presenter view").click()
    expect(page.get_by_text("Why? (optional")).to_have_count(0)
    wait_idle(page)
    assert font_size(page.locator(".passage").first) > normal * 1.4
    for option in page.locator(".passage.option").all():  # the whole round reads from the back of the room
        box = option.bounding_box()
        assert box["y"] + box["height"] <= 720, "an option runs below the projector's screen"
    page.screenshot(path=str(screenshot_dir / "quiz-presenter-view-projector.png"))
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Playground").click()
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    expect(page.get_by_text("Advanced")).to_have_count(0)  # the choice holds on every page
    page.context.close()


def test_a_room_on_every_screen_and_a_phone_in_it(screen, browser: Browser, base_url, screenshot_dir,
                                                  shared_corpus_path):
    """Lobby, votes, reveal and leaderboard on the presenter's screen; on a phone the header covered the room
    code and "Room X · you are NAME"."""
    name, presenter = screen
    presenter.goto(f"{base_url}/live")
    presenter.get_by_role("button", name="Create a room").click()
    code = presenter.locator(".room-code")
    expect(code).to_be_visible()
    assert below_header(presenter, code)
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.set_default_timeout(90_000)
    phone.goto(f"{base_url}/join?room={code.inner_text().strip()}")
    phone.get_by_label("Your nickname").fill("Ada")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("You are in")).to_be_visible()
    expect(phone.locator(".whoami")).to_be_in_viewport()

    def shoot(step: str) -> None:  # the presenter's screen at this size, and the phone in the room
        settle(presenter)
        presenter.screenshot(path=str(screenshot_dir / f"live-{step}-{name}.png"))
        phone.screenshot(path=str(screenshot_dir / f"join-{step}-phone.png"))

    expect(presenter.get_by_text("1 joined")).to_be_visible()
    shoot("lobby")
    presenter.get_by_role("button", name="Start round 1").click()
    phone.get_by_role("button", name="People wrote B").click()
    expect(phone.get_by_text("You voted B")).to_be_visible()
    expect(presenter.get_by_text("1 of 1 voted")).to_be_visible()
    shoot("voting")
    presenter.get_by_role("button", name="Reveal").click()
    expect(presenter.get_by_text("of 1 found it")).to_be_visible()
    expect(phone.get_by_text("was written by people")).to_be_visible()
    expect(phone.locator(".whoami")).to_be_in_viewport()
    shoot("reveal")
    presenter.get_by_role("button", name="Next round").click()
    presenter.get_by_role("button", name="Reveal").click()
    presenter.get_by_role("button", name="Next round").click()
    presenter.get_by_role("button", name="Reveal").click()
    presenter.get_by_role("button", name="Final leaderboard").click()
    expect(presenter.locator("table.board")).to_be_visible()
    expect(phone.get_by_text("Final ranking")).to_be_visible()
    shoot("leaderboard")
    expect(presenter.get_by_test_id("stException")).to_have_count(0)
    phone.context.close()
