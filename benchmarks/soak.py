"""Soak benchmark: open and close 200 dashboard sessions; the server must not keep their memory.

Starts ``ssb-explorer serve`` on 127.0.0.1 with a short ``--unused-session-lifetime`` so that
closed sessions are cleaned up within seconds, warms it up (first sessions import the pages and
fill bounded caches), measures the server's resident memory (RSS), then opens and closes
``--sessions`` (default 200) browser-like sessions, ``--parallel`` at a time, each loading the
page, opening the websocket and pulling the whole document. After every session has been
destroyed (counted from the server's JSON ``session_destroyed`` log events) the RSS is measured
again. Target: growth <= 50 MB.

Run: ``flock /tmp/ssb-bench.lock .venv/bin/python -m benchmarks.soak [--quick]``
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._server import BokehWS, start_server


async def one(base: str, args: dict) -> str | None:
    s = BokehWS(base, "/app", args)
    try:
        await s.open(120)
        return None
    except Exception as exc:  # counted and reported
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        await s.close()


async def batch(base: str, n: int, parallel: int, pages: list[str]) -> list[str]:
    errors: list[str] = []
    sem = asyncio.Semaphore(parallel)

    async def run(i):
        async with sem:
            e = await one(base, {"page": pages[i % len(pages)]} if pages else {})
            if e:
                errors.append(e)

    await asyncio.gather(*[run(i) for i in range(n)])
    return errors


def wait_destroyed(srv, timeout: float) -> tuple[int, int]:
    """Wait until every created session has been destroyed; return (created, destroyed)."""
    deadline = time.time() + timeout
    while True:
        logs = srv.log_lines()
        c = sum(1 for d in logs if d.get("msg") == "session_created")
        d_ = sum(1 for d in logs if d.get("msg") == "session_destroyed")
        if d_ >= c or time.time() > deadline:
            return c, d_
        time.sleep(0.5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--pages", default="synthesis,impedance,cycling,pressure,data",
                    help="page keys cycled through (?page=KEY); empty for the default page")
    ap.add_argument("--store", default=None)
    ap.add_argument("--app", default=None, help="serve another Panel app file (tests of this script)")
    ap.add_argument("--quick", action="store_true", help="40 sessions")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    n = 40 if a.quick else a.sessions
    pages = [p for p in a.pages.split(",") if p]
    log = Path(tempfile.mkdtemp(prefix="ssb-soak-")) / "server.log"
    args = ["--unused-session-lifetime", "1000", "--check-unused-sessions", "500"]
    if a.store:
        args += ["--store", a.store]
    if a.app:
        args += ["--app", a.app]
    srv = start_server(args, str(log))
    try:
        warm = asyncio.run(batch(srv.base, 2 * max(1, len(pages)), 2, pages))
        wait_destroyed(srv, 60)
        time.sleep(8)  # same settling time as after the run
        rss0 = srv.rss_mb()
        t = time.perf_counter()
        errors = asyncio.run(batch(srv.base, n, a.parallel, pages))
        wall = time.perf_counter() - t
        rss_peak = srv.rss_mb()
        created, destroyed = wait_destroyed(srv, 120)
        time.sleep(8)  # the server's trailing garbage collection / malloc_trim after the last close
        rss1 = srv.rss_mb()
        server_errors = [d.get("msg", "")[:200] for d in srv.log_lines() if d.get("level") in ("ERROR", "CRITICAL")]
    finally:
        srv.stop()
    growth = rss1 - rss0
    ok = growth <= 50 and not errors and not server_errors and destroyed >= created
    print(f"RSS before {rss0:.0f} MB, during {rss_peak:.0f} MB, after {rss1:.0f} MB: growth {growth:+.1f} MB; "
          f"sessions created {created}, destroyed {destroyed}; client errors {len(errors)}, "
          f"server errors {len(server_errors)}; {n} sessions in {wall:.1f} s")
    for e in (warm + errors)[:5] + server_errors[:5]:
        print("  error:", e)
    from benchmarks._results import machine_line, write_section

    md = f"""## Group server soak (`benchmarks/soak.py`)

{n} browser-like sessions ({a.parallel} at a time, pages {', '.join(pages) or 'default'}) opened on
`ssb-explorer serve` (127.0.0.1, `--unused-session-lifetime 1000`), each pulling the whole
document, then closed. {machine_line()}.

| RSS before (MB) | RSS with sessions open (MB) | RSS after clean-up (MB) | growth (target <= 50 MB) | sessions created / destroyed | client errors | server ERROR lines |
|---|---|---|---|---|---|---|
| {rss0:.0f} | {rss_peak:.0f} | {rss1:.0f} | **{growth:+.1f} MB** | {created} / {destroyed} | {len(errors)} | {len(server_errors)} |

Overall: **{'target met' if ok else 'target MISSED'}** ({n} sessions in {wall:.1f} s).
"""
    if not a.no_write:
        write_section("soak", md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
