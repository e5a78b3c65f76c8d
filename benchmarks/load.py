"""Load benchmark: many colleagues moving sliders at once on the served dashboard.

Starts ``ssb-explorer serve`` on 127.0.0.1 (a free port; no logins so that Bokeh sessions can be
opened without a browser; pass ``--auth-user/--auth-password`` with ``--auth FILE`` to go through
the login), then for every page key (default the DRT section of the ``impedance`` page and the
dQ/dV section of the ``cycling`` page, ``impedance@drt,cycling@dqdv``):

1. one session alone moves the page's sliders ``--moves`` times (single-user latency);
2. ``--sessions`` sessions (default 16) open the page together (their page-open times are
   reported), wait until all are open, then do the same at the same time, each starting after a
   random 0-1.5 think times so that the users are not in lock step.

Each move sets a slider's ``value`` and ``value_throttled`` like a browser releasing the handle
and measures the time to the server's first resulting patch of another model (the re-computed
plot / read-out) and to the last patch of that burst. Errors counted: protocol errors, closed
websockets, moves without any server update within the timeout, ERROR lines in the server log.
Target: zero errors and concurrent p95 <= 3x the single-user p95.

The page keys (``?page=KEY``) and the sliders (all ``Slider`` models of the page, or those whose
title contains one of ``--sliders``) are discovered at run time, so the script follows the pages
as they change. Run: ``flock /tmp/ssb-bench.lock .venv/bin/python -m benchmarks.load [--quick]``
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._server import BokehWS, ProtocolError, percentile, start_server


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pick_sliders(sess: BokehWS, only: list[str] | None) -> list[dict]:
    """Sliders worth moving (``Slider`` and ``RangeSlider`` models with a real range), optionally
    only those whose title contains one of ``only``. Untitled sliders are the inner part of
    Panel's DiscreteSlider (an integer index)."""
    out = []
    for m in sess.models(("Slider", "RangeSlider")):
        a = m.get("attributes", {})
        start, end = a.get("start"), a.get("end")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or end <= start:
            continue
        if a.get("disabled") or a.get("visible") is False:
            continue
        title = str(a.get("title") or "")
        if only and not any(s.lower() in title.lower() for s in only):
            continue
        out.append(m)
    return out


def _grid(a: dict) -> tuple[float, float, float, bool]:
    start, end = float(a["start"]), float(a["end"])
    v = a.get("value")
    first = v[0] if isinstance(v, (list, tuple)) and v else v
    integer = isinstance(first, int) and float(start).is_integer() and float(end).is_integer()
    step = float(a.get("step") or (1 if integer else (end - start) / 100))
    return start, end, step, integer and float(step).is_integer()


def next_value(m: dict, rng: random.Random, current):
    """A new value of slider ``m`` (a number, or a (low, high) pair for a RangeSlider) on its step grid,
    different from ``current``."""
    a = m["attributes"]
    start, end, step, integer = _grid(a)
    n = max(1, int(round((end - start) / step)))
    conv = (lambda x: int(round(x))) if integer else (lambda x: round(x, 12))  # noqa: E731
    if m.get("name") == "RangeSlider":
        for _ in range(20):
            i, j = sorted(rng.sample(range(n + 1), 2)) if n >= 1 else (0, n)
            v = [conv(start + i * step), conv(min(start + j * step, end))]
            if v != list(current or []):
                return v
        return v
    v = start
    for _ in range(20):
        v = min(max(start + rng.randint(0, n) * step, start), end)
        if current is None or abs(v - current) > step / 2:
            break
    return conv(v)


class _Gate:
    """All sessions open their page before any moves a slider (see :func:`run_many`)."""

    def __init__(self, n: int):
        self.n, self.arrived, self.event = n, 0, asyncio.Event()

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.n:
            self.event.set()


async def run_session(base: str, page: str, moves: int, seed: int, only, timeout: float,
                      cookie: str = "", page_param: str = "page", think: float = 0.0, gate: _Gate | None = None,
                      opened: list | None = None):
    """Open one session on ``page``, move sliders ``moves`` times; return (latencies, errors).

    With ``gate``, wait after opening until every session of the gate has opened (or failed to);
    ``opened`` receives the seconds the page took to open.
    """
    rng = random.Random(seed)
    first, last, errors = [], [], []
    key, _, section = page.partition("@")
    args = {page_param: key, **({f"{key}.section": section} if section else {})}
    sess = BokehWS(base, "/app", args, cookie)
    arrived = False
    try:
        t_open = time.perf_counter()
        await sess.open(max(timeout, 120))  # loading the page under load can take long
        if opened is not None:
            opened.append(time.perf_counter() - t_open)
        if gate is not None:
            gate.arrive()
            arrived = True
            await gate.event.wait()
            sess.drain()
        sliders = pick_sliders(sess, only)
        if not sliders:
            return first, last, [f"{page}: no slider found on the page"]
        if gate is not None and think > 0:
            await asyncio.sleep(think * rng.uniform(0, 1.5))  # users do not all move at the same instant
        for j in range(moves):
            m = sliders[j % len(sliders)]
            if think > 0 and j:
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))  # looking at the result
            # the slider's value as the server last set it (another control may have moved it, e.g.
            # the shown cycle following the cycle range), so that the move is a real change
            sess.drain()
            v = next_value(m, rng, m["attributes"].get("value"))
            m["attributes"]["value"] = v
            up = await sess.change(m["id"], {"value": v, "value_throttled": v}, timeout=timeout)
            if up.first is None:
                errors.append(f"{page}: no update within {timeout:g} s after moving "
                              f"{m['attributes'].get('title', m['id'])!r} to {v}")
            else:
                first.append(up.first)
                last.append(up.last)
    except (ProtocolError, OSError, asyncio.TimeoutError) as exc:
        errors.append(f"{page}: {type(exc).__name__}: {str(exc)[:300]}")
    except Exception as exc:  # HTTP errors from the page load
        errors.append(f"{page}: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        if gate is not None and not arrived:
            gate.arrive()  # a session that failed to open does not hold the others back
        await sess.close()
    return first, last, errors


async def run_many(base, page, n, moves, only, timeout, cookie="", think=0.0, opened: list | None = None):
    """``n`` sessions at once: they open the page together, wait until all are open (the page loads
    are timed into ``opened``), then move their sliders; returns (first, last, errors, wall s of the
    moving phase)."""
    gate = _Gate(n)
    t = [None]

    async def start_clock():
        await gate.event.wait()
        t[0] = time.perf_counter()

    clock = asyncio.ensure_future(start_clock())
    res = await asyncio.gather(*[run_session(base, page, moves, 1000 + i, only, timeout, cookie, think=think,
                                             gate=gate, opened=opened) for i in range(n)])
    await clock
    wall = time.perf_counter() - t[0]
    first = [x for r in res for x in r[0]]
    last = [x for r in res for x in r[1]]
    errors = [e for r in res for e in r[2]]
    return first, last, errors, wall


def login_cookie(base: str, user: str, password: str) -> str:
    """Log in through /login and return the Cookie header value."""
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/login", data=urllib.parse.urlencode(
        {"username": user, "password": password, "next": "/liveness"}).encode(), timeout=30)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default="impedance@drt,cycling@dqdv",
                    help="page keys (?page=KEY), comma-separated; KEY@SECTION opens that section (tab) of the page")
    ap.add_argument("--sliders", default=None, help="only sliders whose title contains one of these (comma-separated)")
    ap.add_argument("--sessions", type=int, default=16)
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an update")
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds a user looks at the result before the next move (0 = back to back)")
    ap.add_argument("--num-procs", type=int, default=None,
                    help="server processes (default: one per usable CPU, as docs/deployment.md advises)")
    ap.add_argument("--store", default=None, help="serve this store (default: the sample data)")
    ap.add_argument("--url", default=None, help="use a running server at this loopback URL instead")
    ap.add_argument("--auth", default=None, help="users file: run the server with logins")
    ap.add_argument("--auth-user", default=None)
    ap.add_argument("--auth-password", default=None)
    ap.add_argument("--quick", action="store_true", help="4 sessions x 5 moves")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--section", default=None,
                    help="RESULTS.md section written (default: 'load' with one process per CPU, "
                         "'load_procsN' with another --num-procs N)")
    a = ap.parse_args(argv)
    if a.quick:
        a.sessions, a.moves = 4, 5
    ncpu = usable_cpus()
    if a.num_procs is None:
        a.num_procs = ncpu
    default_section = "load" if a.num_procs == ncpu else f"load_procs{a.num_procs}"
    pages = [p for p in a.pages.split(",") if p]
    only = [s for s in a.sliders.split(",")] if a.sliders else None
    if a.url and not a.url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("load.py talks to loopback servers only")
    srv = None
    log = Path(tempfile.mkdtemp(prefix="ssb-load-")) / "server.log"
    if not a.url:
        args = ["--num-procs", str(a.num_procs)] + (["--store", a.store] if a.store else [])
        if a.auth:
            args += ["--auth", a.auth]
        srv = start_server(args, str(log))
    base = a.url or srv.base
    cookie = login_cookie(base, a.auth_user, a.auth_password) if a.auth_user else ""
    rows, all_errors = [], []
    try:
        for page in pages:
            asyncio.run(run_many(base, page, a.num_procs, 2, only, a.timeout, cookie))  # warm-up (imports)
            f1, l1, e1, _ = asyncio.run(run_many(base, page, 1, a.moves, only, a.timeout, cookie, a.think))
            opened = []
            fn, ln, en, wall = asyncio.run(run_many(base, page, a.sessions, a.moves, only, a.timeout, cookie,
                                                    a.think, opened=opened))
            rows.append((page, f1, l1, fn, ln, e1 + en, wall, opened))
            all_errors += e1 + en
            print(f"{page}: update complete p95: single {percentile(l1, 95) * 1e3:.0f} ms, {a.sessions} sessions "
                  f"{percentile(ln, 95) * 1e3:.0f} ms, errors {len(e1 + en)}", flush=True)
    finally:
        server_errors = []
        if srv is not None:
            server_errors = [d.get("msg", "")[:200] for d in srv.log_lines() if d.get("level") in ("ERROR", "CRITICAL")]
            srv.stop()
    for e in all_errors[:10] + server_errors[:10]:
        print("  error:", e)
    ok = True
    lines = []
    for page, f1, l1, fn, ln, errs, wall, opened in rows:
        p1, pn_ = percentile(l1, 95), percentile(ln, 95)  # update complete
        ratio = pn_ / p1 if p1 == p1 and p1 > 0 else float("nan")
        ok &= (not errs) and ratio <= 3
        ms = lambda v, q: f"{percentile(v, q) * 1e3:.0f}"  # noqa: E731
        lines.append(f"| `{page}` | {len(ln)} | {ms(f1, 95)} | {ms(l1, 50)} / {ms(l1, 95)} | {ms(fn, 95)} | "
                     f"{ms(ln, 50)} / {ms(ln, 95)} | {ratio:.2f}x | {len(errs)} | {wall:.1f} | "
                     f"{percentile(opened, 50):.1f} / {max(opened, default=float('nan')):.1f} |")
    ok &= not server_errors
    from benchmarks._results import machine_line, write_section

    title = "" if default_section == "load" else f", {a.num_procs} server process(es)"
    per_cpu = ("one per usable CPU as docs/deployment.md advises, since a process runs its sessions' Python on "
               "one core at a time" if a.num_procs == ncpu else f"on {ncpu} usable CPUs")
    md = f"""## Group server under load (`benchmarks/load.py`{title})

`ssb-explorer serve` on 127.0.0.1 ({a.num_procs} process(es), {per_cpu}{'; logins on' if a.auth else ''}), {a.sessions} concurrent
browser-like websocket sessions per page, each moving the page's sliders {a.moves} times
(value + value_throttled, as a released slider handle), with a mean "think time" of {a.think:g} s
between moves (uniform 0.5-1.5x; 0 = back to back). Latency = move sent -> first server patch
changing the view (plots, read-outs; not the widgets echoing the value); "complete" = last patch of
that update burst (no further patch for 0.3 s), the latency compared. The {a.sessions} sessions open
the page together and start moving once all are open, each after a random delay of 0-1.5 think
times (page builds are timed in the last column: a move queued behind other users' page builds
measures the logins, not the sliders). Each session announces its document rendered
(BokehJS's `document_ready`) as a browser does: before that Panel holds the session unconnected
and HoloViews re-schedules plot refreshes endlessly (runs before 2026-11-22 lacked it, and each
session that had moved a slider kept about one core busy). {machine_line()}.

| page | moves | single: first p95 (ms) | single: complete p50 / p95 (ms) | {a.sessions} sessions: first p95 (ms) | {a.sessions} sessions: complete p50 / p95 (ms) | complete p95 ratio (target <= 3x) | errors | wall of the moves (s) | {a.sessions} pages opened together: median / slowest (s) |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}

Server log ERROR lines: {len(server_errors)}. Overall: **{'target met' if ok else 'target MISSED'}**.
"""
    if rows and not a.no_write:
        write_section(a.section or default_section, md)
    print("OK" if ok else "target missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
