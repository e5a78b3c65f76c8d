"""Scribner ZPlot / ZView ``.z`` files (``ZPLOT2 ASCII``): the table after ``End Comments``."""
from __future__ import annotations

import xarray as xr

from analysis.io._common import ReadError, make_eis, parse_table
from analysis.io.generic import detect_layout, split_line


def read_z(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read a ZPlot/ZView ``.z`` file.

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.

    Returns
    -------
    xarray.Dataset
        Kind ``eis``; columns Freq, Ampl, Bias, Time, Z', Z'' (Z'' is Im(Z), signed); the
        header's ``Data Points`` count is kept as an attribute.
    """
    lines = text.splitlines()
    end = next((i for i, ln in enumerate(lines) if ln.strip().lower() == "end comments"), None)
    if end is None:
        raise ReadError(path, "no 'End Comments' line: not a complete ZPlot file")
    attrs = {"instrument": "Solartron / ZPlot"}
    for ln in lines[:end]:
        if ":" in ln:
            key, val = ln.split(":", 1)
            key = key.strip()
            if key in ("Experiment Type", "Date", "Time", "Data Points", "Measured Data, ZPlot"):
                attrs[f"zplot_{key.lower().replace(' ', '_').replace(',', '')}"] = val.strip()
    first, sep, dc = detect_layout(lines, end + 1, limit=20)
    if first < 0:
        raise ReadError(path, "no data rows after 'End Comments'", end + 2)
    ncols = len(split_line(lines[first], sep))
    if ncols < 6:
        raise ReadError(path, f"expected at least 6 columns (Freq .. Z''), found {ncols}", first + 1)
    values, nums = parse_table(path, lines[first:], first + 1, sep, ncols, decimal_comma=dc)
    return make_eis(path, values[:, 0], values[:, 4], values[:, 5], reader="zview-z", lines=nums, sha256=sha256,
                    attrs=attrs, columns={"frequency": "Freq (col 1)", "z_real": "Z' (col 5)", "z_imag": "Z'' (col 6)"},
                    extra={"time": (values[:, 3], "s", "time of the point")})
