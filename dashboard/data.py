"""Where the pages get their data: the built-in sample data or a project store.

Everything here is cached on primitive keys (dataset name strings, circuit strings, floats),
never on xarray objects (Panel's cache would hash those by id).
"""
from __future__ import annotations

import os
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


@lru_cache(maxsize=32)
def _load(store: str | None, name: str) -> xr.Dataset:
    if name.startswith(STORE_PREFIX):
        st = _store(store)
        if st is None:
            raise KeyError(f"no store configured for {name!r}")
        ds = st.load(name[len(STORE_PREFIX):])
        return ds.load() if hasattr(ds, "load") else ds
    return sample_data.load(name)


def load(name: str) -> xr.Dataset:
    """The dataset ``name`` (cached per store folder; do not modify it in place)."""
    return _load(store_dir() if name.startswith(STORE_PREFIX) else None, name)


def title(name: str) -> str:
    """A short human title for a dataset name."""
    ds = load(name)
    syn = " (synthetic)" if ds.attrs.get("synthetic") == "true" else ""
    return f"{name}{syn}"


def clear() -> None:
    """Forget cached datasets (after an import into the store)."""
    _load.cache_clear()
    _sample_kinds.cache_clear()
