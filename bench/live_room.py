"""Live room under load: a presenter and N phones against app servers on localhost.

Prints, for one app server on SQLite and for two app servers sharing PostgreSQL (audience split
between them, presenter on the first), for each room size: tap-to-tally latency (from the phone's
tap to the voter's name on the presenter's screen, p50/p95), votes stored in the database, votes
lost (tapped but never tallied) or doubled (a second tap counted), and each server's peak memory
(VmHWM). Targets: p95 under 1 s with 100 phones and under 2 s with 300, none lost or doubled.

The presenter is always a Chromium page: what is measured is the name appearing on its screen.
The phones are, with --phones light (the default), what the phone page (assets/phone.html) does
over HTTP, from one asyncio loop: join with a nickname, poll the room every
LIVE_AUDIENCE_POLL_SECONDS (each phone out of step with the others), tap twice once the round
shows. In a room the phones' browsers run on the audience's own devices; here they cost the
cores little, which go to the servers as they would in a real room. With --phones browser every
phone is a Chromium page (a browser context each): the whole page is exercised, but the pages
share the cores with the servers, so the figures then bound the servers' cost from above.
--via URL sends everyone to an app already running (e.g. nginx in front of several servers, see
bench/two_servers.py), with $DATABASE_URL its database.

Set-up (Debian): apt-get install -y chromium postgresql   (the PostgreSQL run is skipped without it)
Run:            PYTHONPATH=. PATENT_CORPUS=/path/to/neural_network_patent_query.csv \
                  python bench/live_room.py --sessions 100 300 500 --skip-postgres
Bounded: --rounds rounds, and --deadline seconds for the whole run (a run that would start too
near it is skipped).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
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

import httpx
from playwright.sync_api import sync_playwright

from engine.games.rooms import Rooms
from engine.games.store import Store
from ui.constants import LIVE_AUDIENCE_POLL_SECONDS

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

    def vote_all(self, number: int, choices: dict[str, str]) -> dict[str, float]:
        """Each page taps its choice once the button shows, one after another; when (ms since the epoch)."""
        taps = {}
        for name, label in choices.items():
            button = self.pages[name].get_by_role("button", name=f"People wrote {label}")
            button.wait_for()
            taps[name] = time.time() * 1000
            button.click()
        return taps

    def check(self, number: int) -> list[str]:
        return []  # the presenter's screen is the measure; a page's own text is not read

    def close(self) -> None:
        pass  # closed with the browser


class LightPhones:
    """Each phone what the phone page (assets/phone.html) does over HTTP: join, poll the room every
    poll_ms, tap once its round shows; on an asyncio loop in a background thread (httpx).

    The Playwright sync API keeps the main thread; calls here run coroutines on the loop, bounded
    by the step's timeout and by the run's deadline. Every phone taps twice (an impatient double
    tap): the second must not count.
    """

    kind = "light phone pages over HTTP, no browser"

    def __init__(self, browser, timeout_ms: int, end: float):
        self.timeout, self.end, self.where = timeout_ms / 1000, end, {}  # name -> (url, code, player token)
        self.doubled, self.refused, self.answered = 0, [], []  # answered: seconds from a tap to its answer
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="phones", daemon=True)
        self.thread.start()
        self.client = self._call(self._client())

    @staticmethod
    async def _client():
        return httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None))

    def _call(self, coro):
        timeout = max(5.0, min(self.timeout, self.end - time.time()))
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self.loop).result()

    def join(self, url: str, code: str, name: str) -> None:
        self._call(self._join(url, code, name))

    async def _join(self, url: str, code: str, name: str) -> None:
        response = await self.client.post(f"{url}/api/rooms/{code}/players", json={"nickname": name})
        response.raise_for_status()
        self.where[name] = (url, code, response.json()["player"])

    def vote_all(self, number: int, choices: dict[str, str]) -> dict[str, float]:
        """Every phone taps its choice once its poll shows round ``number``; when each tapped (ms since the epoch)."""
        return self._call(self._vote_all(number, choices))

    async def _vote_all(self, number: int, choices: dict[str, str]) -> dict[str, float]:
        taps = await asyncio.gather(*(self._tap(name, number, "ABC".index(label)) for name, label in choices.items()))
        return dict(zip(choices, taps))

    async def _tap(self, name: str, number: int, choice: int) -> float:
        url, code, token = self.where[name]
        await asyncio.sleep(random.random() * LIVE_AUDIENCE_POLL_SECONDS)  # each phone's poll has its own phase
        while True:  # poll as the page does until the round shows
            room = (await self.client.get(f"{url}/api/rooms/{code}", params={"player": token})).json()
            if room.get("phase") == "voting" and room["round"]["number"] == number:
                break
            await asyncio.sleep(LIVE_AUDIENCE_POLL_SECONDS)
        at = time.time() * 1000
        for second in (False, True):
            body = {"player": token, "round": number, "choice": choice}
            answer = (await self.client.post(f"{url}/api/rooms/{code}/votes", json=body)).json()
            if not second:
                self.answered.append(time.time() - at / 1000)
            if second and answer.get("counted"):
                self.doubled += 1
            if "error" in answer:
                self.refused.append(f"round {number}: {name}: {answer['error']}")
        return at

    def check(self, number: int) -> list[str]:
        answered = sorted(self.answered)
        notes = [f"round {number}: tap to the server's answer p50 {statistics.median(answered):.2f} s, "
                 f"p95 {answered[round(0.95 * len(answered)) - 1]:.2f} s", *self.refused]
        self.refused, self.answered = [], []
        return notes

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.client.aclose(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


PHONES = {"light": LightPhones, "browser": BrowserPhones}


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
                taps = phones.vote_all(number, {name: "ABC"[i % 3] for i, name in enumerate(names)})
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
            "doubled": getattr(phones, "doubled", 0), "notes": notes, "code": code}


def stored_votes(database_url: str, code: str, rounds: int) -> int:
    """Votes the database holds for the room: each phone's once a round, if none was lost or doubled."""
    room = Rooms(Store(database_url))
    return sum(room.tally(code, number).votes for number in range(1, rounds + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[100], help="phones in the room, one run each")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--deadline", type=int, default=540, help="seconds for the whole run")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--via", metavar="URL", help="an app already running (e.g. behind a load balancer), with "
                        "$DATABASE_URL its database: no servers are started")
    parser.add_argument("--phones", choices=list(PHONES), default="light",
                        help="phones as the light page's HTTP calls (default) or as Chromium pages")
    args = parser.parse_args()
    end = time.time() + args.deadline
    base = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    if args.via:
        runs = [(f"via {args.via}", 0, "given")]
    else:
        runs = [("1 server, SQLite", 1, None)] + ([] if args.skip_postgres else [("2 servers, PostgreSQL", 2, "pg")])
    print(f"phones: {PHONES[args.phones].kind}; {args.rounds} rounds, every phone votes once a round (tapping twice); "
          f"latency = tap on the phone -> name on the presenter's screen\n"
          f"{'set-up':24} {'phones':>6} {'votes':>6} {'stored':>6} {'lost':>5} {'double':>6} {'p50 s':>7} {'p95 s':>7} "
          f"{'max s':>7} {'peak MiB':>14} {'run s':>6}", flush=True)
    for sessions in args.sessions:
        for label, count, db in runs:
            if time.time() > end - 60:
                print(f"{label}, {sessions} phones: skipped (the deadline is near)", flush=True)
                continue
            budget_ms = int(max(30, end - time.time()) * 1000 / 4)
            with tempfile.TemporaryDirectory() as data, contextlib.ExitStack() as stack:
                env = {**base, "PATENT_DATA_DIR": data, "DATABASE_URL": f"sqlite:///{data}/answers.sqlite",
                       "LIVE_ROOMS_PER_VISITOR": "1000"}
                if db == "given":
                    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
                elif db:
                    try:
                        env["DATABASE_URL"] = stack.enter_context(postgres())
                    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
                        print(f"{label}: skipped ({exc})", flush=True)
                        continue
                servers = stack.enter_context(app_servers(count, env)) if count else [(args.via, None)]
                started = time.time()
                result = play([url for url, _ in servers], sessions, args.rounds, budget_ms, args.phones, end)
                result.update(label=label, sessions=sessions, seconds=time.time() - started,
                              stored=stored_votes(env["DATABASE_URL"], result["code"], args.rounds),
                              memory=" + ".join(f"{peak_mib(pid):.0f}" for _, pid in servers if pid) or "-")
                print_row(result)


def print_row(r: dict) -> None:
    print(f"{r['label']:24} {r['sessions']:>6} {r['votes']:>6} {r['stored']:>6} {r['lost']:>5} {r['doubled']:>6} "
          f"{r['p50']:>7.2f} {r['p95']:>7.2f} {r['max']:>7.2f} {r['memory']:>14} {r['seconds']:>6.0f}", flush=True)
    for note in r["notes"][:10]:
        print(f"  {note}", flush=True)


if __name__ == "__main__":
    main()
