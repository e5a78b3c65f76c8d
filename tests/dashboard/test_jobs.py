"""Batch jobs on dask.distributed: same result as the direct call, progress, cancel, cache, faults."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from dashboard import jobs  # noqa: E402


def per_spectrum_stats(da, scale=1.0):
    """A stand-in batch function: independent per item along the first dimension."""
    return (da * scale).sum("frequency").rename("s").to_dataset()


def slow_rows(chunk, delay):
    time.sleep(delay)
    return chunk


@pytest.fixture
def local_threads():
    jobs.register("stats", f"{__name__}:per_spectrum_stats")
    jobs.register("slow", f"{__name__}:slow_rows")
    jobs.configure(n_workers=1, processes=False, threads_per_worker=2)
    yield
    jobs.shutdown()


def _batch(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.normal(size=(n, 12)), dims=("spectrum", "frequency"),
                        coords={"spectrum": np.arange(n), "frequency": np.logspace(5, -1, 12)})


def test_same_result_as_direct_call_and_cache(local_threads, tmp_path):
    da = _batch()
    direct = per_spectrum_stats(da, scale=2.0)
    job = jobs.submit_batch("stats", da, store=tmp_path, chunk_size=7, scale=2.0)
    got = job.result(timeout=60)
    assert job.n_chunks == 6 and job.n_items == 40
    xr.testing.assert_identical(got, direct)
    assert job.status == "finished" and job.progress() == 1.0
    assert len(list((tmp_path / ".cache" / "jobs").glob("*.pkl"))) == 1
    again = jobs.submit_batch("stats", da, store=tmp_path, chunk_size=7, scale=2.0)
    assert again.status == "cached" and again.done()
    xr.testing.assert_identical(again.result(), direct)
    # a new process (memory cache cleared) still finds it in the store
    jobs._memo.clear()
    third = jobs.submit_batch("stats", da, store=tmp_path, chunk_size=7, scale=2.0)
    assert third.status == "cached"
    xr.testing.assert_identical(third.result(), direct)
    # different inputs -> different key -> computed
    other = jobs.submit_batch("stats", da, store=tmp_path, chunk_size=7, scale=3.0)
    assert other.status != "cached"
    xr.testing.assert_identical(other.result(timeout=60), per_spectrum_stats(da, 3.0))


def test_numpy_and_list_batches(local_threads):
    a = np.arange(30.0)
    assert np.array_equal(jobs.run_batch("selftest", list(range(10)), timeout=60, chunk_size=3),
                          [2 * i for i in range(10)])
    jobs.register("sq", "numpy:square")
    np.testing.assert_array_equal(jobs.run_batch("sq", a, chunk_size=4, timeout=60), a**2)


def test_progress_and_cancel(local_threads):
    job = jobs.submit_batch("slow", np.arange(40), 0.25, chunk_size=1)
    deadline = time.time() + 30
    while job.progress() == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert 0 < job.progress() < 1
    job.cancel()
    assert job.done() and job.status == "cancelled"
    with pytest.raises(jobs.JobError, match="cancelled"):
        job.result(timeout=1)
    assert job.progress() < 1


def test_submit_from_a_running_event_loop(local_threads):
    """Panel callbacks run on the server's event loop: submitting there must neither fail nor block."""
    import asyncio

    async def session_callback():
        job = jobs.submit_batch("slow", np.arange(3), 0.3, chunk_size=1)
        assert not job.done() and job.progress() == 0  # returned before the work was done
        while not job.done():
            await asyncio.sleep(0.02)
        return job

    job = asyncio.run(session_callback())
    assert job.status == "finished" and list(job.result()) == [0, 1, 2]


def test_unknown_function_and_errors(local_threads):
    with pytest.raises(jobs.JobError, match="unknown batch function"):
        jobs.submit_batch("rm -rf", [1])
    job = jobs.submit_batch("stats", [1, 2, 3])  # a list has no .sum("frequency")
    with pytest.raises(jobs.JobError, match="stats failed"):
        job.result(timeout=60)


def test_external_scheduler_same_code_path():
    jobs.register("stats", f"{__name__}:per_spectrum_stats")
    cluster = distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                       dashboard_address=None)
    try:
        jobs.configure(address=cluster.scheduler_address)
        client = jobs.get_client()
        assert client.scheduler.address == cluster.scheduler_address
        da = _batch(20, seed=3)
        xr.testing.assert_identical(jobs.run_batch("stats", da, timeout=60), per_spectrum_stats(da))
        assert jobs.get_client() is client  # one shared client
    finally:
        jobs.shutdown()
        cluster.close()


def test_env_scheduler_address(monkeypatch):
    cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    try:
        jobs.configure()
        monkeypatch.setenv("SSB_DASK_SCHEDULER", cluster.scheduler_address)
        assert jobs.run_batch("selftest", [1, 2], timeout=60) == [2, 4]
        assert jobs._cluster is None  # no local cluster was started
    finally:
        jobs.shutdown()
        cluster.close()


def test_worker_killed_mid_job_reruns_tasks():
    """Kill one of two worker processes mid-job: the scheduler re-runs its tasks elsewhere."""
    jobs.configure(n_workers=2, processes=True)
    try:
        client = jobs.get_client()
        client.wait_for_workers(2, timeout=60)
        job = jobs.submit_batch("selftest", list(range(12)), 0.15, chunk_size=1)
        deadline = time.time() + 30
        while job.progress() == 0 and time.time() < deadline:
            time.sleep(0.05)
        pids = list(client.run(os.getpid).values())
        os.kill(pids[0], signal.SIGKILL)
        assert job.progress() < 1  # killed mid-job
        assert job.result(timeout=90) == [2 * i for i in range(12)]
    finally:
        jobs.shutdown()


def test_drt_many_through_dask_when_available(local_threads):
    drt = pytest.importorskip("analysis.drt")
    if not hasattr(drt, "drt_many"):
        pytest.skip("analysis.drt.drt_many not available yet")
    from analysis.drt.analytic import zarc_impedance

    f = np.logspace(5, -1, 40)
    Z = np.stack([10 + zarc_impedance(f, 50 + 10 * i, 1e-3, 0.9) for i in range(6)])
    da = xr.Dataset({"z_real": (("spectrum", "frequency"), Z.real), "z_imag": (("spectrum", "frequency"), Z.imag)},
                    coords={"frequency": f, "spectrum": np.arange(6)})
    try:
        direct = drt.drt_many(da, lam=1e-3)
    except Exception as exc:  # API still moving: record why instead of guessing
        pytest.skip(f"drt_many signature differs: {exc}")
    got = jobs.run_batch("drt_many", da, lam=1e-3, chunk_size=2, timeout=120)
    if isinstance(direct, (xr.Dataset, xr.DataArray)):
        xr.testing.assert_allclose(got, direct)
    else:
        assert len(got) == len(direct)


def test_job_panel_shows_progress_and_cancels(local_threads):
    pn = pytest.importorskip("panel")
    job = jobs.submit_batch("slow", np.arange(20), 0.2, chunk_size=1)
    done = []
    view = jobs.job_panel(job, on_done=done.append, period_ms=50)
    bar, cancel = view[0][0], view[0][1]
    assert isinstance(bar, pn.indicators.Progress) and not cancel.disabled
    cancel.clicks += 1  # the user presses Cancel
    assert job.status == "cancelled"
    cached = jobs.Job._cached("stats", "k", None, 1)
    v2 = jobs.job_panel(cached, on_done=done.append)
    assert v2[0][0].value == 100 and v2[0][1].disabled and done == [cached]


def test_fit_many_through_dask_equals_direct(local_threads):
    """Chunks are aligned on fit_many's warm-start chains, so the fits are the direct call's."""
    eis = pytest.importorskip("analysis.eis")
    from analysis.drt.analytic import zarc_impedance

    f = np.logspace(5, -1, 30)
    Z = np.stack([5 + zarc_impedance(f, 40 + 5 * i, 1e-3, 0.85) for i in range(8)])
    ds = xr.Dataset({"z_real": (("spectrum", "frequency"), Z.real), "z_imag": (("spectrum", "frequency"), Z.imag)},
                    coords={"frequency": f, "spectrum": np.arange(8)})
    direct = eis.fit_many(ds, "R0-p(R1,CPE1)", chain_length=4)
    got = jobs.run_batch("fit_many", ds, "R0-p(R1,CPE1)", chain_length=4, chunk_size=3, timeout=120)
    xr.testing.assert_allclose(got, direct, rtol=1e-10)
    np.testing.assert_allclose(got["R1"], 40 + 5 * np.arange(8), rtol=1e-4)  # the simulated truth


def test_dqdv_cycles_runs_unsplit(local_threads):
    """dQ/dV needs whole cycles: the batch is one task, and equals the direct call."""
    from pathlib import Path

    dqdv = pytest.importorskip("analysis.dqdv")
    nc = Path(__file__).resolve().parents[2] / "sample_data" / "s2_lts_conventional.nc"
    if not nc.is_file():
        pytest.skip(f"sample data {nc.name} not generated")
    cell = xr.load_dataset(nc)
    direct = dqdv.dqdv_cycles(cell, cycles=[1, 2, 3])
    job = jobs.submit_batch("dqdv_cycles", cell, cycles=[1, 2, 3], chunk_size=10)
    got = job.result(timeout=120)
    assert job.n_chunks == 1
    xr.testing.assert_identical(got, direct)


def test_local_workers_single_threaded_blas(monkeypatch):
    """LocalCluster workers: 1 thread each and single-threaded BLAS, even when this process's
    environment asks for more; this process's environment is left as it was."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    jobs.configure(n_workers=1, processes=True)
    try:
        client = jobs.get_client()
        client.wait_for_workers(1, timeout=60)
        settings = jobs.worker_settings()
        assert len(settings) == 1
        (w,) = settings.values()
        assert w["nthreads"] == 1
        assert w["OMP_NUM_THREADS"] == w["OPENBLAS_NUM_THREADS"] == w["MKL_NUM_THREADS"] == "1"
        assert w["blas_threads"] in (1, None)  # None only where OpenBLAS is not numpy's BLAS
        assert os.environ["OPENBLAS_NUM_THREADS"] == "3" and "OMP_NUM_THREADS" not in os.environ
    finally:
        jobs.shutdown()


def test_default_chunk_size():
    # two chunks per worker, so 1 and 2 workers split the same batch into 2 and 4 equal parts
    assert jobs.default_chunk_size("drt_many", 10_000, 1) == 5000
    assert jobs.default_chunk_size("drt_many", 10_000, 2) == 2500
    # never below the function's minimum (per-call set-up), never above the batch
    assert jobs.default_chunk_size("drt_many", 1000, 8) == jobs.MIN_CHUNK["drt_many"]
    assert jobs.default_chunk_size("drt_many", 100, 8) == 100
    assert jobs.default_chunk_size("selftest", 10, 4) == 2
    assert jobs.default_chunk_size("selftest", 0, 4) == 1
