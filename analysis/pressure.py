"""In situ stack pressure: alignment of a logger file, per-cycle breathing and growth, dP/dQ.

Definitions (DOMAIN.md section 2, also stated in the ``attrs`` of the results), for cycle n:

* breathing (reversible) amplitude ``breathing(n) = P_max(n) - P_min(n)``;
* irreversible drift at a fixed state ``drift(n) = P_ref(n) - P_ref(first cycle)``, where
  ``P_ref`` is the pressure at the end of the cycle's discharge (default) or charge;
* irreversible growth ``growth_pct(n) = 100 * (P_ref(n) - P_0) / P_0`` with ``P_0`` the initial
  stack pressure (first finite sample of the record, i.e. at the start of the test) and ``P_ref``
  read at the fixed state (end of discharge by default), so the breathing does not enter it;
  ``growth_max_pct`` uses the cycle's maximum ``P_max(n)`` instead (growth including breathing).

Pressures in MPa, times in s, capacities in mAh.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from analysis.errors import AnalysisError


def _t0(ds: xr.Dataset, what: str) -> pd.Timestamp:
    st = ds.attrs.get("start_time")
    if st is None:
        raise AnalysisError(f"{what}: missing attribute 'start_time' (ISO 8601) needed to align by timestamps")
    try:
        ts = pd.Timestamp(st)
    except (ValueError, TypeError) as exc:
        raise AnalysisError(f"{what}: start_time {st!r} is not an ISO 8601 timestamp ({exc})") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def align(cycling_ds: xr.Dataset, pressure_log_ds: xr.Dataset, tolerance_s: float | None = None, *,
          offset_s: float | None = None) -> xr.Dataset:
    """Put a separately logged stack pressure onto the cycling record's time axis.

    The two files are matched by absolute time: ``start_time`` attributes (ISO 8601; aware
    timestamps are converted to UTC, naive ones are taken as the same clock) plus each record's
    ``time``. Pressure is linearly interpolated to every cycling record; records farther than
    ``tolerance_s`` from the nearest logger sample, or outside the log, get NaN.

    Parameters
    ----------
    cycling_ds : xarray.Dataset
        A ``cycling`` dataset with ``start_time``.
    pressure_log_ds : xarray.Dataset
        A ``pressure_log`` dataset (``time`` s since its ``start_time``, ``pressure`` MPa).
    tolerance_s : float, optional
        Largest distance (s) to the nearest logger sample. Default: 1.5 x the logger's median
        sampling interval.
    offset_s : float, optional
        Start of the log minus start of the cycling (s); overrides the ``start_time`` attrs.

    Returns
    -------
    xarray.Dataset
        A copy of ``cycling_ds`` with ``pressure`` (MPa) added (replaced if present); attrs
        ``pressure_offset_s`` and ``pressure_tolerance_s``.
    """
    for name, d in (("cycling_ds", cycling_ds), ("pressure_log_ds", pressure_log_ds)):
        if not isinstance(d, xr.Dataset):
            raise AnalysisError(f"{name}: expected an xarray.Dataset, got {type(d).__name__}")
    for var in ("time", "pressure"):
        if var not in pressure_log_ds.variables:
            raise AnalysisError(f"pressure_log_ds: missing variable {var!r}")
    if "time" not in cycling_ds.variables:
        raise AnalysisError("cycling_ds: missing variable 'time'")
    if offset_s is None:
        offset_s = (_t0(pressure_log_ds, "pressure_log_ds") - _t0(cycling_ds, "cycling_ds")).total_seconds()
    tl = np.asarray(pressure_log_ds["time"].values, dtype=float) + float(offset_s)
    pl = np.asarray(pressure_log_ds["pressure"].values, dtype=float)
    ok = np.isfinite(tl) & np.isfinite(pl)
    tl, pl = tl[ok], pl[ok]
    if tl.size < 2:
        raise AnalysisError("pressure_log_ds: fewer than 2 finite pressure samples")
    order = np.argsort(tl, kind="stable")
    tl, pl = tl[order], pl[order]
    if tolerance_s is None:
        tolerance_s = 1.5 * float(np.median(np.diff(tl)))
    tc = np.asarray(cycling_ds["time"].values, dtype=float)
    p = np.interp(tc, tl, pl)
    j = np.clip(np.searchsorted(tl, tc), 1, tl.size - 1)
    dist = np.minimum(np.abs(tc - tl[j - 1]), np.abs(tl[j] - tc))
    p[(dist > tolerance_s) | (tc < tl[0] - tolerance_s) | (tc > tl[-1] + tolerance_s) | ~np.isfinite(tc)] = np.nan
    out = cycling_ds.copy()
    out["pressure"] = ("record", p, {"units": "MPa", "long_name": "stack pressure (aligned logger)"})
    out.attrs = {**cycling_ds.attrs, "pressure_offset_s": float(offset_s), "pressure_tolerance_s": float(tolerance_s)}
    return out


def per_cycle(ds: xr.Dataset, reference_state: str = "end_of_discharge", **detect_kwargs) -> xr.Dataset:
    """Per-cycle stack-pressure summary.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset with ``pressure`` (MPa), e.g. from :func:`align`.
    reference_state : {"end_of_discharge", "end_of_charge"}
        Fixed state at which the irreversible drift is read.
    **detect_kwargs
        Passed to :func:`analysis.cycling.detect_half_cycles`.

    Returns
    -------
    xarray.Dataset
        Over ``cycle``: ``p_max``, ``p_min``, ``breathing``, ``p_ref``, ``drift`` (MPa),
        ``growth_pct`` (at the fixed state) and ``growth_max_pct`` (at P_max) (%); ``attrs``
        state P_0, the definitions and ``max_growth_pct`` (largest ``growth_pct``).
    """
    from analysis.cycling import detect_half_cycles

    if "pressure" not in getattr(ds, "variables", {}):
        raise AnalysisError("per_cycle: the dataset has no 'pressure' variable (align a pressure log first)")
    if reference_state not in ("end_of_discharge", "end_of_charge"):
        raise AnalysisError(f"reference_state: expected 'end_of_discharge' or 'end_of_charge', got {reference_state!r}")
    d = detect_half_cycles(ds, **detect_kwargs)
    p = np.asarray(d["pressure"].values, dtype=float)
    cyc = np.asarray(d["cycle"].values)
    dirn = np.asarray(d["direction"].values)
    fin = np.isfinite(p)
    if not fin.any():
        raise AnalysisError("per_cycle: pressure is all NaN")
    p0 = float(p[np.argmax(fin)])
    ucyc = np.unique(cyc)
    ci = np.searchsorted(ucyc, cyc)
    nc = ucyc.size
    pmax = np.full(nc, -np.inf)
    pmin = np.full(nc, np.inf)
    np.maximum.at(pmax, ci[fin], p[fin])
    np.minimum.at(pmin, ci[fin], p[fin])
    pmax[~np.isfinite(pmax)] = np.nan
    pmin[~np.isfinite(pmin)] = np.nan
    want = -1 if reference_state == "end_of_discharge" else 1
    m = (dirn == want) & fin
    pref = np.full(nc, np.nan)
    pref[ci[m]] = p[m]  # the last sample of that half-cycle wins (records in time order)
    first_ref = pref[np.isfinite(pref)][0] if np.isfinite(pref).any() else np.nan
    out = xr.Dataset(
        {
            "p_max": ("cycle", pmax, {"units": "MPa"}),
            "p_min": ("cycle", pmin, {"units": "MPa"}),
            "breathing": ("cycle", pmax - pmin, {"units": "MPa", "long_name": "P_max - P_min"}),
            "p_ref": ("cycle", pref, {"units": "MPa", "long_name": f"pressure at {reference_state.replace('_', ' ')}"}),
            "drift": ("cycle", pref - first_ref, {"units": "MPa", "long_name": "P_ref(n) - P_ref(first cycle)"}),
            "growth_pct": ("cycle", 100 * (pref - p0) / p0,
                           {"units": "%", "long_name": f"100 (P(n) - P_0) / P_0, P at {reference_state.replace('_', ' ')}"}),
            "growth_max_pct": ("cycle", 100 * (pmax - p0) / p0, {"units": "%", "long_name": "100 (P_max(n) - P_0) / P_0"}),
        },
        coords={"cycle": ucyc},
        attrs={"p0_MPa": p0, "p0_definition": "first finite pressure sample of the record (start of the test)",
               "reference_state": reference_state,
               "growth_definition": f"100 (P(n) - P_0) / P_0 with P(n) the pressure at {reference_state.replace('_', ' ')}",
               "max_growth_pct": float(np.nanmax(100 * (pref - p0) / p0)) if np.isfinite(pref).any() else np.nan},
    )
    return out


def dp_dq(pressure, capacity, resolution_mAh: float | None = None, *, n_points: int = 400) -> xr.DataArray:
    """dP/dQ of one half-cycle: where the stack pressure changes per unit charge (MPa/mAh).

    Parameters
    ----------
    pressure : array_like
        Stack pressure (MPa) of the half-cycle's records.
    capacity : array_like
        Charge since the start of the half-cycle (mAh).
    resolution_mAh : float, optional
        Capacity resolution (FWHM of the Gaussian smoothing, mAh); default 2 % of the
        half-cycle's capacity (pressure logs are sparse, e.g. once a minute).
    n_points : int, default 400
        Capacity grid size.

    Returns
    -------
    xarray.DataArray
        dP/dQ (MPa/mAh) along ``capacity`` (mAh) with the smoothed ``pressure`` as coordinate.
    """
    from analysis.dqdv import _derivative_vs_capacity

    p = np.asarray(pressure, dtype=float).ravel()
    q = np.abs(np.asarray(capacity, dtype=float).ravel())
    if p.size != q.size:
        raise AnalysisError(f"pressure and capacity must have the same length ({p.size} != {q.size})")
    ok = np.isfinite(p) & np.isfinite(q)
    if ok.sum() < 3:
        raise AnalysisError("pressure/capacity: fewer than 3 finite records")
    p, q = p[ok], q[ok]
    if resolution_mAh is None:
        resolution_mAh = 0.02 * float(np.ptp(q))
    centres, d, ps = _derivative_vs_capacity(p, q, float(resolution_mAh), int(n_points))
    return xr.DataArray(
        d, dims=("capacity",),
        coords={"capacity": ("capacity", centres, {"units": "mAh"}),
                "pressure": ("capacity", ps, {"units": "MPa"})},
        name="dp_dq", attrs={"units": "MPa/mAh", "long_name": "dP/dQ", "resolution_mAh": float(resolution_mAh)})


def dp_dq_cycle(ds: xr.Dataset, cycle: int, direction="charge", resolution_mAh: float | None = None) -> xr.DataArray:
    """dP/dQ of one half-cycle of a cycling dataset with pressure.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset with ``pressure`` (MPa).
    cycle : int
        Cycle number.
    direction : {"charge", "discharge"}
        Which half-cycle.
    resolution_mAh : float, optional
        As in :func:`dp_dq`.

    Returns
    -------
    xarray.DataArray
        dP/dQ (MPa/mAh) along ``capacity`` (mAh).
    """
    from analysis.cycling import detect_half_cycles
    from analysis.dqdv import _direction_code

    if "pressure" not in ds.variables:
        raise AnalysisError("dp_dq_cycle: the dataset has no 'pressure' variable")
    d = detect_half_cycles(ds)
    m = (d["cycle"].values == cycle) & (d["direction"].values == _direction_code(direction))
    if not m.any():
        raise AnalysisError(f"dp_dq_cycle: no {direction} half-cycle in cycle {cycle}")
    out = dp_dq(d["pressure"].values[m], d["capacity"].values[m], resolution_mAh)
    out.attrs.update(cycle=int(cycle), direction=str(direction))
    return out


def correlate(pressure_summary: xr.Dataset, cycling_summary: xr.Dataset, x: str = "growth_pct",
              y: str = "retention") -> xr.Dataset:
    """Correlation of a pressure quantity with a cycling quantity over the common cycles.

    Parameters
    ----------
    pressure_summary : xarray.Dataset
        From :func:`per_cycle`.
    cycling_summary : xarray.Dataset
        From :func:`analysis.cycling.summarize`.
    x : str, default "growth_pct"
        Variable of ``pressure_summary``.
    y : str, default "retention"
        Variable of ``cycling_summary``.

    Returns
    -------
    xarray.Dataset
        Scalars ``pearson_r``, ``pearson_p``, ``spearman_rho``, ``spearman_p``, ``n`` and the
        slope of the least-squares line ``slope`` (units of y per unit of x).
    """
    from scipy import stats

    for name, s, v in (("pressure_summary", pressure_summary, x), ("cycling_summary", cycling_summary, y)):
        if v not in getattr(s, "variables", {}):
            raise AnalysisError(f"{name}: has no variable {v!r}")
    a, b = xr.align(pressure_summary[x], cycling_summary[y], join="inner")
    xa, ya = np.asarray(a.values, dtype=float), np.asarray(b.values, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    n = int(xa.size)
    if n < 3 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        raise AnalysisError(f"correlate: need at least 3 common cycles with varying {x} and {y} (have {n})")
    pr = stats.pearsonr(xa, ya)
    sr = stats.spearmanr(xa, ya)
    slope = float(np.polyfit(xa, ya, 1)[0])
    ux = pressure_summary[x].attrs.get("units", "")
    uy = cycling_summary[y].attrs.get("units", "")
    return xr.Dataset(
        {"pearson_r": float(pr.statistic), "pearson_p": float(pr.pvalue),
         "spearman_rho": float(sr.statistic), "spearman_p": float(sr.pvalue), "n": n,
         "slope": xr.DataArray(slope, attrs={"units": f"{uy}/{ux}"})},
        attrs={"x": x, "y": y},
    )
