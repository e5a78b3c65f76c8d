"""Princeton Applied Research Parstat / VersaStudio text exports.

The file starts with DC rows (frequency 0, zero impedance) recorded before the sweep; they are
skipped and counted in ``skipped_rows``. ``Zim`` is Im(Z) (negative for a capacitive arc).
"""
from __future__ import annotations

import xarray as xr

from analysis.io.generic import read_eis_text


def read_parstat(path, text: str, *, sha256: str | None = None, columns: dict | None = None,
                 **_ignored) -> xr.Dataset:
    """Read a Parstat text export (``Frequency (Hz)``, ``Zre (ohms)``, ``Zim (ohms)`` columns).

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.
    columns : dict, optional
        Explicit column map.

    Returns
    -------
    xarray.Dataset
        Kind ``eis``.
    """
    return read_eis_text(path, text, sha256=sha256, columns=columns, reader="parstat-txt",
                         attrs={"instrument": "Parstat"})
