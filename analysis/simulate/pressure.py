"""Stack-pressure simulator: electrode breathing plus irreversible growth, logged separately."""
from __future__ import annotations

import datetime as _dt

import numpy as np
import xarray as xr


def simulate_pressure_log(cell: xr.Dataset, p0_MPa: float, breathing_MPa: float,
                          growth_pct_final: float, rng: np.random.Generator, *,
                          interval_s: float = 60.0, offset_s: float = -420.0,
                          growth_tau_cycles: float = 60.0, lts_step_MPa: float = 0.0,
                          lts_step_V: float = 2.0, noise_MPa: float = 0.002,
                          quantum_MPa: float = 0.001, start_time: str = "2025-01-06T09:00:00") -> xr.Dataset:
    """Simulate a stack-pressure logger recording beside a cycling test.

    The pressure rises on charge (lithiation of the Li-In counter electrode) in proportion to
    the charge passed in the cycle, falls back on discharge, steps by ``lts_step_MPa`` when the
    cell voltage crosses ``lts_step_V`` (a phase change of the cathode), and drifts upwards
    irreversibly: the pressure at the end of discharge of cycle n exceeds the initial one by
    ``growth_pct_final * (1 - exp(-n/tau)) / (1 - exp(-N/tau))`` percent, so it reaches exactly
    ``growth_pct_final`` at the last cycle.

    Parameters
    ----------
    cell : xarray.Dataset
        The ``cycling`` dataset the logger sat beside (its ``start_time`` attribute is the
        reference clock).
    p0_MPa : float
        Initial stack pressure in MPa.
    breathing_MPa : float
        Reversible rise from fully discharged to fully charged, in MPa.
    growth_pct_final : float
        Irreversible growth at the last cycle in % of ``p0_MPa``.
    rng : numpy.random.Generator
        Noise source.
    interval_s : float, default 60
        Logger sampling interval in s (once a minute).
    offset_s : float, default -420
        Logger start relative to the cycling start in s (negative: the logger starts first).

    Returns
    -------
    xarray.Dataset
        Kind ``pressure_log``: ``time`` (s since the logger's own ``start_time``), ``pressure`` (MPa).
    """
    t = cell["time"].values
    cyc = cell["cycle"].values.astype(float)
    d = cell["direction"].values
    q = cell["capacity"].values.astype(float)
    v = cell["voltage"].values.astype(float)
    n_max = cyc.max()
    # state of charge within each cycle: 0 at the start, 1 at the end of charge
    soc = np.zeros_like(q)
    for c in np.unique(cyc):
        m = cyc == c
        qc = q[m & (d > 0)]
        qmax = qc.max() if qc.size else 1.0
        s = np.where(d[m] > 0, q[m] / qmax, np.nan)
        qd = q[m & (d < 0)]
        qdmax = qd.max() if qd.size else 1.0
        s = np.where(d[m] < 0, 1 - q[m] / qdmax, s)
        # rests keep the previous state
        idx = np.where(np.isnan(s), 0, np.arange(s.size))
        np.maximum.accumulate(idx, out=idx)
        s = s[idx]
        soc[m] = np.nan_to_num(s, nan=0.0)
    tau = growth_tau_cycles
    norm = 1 - np.exp(-n_max / tau)
    growth = growth_pct_final / 100 * (1 - np.exp(-cyc / tau)) / norm
    growth_prev = growth_pct_final / 100 * (1 - np.exp(-(cyc - 1) / tau)) / norm
    # the growth of cycle n accrues linearly in time over that cycle
    progress = np.zeros_like(t)
    for c in np.unique(cyc):
        m = cyc == c
        tc = t[m]
        progress[m] = (tc - tc[0]) / max(tc[-1] - tc[0], 1e-9)
    g = growth_prev + (growth - growth_prev) * progress
    p = p0_MPa * (1 + g) + breathing_MPa * soc + lts_step_MPa * (v > lts_step_V)
    t_log = np.arange(offset_s, t[-1] + interval_s, interval_s)
    p_log = np.interp(t_log, t, p, left=p[0], right=p[-1])
    p_log = p_log + noise_MPa * rng.standard_normal(p_log.shape)
    p_log = np.round(p_log / quantum_MPa) * quantum_MPa
    t0 = _dt.datetime.fromisoformat(cell.attrs.get("start_time", start_time))
    log_start = (t0 + _dt.timedelta(seconds=float(offset_s))).isoformat()
    return xr.Dataset(
        {"pressure": ("record", p_log.astype(np.float32), {"units": "MPa", "long_name": "stack pressure"})},
        coords={"time": ("record", t_log - offset_s, {"units": "s", "long_name": "time since start_time"})},
        attrs={"start_time": log_start, "interval_s": interval_s},
    )
