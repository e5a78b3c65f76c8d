"""BioLogic EC-Lab / BT-Lab files: ASCII ``.mpt`` (EIS and GCPL, any locale) and binary ``.mpr``.

The ``.mpr`` binary is decoded by galvani (the field's reader); both paths then go through the
same column interpretation, so the ``.mpt`` and ``.mpr`` of one measurement give identical
datasets. Impedance files (a ``freq/Hz`` column) become kind ``eis``, others kind ``cycling``.
"""
from __future__ import annotations

import re

import numpy as np
import xarray as xr

from analysis.io._common import ReadError, _first, make_cycling, parse_table
from analysis.io.generic import detect_layout, eis_from_table, split_line

_HEADER_RE = re.compile(r"Nb header lines\s*:\s*(\d+)", re.I)


def _table_from_columns(names: list[str], cols: dict[str, np.ndarray]):
    n = len(next(iter(cols.values())))
    return names, np.column_stack([np.asarray(cols[k], dtype=float) for k in names]) if names else np.zeros((n, 0))


def _find(names, *cands):
    low = [x.lower() for x in names]
    for c in cands:
        if c.lower() in low:
            return low.index(c.lower())
    return None


def cycling_from_columns(path, names: list[str], values: np.ndarray, *, reader: str, sha256: str | None,
                         attrs: dict, mode=None) -> xr.Dataset:
    """Interpret BioLogic GCPL / CA / modulo-bat columns as a ``cycling`` dataset.

    Parameters
    ----------
    path : path-like
        Source file.
    names : list of str
        BioLogic column names (``time/s``, ``Ewe/V`` or ``Ecell/V``, ``I/mA`` or ``<I>/mA`` ...).
    values : numpy.ndarray
        Records x columns.
    reader : str
        Reader name.
    sha256 : str or None
        File digest.
    attrs : dict
        Extra attributes.
    mode : array_like, optional
        BioLogic mode flag per record (1 CC, 2 CV, 3 rest).

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``.
    """
    def col(*cands):
        j = _find(names, *cands)
        return (None, None) if j is None else (values[:, j], names[j])

    t, tn = col("time/s")
    if t is None:
        raise ReadError(path, f"no 'time/s' column among {names[:10]}")
    v, vn = col("Ewe/V", "Ecell/V", "<Ewe>/V", "<Ecell>/V", "Ewe-Ece/V")
    if v is None:
        raise ReadError(path, "no voltage column ('Ewe/V' or 'Ecell/V')")
    i, inn = col("I/mA", "<I>/mA")
    if i is None:
        dq, _ = col("dq/mA.h", "dQ/mA.h")
        if dq is None:
            raise ReadError(path, "no current column ('I/mA', '<I>/mA') and no 'dq/mA.h' to derive it")
        dt = np.diff(t, prepend=t[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            i = np.where(dt > 0, dq * 3600.0 / dt, 0.0)
        inn = "dq/mA.h (current derived as dq/dt)"
    direction = np.zeros(len(t), dtype=np.int8)
    imax = np.nanmax(np.abs(i)) if len(i) else 0.0
    tol = max(imax * 1e-4, 1e-12)
    direction[i > tol] = 1
    direction[i < -tol] = -1
    if mode is None:
        m, _ = col("mode")
        mode = m
    if mode is not None:
        direction[np.asarray(mode) == 3] = 0
    q, qn = col("Q charge/discharge/mA.h")
    if q is not None:
        throughput = np.abs(q)
    else:
        throughput = None
    cyc, _ = col("cycle number")
    if cyc is None:
        hc, _ = col("half cycle")
        cyc = (hc // 2 + 1) if hc is not None else None
    elif np.nanmin(cyc) == 0:
        cyc = cyc + 1
    ns, _ = col("Ns")
    step = None if ns is None else ns + 1
    temp, tempn = col("Temperature/°C", "Temperature/\u00b0C", "T/°C", "Temperature/ÂḞC")
    if temp is None:
        j = next((k for k, nm in enumerate(names) if nm.lower().startswith("temperature/")), None)
        if j is not None:
            temp, tempn = values[:, j], names[j]
    pres, presn = col("Pressure/MPa", "P/MPa")
    if temp is not None and np.all(temp == 0):
        temp = None
    return make_cycling(
        path, time_s=t, voltage_v=v, current_ma=i, cycle=cyc, step=step, direction=direction,
        throughput_mah=throughput, reader=reader, sha256=sha256, attrs=attrs,
        columns={"time": tn, "voltage": vn, "current": inn, "capacity": qn, "temperature": tempn},
        temperature_k=None if temp is None else temp + 273.15,
        pressure_mpa=pres,
    )


def read_mpt(path, text: str, *, sha256: str | None = None, kind: str | None = None, columns: dict | None = None,
             **_ignored) -> xr.Dataset:
    """Read an EC-Lab / BT-Lab ASCII export (``.mpt``; with or without its header block).

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.
    kind : {"eis", "cycling"}, optional
        Force the interpretation (default: ``eis`` when a ``freq/Hz`` column exists).
    columns : dict, optional
        Explicit EIS column map (see :func:`analysis.io.generic.resolve_column_map`).

    Returns
    -------
    xarray.Dataset
        Kind ``eis`` (several ``cycle number`` sweeps -> dim ``loop``) or ``cycling``.
    """
    lines = text.splitlines()
    attrs = {"instrument": "BioLogic"}
    first_line = lines[0].strip() if lines else ""
    if first_line.upper().startswith(("EC-LAB ASCII FILE", "BT-LAB ASCII FILE")):
        attrs["software"] = first_line.split(" ASCII")[0]
        m = _HEADER_RE.search(lines[1] if len(lines) > 1 else "")
        if not m:
            raise ReadError(path, "missing 'Nb header lines' in the EC-Lab header", 2)
        nh = int(m.group(1))
        if nh < 3 or nh > len(lines):
            raise ReadError(path, f"header says {nh} header lines but the file has {len(lines)} lines", 2)
        hdr = lines[nh - 1]
        for ln in lines[2:nh - 1]:
            if ":" in ln and not attrs.get("technique") and ln.strip() and not ln.startswith(" "):
                pass
        tech = next((ln.strip() for ln in lines[2:6] if ln.strip()), "")
        if tech:
            attrs["technique"] = tech
        dev = next((ln.split(":", 1)[1].strip() for ln in lines[:nh] if ln.startswith("Device")), None)
        if dev:
            attrs["device"] = dev
        start = nh
    else:
        # headerless export: the first line is the column header
        hdr = lines[0] if lines else ""
        start = 1
    names = [n.strip() for n in hdr.rstrip("\r\n").split("\t")]
    if names and names[-1] == "":
        names = names[:-1]
    if len(names) < 2:
        raise ReadError(path, "column header row not found where the EC-Lab header says", start)
    first, sep, dc = detect_layout(lines, start, limit=50)
    if first < 0:
        raise ReadError(path, "no data rows after the column header", start + 1)
    if sep != "\t" and len(split_line(lines[first], "\t")) == len(names):
        sep = "\t"
    values, nums = parse_table(path, lines[first:], first + 1, sep, len(names), decimal_comma=dc)
    if dc:
        attrs["decimal_comma"] = 1
    is_eis = kind == "eis" or (kind is None and "freq/Hz" in names)
    if is_eis:
        return _eis_from_biologic(path, names, values, nums, sha256=sha256, attrs=attrs, reader="biologic-mpt",
                                  columns=columns)
    return cycling_from_columns(path, names, values, reader="biologic-mpt", sha256=sha256, attrs=attrs)


def _eis_from_biologic(path, names, values, nums, *, sha256, attrs, reader, columns=None):
    if columns is None:
        need = [c for c in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm") if c not in names]
        if need:
            raise ReadError(path, f"impedance column(s) {need} missing from the BioLogic header")
        columns = {"frequency": "freq/Hz", "z_real": "Re(Z)/Ohm", "minus_z_imag": "-Im(Z)/Ohm"}
        if "cycle number" in names:
            columns["loop"] = "cycle number"
    return eis_from_table(path, names, values, nums, reader=reader, sha256=sha256, attrs=attrs, columns=columns)


def read_mpr(path, data: bytes, *, sha256: str | None = None, kind: str | None = None, **_ignored) -> xr.Dataset:
    """Read a BioLogic binary ``.mpr`` file through galvani.

    Parameters
    ----------
    path : path-like
        Source file.
    data : bytes
        File content (already size-checked).
    sha256 : str, optional
        File digest.
    kind : {"eis", "cycling"}, optional
        Force the interpretation.

    Returns
    -------
    xarray.Dataset
        Kind ``eis`` or ``cycling``.
    """
    import io

    try:
        from galvani import BioLogic
    except ImportError:  # pragma: no cover
        raise ReadError(path, "reading .mpr files needs the galvani package (pip install galvani)") from None
    if not data.startswith(b"BIO-LOGIC MODULAR FILE"):
        raise ReadError(path, "not a BioLogic .mpr file (missing 'BIO-LOGIC MODULAR FILE' signature)")
    try:
        mpr = BioLogic.MPRfile(io.BytesIO(data))
    except ReadError:
        raise
    except Exception as exc:  # galvani raises many kinds on damaged files
        raise ReadError(path, f"damaged or unsupported .mpr file ({type(exc).__name__}: {_first(exc)})") from None
    arr = mpr.data
    names = [n for n in arr.dtype.names if n != "flags"]
    if len(arr) == 0:
        raise ReadError(path, "the .mpr file holds no data points")
    try:
        values = np.column_stack([np.asarray(arr[n], dtype=float) for n in names])
    except (TypeError, ValueError) as exc:
        raise ReadError(path, f"unexpected .mpr column types ({exc})") from None
    attrs = {"instrument": "BioLogic", "mpr_version": getattr(mpr, "version", None)}
    sd = getattr(mpr, "startdate", None)
    if sd is not None:
        attrs["start_time"] = str(sd)
    nums: list[int] = []  # binary file: no line numbers in messages
    is_eis = kind == "eis" or (kind is None and "freq/Hz" in names)
    if is_eis:
        return _eis_from_biologic(path, names, values, nums, sha256=sha256, attrs=attrs, reader="biologic-mpr")
    mode = None
    if "flags" in arr.dtype.names:
        try:
            mode = np.asarray(mpr.get_flag("mode"))
        except Exception:  # pragma: no cover - flags layout unknown
            mode = None
    return cycling_from_columns(path, names, values, reader="biologic-mpr", sha256=sha256, attrs=attrs, mode=mode)
