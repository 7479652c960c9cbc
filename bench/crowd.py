"""Many quiz players against one app server on this machine: is every round served, and how fast?

    PATENT_CORPUS=../shared/data/neural_network_patent_query.csv \
        python bench/crowd.py [--players 50 200 500] [--rounds 4] [--baseline 649e539]

For each crowd size it starts a fresh `streamlit run streamlit_app.py` on a free local port (its own
answer database in a temporary directory) and drives that many sessions at once through the app's
own websocket (/_stcore/stream: the protobuf messages a browser sends and receives, spoken by
bench/streamlit_session.py; no browser, so the two cores go to the server). Each player opens the
quiz, then plays rounds: thinks (--think, 1-3 s), picks an option, reads the reveal as long, clicks
"Next round". Printed per crowd size: sessions served, "Next round" and answer-to-reveal latency
(p50 / p95), answers lost (answers whose reveal came back minus rows in the database), the
server's peak RSS (VmHWM), the time from starting the server to the first round shown, and the
share of "Next round" clicks served a stored round of the round library. Before the crowds,
`patent-make-rounds --until-stocked` fills a library at the crowd's level (timed); each crowd's
database starts as a copy of it (a warm library). With --baseline a checkout of that commit
(git archive) plays the same crowd first, on a copy of the same library, side by side in the same run. Everything is bounded by
--timeout.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from streamlit_session import Session  # bench/, next to this script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's engine, not the one the virtual environment installed

from engine.config import QUIZ  # noqa: E402
from engine.games.store import Store  # noqa: E402
PAGE = "quiz"
LEVEL = QUIZ.difficulties["medium"]  # the quiz's default difficulty: every player plays it


@dataclass
class Player:
    """What one session saw: latencies in seconds, answers whose reveal came back, failures."""

    first_round: float | None = None
    next_round: list[float] = field(default_factory=list)
    reveal: list[float] = field(default_factory=list)
    answers: int = 0
    error: str | None = None


async def play(url: str, rounds: int, player: Player, started: float, think_s: tuple[float, float]) -> None:
    think = lambda: asyncio.sleep(random.uniform(*think_s))  # noqa: E731
    try:
        async with await Session.open(url, PAGE) as session:
            await session.run()
            if "quiz_pick_A" not in session.buttons:
                raise RuntimeError("no round shown")
            player.first_round = time.perf_counter() - started
            for i in range(rounds):
                await think()
                t = time.perf_counter()
                await session.run(f"quiz_pick_{random.choice('ABC')}")
                if "quiz_next" not in session.buttons or not session.alerts:
                    raise RuntimeError("no reveal after an answer")
                player.reveal.append(time.perf_counter() - t)
                player.answers += 1
                if i == rounds - 1:
                    break
                await think()
                t = time.perf_counter()
                await session.run("quiz_next")
                if "quiz_pick_A" not in session.buttons:
                    raise RuntimeError("no round after Next round")
                player.next_round.append(time.perf_counter() - t)
    except Exception as exc:  # reported as a session not served
        player.error = f"{type(exc).__name__}: {exc}"[:200]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def warm_library(work: Path, stock: int) -> tuple[Path, float, int]:
    """A database whose round library holds ``stock`` rounds at LEVEL: (its file, seconds it took, rounds)."""
    database = work / "library.sqlite"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "engine.games.make_rounds", "--levels", str(LEVEL), "--until-stocked",
                    "--stock", str(stock), "--database", f"sqlite:///{database}"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    with sqlite3.connect(database) as db:
        rounds, = db.execute("SELECT count(*) FROM quiz_rounds WHERE status = 'ready'").fetchone()
    return database, time.perf_counter() - started, rounds


def served_from_library(database: Path) -> float | None:
    """The share of "Next round" clicks (each player's answers after the first) on a stored round;
    None for a server without the library."""
    with sqlite3.connect(database) as db:
        if "library_round" not in {row[1] for row in db.execute("PRAGMA table_info(answers)")}:
            return None
        later = "FROM answers WHERE id NOT IN (SELECT min(id) FROM answers GROUP BY player_id)"
        n, = db.execute(f"SELECT count(*) {later}").fetchone()
        stored, = db.execute(f"SELECT count(*) {later} AND library_round IS NOT NULL").fetchone()
    return stored / n if n else None


def crowd(players: int, rounds: int, timeout: float, think_s: tuple[float, float], app: Path,
          library: Path | None) -> dict:
    """One crowd against the server in ``app`` (a checkout), its database a copy of ``library`` if given."""
    work = Path(tempfile.mkdtemp(prefix="crowd-"))
    if library is not None:
        shutil.copy(library, work / "answers.sqlite")
    database = f"sqlite:///{work / 'answers.sqlite'}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "PATENT_DATA_DIR": str(work / "data")}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless",
                               "true", "--server.port", str(port)], cwd=app, env=env,
                              stdout=open(work / "server.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while time.perf_counter() - started < 60:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        crowd_ = [Player() for _ in range(players)]

        async def everyone():
            first = asyncio.create_task(play(url, rounds, crowd_[0], started, think_s))  # the first visitor
            while crowd_[0].first_round is None and crowd_[0].error is None and not first.done():
                await asyncio.sleep(0.05)
            others = [play(url, rounds, p, time.perf_counter(), think_s) for p in crowd_[1:]]
            await asyncio.wait_for(asyncio.gather(first, *others), timeout)

        try:
            asyncio.run(everyone())
        except TimeoutError:
            pass
        rss = peak_rss_mib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # hundreds of sessions still closing
            server.kill()
            server.wait()
    from_library = served_from_library(work / "answers.sqlite")  # before Store() adds the library's column
    stored = Store(database).count()
    served = [p for p in crowd_ if p.error is None and p.answers == rounds]
    result = {"players": players, "served": len(served), "first_round": crowd_[0].first_round,
              "next": [x for p in crowd_ for x in p.next_round], "reveal": [x for p in crowd_ for x in p.reveal],
              "answers": sum(p.answers for p in crowd_), "stored": stored, "rss": rss,
              "library": from_library,
              "errors": sorted({p.error for p in crowd_ if p.error})}
    shutil.rmtree(work, ignore_errors=True)
    return result


def baseline_checkout(ref: str) -> Path:
    """The app as it was at commit ``ref`` (git archive into a temporary directory)."""
    where = Path(tempfile.mkdtemp(prefix="crowd-baseline-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def percentiles(xs: list[float]) -> str:
    if not xs:
        return "–"
    return f"p50 {np.percentile(xs, 50):.2f} s, p95 {np.percentile(xs, 95):.2f} s"


def report(label: str, r: dict) -> None:
    n = r["players"]
    print(f"\n{n} players at once, {label}")
    print(f"  sessions served:       {r['served']} of {n}")
    print(f"  'Next round':          {percentiles(r['next'])}   (target p95 < 1 s at 50, < 2 s at 200)")
    print(f"  answer to reveal:      {percentiles(r['reveal'])}   (target p95 < 1 s)")
    print(f"  answers lost:          {r['answers'] - r['stored']} ({r['answers']} revealed, {r['stored']} stored)")
    print(f"  server peak RSS:       {r['rss']:.0f} MiB   (target < 500 MiB)")
    first = f"{r['first_round']:.1f} s" if r["first_round"] is not None else "never"
    print(f"  server start to first round shown: {first}   (target < 5 s)")
    share = "–" if r["library"] is None else f"{r['library']:.1%}"  # no library, or no Next round yet
    print(f"  'Next round' served a stored round: {share}   (target >= 95% once warm)")
    for error in r["errors"]:
        print(f"  error: {error}")
    print(f"  load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--rounds", type=int, default=4, help="rounds each player answers")
    parser.add_argument("--timeout", type=float, default=180, help="seconds allowed per crowd")
    parser.add_argument("--think", type=float, nargs=2, default=[1, 3], help="seconds a player thinks before a click")
    parser.add_argument("--stock", type=int, default=QUIZ.library_stock, help="rounds the warm library holds")
    parser.add_argument("--baseline", help="a commit whose app plays each crowd first (e.g. one before the library)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crowd-library-"))
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} before; each player: open the quiz, "
          f"then {args.rounds} answers, thinking {args.think[0]:g}-{args.think[1]:g} s before each click")
    library, seconds, stock = warm_library(work, args.stock)
    print(f"round library warmed by patent-make-rounds: {stock} rounds at level {LEVEL} in {seconds:.0f} s")
    baseline = baseline_checkout(args.baseline) if args.baseline else None
    try:
        for n in args.players:
            if baseline is not None:
                report(f"baseline {args.baseline}", crowd(n, args.rounds, args.timeout, tuple(args.think), baseline,
                                                          library))  # a commit before the library ignores it
            report("round library (warm)", crowd(n, args.rounds, args.timeout, tuple(args.think), ROOT, library))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if baseline is not None:
            shutil.rmtree(baseline, ignore_errors=True)


if __name__ == "__main__":
    main()
