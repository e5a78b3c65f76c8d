"""Project store: validated datasets as NetCDF files plus a SQLite catalog.

Layout of a store directory::

    DIR/catalog.sqlite      one row per dataset (id, kind, metadata JSON, source file, sha256, ...)
    DIR/data/<id>.nc        the dataset (NetCDF-4, engine h5netcdf)
    DIR/tmp/                files being written (removed on failure and when the store opens)

Guarantees: every import is read and validated (:func:`analysis.schema.validate`) before
anything is written; the NetCDF file is written to ``tmp/`` and moved into place with
``os.replace``; the catalog row is committed last, and if that fails the new file is removed,
so a failed import leaves the store exactly as it was. Importing a file whose SHA-256 is
already in the catalog returns the existing entry. Editable metadata (sample and cell facts
such as active mass, area, loading) lives in the catalog and is applied to the dataset's
attributes by :meth:`Store.load`.

>>> from analysis import store
>>> st = store.open("my-store")                       # doctest: +SKIP
>>> e = st.ingest("cell1.ndax", metadata={"active_mass_mg": 12.3}, user="ana")  # doctest: +SKIP
>>> ds = st.load(e.id)                                # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from analysis.errors import SSBError
from analysis.schema import CELL_ATTRS, SchemaError, validate

__all__ = ["open", "Store", "Entry", "StoreError", "LAZY_THRESHOLD"]

#: Datasets whose file is larger than this (bytes) are opened lazily by default.
LAZY_THRESHOLD = 64 * 1024**2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    source_file TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    reader TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    user TEXT,
    n_bytes INTEGER NOT NULL DEFAULT 0,
    sizes TEXT NOT NULL DEFAULT '{}'
);
"""

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class StoreError(SSBError, ValueError):
    """A store operation failed; the message names the store or dataset and the reason."""


@dataclass(frozen=True)
class Entry:
    """One catalog row.

    Attributes
    ----------
    id : str
        Dataset identifier (first 16 hex digits of the source file's SHA-256).
    kind : str
        Data-model kind.
    metadata : dict
        Sample / cell metadata (e.g. ``active_mass_mg``, ``area_cm2``, ``loading_mg_cm2``).
    source_file : str
        Original file name.
    sha256 : str
        SHA-256 of the original file.
    reader : str
        Reader that produced the dataset.
    imported_at : str
        ISO 8601 UTC time of the import.
    user : str or None
        Who imported it.
    n_bytes : int
        Size of the stored NetCDF file (bytes).
    sizes : dict
        Dimension sizes of the dataset.
    created : bool
        False when :meth:`Store.ingest` found the file already imported.
    """

    id: str
    kind: str
    metadata: dict
    source_file: str
    sha256: str
    reader: str
    imported_at: str
    user: str | None
    n_bytes: int = 0
    sizes: dict = field(default_factory=dict)
    created: bool = False


def _clean_metadata(meta: dict | None, where: str) -> dict:
    out = {}
    for k, v in (meta or {}).items():
        if not isinstance(k, str) or not _KEY.match(k):
            raise StoreError(f"{where}: metadata key {k!r} must be an identifier (letters, digits, _)")
        if isinstance(v, (np.generic,)):
            v = v.item()
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise StoreError(f"{where}: metadata {k!r} must be a number or text, got {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise StoreError(f"{where}: metadata {k!r} must be finite")
        if isinstance(v, str) and len(v) > 10000:
            raise StoreError(f"{where}: metadata {k!r} is longer than 10000 characters")
        unit = CELL_ATTRS.get(k)
        if unit and unit not in ("", "ISO 8601") and v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                try:
                    v = float(v)
                except (TypeError, ValueError):
                    raise StoreError(f"{where}: {k} must be a number ({unit}), got {v!r}") from None
            if not math.isfinite(v) or v <= 0:
                raise StoreError(f"{where}: {k} must be > 0 ({unit}), got {v!r}")
        out[k] = v
    return out


def _netcdf_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Make attributes NetCDF-safe (lists of text joined, booleans as int, None dropped)."""
    def fix(attrs):
        out = {}
        for k, v in attrs.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = int(v)
            elif isinstance(v, (list, tuple)):
                v = "; ".join(map(str, v)) if any(isinstance(x, str) for x in v) else np.asarray(v)
            elif isinstance(v, dict):
                v = json.dumps(v)
            out[k] = v
        return out

    ds = ds.copy()
    ds.attrs = fix(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = fix(ds[name].attrs)
    return ds


class Store:
    """A project store in directory ``root`` (see the module docstring); use :func:`open`.

    Parameters
    ----------
    root : path-like
        Store directory (created if needed).
    """

    def __init__(self, root):
        self.root = Path(root)
        try:
            (self.root / "data").mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot create the store ({exc.strerror})") from None
        self.catalog_path = self.root / "catalog.sqlite"
        with self._connect() as con:
            con.executescript(_SCHEMA)
        self._sweep()

    # -- internals -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.catalog_path, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.catalog_path}: cannot open the catalog ({exc})") from None
        con.row_factory = sqlite3.Row
        return con

    def _sweep(self) -> None:
        """Remove leftovers of interrupted imports: temp files and data files not in the catalog."""
        for p in (self.root / "tmp").iterdir():
            try:
                p.unlink()
            except OSError:
                pass
        known = {e.id for e in self.list()}
        for p in (self.root / "data").glob("*.nc"):
            if p.stem not in known:
                try:
                    p.unlink()
                except OSError:
                    pass

    def _file(self, id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{16}", str(id)):
            raise StoreError(f"{self.root}: invalid dataset id {id!r}")
        return self.root / "data" / f"{id}.nc"

    @staticmethod
    def _entry(row, created: bool = False) -> Entry:
        return Entry(id=row["id"], kind=row["kind"], metadata=json.loads(row["metadata"] or "{}"),
                     source_file=row["source_file"], sha256=row["sha256"], reader=row["reader"],
                     imported_at=row["imported_at"], user=row["user"], n_bytes=row["n_bytes"],
                     sizes=json.loads(row["sizes"] or "{}"), created=created)

    def _insert(self, con: sqlite3.Connection, entry: Entry) -> None:
        con.execute(
            "INSERT INTO datasets (id, kind, metadata, source_file, sha256, reader, imported_at, user, n_bytes, sizes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.id, entry.kind, json.dumps(entry.metadata), entry.source_file, entry.sha256, entry.reader,
             entry.imported_at, entry.user, entry.n_bytes, json.dumps(entry.sizes)))

    # -- public API --------------------------------------------------------------------------
    def list(self, kind: str | None = None) -> list[Entry]:
        """Return the catalog entries (oldest first), optionally only those of ``kind``."""
        with self._connect() as con:
            if kind is None:
                rows = con.execute("SELECT * FROM datasets ORDER BY imported_at, id").fetchall()
            else:
                rows = con.execute("SELECT * FROM datasets WHERE kind = ? ORDER BY imported_at, id",
                                   (kind,)).fetchall()
        return [self._entry(r) for r in rows]

    def get(self, id: str) -> Entry:
        """Return the catalog entry ``id``; raise :class:`StoreError` if absent."""
        self._file(id)  # validates the id
        with self._connect() as con:
            row = con.execute("SELECT * FROM datasets WHERE id = ?", (str(id),)).fetchone()
        if row is None:
            raise StoreError(f"{self.root}: no dataset {id!r} in the store")
        return self._entry(row)

    def find(self, sha256: str) -> Entry | None:
        """Return the entry of the file with this SHA-256, or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM datasets WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else self._entry(row)

    def ingest(self, path, metadata: dict | None = None, user: str | None = None, *, kind: str | None = None,
               name: str | None = None, **read_options) -> Entry:
        """Import an instrument file: read, validate, write atomically, record in the catalog.

        Parameters
        ----------
        path : path-like
            Instrument file.
        metadata : dict, optional
            Sample / cell metadata (identifier keys; numbers or text). Cell attributes of
            :data:`analysis.schema.CELL_ATTRS` with units (``active_mass_mg``, ``area_cm2``, ...)
            must be positive numbers.
        user : str, optional
            Who imports it (recorded).
        kind : str, optional
            Expected dataset kind.
        name : str, optional
            Original file name (uploads); validated.
        **read_options
            Passed to :func:`analysis.io.read`.

        Returns
        -------
        Entry
            The new entry (``created=True``) or the existing one for an already imported file.

        Raises
        ------
        analysis.io.ReadError
            The file cannot be read.
        StoreError
            Invalid metadata, validation or write failure (the store is left unchanged).
        """
        from analysis import io as sio

        src = name or os.path.basename(str(path))
        meta = _clean_metadata(metadata, src)
        sio._common.check_file(path, read_options.get("max_size"))
        sha = sio.sha256_file(path)
        existing = self.find(sha)
        if existing is not None:
            return existing
        ds = sio.read(path, kind, name=name, **read_options)
        dkind = ds.attrs.get("kind")
        try:
            validate(ds, dkind)
        except SchemaError as exc:
            raise StoreError(f"{src}: not imported, the dataset is invalid: {exc}") from None
        if ds.attrs.get("sha256") != sha:
            raise StoreError(f"{src}: the file changed while it was being imported")
        id_ = sha[:16]
        final = self._file(id_)
        tmp = self.root / "tmp" / f"{id_}-{uuid.uuid4().hex}.nc.part"
        out = _netcdf_attrs(ds)
        entry = None
        try:
            out.to_netcdf(tmp, engine="h5netcdf")
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            n_bytes = tmp.stat().st_size
            entry = Entry(id=id_, kind=dkind, metadata=meta, source_file=ds.attrs.get("source_file", src),
                          sha256=sha, reader=ds.attrs.get("reader", ""),
                          imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          user=user, n_bytes=n_bytes, sizes={k: int(v) for k, v in ds.sizes.items()}, created=True)
            existed_before = final.exists()
            os.replace(tmp, final)
            try:
                with self._connect() as con:
                    self._insert(con, entry)
            except sqlite3.IntegrityError:
                # imported concurrently by someone else: theirs stands
                other = self.find(sha)
                if other is None:
                    if not existed_before:
                        final.unlink(missing_ok=True)
                    raise StoreError(f"{src}: not imported, catalog conflict on id {id_}") from None
                return other
            except BaseException:
                if not existed_before:
                    final.unlink(missing_ok=True)
                raise
        except (OSError, ValueError, sqlite3.Error) as exc:
            if isinstance(exc, SSBError):
                raise
            raise StoreError(f"{src}: not imported, writing to the store failed ({exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return entry

    def ingest_bytes(self, data: bytes, name: str, metadata: dict | None = None, user: str | None = None,
                     **options) -> Entry:
        """Import an uploaded file given as bytes (the dashboard's upload page).

        Parameters
        ----------
        data : bytes
            File content.
        name : str
            The uploaded file's name (validated: no directories, no ``..``, no control characters).
        metadata, user, **options
            As for :meth:`ingest`.

        Returns
        -------
        Entry
            As :meth:`ingest`.
        """
        from analysis import io as sio

        sio.check_name(name)
        suffix = os.path.splitext(name)[1]
        suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9_]{0,15}", suffix or "") else ""
        tmp = self.root / "tmp" / f"upload-{uuid.uuid4().hex}{suffix}"
        try:
            tmp.write_bytes(data)
            return self.ingest(tmp, metadata, user, name=name, **options)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, id: str, lazy: bool | None = None) -> xr.Dataset:
        """Open dataset ``id`` with its catalog metadata applied to the attributes.

        Parameters
        ----------
        id : str
            Dataset id.
        lazy : bool, optional
            Open lazily (dask chunks, nothing read until used). Default: lazy when the file is
            larger than :data:`LAZY_THRESHOLD` bytes.

        Returns
        -------
        xarray.Dataset
            The stored dataset (metadata such as ``active_mass_mg`` in ``attrs``; the catalog
            id in ``attrs["store_id"]``).
        """
        entry = self.get(id)
        p = self._file(entry.id)
        if not p.exists():
            raise StoreError(f"{self.root}: the data file of {id} is missing")
        if lazy is None:
            lazy = p.stat().st_size > LAZY_THRESHOLD
        if lazy:
            ds = xr.open_dataset(p, engine="h5netcdf", chunks={})
        else:
            with xr.open_dataset(p, engine="h5netcdf") as f:
                ds = f.load()
        ds.attrs.update({k: v for k, v in entry.metadata.items() if v is not None})
        ds.attrs["store_id"] = entry.id
        return ds

    def update_metadata(self, id: str, **attrs) -> Entry:
        """Set or change metadata of dataset ``id`` (a value of None removes the key).

        Parameters
        ----------
        id : str
            Dataset id.
        **attrs
            E.g. ``active_mass_mg=10.2, area_cm2=0.785, loading_mg_cm2=13``.

        Returns
        -------
        Entry
            The updated entry.
        """
        entry = self.get(id)
        meta = dict(entry.metadata)
        removals = [k for k, v in attrs.items() if v is None]
        meta.update(_clean_metadata({k: v for k, v in attrs.items() if v is not None}, entry.source_file))
        for k in removals:
            meta.pop(k, None)
        with self._connect() as con:
            con.execute("UPDATE datasets SET metadata = ? WHERE id = ?", (json.dumps(meta), entry.id))
        return self.get(id)

    def delete(self, id: str) -> None:
        """Remove dataset ``id`` from the catalog and its file from the store."""
        entry = self.get(id)
        with self._connect() as con:
            con.execute("DELETE FROM datasets WHERE id = ?", (entry.id,))
        self._file(entry.id).unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self.list())

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, {len(self)} datasets)"


def open(root) -> Store:  # noqa: A001 - the issue asks for analysis.store.open
    """Open (creating if needed) the project store in directory ``root``.

    Parameters
    ----------
    root : path-like
        Store directory.

    Returns
    -------
    Store
    """
    return Store(root)

