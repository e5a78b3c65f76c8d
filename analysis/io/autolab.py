"""Metrohm Autolab impedance text: the Z60W/FRA export (counted table) and NOVA column exports."""
from __future__ import annotations

import xarray as xr

from analysis.io._common import ReadError, make_eis, parse_table
from analysis.io.generic import read_eis_text


def read_autolab(path, text: str, *, sha256: str | None = None, columns: dict | None = None,
                 **_ignored) -> xr.Dataset:
    """Read an Autolab impedance export.

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.
    columns : dict, optional
        Explicit column map for NOVA exports with unusual headers.

    Returns
    -------
    xarray.Dataset
        Kind ``eis``. In the Z60W layout the line before the header gives the number of points,
        which must equal the rows found (a truncated file is refused).
    """
    lines = text.splitlines()
    if lines and "Z60W" in lines[0]:
        hdr = next((i for i, ln in enumerate(lines[:40]) if "Freq" in ln and "Z'" in ln), None)
        if hdr is None or hdr < 1:
            raise ReadError(path, "Z60W file without its column header")
        try:
            count = int(lines[hdr - 1].strip().strip('"'))
        except ValueError:
            count = None
        values, nums = parse_table(path, lines[hdr + 1:], hdr + 2, ",", None)
        if values.shape[1] < 6:
            raise ReadError(path, f"expected at least 6 columns (Freq .. Z''(b)), found {values.shape[1]}", hdr + 2)
        if count is not None and count != values.shape[0]:
            raise ReadError(path, f"header announces {count} points but {values.shape[0]} rows were found "
                                  "(truncated file?)", hdr)
        return make_eis(path, values[:, 0], values[:, 4], values[:, 5], reader="autolab-txt", lines=nums,
                        sha256=sha256, attrs={"instrument": "Autolab", "layout": "Z60W"},
                        columns={"frequency": "Freq (Hz)", "z_real": "Z'(a)", "z_imag": "Z''(b)"},
                        extra={"time": (values[:, 3], "s", "time of the point")})
    return read_eis_text(path, text, sha256=sha256, columns=columns, reader="autolab-txt",
                         attrs={"instrument": "Autolab", "layout": "NOVA"})
