"""Session clean-up of the group server: give a closed session's memory back, and check it went.

Called from ``dashboard/server_setup.py`` (Panel's ``on_session_created`` /
``on_session_destroyed`` hooks):

* :func:`release_memory` drops the HoloViews custom-options trees of ended sessions whose plot
  hooks are bound to page objects (:func:`prune_ended_custom_options`: HoloViews keeps them in a
  global store, so each such page would stay in memory for ever), empties HoloViews' options lookup cache (:func:`clear_holoviews_caches`:
  it keeps plot hooks, and through them whole pages, of ended sessions alive), runs
  ``gc.collect()`` (page objects, Bokeh models and HoloViews
  streams form reference cycles that only the cycle collector frees) and then glibc's
  ``malloc_trim(0)`` so the freed heap goes back to the OS. :func:`session_closed` schedules
  it on the IOLoop shortly after the session is discarded, once for a burst of closing
  sessions and at most every :data:`MIN_INTERVAL_S` seconds.
* With ``SSB_SESSION_CHECK=1`` (the soak benchmark sets it) a census after the clean-up counts
  the live instances of the dashboard's page classes and logs them as a ``session_census``
  event, with a ``session_objects_leaked`` warning naming the classes when more page objects
  are alive than sessions are open: a per-session leak shows up in the log, not only as RSS.

The functions never raise into the server: a failing check is logged and ignored.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import inspect
import logging
import os
import threading
import time
from collections import Counter

log = logging.getLogger("ssb.sessions")

#: shortest time between two clean-ups (s): a gc.collect() of a busy server costs ~0.1 s
MIN_INTERVAL_S = 5.0
#: environment variable switching the census on
ENV_CHECK = "SSB_SESSION_CHECK"

_state = {"last": 0.0, "pending": False, "open": 0}
#: HoloViews custom-options ids shown by sessions that ended, and id() of their documents
_ended: dict = {"ids": set(), "docs": {}}
_lock = threading.Lock()
_libc = None


def _malloc_trim() -> bool:
    """Call glibc ``malloc_trim(0)``; False where there is no glibc (musl, macOS, Windows)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def clear_holoviews_caches() -> int:
    """Empty HoloViews' options lookup cache (``Store._lookup_cache``); returns entries dropped.

    The cache maps (element type, group, label, custom-options id) to resolved ``Options``,
    including ``hooks=[...]`` callables. A page hook that is a closure over the page (or a bound
    method of an object holding it) then keeps that page, its data and its plots alive after the
    session ended, until some other ``.opts()`` call resets the cache. It is a pure cache:
    HoloViews refills it on the next lookup.
    """
    import sys

    mod = sys.modules.get("holoviews.core.options")
    cache = getattr(getattr(mod, "Store", None), "_lookup_cache", None)
    if not isinstance(cache, dict):
        return 0
    n = 0
    for backend in list(cache):
        n += len(cache.get(backend) or ())
        cache[backend] = {}
    return n


def _session_hv_ids(doc) -> set:
    """Custom-options ids of the HoloViews objects shown by the Panel views of Bokeh document ``doc``."""
    import sys

    pn = sys.modules.get("panel")
    ids: set = set()
    if pn is None or doc is None:
        return ids
    for entry in list(pn.state._views.values()):
        viewable, vdoc = entry[0], entry[2]
        if vdoc is not doc or not hasattr(viewable, "select"):
            continue
        for pane in viewable.select(pn.pane.HoloViews):
            obj = pane.object
            for o in (obj, getattr(obj, "last", None)):
                if o is not None and hasattr(o, "traverse"):
                    ids.add(getattr(o, "id", None))
                    ids.update(o.traverse(lambda x: x.id))
    ids.discard(None)
    return ids


def _bound_hooks(tree) -> bool:
    """True if an options tree holds a plot hook bound to an object (a bound method or a closure)."""
    stack = [tree]
    while stack:
        t = stack.pop()
        for opts in (getattr(t, "groups", None) or {}).values():
            for h in (getattr(opts, "kwargs", None) or {}).get("hooks", None) or ():
                if inspect.ismethod(h) or getattr(h, "__closure__", None):
                    return True
        stack.extend(getattr(t, name) for name in getattr(t, "children", ()) or ())
    return False


def prune_ended_custom_options() -> int:
    """Drop HoloViews custom-options trees of ended sessions that carry bound plot hooks.

    ``.opts(hooks=[page_method])`` stores the hook in HoloViews' global ``Store._custom_options``
    under the element's id; HoloViews frees the tree only when the element dies, but the hook
    keeps its page, and the page keeps the element: page, data and plots of every such session
    stay in memory. When a session ends (:func:`session_closed`) the ids of its HoloViews
    objects are noted; here the trees of those ids that no open session shows and that hold a
    bound hook (module-level option templates use plain functions, never pruned) are removed.
    Returns the number of trees removed.
    """
    import sys

    mod = sys.modules.get("holoviews.core.options")
    store = getattr(mod, "Store", None)
    with _lock:
        ended = set(_ended["ids"])
        ended_docs = dict(_ended["docs"])
        _ended["ids"].clear()
        _ended["docs"].clear()
    # objects an ended session's callbacks created after it was closed (a re-render in flight)
    for doc in ended_docs.values():
        ended |= _session_hv_ids(doc)
    if store is None or not ended:
        return 0
    pn = sys.modules.get("panel")
    live_docs = {id(e[2]): e[2] for e in list(pn.state._views.values())} if pn is not None else {}
    live: set = set()
    for key, doc in live_docs.items():
        if key not in ended_docs:
            live |= _session_hv_ids(doc)
    n = 0
    for trees in list(getattr(store, "_custom_options", {}).values()):
        for i in ended - live:
            tree = trees.get(i)
            if tree is not None and _bound_hooks(tree):
                trees.pop(i, None)
                store._weakrefs.pop(i, None)
                n += 1
    return n


def release_memory() -> None:
    """Drop caches that hold closed sessions' objects, collect garbage and return freed heap
    pages to the OS now (and log a census if enabled)."""
    with _lock:
        _state["last"] = time.monotonic()
    try:
        prune_ended_custom_options()
        clear_holoviews_caches()
    except Exception:  # pragma: no cover - a HoloViews internals change must not break the server
        log.exception("clearing the HoloViews caches failed")
    gc.collect()
    _malloc_trim()
    if os.environ.get(ENV_CHECK, "") not in ("", "0"):
        try:
            census(log_event=True)
        except Exception:  # pragma: no cover - diagnostics never break the server
            log.exception("session census failed")


def schedule_release(delay_s: float = 1.0) -> bool:
    """Run :func:`release_memory` soon on the running (Tornado/asyncio) event loop, once for a burst of calls.

    The run happens ``delay_s`` seconds from now (after Bokeh has finished discarding the
    session whose end triggered it) and at least :data:`MIN_INTERVAL_S` after the previous run.
    Without a running event loop in this thread it runs at once. Returns True if a run was scheduled or done now,
    False if one was already pending.
    """
    with _lock:
        if _state["pending"]:
            return False
        _state["pending"] = True
        wait = max(delay_s, _state["last"] + MIN_INTERVAL_S - time.monotonic())
    try:
        loop = asyncio.get_running_loop()  # the server's IOLoop, in its thread
    except RuntimeError:
        loop = None
    if loop is None:  # not called from a running loop: clean up now
        _scheduled()
    else:
        loop.call_later(wait, _scheduled)
    return True


def _scheduled() -> None:
    with _lock:
        _state["pending"] = False
    try:
        release_memory()
    except Exception:  # pragma: no cover - never break the server
        log.exception("memory release after session end failed")


def page_classes() -> dict[str, type]:
    """The dashboard's page classes (and the :class:`dashboard.shell.App`) by name, for imported modules."""
    import sys

    out: dict[str, type] = {}
    shell = sys.modules.get("dashboard.shell")
    if shell is None:
        return out
    out["App"] = shell.App
    for _key, _title, module, cls in shell.PAGES:
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, cls):
            out[cls] = getattr(mod, cls)
    return out


def live_instances(classes: dict[str, type] | None = None) -> Counter:
    """Number of live (reachable or not yet collected) instances of each class (gc scan).

    Parameters
    ----------
    classes : dict, optional
        Name -> class; default :func:`page_classes`.
    """
    classes = page_classes() if classes is None else classes
    wanted = {cls: name for name, cls in classes.items()}
    counts: Counter = Counter({name: 0 for name in classes})
    if not wanted:
        return counts
    for obj in gc.get_objects():
        name = wanted.get(type(obj))
        if name is not None:
            counts[name] += 1
    return counts


def session_opened(session_context) -> None:
    """Count an open session (Panel ``on_session_created`` hook)."""
    with _lock:
        _state["open"] += 1


def session_closed(session_context) -> None:
    """Count a closed session and clean up after it (Panel ``on_session_destroyed`` hook)."""
    with _lock:
        _state["open"] = max(0, _state["open"] - 1)
    doc = getattr(session_context, "_document", None)
    if doc is not None:
        try:
            ids = _session_hv_ids(doc)
        except Exception:  # pragma: no cover - diagnostics of Panel internals never break the server
            log.exception("listing the HoloViews objects of a closed session failed")
            ids = set()
        with _lock:
            _ended["ids"].update(ids)
            _ended["docs"][id(doc)] = doc  # kept until the next clean-up (a few seconds)
    schedule_release()


def open_sessions() -> int:
    """Sessions created and not yet destroyed in this process."""
    return _state["open"]


def census(log_event: bool = False) -> dict:
    """Live page objects vs open sessions, after a ``gc.collect()``.

    Returns
    -------
    dict
        ``open_sessions``, ``live`` (class name -> count), ``rss_mb`` (resident memory, MB) and
        ``leaked``: the classes with more live instances than open sessions (a page object kept
        alive after its session ended).
    """
    from dashboard.logs import event

    gc.collect()
    live = live_instances()
    n_open = open_sessions()
    leaked = {k: v for k, v in live.items() if v > n_open}
    rss = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = round(int(line.split()[1]) / 1024, 1)
    except OSError:  # pragma: no cover - not Linux
        pass
    out = {"open_sessions": n_open, "live": dict(live), "rss_mb": rss, "leaked": leaked}
    if log_event:
        event("ssb.server", "session_census", **out)
        if leaked:
            event("ssb.server", "session_objects_leaked", level=logging.WARNING, **out)
    return out
