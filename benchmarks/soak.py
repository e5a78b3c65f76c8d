"""Soak benchmark: open and close 200 dashboard sessions; the server must not keep their memory.

Starts ``ssb-explorer serve`` on 127.0.0.1 with a short ``--unused-session-lifetime`` so that
closed sessions are cleaned up within seconds and with ``SSB_SESSION_CHECK=1`` (after each
clean-up the server logs a census of the live App/page objects, :mod:`dashboard.sessions`).
It warms the server up with one burst of ``2 x --parallel`` sessions at the same concurrency as
the run (first sessions import the pages, fill the bounded caches and take the allocator to the
high-water mark of ``--parallel`` concurrent sessions), measures the server's resident memory
(RSS), then opens and closes ``--sessions`` (default 200) browser-like sessions, ``--parallel`` at
a time, in two halves, each session loading the page, opening the websocket and pulling the whole
document. After each half, once every session has been destroyed (counted from the server's
JSON ``session_destroyed`` log events) and the server's clean-up has run, the RSS is measured
again. Target: growth <= 50 MB. A per-session leak shows as growth in the second half as large
as in the first and as live page objects in the last census; an allocator high-water mark does
not grow in the second half.

Run: ``flock /tmp/ssb-bench.lock .venv/bin/python -m benchmarks.soak [--quick]``
"""
from __future__ import annotations

import argparse
import asyncio
import os
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


def last_census(srv) -> dict | None:
    """The server's last ``session_census`` log event (live page objects vs open sessions)."""
    found = [d for d in srv.log_lines() if d.get("msg") == "session_census"]
    return found[-1] if found else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--pages", default="synthesis,impedance,cycling,pressure,data",
                    help="page keys cycled through (?page=KEY); empty for the default page")
    ap.add_argument("--store", default=None)
    ap.add_argument("--app", default=None, help="serve another Panel app file (tests of this script)")
    ap.add_argument("--settle", type=float, default=8.0,
                    help="seconds to wait after the last session was destroyed before measuring RSS")
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
    srv = start_server(args, str(log), env={"SSB_SESSION_CHECK": "1"})
    halves = [n // 2, n - n // 2]
    rss_after: list[float] = []
    errors: list[str] = []
    try:
        rss_start = srv.rss_mb()
        n_warm = max(2 * a.parallel, 2 * len(pages))
        warm = asyncio.run(batch(srv.base, n_warm, a.parallel, pages))
        wait_destroyed(srv, 120)
        time.sleep(a.settle)
        rss0 = srv.rss_mb()
        t = time.perf_counter()
        rss_peak = rss0
        for k in halves:
            errors += asyncio.run(batch(srv.base, k, a.parallel, pages))
            rss_peak = max(rss_peak, srv.rss_mb())
            created, destroyed = wait_destroyed(srv, 120)
            time.sleep(a.settle)  # the server's clean-up (gc + malloc_trim) after the last close
            rss_after.append(srv.rss_mb())
        wall = time.perf_counter() - t
        census = last_census(srv) or {}
        server_errors = [d.get("msg", "")[:200] for d in srv.log_lines() if d.get("level") in ("ERROR", "CRITICAL")]
    finally:
        srv.stop()
    rss1 = rss_after[-1]
    growth = rss1 - rss0
    second = rss_after[-1] - rss_after[0]
    per_1000 = 1000 * second / max(halves[-1], 1)
    live = census.get("live") or {}
    live_pages = sum(live.values())
    ok = growth <= 50 and not errors and not server_errors and destroyed >= created
    print(f"RSS fresh {rss_start:.0f} MB, after warm-up ({n_warm} sessions) {rss0:.0f} MB, peak {rss_peak:.0f} MB, "
          f"after {halves[0]} sessions {rss_after[0]:.0f} MB, after {n} {rss1:.0f} MB: growth {growth:+.1f} MB "
          f"(second half {second:+.1f} MB = {per_1000:+.0f} MB per 1000 sessions); sessions created {created}, "
          f"destroyed {destroyed}; live App/page objects after clean-up {live or 'no census'}; client errors "
          f"{len(errors)}, server errors {len(server_errors)}; {n} sessions in {wall:.1f} s")
    for e in (warm + errors)[:5] + server_errors[:5]:
        print("  error:", e)
    from benchmarks._results import machine_line, write_section

    md = f"""## Group server soak (`benchmarks/soak.py`)

{n} browser-like sessions ({a.parallel} at a time, pages {', '.join(pages) or 'default'}) opened on
`ssb-explorer serve` (127.0.0.1, `--unused-session-lifetime 1000`), each pulling the whole
document, then closed; measured in two halves of {halves[0]} / {halves[1]}. Before the baseline the server
was warmed up with one burst of {n_warm} sessions at the same concurrency (page imports, bounded
caches, allocator high-water mark of {a.parallel} concurrent sessions). RSS after each half is
taken once every session has been destroyed and the server's clean-up (`gc.collect()` +
`malloc_trim(0)`, `dashboard/sessions.py`) has run. {machine_line()}; load average at the end
{os.getloadavg()[0]:.1f}.

| RSS fresh / after warm-up (MB) | peak with sessions open (MB) | after {halves[0]} sessions (MB) | after {n} sessions (MB) | growth (target <= 50 MB) | second-half growth | live App/page objects after clean-up | sessions created / destroyed | client errors | server ERROR lines |
|---|---|---|---|---|---|---|---|---|---|
| {rss_start:.0f} / {rss0:.0f} | {rss_peak:.0f} | {rss_after[0]:.0f} | {rss1:.0f} | **{growth:+.1f} MB** | {second:+.1f} MB ({per_1000:+.0f} MB / 1000 sessions) | {live_pages} (open sessions {census.get('open_sessions', '?')}) | {created} / {destroyed} | {len(errors)} | {len(server_errors)} |

Overall: **{'target met' if ok else 'target MISSED'}** ({n} sessions in {wall:.1f} s).
"""
    if not a.no_write:
        write_section("soak", md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
