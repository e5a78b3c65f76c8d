"""Gamry Framework ``.DTA`` impedance files (EISPOT potentiostatic and EISGALV galvanostatic EIS).

The ``ZCURVE`` table is read by its column names. When the file holds drift-corrected columns
(``ZrealDC``/``ZimagDC`` style names written by the drift-correction option) they are used
instead of the raw ``Zreal``/``Zimag`` and the ``drift_corrected`` attribute is set.
"""
from __future__ import annotations


import xarray as xr

from analysis.io._common import ReadError, make_eis, parse_table

_TAGS = {"EISPOT": "potentiostatic", "EISGALV": "galvanostatic", "GALVEIS": "galvanostatic",
         "HYBRIDEIS": "hybrid"}


def read_dta(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read the impedance table (``ZCURVE``) of a Gamry ``.DTA`` file.

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
        Kind ``eis``: ``z_real``/``z_imag`` (ohm, ``Zimag`` is Im(Z)), frequency (Hz), plus
        ``time`` (s), ``dc_current`` (A) and ``dc_voltage`` (V) per point when present; attributes
        ``technique`` (potentiostatic / galvanostatic), ``date``, ``time_of_day``, ``area_cm2``.
    """
    lines = text.splitlines()
    attrs: dict = {"instrument": "Gamry"}
    k = None
    for i, ln in enumerate(lines):
        parts = ln.split("\t")
        key = parts[0].strip()
        if key == "ZCURVE" and len(parts) > 1 and parts[1].strip() == "TABLE":
            k = i
            break
        if key == "TAG" and len(parts) > 1:
            attrs["tag"] = parts[1].strip()
            attrs["technique"] = _TAGS.get(parts[1].strip().upper(), parts[1].strip())
        elif key == "DATE" and len(parts) > 2:
            attrs["date"] = parts[2].strip()
        elif key == "TIME" and len(parts) > 2:
            attrs["time_of_day"] = parts[2].strip()
        elif key == "AREA" and len(parts) > 2:
            try:
                attrs["area_cm2"] = float(parts[2].replace(",", "."))
            except ValueError:
                pass
        elif key == "PSTATMODEL" and len(parts) > 2:
            attrs["potentiostat"] = parts[2].strip()
    if k is None:
        raise ReadError(path, "no ZCURVE table: not a Gamry impedance file")
    if k + 3 > len(lines):
        raise ReadError(path, "the ZCURVE table is truncated (no column header)", k + 1)
    names = [c.strip() for c in lines[k + 1].split("\t")]
    if names and names[0] == "":
        names = names[1:]
    body = []
    for ln in lines[k + 3:]:
        if not ln.startswith("\t") and ln.strip():
            break  # next section
        if ln.strip():
            body.append(ln)
    if not body:
        raise ReadError(path, "the ZCURVE table has no data rows", k + 4)
    dc = any("," in t for t in body[0].split()) and not any("." in t for t in body[0].split())
    values, nums = parse_table(path, body, k + 4, None, len(names), decimal_comma=dc)

    def col(*cands):
        for c in cands:
            if c in names:
                return names.index(c)
        return None

    fi = col("Freq")
    zr_i = col("ZrealDC", "Zreal_DC", "ZrealCorr", "Zreal(corr)")
    zi_i = col("ZimagDC", "Zimag_DC", "ZimagCorr", "Zimag(corr)")
    if zr_i is not None and zi_i is not None:
        attrs["drift_corrected"] = 1
    else:
        zr_i, zi_i = col("Zreal"), col("Zimag")
    if fi is None or zr_i is None or zi_i is None:
        raise ReadError(path, f"ZCURVE lacks Freq/Zreal/Zimag columns (has {names})", k + 2)
    extra = {}
    for name, cands, unit, ln in (("time", ("Time",), "s", "time of the point"),
                                  ("dc_current", ("Idc",), "A", "DC current"),
                                  ("dc_voltage", ("Vdc",), "V", "DC voltage")):
        j = col(*cands)
        if j is not None:
            extra[name] = (values[:, j], unit, ln)
    if dc:
        attrs["decimal_comma"] = 1
    return make_eis(path, values[:, fi], values[:, zr_i], values[:, zi_i], reader="gamry-dta", lines=nums,
                    sha256=sha256, attrs=attrs, extra=extra,
                    columns={"frequency": names[fi], "z_real": names[zr_i], "z_imag": names[zi_i]})
