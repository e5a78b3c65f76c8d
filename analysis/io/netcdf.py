"""NetCDF files already in the project's data model (``ssb-explorer`` exports, notebooks).

A pellet series (``pellet_eis``: spectra of several samples at several temperatures with their
milling parameters) has no single instrument file: it is assembled in a notebook from the
spectra and a sample table, following ``docs/data-model.md``, and saved with
``ds.to_netcdf(path, engine="h5netcdf")``. This reader brings such a file (or a dataset
downloaded from the Data page) into the store, so the dashboard's pages open it like any
instrument file: ``ssb-explorer ingest FILE --store DIR``, :func:`analysis.store.Store.ingest`
or an upload on the Data page.
"""
from __future__ import annotations

import io

from analysis.io._common import ReadError, display_name

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CLASSIC_SIGNATURES = (b"CDF\x01", b"CDF\x02")


def is_netcdf(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts like a NetCDF-4/HDF5 or classic NetCDF file."""
    return head.startswith(HDF5_SIGNATURE) or head.startswith(CLASSIC_SIGNATURES)


def read_netcdf(path, data: bytes, sha256: str, kind: str | None = None):
    """Read a NetCDF file that follows the data model.

    Parameters
    ----------
    path : path-like
        The file (named in errors).
    data : bytes
        Its content.
    sha256 : str
        SHA-256 of ``data`` (recorded).
    kind : str, optional
        Expected kind (one of :data:`analysis.schema.KINDS`).

    Returns
    -------
    xarray.Dataset
        The dataset, loaded into memory and validated for its kind (the ``kind`` attribute, or the
        kind its dimensions and variables show), with ``source_file`` (this file), ``reader``
        (``"ssb-netcdf"``) and ``sha256``; a ``source_file`` it already had is kept as
        ``original_source_file``.

    Raises
    ------
    ReadError
        Not readable as NetCDF, no recognisable kind, or invalid for its kind (the message says
        which field).
    """
    import xarray as xr

    from analysis.schema import KINDS, SchemaError, detect_kind, validate

    engine = "h5netcdf" if data.startswith(HDF5_SIGNATURE) else "scipy"
    try:
        with xr.open_dataset(io.BytesIO(data), engine=engine) as src:
            ds = src.load()
    except Exception as exc:  # damaged, truncated or not NetCDF inside an HDF5 file
        raise ReadError(path, f"not a readable NetCDF file ({type(exc).__name__}: {str(exc)[:200]})") from None
    found = detect_kind(ds)
    if found not in KINDS:
        raise ReadError(path, "a NetCDF file that is not in the ssb-explorer data model (no 'kind' attribute and "
                              "no recognisable layout; see docs/data-model.md)")
    if kind is not None and found != kind:
        raise ReadError(path, f"holds {found} data, not {kind}")
    ds.attrs["kind"] = found
    try:
        validate(ds, found)
    except SchemaError as exc:
        raise ReadError(path, f"invalid {found} dataset: {exc}") from None
    if "source_file" in ds.attrs and "original_source_file" not in ds.attrs:
        ds.attrs["original_source_file"] = ds.attrs["source_file"]
    ds.attrs.update(source_file=display_name(path), reader="ssb-netcdf", sha256=sha256)
    return ds
