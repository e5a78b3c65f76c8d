"""Stack-pressure logger CSV files (timestamps and pressure), and joining them to cycling data.

Accepted layouts: a timestamp column (ISO 8601 or ``date time`` text) or an elapsed-time
column in s/min/h with a ``start_time`` / ``# start: ...`` header line; a pressure column in
MPa, kPa, Pa, bar, mbar, psi or atm, or a force column in N/kN together with ``area_cm2=``.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import xarray as xr

from analysis.io._columns import _PRESSURE_TO_MPA, _TIME, UnitError, scale, unit_of
from analysis.io._common import ReadError, make_pressure_log
from analysis.io.generic import to_seconds


def read_pressure_log(path, text: str, *, sha256: str | None = None, area_cm2: float | None = None,
                      columns: dict | None = None, **_ignored) -> xr.Dataset:
    """Read a stack-pressure logger CSV.

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.
    area_cm2 : float, optional
        Cell area (cm2) to turn a force column (N, kN) into pressure.
    columns : dict, optional
        ``{"time": name, "pressure": name}`` to choose the columns explicitly.

    Returns
    -------
    xarray.Dataset
        Kind ``pressure_log``: ``time`` (s since ``start_time``), ``pressure`` (MPa).
    """
    lines = text.splitlines()
    start_attr = None
    hdr = 0
    for i, ln in enumerate(lines[:50]):
        s = ln.strip()
        m = re.match(r"^#?\s*start(?:_time| time)?\s*[:=,]\s*(.+)$", s, re.I)
        if m:
            start_attr = m.group(1).strip().strip('"')
            continue
        if s.startswith("#") or not s:
            continue
        hdr = i
        break
    body = "\n".join(lines[hdr:])
    sep = max((",", ";", "\t"), key=lambda c: lines[hdr].count(c)) if hdr < len(lines) else ","
    try:
        df = pd.read_csv(io.StringIO(body), sep=sep, comment="#", low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(path, f"malformed pressure log: {str(exc).splitlines()[0][:160]}", hdr + 1) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ReadError(path, "the pressure log has no records", hdr + 1)
    low = [c.lower() for c in df.columns]
    cols = columns or {}
    pc = cols.get("pressure") or next((c for c, lc in zip(df.columns, low) if "pressure" in lc or lc.startswith("p ")
                                       or lc.startswith(("p/", "p(", "p ["))), None)
    fc = None
    if pc is None:
        fc = next((c for c, lc in zip(df.columns, low) if "force" in lc or lc.startswith(("f/", "f ("))), None)
        if fc is None:
            raise ReadError(path, f"no pressure (or force) column among {list(df.columns)[:10]}", hdr + 1)
    tc = cols.get("time") or next((c for c, lc in zip(df.columns, low)
                                   if any(k in lc for k in ("timestamp", "date", "time", "elapsed"))), None)
    if tc is None:
        raise ReadError(path, "no time or timestamp column", hdr + 1)
    raw_t = df[tc]
    numeric_t = pd.to_numeric(raw_t, errors="coerce")
    if numeric_t.notna().all():
        try:
            fac = scale(tc, _TIME, 1.0, "time")
        except UnitError as exc:
            raise ReadError(path, str(exc), hdr + 1) from None
        if start_attr is None:
            raise ReadError(path, "elapsed times without a start time: add a '# start_time: <ISO date>' line "
                                  "or use timestamps", hdr + 1)
        try:
            start = pd.Timestamp(start_attr)
        except ValueError:
            raise ReadError(path, f"unreadable start time {start_attr!r}") from None
        t = numeric_t.to_numpy(dtype=float) * fac
        t = t - t[0] if t[0] != 0 else t
    else:
        if raw_t.astype(str).str.contains(r"^\s*\d+:\d", regex=True).all() and start_attr is None:
            secs = to_seconds(raw_t)
            raise ReadError(path, "times of day without a date: add a '# start_time:' line", hdr + 1) \
                if np.isnan(secs).any() or True else None
        ts = pd.to_datetime(raw_t, errors="coerce", format="mixed")
        bad = np.flatnonzero(ts.isna().to_numpy())
        if bad.size:
            raise ReadError(path, f"unreadable timestamp {str(raw_t.iloc[bad[0]])[:40]!r}", hdr + 2 + int(bad[0]))
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        start = ts.iloc[0]
        t = (ts - start).dt.total_seconds().to_numpy(dtype=float)
    if np.any(np.diff(t) < 0):
        bad = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise ReadError(path, "time goes backwards", hdr + 2 + bad)
    if pc is not None:
        try:
            u = unit_of(pc)
            fac = _PRESSURE_TO_MPA.get(u, None) if u else None
            if fac is None:
                lc = pc.lower()
                m = re.search(r"(mpa|kpa|gpa|mbar|bar|psi|atm|pa)\b", lc)
                key = {"mpa": "MPa", "kpa": "kPa", "gpa": "GPa", "pa": "Pa", "mbar": "mbar", "bar": "bar",
                       "psi": "psi", "atm": "atm"}[m.group(1)] if m else None
                if key is None:
                    raise UnitError(f"column {pc!r}: no pressure unit (MPa, kPa, bar, psi ...)")
                fac = _PRESSURE_TO_MPA[key]
        except UnitError as exc:
            raise ReadError(path, str(exc), hdr + 1) from None
        p = pd.to_numeric(df[pc], errors="coerce").to_numpy(dtype=float) * fac
        used = pc
    else:
        u = (unit_of(fc) or "N")
        ffac = {"N": 1.0, "kN": 1e3, "n": 1.0, "kn": 1e3}.get(u)
        if ffac is None:
            raise ReadError(path, f"column {fc!r}: unit {u!r} is not a force unit", hdr + 1)
        if not area_cm2 or area_cm2 <= 0:
            raise ReadError(path, f"column {fc!r} is a force: pass area_cm2= to convert it to pressure")
        p = pd.to_numeric(df[fc], errors="coerce").to_numpy(dtype=float) * ffac / (area_cm2 * 1e-4) / 1e6
        used = fc
    bad = np.flatnonzero(~np.isfinite(p))
    if bad.size:
        raise ReadError(path, f"pressure is not a number: {str(df[used].iloc[bad[0]])[:30]!r}", hdr + 2 + int(bad[0]))
    return make_pressure_log(path, time_s=t, pressure_mpa=p, start_time=pd.Timestamp(start).isoformat(),
                             reader="pressure-log", sha256=sha256,
                             attrs={"original_columns": f"time={tc}, pressure={used}"},
                             columns={"time": tc, "pressure": used})


def join_pressure(cycling: xr.Dataset, log: xr.Dataset, *, max_gap_s: float | None = None) -> xr.Dataset:
    """Add a ``pressure`` variable (MPa) to a cycling dataset by interpolating a pressure log in time.

    A reader-side name for :func:`analysis.pressure.align` (one implementation of the time
    alignment), raising :class:`ReadError` instead of ``AnalysisError``.

    Parameters
    ----------
    cycling : xarray.Dataset
        Kind ``cycling`` with a ``start_time`` attribute (ISO 8601).
    log : xarray.Dataset
        Kind ``pressure_log``.
    max_gap_s : float, optional
        Records farther than this from any log sample get NaN (default: outside the log's span only).

    Returns
    -------
    xarray.Dataset
        A copy of ``cycling`` with ``pressure`` (MPa) along ``record``.

    Raises
    ------
    ReadError
        Missing start times or no time overlap.
    """
    from analysis.errors import AnalysisError
    from analysis.pressure import align

    src = cycling.attrs.get("source_file", "cycling dataset")
    try:
        return align(cycling, log, tolerance_s=max_gap_s)
    except AnalysisError as exc:
        raise ReadError(src, str(exc)) from None
