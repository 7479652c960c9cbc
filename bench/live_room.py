"""Live room under load: a presenter and N phones against app servers on localhost.

Prints, for one app server on SQLite and for two app servers sharing PostgreSQL (audience split
between them, presenter on the first): vote-to-tally latency (from the phone's tap to the voter's
name on the presenter's screen, p50/p95), votes lost (tapped but never tallied) and each server's
peak memory (VmHWM). Targets: p95 under 2 s, no vote lost.

The presenter is always a Chromium page: what is measured is the name appearing on its screen.
The phones are, with --phones websocket (the default), sessions that speak the app's own websocket
(bench/streamlit_session.py, as bench/crowd.py does): each opens /join?room=CODE, types its
nickname, presses Join, then polls the room as its browser would (the page's fragment reruns every
ui.constants.LIVE_AUDIENCE_POLL_SECONDS, sent on the server's auto_rerun), and taps "People wrote A/B/C" once
its screen shows the round. In a room the phones' browsers run on the audience's own devices; here
they cost the two cores nothing, which go to the servers (and PostgreSQL) as they would in a real
room. With --phones browser every phone is a Chromium page too (a browser context each): the
whole frontend is exercised, but 30 pages share the cores with the servers, so the figures then
bound the servers' cost from above.

Set-up (Debian): apt-get install -y chromium postgresql   (the PostgreSQL run is skipped without it)
Run:            PATENT_CORPUS=/path/to/neural_network_patent_query.csv python bench/live_room.py --sessions 30
Bounded: --sessions phones (at most 40), --rounds rounds, and --deadline seconds for the whole run.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright
from streamlit_session import Session  # bench/, next to this script

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", "--disable-quic"]
# Records when each voter's name first shows on the presenter's screen (the page's own clock).
WATCH_CHIPS = """() => { window.seen = {}; const note = () => document.querySelectorAll('.chips span').forEach(
  s => { const key = window.round + '|' + s.textContent; if (!(key in window.seen)) window.seen[key] = Date.now(); });
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true, characterData: true}); }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres():
    """A throwaway PostgreSQL cluster on a free local port; its SQLAlchemy URL."""
    versions = sorted(PG_BIN.glob("*/bin/initdb"))
    if not versions:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install -y postgresql)")
    bin_ = versions[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    folder.chmod(0o777)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root
    port = free_port()
    subprocess.run([*as_postgres, bin_ / "initdb", "-D", folder / "data", "-A", "trust", "-U", "bench"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, bin_ / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://bench@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, bin_ / "pg_ctl", "-D", folder / "data", "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def app_servers(count: int, env: dict):
    """``count`` Streamlit servers of this app on free ports; their (url, pid)."""
    servers = []
    try:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
                 "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            servers.append((f"http://127.0.0.1:{port}", proc))
        for url, proc in servers:
            for _ in range(240):
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                time.sleep(0.5)
        yield [(url, proc.pid) for url, proc in servers]
    finally:
        for _, proc in servers:
            proc.terminate()
        for _, proc in servers:
            proc.wait(timeout=30)


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_page(browser, url: str, width: int, height: int, timeout_ms: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route("https://fonts.gstatic.com/**", lambda route: route.abort())  # offline: fail fast
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url, wait_until="commit")
    return page


class BrowserPhones:
    """Each phone a Chromium page (its own browser context), on the presenter's browser."""

    kind = "Chromium pages"

    def __init__(self, browser, timeout_ms: int, end: float):
        self.browser, self.timeout_ms, self.pages = browser, timeout_ms, {}

    def join(self, url: str, code: str, name: str) -> None:
        page = open_page(self.browser, f"{url}/join?room={code}", 390, 844, self.timeout_ms)
        page.get_by_label("Your nickname").fill(name)
        page.get_by_role("button", name="Join").click()
        page.get_by_text("You are in").wait_for()
        self.pages[name] = page

    def tap(self, name: str, number: int, label: str) -> float:
        """Tap once the button shows; when, in ms since the epoch."""
        button = self.pages[name].get_by_role("button", name=f"People wrote {label}")
        button.wait_for()
        at = time.time() * 1000
        button.click()
        return at

    def check(self, number: int) -> list[str]:
        return []  # the presenter's screen is the measure; a page's own text is not read

    def close(self) -> None:
        pass  # closed with the browser


class WebsocketPhones:
    """Each phone a websocket session (bench/streamlit_session.py) on an event loop in a background thread.

    The Playwright sync API keeps the main thread; each call here runs a coroutine on the loop and
    waits for it, bounded by the step's timeout and by the run's deadline.
    """

    kind = "websocket sessions, no browser"

    def __init__(self, browser, timeout_ms: int, end: float):
        self.timeout, self.end, self.sessions = timeout_ms / 1000, end, {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="phones", daemon=True)
        self.thread.start()

    def _call(self, coro):
        timeout = max(5.0, min(self.timeout, self.end - time.time()))
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self.loop).result()

    def join(self, url: str, code: str, name: str) -> None:
        self._call(self._join(url, code, name))

    async def _join(self, url: str, code: str, name: str) -> None:
        phone = await Session.open(url, "join", f"room={code}", open_timeout=self.timeout)
        self.sessions[name] = phone
        await phone.rerun()  # the page loads
        await phone.wait_for(lambda s: s.find("text_input", label="Your nickname"))
        await phone.fill("Your nickname", name)
        await phone.click("Join")
        await phone.wait_for(lambda s: s.shows("You are in"))

    def tap(self, name: str, number: int, label: str) -> float:
        return self._call(self._tap(self.sessions[name], number, f"join_vote_{label}"))

    @staticmethod
    async def _tap(phone: Session, number: int, key: str) -> float:
        """Tap once the screen shows this round and its button; when, in ms since the epoch."""
        await phone.wait_for(lambda s: s.shows(f"Round {number} of") and s.find("button", key=key))
        at = time.time() * 1000
        await phone.click(key=key)
        return at

    def check(self, number: int) -> list[str]:
        """Phones whose screen does not say they voted in this round (or says they voted twice)."""
        async def look():
            return [f"round {number}: {name} shows {'a second vote' if s.shows('already voted') else 'no vote'}"
                    for name, s in self.sessions.items()
                    if s.shows("already voted") or not s.shows("You voted")]
        return self._call(look())

    def close(self) -> None:
        async def close_all():
            await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


PHONES = {"websocket": WebsocketPhones, "browser": BrowserPhones}


def play(urls: list[str], sessions: int, rounds: int, timeout_ms: int, phones_kind: str, end: float) -> dict:
    """One room: the presenter on urls[0], phone i on urls[i % len(urls)]; every phone votes each round."""
    latencies, tapped, tallied, notes = [], 0, 0, []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phones = PHONES[phones_kind](browser, timeout_ms, end)
        try:
            presenter = open_page(browser, f"{urls[0]}/live", 1280, 720, timeout_ms)
            presenter.get_by_role("button", name="Create a room").click()
            presenter.locator(".room-code").wait_for()
            code = presenter.locator(".room-code").inner_text().strip()
            names = [f"phone{i}" for i in range(sessions)]
            for i, name in enumerate(names):  # one after another, as people arrive
                phones.join(urls[i % len(urls)], code, name)
            presenter.get_by_text(f"{sessions} joined").wait_for()
            presenter.evaluate(WATCH_CHIPS)
            for number in range(1, rounds + 1):
                presenter.evaluate("window.round = 0")  # names still showing from the last reveal do not count
                presenter.get_by_role("button", name="Start round 1" if number == 1 else "Next round").click()
                presenter.get_by_text(f"0 of {sessions} voted").wait_for()
                presenter.wait_for_timeout(500)
                presenter.evaluate(f"window.round = {number}")
                taps = {name: phones.tap(name, number, "ABC"[i % 3]) for i, name in enumerate(names)}
                tapped += len(taps)
                with contextlib.suppress(Exception):  # a lost vote shows as a missing name, counted below
                    presenter.get_by_text(f"{sessions} of {sessions} voted").wait_for(timeout=timeout_ms)
                seen = presenter.evaluate("window.seen")
                for name, at in taps.items():
                    if f"{number}|{name}" in seen:
                        tallied += 1
                        latencies.append((seen[f"{number}|{name}"] - at) / 1000)
                notes += phones.check(number)
                presenter.get_by_role("button", name="Reveal").click()
                presenter.get_by_text("found it").wait_for()
        finally:
            phones.close()
        browser.close()
    latencies.sort()
    return {"p50": statistics.median(latencies) if latencies else float("nan"),
            "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)] if latencies else float("nan"),
            "max": latencies[-1] if latencies else float("nan"), "votes": tapped, "lost": tapped - tallied,
            "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--deadline", type=int, default=900, help="seconds for the whole run")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--phones", choices=list(PHONES), default="websocket",
                        help="phones as websocket sessions (default) or as Chromium pages")
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, 40))
    end = time.time() + args.deadline
    base = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    runs = [("1 server, SQLite", 1, None)] + ([] if args.skip_postgres else [("2 servers, PostgreSQL", 2, "pg")])
    print(f"{sessions} phones ({PHONES[args.phones].kind}), {args.rounds} rounds each, every phone votes once a round; "
          f"latency = tap on the phone -> name on the presenter's screen\n"
          f"{'set-up':24} {'votes':>6} {'lost':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'peak MiB':>14} "
          f"{'run s':>6}", flush=True)
    for label, count, db in runs:
        budget_ms = int(max(30, end - time.time()) * 1000 / 4)
        with tempfile.TemporaryDirectory() as data, contextlib.ExitStack() as stack:
            env = {**base, "PATENT_DATA_DIR": data}
            if db:
                try:
                    env["DATABASE_URL"] = stack.enter_context(postgres())
                except (FileNotFoundError, subprocess.CalledProcessError) as exc:
                    print(f"{label}: skipped ({exc})", flush=True)
                    continue
            servers = stack.enter_context(app_servers(count, env))
            started = time.time()
            result = play([url for url, _ in servers], sessions, args.rounds, budget_ms, args.phones, end)
            result.update(label=label, seconds=time.time() - started,
                          memory=" + ".join(f"{peak_mib(pid):.0f}" for _, pid in servers))
            print_row(result)


def print_row(r: dict) -> None:
    print(f"{r['label']:24} {r['votes']:>6} {r['lost']:>5} {r['p50']:>7.2f} {r['p95']:>7.2f} {r['max']:>7.2f} "
          f"{r['memory']:>14} {r['seconds']:>6.0f}", flush=True)
    for note in r["notes"]:
        print(f"  {note}", flush=True)


if __name__ == "__main__":
    main()
