"""Several `patent-make-rounds` workers filling one round library at once: no abstract written twice?

    PATENT_CORPUS=../shared/data/neural_network_patent_query.csv \
        python bench/library_workers.py [--workers 3] [--stock 24] [--level 0] [--database sqlite postgresql]

For each database (SQLite in a temporary file; PostgreSQL as a throwaway cluster on a free local port,
as bench/live_room.py starts it: apt-get install -y postgresql) it starts ``--workers`` workers at
once, each `python -m engine.games.make_rounds --levels LEVEL --until-stocked --stock STOCK`, waits for
them (bounded by --timeout), then reads the library back. Printed per database: every worker's exit
code and time, the rounds stored against the stock (a claim counts and inserts in one statement, so
concurrent claims may pass the stock by at most one each), abstracts stored more than once (the
database refuses them: expected 0), claims left behind (expected 0) and abstracts that gave no round.
"""
from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from live_room import postgres  # bench/, beside this script
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def database(kind: str):
    """A fresh, empty database of ``kind``; its SQLAlchemy URL."""
    if kind == "postgresql":
        with postgres() as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="bench-library-") as folder:
            yield f"sqlite:///{folder}/library.sqlite"


def run_workers(url: str, workers: int, level: int, stock: int, timeout: float) -> list[tuple[int, float]]:
    """(exit code, seconds) of each worker, all started at once; a worker past ``timeout`` is killed (-9)."""
    command = [sys.executable, "-m", "engine.games.make_rounds", "--levels", str(level), "--until-stocked",
               "--stock", str(stock), "--database", url]
    started = time.perf_counter()
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    results = []
    for proc in procs:
        try:
            proc.wait(max(timeout - (time.perf_counter() - started), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode:
            print(f"  a worker failed: {proc.stderr.read()[-500:]}")
        results.append((proc.returncode, time.perf_counter() - started))
    return results


def library_rows(url: str, level: int) -> dict[str, int]:
    """Counts of the library's rows at ``level``: by status, and abstracts held by more than one row."""
    engine = create_engine(url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM quiz_rounds WHERE level = :level "
                                          "GROUP BY status"), {"level": level}).all())
        twice = conn.execute(text("SELECT count(*) FROM (SELECT bundle, doc_id FROM quiz_rounds WHERE level = :level "
                                  "GROUP BY bundle, doc_id HAVING count(*) > 1) AS t"), {"level": level}).scalar()
    engine.dispose()
    return {**statuses, "twice": twice}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--stock", type=int, default=24, help="rounds the workers stop at")
    parser.add_argument("--level", type=int, default=0, help="a level of QUIZ.levels (0: quick, no reader)")
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per database")
    args = parser.parse_args()
    for kind in args.database:
        with database(kind) as url:
            results = run_workers(url, args.workers, args.level, args.stock, args.timeout)
            rows = library_rows(url, args.level)
        ready = rows.get("ready", 0)
        print(f"\n{kind}: {args.workers} workers at once, level {args.level}, stock {args.stock}")
        print("  workers (exit code, seconds): " + ", ".join(f"({code}, {s:.0f} s)" for code, s in results))
        print(f"  rounds stored: {ready} (stock {args.stock}; at most {args.stock + args.workers - 1} with "
              f"concurrent claims)")
        print(f"  abstracts stored more than once: {rows['twice']} (expected 0)")
        print(f"  claims left behind: {rows.get('claimed', 0)} (expected 0); abstracts with no round: "
              f"{rows.get('barren', 0)}")


if __name__ == "__main__":
    main()
