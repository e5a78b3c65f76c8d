"""Where the pages get their data: the built-in sample data or a project store.

Everything here is cached on primitive keys (dataset name strings, circuit strings, floats),
never on xarray objects (Panel's cache would hash those by id).
"""
from __future__ import annotations

import functools
import json
import os
import time
from functools import lru_cache

import xarray as xr

import sample_data
from analysis.schema import detect_kind

STORE_PREFIX = "store:"


def store_dir() -> str | None:
    """The store folder of the current session, if any.

    With logins (``--auth``) this is the store the user may open (``?store=NAME``, else the first
    allowed, see :func:`dashboard.access.session_store`); otherwise the ``--store`` folder
    (``SSB_STORE``); None when serving the sample data only.
    """
    try:
        from dashboard.access import session_store

        p = session_store()
        if p is not None:
            return str(p)
        from dashboard.access import auth_enabled

        if auth_enabled():
            return None
    except ImportError:  # pragma: no cover
        pass
    except Exception:  # access denied: show the sample data, the page says why elsewhere
        return None
    return os.environ.get("SSB_STORE") or None


def _store(d: str | None = None):
    d = d or store_dir()
    if not d:
        return None
    try:
        from analysis import store as store_mod
    except ImportError:  # pragma: no cover - store module absent
        return None
    return store_mod.open(d)


@lru_cache(maxsize=1)
def _sample_kinds() -> dict[str, str]:
    return {n: detect_kind(sample_data.load(n)) for n in sample_data.names()}


def names(kind: str) -> list[str]:
    """Dataset names of ``kind``: sample data first, then the store's entries (``store:<id>``)."""
    out = [n for n, k in _sample_kinds().items() if k == kind]
    st = _store()
    if st is not None:
        try:
            for entry in st.list():
                ek = getattr(entry, "kind", None) if not isinstance(entry, dict) else entry.get("kind")
                eid = getattr(entry, "id", None) if not isinstance(entry, dict) else entry.get("id")
                if ek == kind and eid is not None:
                    out.append(f"{STORE_PREFIX}{eid}")
        except Exception:  # a broken store must not break the page
            pass
    return out


#: seconds a store dataset's revision is trusted before the catalog is read again (another server
#: process may have changed the metadata; this process's own edits clear it at once)
REVISION_TTL_S = 1.0
_revisions: dict[tuple[str, str], tuple[float, str]] = {}
_generation = [0]


def generation() -> int:
    """Number of :func:`clear` calls so far (keys caches of what lists the datasets)."""
    return _generation[0]


def revision(name: str | None) -> str:
    """A token that changes whenever what dataset ``name`` holds changes.

    Sample datasets never change (empty token). A store dataset (``store:<id>``) is identified by
    its store folder, its import and its metadata (active mass, area...: editing them changes
    derived results such as specific capacity, while the id, a hash of the file, stays). Cached
    results are keyed on it (:func:`cached`), so an edit made in any session or server process
    reaches every page (within :data:`REVISION_TTL_S` for other processes) and two users' stores
    holding the same file never share results.
    """
    if not isinstance(name, str) or not name.startswith(STORE_PREFIX):
        return ""
    d = store_dir() or ""
    now = time.monotonic()
    hit = _revisions.get((d, name))
    if hit is not None and now - hit[0] < REVISION_TTL_S:
        return hit[1]
    token = f"{d}|missing"
    st = _store(d)
    if st is not None:
        try:
            e = st.get(name[len(STORE_PREFIX):])
            token = f"{d}|{e.imported_at}|{json.dumps(e.metadata, sort_keys=True, default=str)}"
        except Exception:  # absent or unreadable: the load reports it
            pass
    _revisions[(d, name)] = (now, token)
    return token


def cached(maxsize: int = 128):
    """``functools.lru_cache`` for functions whose first argument is a dataset name: the key also
    holds the dataset's :func:`revision`, so results of an edited store dataset are recomputed.

    The wrapped function keeps ``cache_clear`` and ``cache_info``.
    """
    def deco(fn):
        @lru_cache(maxsize=maxsize)
        def keyed(rev, *args, **kwargs):
            return fn(*args, **kwargs)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            name = args[0] if args else kwargs.get("name")
            return keyed(revision(name), *args, **kwargs)

        wrapper.cache_clear = keyed.cache_clear
        wrapper.cache_info = keyed.cache_info
        return wrapper

    return deco


@lru_cache(maxsize=32)
def _load(store: str | None, name: str, rev: str = "") -> xr.Dataset:
    if name.startswith(STORE_PREFIX):
        st = _store(store)
        if st is None:
            raise KeyError(f"no store configured for {name!r}")
        ds = st.load(name[len(STORE_PREFIX):])
        return ds.load() if hasattr(ds, "load") else ds
    return sample_data.load(name)


def load(name: str) -> xr.Dataset:
    """The dataset ``name`` (cached per store folder; do not modify it in place)."""
    if name.startswith(STORE_PREFIX):
        return _load(store_dir(), name, revision(name))
    return _load(None, name)


def title(name: str) -> str:
    """A short human title for a dataset name."""
    ds = load(name)
    syn = " (synthetic)" if ds.attrs.get("synthetic") == "true" else ""
    return f"{name}{syn}"


def clear() -> None:
    """Forget cached datasets and revisions (after an import into the store or a metadata edit)."""
    _load.cache_clear()
    _sample_kinds.cache_clear()
    _revisions.clear()
    _generation[0] += 1
