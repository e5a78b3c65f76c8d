"""Scale-out benchmark: ``drt_many`` on 10,000 spectra through the server's Dask job path.

Runs the exact code path of the group server (:func:`dashboard.jobs.submit_batch`) on

1. LocalClusters of 1 and of 2 worker processes x 1 thread with single-threaded BLAS, started
   as the server starts them, timed alternately (target: speed-up >= 1.7x);
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


def timed_job(ds, lam, chunk_size=None, repeats=1):
    """Best of ``repeats`` timed runs of the job; returns (seconds, result, chunks, all times)."""
    from dashboard import jobs

    times, out, chunks = [], None, 0
    for _ in range(repeats):
        jobs.clear_cache()
        t = time.perf_counter()
        job = jobs.submit_batch("drt_many", ds, lam=lam, chunk_size=chunk_size)
        out = job.result(timeout=3600)
        times.append(time.perf_counter() - t)
        chunks = job.n_chunks
    return min(times), out, chunks, times


def warm_up(ds, lam):
    from dashboard import jobs

    jobs.clear_cache()
    jobs.run_batch("drt_many", ds.isel(spectrum=slice(0, 40)), lam=lam, chunk_size=10, timeout=600)


def same(a, b) -> float:
    """Largest relative difference of gamma between two results."""
    ga, gb = np.asarray(a["gamma"]), np.asarray(b["gamma"])
    return float(np.nanmax(np.abs(ga - gb)) / max(np.nanmax(np.abs(gb)), 1e-300))


def local_interleaved(ds, lam, repeats=3):
    """LocalClusters of 1 and of 2 worker processes x 1 thread, both started by
    :func:`dashboard.jobs._local_cluster` (what the server's :func:`dashboard.jobs.get_client`
    starts), timed alternately (1, 2, 1, 2, ...) so that load from other processes on the machine
    hits both alike. Returns {n_workers: (best seconds, result, chunks, all times, worker settings)}.
    """
    from dashboard import jobs

    clusters = {n: jobs._local_cluster(n, 1, True) for n in (1, 2)}
    out: dict = {}
    try:
        for n, cluster in clusters.items():
            jobs.configure(address=cluster.scheduler_address)
            jobs.get_client().wait_for_workers(n, timeout=120)
            out[n] = {"settings": jobs.worker_settings(), "times": []}
            warm_up(ds, lam)
        for _ in range(repeats):
            for n, cluster in clusters.items():
                jobs.configure(address=cluster.scheduler_address)
                jobs.get_client()  # connected before the clock starts, like the server's shared client
                _t, res, chunks, times = timed_job(ds, lam)
                out[n]["times"] += times
                out[n]["result"], out[n]["chunks"] = res, chunks
    finally:
        jobs.shutdown()
        for cluster in clusters.values():
            cluster.close()
    return {n: (min(d["times"]), d["result"], d["chunks"], d["times"], d["settings"]) for n, d in out.items()}


def _plain_warm(lam) -> None:
    """Pool initializer: build the DRT matrices of this frequency grid once in the worker."""
    from analysis.drt import drt_many

    ds = spectra(40)
    drt_many(ds, lam=lam)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _plain_chunk(args):
    from analysis.drt import drt_many

    chunk, lam = args
    return drt_many(chunk, lam=lam)


def plain_processes(ds, lam, repeats=3):
    """Reference without Dask: ``multiprocessing`` pools of 1 and 2 spawned processes with
    single-threaded BLAS, on the same chunks as the Dask runs (2 per process), timed
    alternately. The ratio of the two is what this machine gives this workload at best."""
    import multiprocessing as mp

    from dashboard import jobs

    with jobs.worker_environment():  # inherited by the spawned processes before numpy loads
        ctx = mp.get_context("spawn")
        pools = {n: ctx.Pool(n, initializer=_plain_warm, initargs=(lam,)) for n in (1, 2)}
    times: dict = {1: [], 2: []}
    try:
        for k, pool in pools.items():  # wait until every process has run its initializer
            while len(set(pool.map(_pid_after, [0.2] * (2 * k), chunksize=1))) < k:
                pass
        n = ds.sizes["spectrum"]
        for _ in range(repeats):
            for k, pool in pools.items():
                size = jobs.default_chunk_size("drt_many", n, k)
                chunks = [(ds.isel(spectrum=slice(i, i + size)), lam) for i in range(0, n, size)]
                t = time.perf_counter()
                pool.map(_plain_chunk, chunks, chunksize=1)
                times[k].append(time.perf_counter() - t)
    finally:
        for pool in pools.values():
            pool.terminate()
    return times


def _describe(settings: dict) -> str:
    """'2 workers x 1 thread, BLAS threads 1/1' from :func:`dashboard.jobs.worker_settings`."""
    vals = list(settings.values())
    threads = sorted({v.get("nthreads") for v in vals}, key=str)
    blas = "/".join(str(v.get("blas_threads")) for v in vals)
    env = sorted({v.get("OPENBLAS_NUM_THREADS") for v in vals}, key=str)
    return (f"{len(vals)} worker(s) x {'/'.join(map(str, threads))} thread, OpenBLAS threads {blas} "
            f"(OPENBLAS_NUM_THREADS={'/'.join(map(str, env))})")


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
        return (*timed_job(ds, lam)[:2], addr)
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
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed runs per local cluster, alternating 1 and 2 workers (best is kept)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    a = ap.parse_args(argv)
    n = a.n or (2000 if a.quick else 10_000)
    lam = a.lam if a.lam == "auto" else float(a.lam)
    from analysis.drt import drt_many
    from dashboard import jobs

    load0 = os.getloadavg()
    print(f"load average at start {load0[0]:.2f}", flush=True)
    ds = spectra(n)
    drt_many(ds.isel(spectrum=slice(0, 40)), lam=lam)  # build the cached matrices, as the workers' warm-up does
    t = time.perf_counter()
    direct = drt_many(ds, lam=lam)
    t_direct = time.perf_counter() - t
    blas_here = jobs.thread_settings()["blas_threads"]
    print(f"direct drt_many, {n} spectra: {t_direct:.2f} s (OpenBLAS threads {blas_here})", flush=True)
    runs = local_interleaved(ds, lam, a.repeats)
    t1, r1, c1, all1, s1 = runs[1]
    t2, r2, c2, all2, s2 = runs[2]
    print(f"LocalCluster 1 worker: {t1:.2f} s {[round(x, 2) for x in all1]}, {c1} chunks, {_describe(s1)} "
          f"(max rel diff {same(r1, direct):.1e})", flush=True)
    print(f"LocalCluster 2 workers: {t2:.2f} s {[round(x, 2) for x in all2]}, {c2} chunks, {_describe(s2)} "
          f"(max rel diff {same(r2, direct):.1e})", flush=True)
    plain = plain_processes(ds, lam, a.repeats)
    p1, p2 = min(plain[1]), min(plain[2])
    print(f"plain multiprocessing (no Dask): 1 process {p1:.2f} s {[round(x, 2) for x in plain[1]]}, "
          f"2 processes {p2:.2f} s {[round(x, 2) for x in plain[2]]}: ratio {p1 / p2:.2f}x", flush=True)
    # the in-process call after the clusters ran: starting them must not have slowed it
    t = time.perf_counter()
    drt_many(ds, lam=lam)
    t_direct_after = time.perf_counter() - t
    print(f"direct drt_many after the clusters: {t_direct_after:.2f} s "
          f"(OpenBLAS threads {jobs.thread_settings()['blas_threads']})", flush=True)
    te, re_, addr = external(ds, lam)
    print(f"external scheduler {addr}, 2 workers: {te:.2f} s (max rel diff {same(re_, direct):.1e})", flush=True)
    tk, rk, at = killed_worker(ds, lam)
    print(f"worker killed at {at:.0%}: finished in {tk:.2f} s (max rel diff {same(rk, direct):.1e})", flush=True)
    speedup = t1 / t2
    verdict = "met" if speedup >= 1.7 else "MISSED"
    from benchmarks._results import machine_line, write_section

    load = os.getloadavg()
    times = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    md = f"""## Scale-out: drt_many through the server's Dask jobs (`benchmarks/scale.py`)

{n} spectra x 50 frequencies, lambda = {lam!r}, via `dashboard.jobs.submit_batch` (the group
server's code path) with its default chunking ({jobs.CHUNKS_PER_WORKER} chunks per worker, at
least {jobs.MIN_CHUNK['drt_many']} spectra per chunk). Worker processes have one thread and
single-threaded BLAS (set before they start; checked in each worker). The DRT matrices are built
once per worker (warm-up batch, not timed) and never shipped with the tasks. The 1- and 2-worker
LocalClusters (both started by `dashboard.jobs`, as the server does) are timed alternately,
{a.repeats} runs each (all times listed, best kept), so load from other work hits both alike. {machine_line()}; load average {load0[0]:.2f} at the start, {load[0]:.2f} at the end.

| run | seconds | chunks | workers | max relative difference of gamma vs direct call |
|---|---|---|---|---|
| direct in-process `drt_many` | {t_direct:.2f} | - | this process, OpenBLAS threads {blas_here} | - |
| LocalCluster, 1 worker process (baseline) | {t1:.2f} ({times(all1)}) | {c1} | {_describe(s1)} | {same(r1, direct):.1e} |
| LocalCluster, 2 worker processes | {t2:.2f} ({times(all2)}) | {c2} | {_describe(s2)} | {same(r2, direct):.1e} |
| reference without Dask: `multiprocessing` pool, 1 process, same chunks | {p1:.2f} ({times(plain[1])}) | {c1} | 1 x 1, BLAS 1 | - |
| reference without Dask: `multiprocessing` pool, 2 processes, same chunks | {p2:.2f} ({times(plain[2])}) | {c2} | 2 x 1, BLAS 1 | - |
| direct in-process `drt_many` after the clusters ran | {t_direct_after:.2f} | - | this process | - |
| external scheduler ({addr}, 2 `dask worker --nthreads 1` processes) | {te:.2f} | {c2} | 2 x 1 | {same(re_, direct):.1e} |
| 2 workers, one killed at {at:.0%} of the job | {tk:.2f} | {c2} | 2 x 1 | {same(rk, direct):.1e} |

Speed-up 2 workers vs 1: **{speedup:.2f}x** (target >= 1.7x: {verdict}). The same chunks on plain
processes without Dask give {p1 / p2:.2f}x on this machine at the same time: the ceiling for this
workload here (the 2 vCPUs are shared with other work, and the batched DRT solver is
memory-bound, so two processes slow each other down). The killed worker's
tasks were re-run by the scheduler and the job finished with the same result.
"""
    if not a.no_write:
        write_section("scale", md)
    print(f"speed-up {speedup:.2f}x ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
