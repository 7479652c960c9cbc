"""The scaled-out topology on one machine, without Docker: two app servers, PostgreSQL, nginx in front.

What docker-compose.yml runs, from Debian's packages: a throwaway PostgreSQL cluster, two app
servers on localhost ports sharing it, and nginx with deploy/nginx.conf.template (the same file the
compose file mounts) on a free port. Then, everything through nginx:

- quiz players, each a Streamlit session over the proxied websocket (bench/streamlit_session.py),
  answer rounds: every answer must be stored once (which server each session went to is printed:
  without the sticky cookie, which these clients do not keep, each is drawn at random);
- a live room: the presenter a Chromium page (the sticky cookie keeps it on one server), the phones
  the light channel (any server, least busy first), as bench/live_room.py plays it: every vote
  stored once, none lost or doubled, the votes reaching both servers.

It prints what it measured and exits non-zero when a check fails. Every process it starts is
stopped at the end.

Set-up (Debian): apt-get install -y nginx postgresql chromium
Run:            PYTHONPATH=. PATENT_CORPUS=/path/to/neural_network_patent_query.csv python bench/two_servers.py
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from engine.games.quiz_store import answers
from engine.games.store import Store
from live_room import ROOT, app_servers, free_port, peak_mib, play, postgres, stored_votes  # bench/, beside this
from streamlit_session import Session

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
NGINX = "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx(servers: list[str], folder: Path):
    """nginx on a free port in front of ``servers`` (host:port), with the deploy template; its URL and access log."""
    port, log = free_port(), folder / "access.log"
    (folder / "tmp").mkdir(mode=0o777)
    (folder / "tmp").chmod(0o777)  # the workers run as nobody
    site = TEMPLATE.read_text().replace("${APP_SERVERS}", " ".join(f"server {s};" for s in servers)) \
        .replace("${LISTEN}", f"127.0.0.1:{port}").replace("${ACCESS_LOG}", str(log))
    temp = " ".join(f"{kind}_temp_path {folder / 'tmp' / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"worker_processes 2; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'}; daemon off;\n"
        f"events {{ worker_connections 4096; }}\nhttp {{ {temp}\n{site}\n}}\n")
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")])
    try:
        time.sleep(1)
        if proc.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(folder / 'error.log').read_text()[-500:]}")
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def upstreams(log: Path, method: str, path_part: str) -> collections.Counter:
    """Which app server nginx sent each matching request to (from the access log)."""
    counts = collections.Counter()
    for line in log.read_text().splitlines():
        verb, uri, _, upstream = (line.split() + ["", "", "", ""])[:4]
        if verb == method and path_part in uri:
            counts[upstream] += 1
    return counts


async def quiz_players(url: str, players: int, rounds: int, timeout: float) -> int:
    """``players`` quiz sessions through ``url``, each answering ``rounds`` rounds; answers they saw revealed."""
    async def player() -> int:
        done = 0
        async with await Session.open(url, "quiz") as session:
            await session.run()
            for i in range(rounds):
                await session.run(f"quiz_pick_{random.choice('ABC')}")
                done += "quiz_next" in session.buttons
                if i < rounds - 1:
                    await session.run("quiz_next")
        return done
    results = await asyncio.wait_for(asyncio.gather(*(player() for _ in range(players)), return_exceptions=True),
                                     timeout)
    return sum(r for r in results if isinstance(r, int))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=8, help="quiz players through the load balancer")
    parser.add_argument("--phones", type=int, default=100, help="phones in the live room through the load balancer")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--deadline", type=int, default=480, help="seconds for the whole check")
    args = parser.parse_args()
    end = time.time() + args.deadline
    failures = []

    def check(ok: bool, what: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as work, contextlib.ExitStack() as stack:
        database = stack.enter_context(postgres())
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "DATABASE_URL": database,
               "PATENT_DATA_DIR": str(Path(work) / "data"), "LIVE_ROOMS_PER_VISITOR": "1000"}
        servers = stack.enter_context(app_servers(2, env))
        lb, log = stack.enter_context(nginx([url.removeprefix("http://") for url, _ in servers], Path(work)))
        names = {url.removeprefix("http://"): f"server {i + 1}" for i, (url, _) in enumerate(servers)}
        print(f"two app servers ({', '.join(names)}), PostgreSQL, nginx at {lb}", flush=True)

        started = time.time()
        seen = asyncio.run(quiz_players(lb, args.players, args.rounds, max(30.0, (end - time.time()) / 3)))
        with Store(database).engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(answers)).scalar_one()
        sessions = upstreams(log, "GET", "/_stcore/stream")
        print(f"quiz: {args.players} players x {args.rounds} answers in {time.time() - started:.0f} s; "
              f"sessions per server {dict((names.get(k, k), v) for k, v in sessions.items())}", flush=True)
        check(seen == stored == args.players * args.rounds, f"{seen} answers revealed, {stored} stored, "
              f"{args.players * args.rounds} expected")
        if len(sessions) < 2:  # each session's server is drawn at random: with 8 players, 1 run in 128
            print("  note: every Streamlit session went to one server", flush=True)

        started = time.time()
        room = play([lb], args.phones, args.rounds, int(max(30, end - time.time()) * 1000 / 3), "light", end)
        stored = stored_votes(database, room["code"], args.rounds)
        votes = upstreams(log, "POST", "/votes")
        print(f"live room: {args.phones} phones x {args.rounds} rounds in {time.time() - started:.0f} s; "
              f"tap-to-tally p50 {room['p50']:.2f} s, p95 {room['p95']:.2f} s, max {room['max']:.2f} s; "
              f"votes (two taps each) per server {dict((names.get(k, k), v) for k, v in votes.items())}", flush=True)
        check(room["votes"] == stored == args.phones * args.rounds and not room["lost"] and not room["doubled"],
              f"{room['votes']} votes tapped, {stored} stored, {room['lost']} lost, {room['doubled']} doubled")
        check(len(votes) == 2, "votes answered by both servers")
        for note in room["notes"][:10]:
            print(f"  {note}")
        print("peak memory per server (MiB): " + ", ".join(f"{peak_mib(pid):.0f}" for _, pid in servers))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
