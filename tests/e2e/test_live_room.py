"""A presenter and ten phones (the light phone page, assets/phone.html) play three rounds in one room:
every vote reaches the tally exactly once."""
import re

from playwright.sync_api import Browser, expect

AUDIENCE = 10
ROUNDS = 3
LABELS = "ABC"
WAIT = 120_000  # ten sessions polling once a second on two shared cores
expect.set_options(timeout=WAIT)


def open_page(browser: Browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url, wait_until="commit")
    return page


def test_a_room_of_ten_plays_three_rounds(browser: Browser, base_url, shared_corpus_path):
    presenter = open_page(browser, f"{base_url}/live", 1280, 720)
    presenter.get_by_role("button", name="Create a room").click()
    code = presenter.locator(".room-code").inner_text(timeout=WAIT).strip()
    assert re.fullmatch(r"[A-Z2-9]{5}", code)
    phones = []
    for i in range(AUDIENCE):  # one after another: ten pages loading at once starve two cores
        page = open_page(browser, f"{base_url}/join?room={code}" if i else f"{base_url}/join", 390, 844)
        if not i:
            page.get_by_label("Room code").fill(code.lower())  # typed, as people type it
        page.get_by_label("Your nickname").fill(f"player {i} <b>")
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_text("You are in")).to_be_visible()
        expect(page.locator(".whoami b").last).to_have_text(f"player {i} <b>")  # text, not markup
        phones.append(page)
    phones[2].reload()  # the phone keeps its place in the room
    expect(phones[2].get_by_text("You are in")).to_be_visible()
    expect(presenter.get_by_text(f"{AUDIENCE} joined")).to_be_visible()
    expect(presenter.locator(".chips span")).to_have_count(AUDIENCE)
    expect(presenter.get_by_text("player 0 <b>", exact=True)).to_be_visible()  # shown as text, not markup

    right = [0] * AUDIENCE
    for number in range(1, ROUNDS + 1):
        presenter.get_by_role("button", name="Start round 1" if number == 1 else "Next round").click()
        expect(presenter.get_by_text(f"Round {number} of {ROUNDS}")).to_be_visible()
        choices = [(i + number) % 3 for i in range(AUDIENCE)]
        for i, (page, choice) in enumerate(zip(phones, choices)):
            expect(page.get_by_text(f"Round {number} of {ROUNDS}")).to_be_visible()
            button = page.get_by_role("button", name=f"People wrote {LABELS[choice]}")
            if i == 0:
                button.dblclick()  # an impatient double tap still counts once
            else:
                button.click()
        for page, choice in zip(phones, choices):
            expect(page.get_by_text(f"You voted {LABELS[choice]}")).to_be_visible()
        expect(presenter.get_by_text(f"{AUDIENCE} of {AUDIENCE} voted")).to_be_visible()
        for k, label in enumerate(LABELS):
            expect(presenter.locator(f'.tally-row[data-option="{label}"] .tally-count')).to_have_text(
                str(choices.count(k)))
        expect(presenter.locator(".chips span")).to_have_count(AUDIENCE)

        presenter.get_by_role("button", name="Reveal").click()
        human = LABELS.index(presenter.locator(".passage.real b").inner_text().strip()[0])
        for i, choice in enumerate(choices):
            right[i] += choice == human
        expect(presenter.get_by_text(f"{choices.count(human)} of {AUDIENCE} found it")).to_be_visible()
        verdict = "Right!" if choices[1] == human else "Not this time"
        expect(phones[1].get_by_text(verdict)).to_be_visible()

    presenter.get_by_role("button", name="Final leaderboard").click()
    rows = presenter.locator("table.board tr").filter(has=presenter.locator("td"))
    expect(rows).to_have_count(AUDIENCE)
    board = [rows.nth(k).locator("td").all_inner_texts() for k in range(AUDIENCE)]
    ranks = [int(rank) for rank, _, _ in board]
    # competition ranking: a player shares the rank above or takes their place in the list
    assert ranks[0] == 1 and all(r in (ranks[k - 1], k + 1) for k, r in enumerate(ranks) if k)
    scores = {name: int(score.split()[0]) for _, name, score in board}
    assert scores == {f"player {i} <b>": right[i] for i in range(AUDIENCE)}
    assert list(scores.values()) == sorted(scores.values(), reverse=True)
    mine = ranks[[name for _, name, _ in board].index("player 3 <b>")]
    expect(phones[3].get_by_text(re.compile(rf"You are {mine}\w\w of {AUDIENCE}"))).to_be_visible()
    for page in [presenter, *phones]:
        expect(page.get_by_test_id("stException")).to_have_count(0)
