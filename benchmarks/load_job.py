"""Sliders during a batch job: does a heavy Dask job on the group server slow other users down?

Builds a project store holding one SYNTHETIC impedance table of ~10,000 spectra (every spectrum of
the sample run ``s2_lts_insitu_eis`` repeated, imported as an instrument file is: a generic CSV of
consecutive frequency sweeps, marked synthetic in its name and header),
starts ``ssb-explorer serve --store DIR`` on 127.0.0.1 (one process per usable CPU, the job's
Dask LocalCluster started by the server as in production), then:

1. a user moves the sliders of the DRT section of the impedance page ``--moves`` times alone
   (no job running): baseline;
2. a second user opens the Data page on the big run and presses *Run on the cluster* (DRT of
   every spectrum, automatic lambda) through the page itself (a ``button_click`` event, as a
   browser sends it); while the job runs, the first user keeps moving sliders;
3. the job's end is read from the Data page's progress line (``drt_many: finished``).

Reported: the job's wall time and the slider latency p50/p95 alone and during the job (the
update-complete latency of ``benchmarks/load.py``). The Dask workers and the server share the
machine's cores, so the ratio shows what "other users' sliders stay responsive" means on it.
Run: ``flock /tmp/ssb-bench.lock .venv/bin/python -m benchmarks.load_job``
"""
from __future__ import annotations

import argparse
import asyncio
import html
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._server import BokehWS, percentile, start_server
from benchmarks.load import next_value, pick_sliders, usable_cpus


def build_store(root: Path, copies: int) -> tuple[str, int]:
    """A store holding one generic impedance table with every spectrum of the sample in situ run
    repeated ``copies`` times (copy k scaled by 1 + k/1000, so no two spectra are equal) as
    consecutive frequency sweeps; returns (store id, number of spectra)."""
    import numpy as np

    import sample_data
    from analysis import store

    base = sample_data.load("s2_lts_insitu_eis").stack(spectrum=("cycle", "point")).transpose("spectrum", "frequency")
    f = np.asarray(base["frequency"].values, float)
    zr, zi = np.asarray(base["z_real"].values, float), np.asarray(base["z_imag"].values, float)
    path = root / "big_insitu_run_SYNTHETIC.csv"
    n = 0
    with open(path, "w") as fh:
        fh.write("# SYNTHETIC: the sample run s2_lts_insitu_eis repeated (benchmarks/load_job.py)\n")
        fh.write("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n")
        for k in range(copies):
            scale = 1 + k / 1000
            for j in range(zr.shape[0]):
                ok = np.isfinite(zr[j]) & np.isfinite(zi[j])
                rows = np.column_stack([f[ok], zr[j, ok] * scale, zi[j, ok] * scale])
                np.savetxt(fh, rows, delimiter=",", fmt="%.9g")
                n += 1
    entry = store.open(root / "store").ingest(path, user="bench")
    return entry.id, n


def click_event(model_id: str) -> dict:
    """The PATCH-DOC event of a button click, as BokehJS sends it."""
    return {"kind": "MessageSent", "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": "button_click",
                         "values": {"type": "map", "entries": [["model", {"id": model_id}]]}}}


def _texts(sess: BokehWS) -> list[str]:
    """The texts of the page's Markdown/HTML panes (HTML, unescaped)."""
    return [html.unescape(str(m.get("attributes", {}).get("text", "")))
            for m in sess.models(("panel.models.markup.HTML", "Div"))]


async def moves(base: str, n: int, think: float, seed: int, stop: asyncio.Event | None = None) -> list[float]:
    """One user moving the DRT section's sliders ``n`` times (or until ``stop`` is set); latencies (s)."""
    rng = random.Random(seed)
    sess = BokehWS(base, "/app", {"page": "impedance", "impedance.section": "drt"})
    await sess.open(120)
    out = []
    try:
        sliders = pick_sliders(sess, None)
        for j in range(n):
            if stop is not None and stop.is_set():
                break
            if j:
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            m = sliders[j % len(sliders)]
            sess.drain()
            v = next_value(m, rng, m["attributes"].get("value"))
            m["attributes"]["value"] = v
            up = await sess.change(m["id"], {"value": v, "value_throttled": v}, timeout=120)
            if up.last is not None:
                out.append(up.last)
    finally:
        await sess.close()
    return out


async def run_job(base: str, store_id: str, done: asyncio.Event, info: dict, timeout: float) -> None:
    """Open the Data page on the big run, press *Run on the cluster*, wait for the job's end."""
    sess = BokehWS(base, "/app", {"page": "data", "data.dataset": f"store:{store_id}"})
    await sess.open(120)
    try:
        button = next((m for m in sess.models(("panel.models.widgets.Button", "Button"))
                       if m.get("attributes", {}).get("label") == "Run on the cluster"), None)
        if button is None:
            info["status"] = "no 'Run on the cluster' button on the Data page"
            return
        t0 = time.perf_counter()
        await sess.send("PATCH-DOC", {"events": [click_event(button["id"])]})
        while time.perf_counter() - t0 < timeout:
            await asyncio.sleep(0.25)
            sess.drain()
            texts = " ".join(_texts(sess))
            if "drt_many</strong>: finished" in texts or "drt_many</strong>: cached" in texts:
                info["seconds"] = time.perf_counter() - t0
                info["status"] = "finished"
                break
            if "drt_many</strong>: error" in texts or "drt_many</strong>: cancelled" in texts or "✘" in texts:
                info["status"] = "error: " + texts[:300]
                break
        else:
            info["status"] = "timeout"
    finally:
        done.set()
        await sess.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=23, help="repeats of the 440-spectrum sample run (23: 10,120 spectra)")
    ap.add_argument("--moves", type=int, default=20, help="slider moves alone")
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between moves")
    ap.add_argument("--num-procs", type=int, default=None, help="server processes (default one per CPU)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--quick", action="store_true", help="4 copies (1,760 spectra), 6 moves")
    a = ap.parse_args(argv)
    if a.quick:
        a.copies, a.moves = 4, 6
    ncpu = usable_cpus()
    procs = a.num_procs or ncpu
    tmp = Path(tempfile.mkdtemp(prefix="ssb-load-job-"))
    store_id, n_spec = build_store(tmp, a.copies)
    srv = start_server(["--store", str(tmp / "store"), "--num-procs", str(procs)], str(tmp / "server.log"))
    info: dict = {}
    try:
        asyncio.run(moves(srv.base, 4, 0.2, 0))  # warm-up (imports, page build)
        alone = asyncio.run(moves(srv.base, a.moves, a.think, 1))

        async def during():
            done = asyncio.Event()
            job = asyncio.ensure_future(run_job(srv.base, store_id, done, info, a.timeout))
            lat = await moves(srv.base, 10_000, a.think, 2, stop=done)
            await job
            return lat

        busy = asyncio.run(during())
        errors = [d.get("msg", "")[:200] for d in srv.log_lines() if d.get("level") in ("ERROR", "CRITICAL")]
    finally:
        srv.stop()
    p = lambda v, q: percentile(v, q) * 1e3  # noqa: E731
    ratio = p(busy, 95) / p(alone, 95) if alone and busy else float("nan")
    print(f"job: {info.get('status')} in {info.get('seconds', float('nan')):.1f} s; sliders alone p95 "
          f"{p(alone, 95):.0f} ms ({len(alone)} moves), during the job p95 {p(busy, 95):.0f} ms ({len(busy)} moves)")
    from benchmarks._results import machine_line, write_section

    md = f"""## Sliders during a batch job (`benchmarks/load_job.py`)

`ssb-explorer serve --store` on 127.0.0.1 ({procs} server process(es) on {ncpu} usable CPUs; the job's Dask
LocalCluster started by the server: one single-threaded worker per usable CPU). A second user
presses *Run on the cluster* on the Data page for the DRT (automatic lambda, GCV) of every spectrum
of a SYNTHETIC table of {n_spec} spectra (the sample in situ run repeated {a.copies} times, imported
as a generic CSV) while a first user moves the sliders of the DRT section of the impedance page (think
time {a.think:g} s; latency = update complete as in `load.py`). The workers and the server share the
cores. {machine_line()}.

| | slider moves | p50 (ms) | p95 (ms) |
|---|---|---|---|
| alone (no job) | {len(alone)} | {p(alone, 50):.0f} | {p(alone, 95):.0f} |
| during the job | {len(busy)} | {p(busy, 50):.0f} | {p(busy, 95):.0f} |

Job: **{info.get('status')}** in {info.get('seconds', float('nan')):.1f} s (button press to "finished" on the
Data page). Slider p95 during the job / alone: **{ratio:.2f}x**. Server log ERROR lines: {len(errors)}.
"""
    if not a.no_write:
        write_section("load_job", md)
    return 0 if info.get("status") == "finished" and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
