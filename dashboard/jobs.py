"""Heavy batch work of the dashboard on dask.distributed: one shared client, progress, cancel, cache.

A page starts a batch (refit every spectrum of an in situ run, DRT of 10,000 spectra, dQ/dV of
all cycles) with :func:`submit_batch` and gets a :class:`Job` at once; it shows
``job.progress()`` (fraction of chunks done) in a progress bar from a periodic callback, offers
``job.cancel()``, and reads ``job.result()`` when ``job.done()``. The session thread never
blocks, so other users' sliders stay responsive.

* **One client per server process**, created on first use (:func:`get_client`): connected to
  ``--dask-scheduler`` (``SSB_DASK_SCHEDULER``) when given, else to a ``LocalCluster`` of worker
  processes (``SSB_DASK_WORKERS`` workers, default the usable CPU count), each with ONE thread
  and single-threaded BLAS/OpenMP (:data:`WORKER_ENV` is put in the environment before the
  worker process is spawned, i.e. before it imports numpy), so N workers use N cores and do not
  oversubscribe them.
* **Chunks**: the batch (first positional argument: an xarray object split along its first /
  ``batch_dim`` dimension, a numpy array along axis 0, or a list) is cut into chunks, sent to
  the workers inside the tasks and processed by the named analysis function there; the parts are concatenated
  back, so the result equals the direct call for functions that treat items independently.
  By default there are :data:`CHUNKS_PER_WORKER` chunks per worker (enough to balance the
  workers, few enough that per-call set-up such as DRT's per-lambda factorisations stays
  small), and never fewer items per chunk than :data:`MIN_CHUNK` for the function. The big
  shared matrices (DRT kernels, GSVD) are not shipped with the tasks: each worker builds them
  once and keeps them in the analysis code's own bounded caches.
* **Only registered functions** run (:data:`BATCH_FUNCTIONS`, names -> ``"module:function"``);
  workers import them by name, so the same code path works with any external scheduler whose
  workers have ssb-explorer installed.
* **Cache**: the result is stored in ``STORE/.cache/jobs/<key>.pkl`` where the key hashes the
  function name, the analysis version and the inputs (:func:`dask.base.tokenize`), so the next
  user asking for the same batch gets it instantly (``job.status == "cached"``); identical jobs
  running at the same time are shared.
* **Faults**: a task whose worker dies is re-run on another worker by the scheduler (up to
  ``distributed.scheduler.allowed-failures`` times); beyond that the job fails with a
  :class:`JobError` naming the function and the reason.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import pickle
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from analysis.errors import SSBError

log = logging.getLogger("ssb.jobs")

#: batch functions a job may run: name -> "module:function"
BATCH_FUNCTIONS: dict[str, str] = {
    "drt_many": "analysis.drt:drt_many",
    "fit_many": "analysis.eis:fit_many",
    "dqdv_cycles": "analysis.dqdv:dqdv_cycles",
    "selftest": "dashboard.jobs:selftest_items",
}
#: functions whose input must not be cut into pieces (a cycling record split mid-cycle would
#: change the result): they run as one task, still off the server process, cached and cancellable
UNSPLIT = {"dqdv_cycles"}
#: functions that warm-start along the batch: chunk sizes are rounded up to a multiple of this
#: keyword's value (its default in brackets) so chunk boundaries fall on chain boundaries
ALIGN = {"fit_many": ("chain_length", 32)}
#: default number of chunks per worker: 2 balances the workers (the last chunk leaves at most
#: half a worker's share of idle time) while keeping per-call overheads of the batch functions low
CHUNKS_PER_WORKER = 2
#: smallest default chunk (items) per function; batch functions with a per-call set-up cost
#: (drt_many factorises one matrix per distinct lambda in the chunk) lose efficiency below this
MIN_CHUNK = {"drt_many": 500, "fit_many": 64}
#: environment of LocalCluster worker processes, set before they are spawned (before numpy
#: loads): one thread per worker and single-threaded BLAS/OpenMP, so N workers use N cores
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
CACHE_DIR = Path(".cache") / "jobs"
_MEMO_SIZE = 16

_lock = threading.RLock()
_client = None
_cluster = None
_config: dict[str, Any] = {}
_running: dict[str, "Job"] = {}
_memo: OrderedDict[str, Any] = OrderedDict()


class JobError(SSBError, RuntimeError):
    """A batch job failed or was cancelled (the message names the function and the reason)."""


def register(name: str, target: str) -> None:
    """Allow batch function ``name`` implemented by ``target`` (``"package.module:function"``)."""
    if ":" not in target:
        raise ValueError(f"target {target!r} must look like 'package.module:function'")
    BATCH_FUNCTIONS[name] = target


def _resolve(target: str):
    mod, _, fn = target.partition(":")
    return getattr(importlib.import_module(mod), fn)


def configure(address: str | None = None, n_workers: int | None = None, processes: bool = True,
              threads_per_worker: int = 1) -> None:
    """Choose the cluster used by the next :func:`get_client` (closes the current client).

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``); default ``SSB_DASK_SCHEDULER``, else a LocalCluster.
    n_workers : int, optional
        Workers of the LocalCluster (default ``SSB_DASK_WORKERS`` or the CPU count).
    processes : bool
        LocalCluster workers as processes (True, the server default) or threads.
    threads_per_worker : int
        Threads per LocalCluster worker.
    """
    shutdown()
    with _lock:
        _config.clear()
        _config.update(address=address, n_workers=n_workers, processes=processes,
                       threads_per_worker=threads_per_worker)


def get_client():
    """The process-wide :class:`distributed.Client`, created on first use (thread-safe)."""
    global _client, _cluster
    with _lock:
        if _client is not None and _client.status not in ("closed", "closing"):
            return _client
        from distributed import Client

        address = _config.get("address") or os.environ.get("SSB_DASK_SCHEDULER")
        if address:
            _client = Client(address, set_as_default=False, timeout="20s")
            log.info("connected to dask scheduler", extra={"ssb": {"scheduler": address}})
        else:
            n = _config.get("n_workers") or int(os.environ.get("SSB_DASK_WORKERS", 0)) or _cpu_count()
            _cluster = _local_cluster(n, _config.get("threads_per_worker", 1), _config.get("processes", True))
            _client = Client(_cluster, set_as_default=False)
            log.info("started local dask cluster", extra={"ssb": {"workers": n, "scheduler": _cluster.scheduler_address}})
        return _client


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _local_cluster(n_workers: int, threads_per_worker: int, processes: bool):
    """Start a LocalCluster whose worker processes get :data:`WORKER_ENV` before they start.

    ``distributed`` applies ``distributed.nanny.pre-spawn-environ`` to the environment of the
    process it spawns, but lets a variable already set in this process win over the config; the
    single-thread values are therefore also put in ``os.environ`` while the nannies are created
    (each nanny keeps its copy, so a worker respawned after a crash gets them too) and the
    previous values restored afterwards. This process's own BLAS is already loaded and keeps
    its threads: the direct in-process calls are not slowed.
    """
    import dask
    from distributed import LocalCluster

    env = dict(WORKER_ENV)
    env["MALLOC_TRIM_THRESHOLD_"] = os.environ.get("MALLOC_TRIM_THRESHOLD_", "65536")
    pre = {**(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}), **env}
    with worker_environment(env), dask.config.set({"distributed.nanny.pre-spawn-environ": pre}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                            processes=processes, dashboard_address=None)


@contextlib.contextmanager
def worker_environment(env: dict[str, str] | None = None):
    """Context in which ``os.environ`` holds ``env`` (default :data:`WORKER_ENV`), so processes
    spawned inside it start with single-threaded BLAS; the previous values are restored after."""
    env = dict(WORKER_ENV if env is None else env)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def worker_settings(client=None) -> dict:
    """Threads and thread-related environment of every worker: ``{address: {...}}``.

    Each value holds ``nthreads`` (task threads of the worker), the worker process's
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` (None when unset) and
    ``blas_threads``: the thread count OpenBLAS reports in that process (None when unknown).
    """
    client = client or get_client()
    env = client.run(thread_settings)
    info = client.scheduler_info(n_workers=-1).get("workers", {})
    return {addr: {"nthreads": info.get(addr, {}).get("nthreads"), **env.get(addr, {})} for addr in env}


def thread_settings() -> dict:
    """This process's BLAS/OpenMP thread variables and the largest OpenBLAS thread count in use."""
    import ctypes

    import numpy  # noqa: F401  (loads numpy's BLAS, as any task would)

    out: dict[str, Any] = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                          "MKL_NUM_THREADS")}
    counts = []
    try:
        with open("/proc/self/maps") as f:
            libs = {ln.split()[-1] for ln in f if "openblas" in ln and ln.rstrip().endswith(".so")}
        for path in libs:
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                         "openblas_get_num_threads64_", "openblas_get_num_threads"):
                if hasattr(lib, name):
                    counts.append(int(getattr(lib, name)()))
                    break
    except OSError:  # pragma: no cover - not Linux
        pass
    out["blas_threads"] = max(counts) if counts else None
    return out


def default_chunk_size(fn_name: str, n_items: int, n_workers: int) -> int:
    """Items per task when the caller gives none: :data:`CHUNKS_PER_WORKER` chunks per worker,
    at least :data:`MIN_CHUNK` items for ``fn_name`` (and at least 1)."""
    size = -(-max(n_items, 1) // (CHUNKS_PER_WORKER * max(n_workers, 1)))
    return max(1, size, min(MIN_CHUNK.get(fn_name, 1), n_items))


def shutdown() -> None:
    """Close the shared client (and the LocalCluster this process started)."""
    global _client, _cluster
    with _lock:
        for obj in (_client, _cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # pragma: no cover - best effort at exit
                    pass
        _client = _cluster = None
        _running.clear()


# ---------------------------------------------------------------- splitting and combining
def _split(batch, dim: str | None, chunk_size: int):
    """Cut ``batch`` into pieces of ``chunk_size`` items; returns (pieces, dim or None)."""
    import numpy as np

    if hasattr(batch, "dims") and hasattr(batch, "isel"):
        dims = list(batch.dims)
        d = dim or dims[0]
        n = batch.sizes[d]
        return [batch.isel({d: slice(i, i + chunk_size)}) for i in range(0, n, chunk_size)], d
    if isinstance(batch, np.ndarray) and batch.ndim >= 1:
        return [batch[i:i + chunk_size] for i in range(0, len(batch), chunk_size)], None
    if isinstance(batch, (list, tuple)):
        return [list(batch[i:i + chunk_size]) for i in range(0, len(batch), chunk_size)], None
    return [batch], None


def _n_items(batch, dim: str | None) -> int:
    if hasattr(batch, "sizes") and hasattr(batch, "isel"):
        return int(batch.sizes[dim or list(batch.dims)[0]])
    try:
        return len(batch)
    except TypeError:
        return 1


def _combine(parts: list, dim: str | None):
    """Put chunk results back together (xarray concat, numpy concatenate, list flatten)."""
    import numpy as np

    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if hasattr(first, "dims") and dim is not None and dim in first.dims:
        import xarray as xr

        return xr.concat(parts, dim=dim, combine_attrs="override")
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    if isinstance(first, list):
        return [x for p in parts for x in p]
    if isinstance(first, tuple) and all(isinstance(x, list) for x in first):
        return tuple([x for p in parts for x in p[k]] for k in range(len(first)))
    return parts


def selftest_items(items, seconds_per_item: float = 0.0):
    """Cluster self-test batch function: return ``[x * 2 for x in items]`` after sleeping
    ``seconds_per_item`` per item (checks that workers import ssb-explorer and run tasks)."""
    time.sleep(seconds_per_item * len(items))
    return [x * 2 for x in items]


def run_chunk(target: str, chunk, args: tuple, kwargs: dict):
    """Worker side: import ``target`` and apply it to one chunk (module-level so it pickles by name)."""
    return _resolve(target)(chunk, *args, **kwargs)


# ---------------------------------------------------------------------------- cache
def cache_key(fn_name: str, args: tuple, kwargs: dict) -> str:
    """Hash of the function name, the analysis version and the inputs (hex, 32 characters)."""
    from dask.base import tokenize

    import analysis

    tok = tokenize(fn_name, BATCH_FUNCTIONS.get(fn_name), analysis.__version__, args,
                   sorted(kwargs.items()))
    return hashlib.sha256(tok.encode()).hexdigest()[:32]


def _cache_path(store: Path, key: str) -> Path:
    return store / CACHE_DIR / f"{key}.pkl"


def cache_get(store: str | os.PathLike | None, key: str):
    """Return ``(True, value)`` from the memory or store cache, else ``(False, None)``."""
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return True, _memo[key]
    if store is None:
        return False, None
    p = _cache_path(Path(store), key)
    if not p.is_file():
        return False, None
    try:
        with open(p, "rb") as f:
            value = pickle.load(f)  # written only by this module into the server's own store
    except Exception:  # a damaged cache entry is recomputed, never fatal
        return False, None
    _remember(key, value)
    return True, value


def _remember(key: str, value) -> None:
    with _lock:
        _memo[key] = value
        _memo.move_to_end(key)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


def clear_cache(store: str | os.PathLike | None = None) -> None:
    """Forget cached results: the in-memory ones, and the store's when ``store`` is given."""
    with _lock:
        _memo.clear()
    if store is not None:
        for p in (Path(store) / CACHE_DIR).glob("*.pkl"):
            p.unlink(missing_ok=True)


def cache_put(store: str | os.PathLike | None, key: str, value) -> None:
    """Keep ``value`` in memory and (atomically) in the store's job cache."""
    _remember(key, value)
    if store is None:
        return
    d = Path(store) / CACHE_DIR
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _cache_path(Path(store), key))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------ jobs
class Job:
    """A batch submitted to Dask (or served from the cache).

    Attributes
    ----------
    fn_name : str
        The batch function.
    key : str
        Cache key of the inputs.
    status : str
        ``"starting"`` (cluster starting / chunks being sent), ``"running"``, ``"finished"``,
        ``"cached"``, ``"cancelled"`` or ``"error"``.
    error : str or None
        Why the job failed.
    n_items, n_chunks : int
        Batch size and number of Dask tasks.
    """

    def __init__(self, fn_name: str, key: str, store: Path | None):
        self.fn_name, self.key, self.store = fn_name, key, store
        self.status = "running"
        self.error: str | None = None
        self.n_items = 0
        self.n_chunks = 0
        self.started = time.perf_counter()
        self.elapsed: float | None = None
        self._futures: list = []
        self._client = None
        self._ndone = 0
        self._value = None
        self._event = threading.Event()
        self._callbacks: list = []

    @classmethod
    def _cached(cls, fn_name, key, store, value) -> "Job":
        job = cls(fn_name, key, store)
        job.status, job._value, job.elapsed = "cached", value, 0.0
        job.n_chunks = job._ndone = 1
        job._event.set()
        return job

    def progress(self) -> float:
        """Fraction of the chunks done, 0 to 1."""
        if self._event.is_set() and self.status in ("finished", "cached"):
            return 1.0
        return self._ndone / self.n_chunks if self.n_chunks else 0.0

    def done(self) -> bool:
        """True when the job has finished, failed or been cancelled."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel the job's remaining tasks on the cluster."""
        if self._event.is_set():
            return
        self.status = "cancelled"
        self.error = f"{self.fn_name}: cancelled"
        try:
            (self._client or get_client()).cancel(self._futures, force=True)
        except Exception:  # pragma: no cover - client already gone
            pass
        self._finish()

    def result(self, timeout: float | None = None):
        """Wait (up to ``timeout`` s) and return the combined result.

        Raises
        ------
        JobError
            Cancelled, failed (e.g. workers kept dying) or still running after ``timeout``.
        """
        if not self._event.wait(timeout):
            raise JobError(f"{self.fn_name}: still running after {timeout} s "
                           f"({self.progress():.0%} done)")
        if self.status in ("finished", "cached"):
            return self._value
        raise JobError(self.error or f"{self.fn_name}: {self.status}")

    def add_done_callback(self, fn) -> None:
        """Call ``fn(job)`` when the job ends (from a background thread: in a Panel session wrap it
        with ``pn.state.execute`` or poll :meth:`done` from a periodic callback instead)."""
        if self._event.is_set():
            fn(self)
        else:
            self._callbacks.append(fn)

    def _finish(self) -> None:
        self.elapsed = time.perf_counter() - self.started
        with _lock:
            if _running.get(self.key) is self:
                del _running[self.key]
        self._event.set()
        for fn in self._callbacks:
            try:
                fn(self)
            except Exception:  # pragma: no cover
                log.exception("job callback failed")

    def _watch(self, dim) -> None:
        from distributed import as_completed

        try:
            with self._client.as_current():
                self._collect(dim, as_completed)
        except Exception as exc:  # KilledWorker, errors raised by the analysis, cancelled futures
            if self.status != "cancelled":
                self.status = "error"
                name = type(exc).__name__
                reason = ("a Dask worker died repeatedly while running it" if name == "KilledWorker"
                          else str(exc) or name)
                self.error = f"{self.fn_name} failed: {reason} ({name})"
                log.warning("job failed", extra={"ssb": {"fn": self.fn_name, "error": self.error}})
        finally:
            if not self._event.is_set():
                self._finish()

    def _collect(self, dim, as_completed) -> None:
        """Gather the chunk results in order as they complete, then combine and cache."""
        order = {f.key: i for i, f in enumerate(self._futures)}
        parts: list = [None] * len(self._futures)
        for fut in as_completed(self._futures):
            if self.status == "cancelled":
                return
            if fut.status == "cancelled":
                raise JobError(f"{self.fn_name}: a task was cancelled on the cluster")
            parts[order[fut.key]] = fut.result()
            self._ndone += 1
        if self.status == "cancelled":
            return
        self._value = _combine(parts, dim)
        cache_put(self.store, self.key, self._value)
        self.status = "finished"
        log.info("job finished", extra={"ssb": {"fn": self.fn_name, "key": self.key,
                                                 "chunks": self.n_chunks,
                                                 "seconds": round(time.perf_counter() - self.started, 3)}})


def submit_batch(fn_name: str, batch, *args, store: str | os.PathLike | None = None,
                 chunk_size: int | None = None, batch_dim: str | None = None, **kwargs) -> Job:
    """Run batch function ``fn_name`` on ``batch`` through the shared Dask client; return a :class:`Job`.

    Parameters
    ----------
    fn_name : str
        A key of :data:`BATCH_FUNCTIONS` (``drt_many``, ``fit_many``, ``dqdv_cycles``...).
    batch : xarray object, numpy array or list
        The items (split into chunks along ``batch_dim`` / the first dimension / axis 0).
    *args, **kwargs
        Passed on to the function for every chunk.
    store : path, optional
        Project store holding the result cache (default: no on-disk cache, memory only).
    chunk_size : int, optional
        Items per task (default :func:`default_chunk_size`: two tasks per worker).
    batch_dim : str or False, optional
        Dimension of an xarray batch to split along (default its first dimension); False runs
        the whole batch as one task (always so for :data:`UNSPLIT` functions).

    Returns
    -------
    Job
        Already finished (``status == "cached"``) when the same inputs were computed before.
    """
    if fn_name not in BATCH_FUNCTIONS:
        raise JobError(f"unknown batch function {fn_name!r} (known: {', '.join(sorted(BATCH_FUNCTIONS))})")
    target = BATCH_FUNCTIONS[fn_name]
    store_p = Path(store) if store is not None else None
    key = cache_key(fn_name, (batch, batch_dim) + tuple(args), kwargs)
    hit, value = cache_get(store_p, key)
    if hit:
        return Job._cached(fn_name, key, store_p, value)
    with _lock:
        running = _running.get(key)
        if running is not None and not running.done():
            return running
        job = Job(fn_name, key, store_p)
        job.status = "starting"
        _running[key] = job
    # everything that may wait (starting the LocalCluster, connecting, sending the chunks) runs
    # in a background thread: the Panel session that submits never blocks
    threading.Thread(target=_start, args=(job, target, batch, args, kwargs, chunk_size, batch_dim),
                     daemon=True, name=f"ssb-job-{key[:8]}").start()
    return job


def _start(job: Job, target: str, batch, args: tuple, kwargs: dict, chunk_size, batch_dim) -> None:
    fn_name = job.fn_name
    try:
        client = job._client = get_client()
        n_items = _n_items(batch, batch_dim or None)
        if chunk_size is None:
            n_workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
            chunk_size = default_chunk_size(fn_name, n_items, n_workers)
        if fn_name in ALIGN:
            kw, default = ALIGN[fn_name]
            m = int(kwargs.get(kw, default))
            chunk_size = -(-chunk_size // m) * m
        if fn_name in UNSPLIT or batch_dim is False:
            pieces, dim = [batch], None
        else:
            pieces, dim = _split(batch, batch_dim, chunk_size)
        job.n_items, job.n_chunks = n_items, len(pieces)
        if job.status == "cancelled":
            return
        # chunks travel inside the tasks (not scattered): if a worker dies the scheduler still
        # has everything it needs to re-run that worker's tasks elsewhere
        job._futures = [client.submit(run_chunk, target, piece, tuple(args), dict(kwargs), pure=False)
                        for piece in pieces]
        if job.status == "cancelled":  # cancelled while the chunks were being sent
            client.cancel(job._futures, force=True)
            return
        job.status = "running"
    except Exception as exc:
        job.status, job.error = "error", f"{fn_name} could not be submitted: {exc}"
        job._finish()
        return
    job._watch(dim)


def run_batch(fn_name: str, batch, *args, timeout: float | None = None, **kwargs):
    """Submit and wait: ``submit_batch(...).result(timeout)`` (scripts, benchmarks, tests)."""
    return submit_batch(fn_name, batch, *args, **kwargs).result(timeout)


def job_panel(job: Job, on_done=None, period_ms: int = 250):
    """A Panel view of ``job`` for a page: progress bar, status line and a Cancel button.

    The bar is refreshed by a periodic callback of the session (the session thread never waits
    for the job); ``on_done(job)`` is called in the session when the job ends (read
    ``job.result()`` there, or show ``job.error``).

    Returns
    -------
    panel.Column
    """
    import panel as pn

    bar = pn.indicators.Progress(value=int(job.progress() * 100), max=100, sizing_mode="stretch_width",
                                 bar_color="info")
    status = pn.pane.Markdown(f"{job.fn_name}: {job.status}", margin=(0, 5))
    cancel = pn.widgets.Button(label="Cancel", color="warning", disabled=job.done(), width=90)
    cancel.on_click(lambda _e: job.cancel())
    cb = None

    def refresh():
        bar.value = int(round(job.progress() * 100))
        done_items = f"{job.n_items} items" if job.n_items else ""
        status.object = (f"**{job.fn_name}**: {job.status} {bar.value}% {done_items}"
                         + (f" - {job.error}" if job.error else ""))
        if job.done():
            cancel.disabled = True
            bar.bar_color = "success" if job.status in ("finished", "cached") else "danger"
            if cb is not None:
                cb.stop()
            if on_done is not None:
                on_done(job)

    if job.done():
        refresh()
    else:
        cb = pn.state.add_periodic_callback(refresh, period=period_ms)
    return pn.Column(pn.Row(bar, cancel), status, sizing_mode="stretch_width")
