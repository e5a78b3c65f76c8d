"""Maccor text exports (tab separated, any encoding; ``Today's Date`` or key/value headers).

Maccor writes the current as a magnitude with a state column (C charge, D discharge, R rest,
O/S other): the current is signed from the state. The test-time unit differs between export
templates (s or min); when the ``DPt Time`` clock column is present the unit is checked against
it, otherwise seconds are assumed.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xarray as xr

from analysis.io._common import ReadError, make_cycling


def _col(df, *cands):
    low = {c.lower().replace(" ", ""): c for c in df.columns}
    for c in cands:
        k = c.lower().replace(" ", "")
        if k in low:
            return low[k]
    return None


def read_maccor(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read a Maccor text export.

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content (non-UTF-8 header bytes are tolerated by the decoder).
    sha256 : str, optional
        File digest.

    Returns
    -------
    xarray.Dataset
        Kind ``cycling`` (A -> mA, Ah -> mAh; current signed by the state column).
    """
    lines = text.splitlines()
    hdr = next((i for i, ln in enumerate(lines[:200]) if ln.startswith(("Rec#\t", "Rec\t"))), None)
    if hdr is None:
        raise ReadError(path, "no Maccor record header ('Rec#' / 'Rec' column) in the first 200 lines")
    attrs: dict = {"instrument": "Maccor"}
    for ln in lines[:hdr]:
        parts = [p.strip() for p in ln.split("\t") if p.strip()]
        if len(parts) >= 2 and parts[0] in ("Name:", "Channel:", "Tester", "Procedure", "Started"):
            attrs[f"maccor_{parts[0].rstrip(':').lower()}"] = parts[1][:200]
    body = "\n".join(ln for ln in lines[hdr:] if ln.strip())
    try:
        df = pd.read_csv(io.StringIO(body), sep="\t", low_memory=False, index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(path, f"malformed Maccor table: {str(exc).splitlines()[0][:160]}", hdr + 1) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    if len(df) == 0:
        raise ReadError(path, "the Maccor table has no records", hdr + 1)
    c_time = _col(df, "Test (Sec)", "TestTime", "Test Time", "Test (Min)", "Test (Hr)")
    c_v = _col(df, "Volts", "Voltage [V]", "Voltage", "Voltage (V)")
    c_i = _col(df, "Amps", "Current [A]", "Current", "Current (A)")
    c_state = _col(df, "State", "Md", "Mode")
    c_cap = _col(df, "Amp-hr", "Cap. [Ah]", "Capacity", "Cap. (Ah)")
    c_cyc = _col(df, "Cyc#", "Cycle C", "Cycle P", "Cycle")
    c_step = _col(df, "Step")
    c_clock = _col(df, "DPt Time", "DPT Time")
    missing = [n for n, c in (("test time", c_time), ("voltage", c_v), ("current", c_i)) if c is None]
    if missing:
        raise ReadError(path, f"missing Maccor column(s) for {missing}; found {list(df.columns)[:12]}", hdr + 1)

    def num(c):
        return pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)

    t = num(c_time)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise ReadError(path, f"test time is not a number: {df[c_time].iloc[bad[0]]!r}", hdr + 2 + int(bad[0]))
    unit = 1.0
    if "min" in c_time.lower():
        unit = 60.0
    elif "hr" in c_time.lower():
        unit = 3600.0
    elif c_clock is not None and t.size > 2 and t[-1] > t[0]:
        clock = pd.to_datetime(df[c_clock], errors="coerce", format="mixed")
        if clock.notna().iloc[0] and clock.notna().iloc[-1]:
            span = (clock.iloc[-1] - clock.iloc[0]).total_seconds()
            ratio = span / (t[-1] - t[0])
            unit = min((1.0, 60.0, 3600.0), key=lambda u: abs(np.log(max(ratio, 1e-9) / u)))
            attrs["test_time_unit_from_clock"] = {1.0: "s", 60.0: "min", 3600.0: "h"}[unit]
            attrs["start_time"] = clock.iloc[0].isoformat()
    t = t * unit
    amps = num(c_i)
    direction = np.sign(np.nan_to_num(amps)).astype(np.int8)
    if c_state is not None:
        st = df[c_state].astype(str).str.strip().str.upper().to_numpy()
        direction = np.where(st == "C", 1, np.where(st == "D", -1, np.where(np.isin(st, ["R", "O", "S", "A"]), 0,
                                                                          direction))).astype(np.int8)
        cur = np.abs(amps) * 1e3 * np.where(direction == 0, np.sign(amps), direction)
    else:
        cur = amps * 1e3
    thr = np.abs(num(c_cap)) * 1e3 if c_cap is not None else None
    cyc = num(c_cyc) if c_cyc is not None else None
    if cyc is not None and np.all(np.isfinite(cyc)):
        cyc = cyc - np.nanmin(cyc) + 1 if np.nanmin(cyc) == 0 else cyc
    else:
        cyc = None
    step = num(c_step) if c_step is not None else None
    if step is not None and not np.all(np.isfinite(step)):
        step = None
    return make_cycling(path, time_s=t, voltage_v=num(c_v), current_ma=cur, cycle=cyc, step=step,
                        direction=direction, throughput_mah=thr, reader="maccor-txt", sha256=sha256,
                        attrs=dict(attrs, original_columns=", ".join(df.columns)),
                        columns={"time": c_time, "voltage": c_v, "current": c_i, "capacity": c_cap, "cycle": c_cyc,
                                 "step": c_step, "direction": c_state})
