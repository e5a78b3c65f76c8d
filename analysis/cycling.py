"""Cycle and half-cycle detection, per-cycle summaries and rate-capability blocks.

Works on the ``cycling`` kind of the data model (:mod:`analysis.schema`): one cell's records
along ``record`` with ``time`` (s), ``voltage`` (V), ``current`` (mA, positive = charge),
``capacity`` (mAh since the start of the half-cycle), ``cycle``, ``step``, ``direction``.

Definitions used throughout (also written into the ``attrs`` of every result):

* a *half-cycle* is a maximal run of records with the same current sign; rests (|I| below a
  threshold) inside a run do not end it (GITT pulses stay one half-cycle), rests between runs of
  opposite sign belong to no half-cycle;
* a *cycle* starts with the direction of the cell's first half-cycle: charge then discharge for
  cells that start with a charge (e.g. S2's Li2TiS3 cells), discharge then charge for cells that
  start with a discharge (e.g. S4's Li-S cells, anode half-cells);
* coulombic efficiency (``ce_convention="auto"``) = capacity of the cycle's second half-cycle /
  capacity of its first one, i.e. discharge/charge for a cell starting with charge and
  charge/discharge for one starting with discharge;
* polarisation = mean charge voltage - mean discharge voltage of the same cycle (mean voltage =
  energy / capacity); ``polarisation_mid`` uses the voltages at half of each half-cycle's capacity.

All loops are vectorised (``numpy.add.reduceat`` over contiguous half-cycles), so a 400-cycle
record of a million points is summarised in well under a second.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from analysis.errors import AnalysisError

REQUIRED = ("time", "voltage", "current")


def _values(ds: xr.Dataset, name: str, dtype=float) -> np.ndarray:
    if name not in ds.variables:
        src = ds.attrs.get("source_file")
        raise AnalysisError(f"cycling dataset{' ' + src if src else ''}: missing variable {name!r}")
    return np.asarray(ds[name].values, dtype=dtype)


def _check(ds) -> None:
    if not isinstance(ds, xr.Dataset):
        raise AnalysisError(f"expected a cycling xarray.Dataset, got {type(ds).__name__}")
    for name in REQUIRED:
        _values(ds, name)
    if "record" not in ds.dims or ds.sizes["record"] < 2:
        raise AnalysisError("cycling dataset: needs a 'record' dimension with at least 2 records")
    t = _values(ds, "time")
    if not (np.diff(t) >= 0).all():
        if not np.isfinite(t).all():
            raise AnalysisError("cycling dataset: 'time' contains NaN or inf")
        raise AnalysisError("cycling dataset: 'time' is not sorted (records must be in time order)")


def _signs(ds: xr.Dataset, rest_threshold_mA: float | None, use_steps: bool) -> tuple[np.ndarray, np.ndarray]:
    """Direction (+1/-1/0, int8) of every record from the current sign, cleaned per step,
    and the current (mA) with NaN replaced by 0."""
    i = _values(ds, "current")
    if not np.isfinite(i).all():
        i = np.nan_to_num(i)
    if rest_threshold_mA is None:
        thr = max(1e-3 * max(float(i.max()), -float(i.min())), 1e-9)
    else:
        thr = float(rest_threshold_mA)
    s = (i > thr).view(np.int8) - (i < -thr).view(np.int8)
    if use_steps and "step" in ds.variables:
        step = np.asarray(ds["step"].values)
        brk = np.flatnonzero(step[1:] != step[:-1]) + 1
        if brk.size:
            starts = np.r_[0, brk]
            pos = np.add.reduceat(np.where(s > 0, i, 0.0), starts)
            neg = -np.add.reduceat(np.where(s < 0, i, 0.0), starts)
            tot = pos + neg
            mixed = np.minimum(pos, neg) > 0.05 * tot
            major = np.where(tot > 0, np.where(pos >= neg, 1, -1), 0).astype(np.int8)
            if not mixed.any():
                # each step is one direction: its records (noise flips, decayed CV tail) take it
                s = np.repeat(major, np.diff(np.r_[starts, s.size]))
            else:
                lens = np.diff(np.r_[starts, s.size])
                s = np.where(np.repeat(mixed, lens), s, np.repeat(major, lens)).astype(np.int8)
    return s, i


def detect_half_cycles(ds: xr.Dataset, *, rest_threshold_mA: float | None = None, use_steps: bool = True,
                       capacity_source: str = "auto") -> xr.Dataset:
    """Detect half-cycles and cycles from the current sign and recompute cycle/direction/capacity.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset.
    rest_threshold_mA : float, optional
        Records with |current| at or below this (mA) are rest. Default: 0.1 % of the 99th
        percentile of |current|.
    use_steps : bool, default True
        Use the ``step`` variable to clean the current sign: a step that is clearly one direction
        gives all its records that direction.
    capacity_source : {"auto", "file", "current"}
        Where half-cycle capacities come from: the file's ``capacity`` (the tester's own coulomb
        count; resets are handled), or the trapezoidal integral of |current| over time. "auto"
        uses the file unless absent, or unless it disagrees with the current integral by more
        than 20 % on most half-cycles.

    Returns
    -------
    xarray.Dataset
        A copy of ``ds`` with ``cycle`` (1-based), ``direction`` (+1/-1/0), ``capacity`` (mAh
        since the start of the half-cycle; rests keep the previous half-cycle's final value) and a
        new ``half_cycle`` index (-1 for rests between half-cycles). ``attrs`` gain
        ``first_direction`` and ``capacity_source``.

    Raises
    ------
    AnalysisError
        If a required variable is missing, time is unsorted, or no current flows at all.
    """
    _check(ds)
    if capacity_source not in ("auto", "file", "current"):
        raise AnalysisError(f"capacity_source: expected 'auto', 'file' or 'current', got {capacity_source!r}")
    n = ds.sizes["record"]
    s, i_clean = _signs(ds, rest_threshold_mA, use_steps)
    nz = np.flatnonzero(s)
    if nz.size == 0:
        raise AnalysisError("cycling dataset: no record with a non-zero current (rest only)")
    sn = s[nz]
    chg = np.flatnonzero(sn[1:] != sn[:-1]) + 1
    hdir = sn[np.r_[0, chg]].astype(np.int64)
    nh = hdir.size
    first = int(hdir[0])
    hcycle = np.cumsum(hdir == first)
    hs = nz[np.r_[0, chg]]  # first record of each half-cycle
    he = nz[np.r_[chg - 1, nz.size - 1]] + 1  # one past its last active record
    # the record axis is cut into pieces: gap, half-cycle 0, gap, half-cycle 1, ..., gap
    edges = np.empty(2 * nh, dtype=np.int64)
    edges[0::2], edges[1::2] = hs, he
    lengths = np.diff(np.r_[0, edges, n])
    k = np.arange(nh)
    lab = np.full(2 * nh + 1, -1, dtype=np.int64)
    lab[1::2] = k
    hc = np.repeat(lab, lengths)
    cyc_lab = np.empty(2 * nh + 1, dtype=np.int64)
    cyc_lab[0] = 1
    cyc_lab[1::2] = hcycle
    cyc_lab[2::2] = hcycle
    cyc = np.repeat(cyc_lab, lengths)
    inspan = hc >= 0
    same = inspan.copy()
    same[hs] = False  # records after the first one of their half-cycle

    t = _values(ds, "time")
    ieff = np.where(s != 0, np.abs(i_clean), 0.0)
    dq_i = np.zeros(n)
    # only intervals with current at both ends count (a step boundary to/from a rest is not
    # half-charged by a trapezoid that ramps to zero)
    act = ieff > 0
    dq_i[1:] = np.where(act[1:] & act[:-1], (ieff[1:] + ieff[:-1]) * np.diff(t) / 7200.0, 0.0)
    dq_i *= same
    source, dq = "current", dq_i
    if capacity_source != "current" and "capacity" in ds.variables:
        qf = np.abs(_values(ds, "capacity"))
        fin = np.isfinite(qf)
        if fin.mean() > 0.5:
            if not fin.all():
                qf = pd.Series(qf).ffill().fillna(0.0).to_numpy()
            d = np.empty(n)
            d[0] = qf[0]
            d[1:] = np.diff(qf)
            dq_f = np.where(d >= 0, d, qf)  # a drop = the tester reset its counter
            dq_f[hs] = np.where(d[hs] >= 0, np.minimum(d[hs], qf[hs]), qf[hs])
            dq_f *= inspan
            if capacity_source == "file":
                dq, source = dq_f, "file"
            else:
                qi = np.add.reduceat(dq_i, hs)
                qq = np.add.reduceat(dq_f, hs)
                ok = qi > 0
                bad = np.abs(qq[ok] - qi[ok]) > 0.2 * qi[ok]
                if not ok.any() or bad.mean() <= 0.5:
                    dq, source = dq_f, "file"
    csum = np.cumsum(dq)
    b = csum[hs] - dq[hs]
    base = np.empty(2 * nh + 1)
    base[0] = 0.0
    base[1::2] = b
    base[2::2] = b  # rests after a half-cycle keep its final capacity
    cap = csum - np.repeat(base, lengths)

    out = ds.copy()
    out["cycle"] = ("record", cyc, {"units": "1", "long_name": "cycle number"})
    out["direction"] = ("record", s, {"units": "1",
                                      "long_name": "half-cycle direction (+1 charge, -1 discharge, 0 rest)"})
    out["capacity"] = ("record", cap, {"units": "mAh", "long_name": "capacity within the half-cycle"})
    out["half_cycle"] = ("record", hc, {"units": "1", "long_name": "half-cycle index (-1 = rest between half-cycles)"})
    out.attrs = {**ds.attrs, "first_direction": "charge" if first > 0 else "discharge", "capacity_source": source}
    return out


def half_cycles(ds: xr.Dataset, **kwargs) -> xr.Dataset:
    """Table of the half-cycles of a cycling dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset; it is passed through :func:`detect_half_cycles` (with
        ``**kwargs``) unless it already has a ``half_cycle`` variable.

    Returns
    -------
    xarray.Dataset
        Over ``half_cycle``: ``start``/``stop`` (record indices, stop exclusive), ``cycle``,
        ``direction`` (+1/-1), ``capacity`` (mAh), ``energy`` (mWh), ``mean_voltage`` (V),
        ``mid_voltage`` (V at half the capacity), ``v_start``/``v_end`` (V), ``duration`` (s),
        ``current`` (mA, median |I| of the active records) and ``cv_capacity`` (mAh passed
        after the current dropped below 90 % of that value at a held voltage).
    """
    if "half_cycle" not in ds.variables:
        ds = detect_half_cycles(ds, **kwargs)
    hc = np.asarray(ds["half_cycle"].values, dtype=np.int64)
    v = np.nan_to_num(_values(ds, "voltage"))
    t = _values(ds, "time")
    q = _values(ds, "capacity")
    ai = np.abs(np.nan_to_num(_values(ds, "current")))
    dirn = np.asarray(ds["direction"].values, dtype=np.int64)
    cyc = np.asarray(ds["cycle"].values, dtype=np.int64)
    valid = hc >= 0
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        raise AnalysisError("cycling dataset: no half-cycle found")
    h = hc[idx]
    nh = int(h.max()) + 1
    starts_l = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    stops_l = np.r_[starts_l[1:], idx.size]
    start = idx[starts_l]
    stop = idx[stops_l - 1] + 1
    qv = np.nan_to_num(q[idx])
    dq = np.r_[0.0, np.diff(qv)]
    dq[starts_l] = qv[starts_l]
    dq = np.maximum(dq, 0.0)
    vm = np.r_[v[idx][0], 0.5 * (v[idx][1:] + v[idx][:-1])]
    vm[starts_l] = v[idx][starts_l]
    cap = np.add.reduceat(dq, starts_l)
    energy = np.add.reduceat(dq * vm, starts_l)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_v = np.where(cap > 0, energy / cap, np.nan)
    # voltage at half capacity, interpolated linearly in capacity between the two records around it
    # (taking the first record past cap/2 made the value jump by the voltage step between records:
    # tens of mV where half capacity falls between two plateaus and the cell logs ~100 records a half-cycle)
    cq = np.cumsum(dq)
    base = (cq - dq)[starts_l]
    target = base + cap / 2
    pos = np.searchsorted(cq, target, side="left")
    pos = np.clip(pos, starts_l, stops_l - 1)
    prev = np.maximum(pos - 1, starts_l)
    vi = v[idx]
    span = cq[pos] - cq[prev]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(span > 0, np.clip((target - cq[prev]) / span, 0.0, 1.0), 1.0)
    mid_v = vi[prev] + frac * (vi[pos] - vi[prev])
    # median |I| of active records per half-cycle
    act = dirn[idx] != 0
    order = np.lexsort((ai[idx], ~act, h))  # per half-cycle: active records first, by |I|
    n_act = np.bincount(h[act], minlength=nh)
    grp_start = starts_l  # same positions in the sorted order (grouped by h, records contiguous)
    med_i = ai[idx][order][np.clip(grp_start + n_act // 2, 0, idx.size - 1)]
    med_i = np.where(n_act > 0, med_i, np.nan)
    dur = t[stop - 1] - t[start]
    # CV capacity: charge passed at |I| < 90 % of the CC current
    is_cv = ai[idx] < 0.9 * np.repeat(np.nan_to_num(med_i), stops_l - starts_l)
    cv_cap = np.add.reduceat(np.where(is_cv & act, dq, 0.0), starts_l)
    d = dirn[start]
    return xr.Dataset(
        {
            "start": ("half_cycle", start), "stop": ("half_cycle", stop),
            "cycle": ("half_cycle", cyc[start]), "direction": ("half_cycle", d),
            "capacity": ("half_cycle", cap, {"units": "mAh"}),
            "energy": ("half_cycle", energy, {"units": "mWh"}),
            "mean_voltage": ("half_cycle", mean_v, {"units": "V"}),
            "mid_voltage": ("half_cycle", mid_v, {"units": "V"}),
            "v_start": ("half_cycle", v[start], {"units": "V"}),
            "v_end": ("half_cycle", v[stop - 1], {"units": "V"}),
            "duration": ("half_cycle", dur, {"units": "s"}),
            "current": ("half_cycle", med_i, {"units": "mA", "long_name": "median |current|"}),
            "cv_capacity": ("half_cycle", cv_cap, {"units": "mAh"}),
        },
        coords={"half_cycle": np.arange(nh)},
        attrs={k: ds.attrs[k] for k in ("first_direction", "capacity_source", "source_file") if k in ds.attrs},
    )


def _mass_g(attrs: dict) -> tuple[float | None, str]:
    m = attrs.get("active_mass_mg")
    if m is None:
        return None, ""
    try:
        m = float(m)
    except (TypeError, ValueError):
        raise AnalysisError(f"attribute active_mass_mg: not a number ({m!r})") from None
    frac = attrs.get("active_fraction")
    f = 1.0 if frac is None else float(frac)
    if not (m > 0 and 0 < f <= 1):
        raise AnalysisError(f"active_mass_mg={m!r} / active_fraction={frac!r}: need mass > 0 and 0 < fraction <= 1")
    if frac is not None:
        note = f"active_mass_mg * active_fraction = {m} mg * {f}"
    else:
        note = f"active_mass_mg = {m} mg (no active_fraction: 1 assumed)"
    return m * f / 1000.0, note


def _area_cm2(attrs: dict) -> tuple[float | None, str]:
    a = attrs.get("area_cm2")
    if a is not None and float(a) > 0:
        return float(a), f"area_cm2 = {float(a)}"
    m, load = attrs.get("active_mass_mg"), attrs.get("loading_mg_cm2")
    if m is not None and load is not None and float(load) > 0:
        return float(m) / float(load), f"area = active_mass_mg / loading_mg_cm2 = {float(m) / float(load):.4g} cm2"
    return None, ""


def summarize(ds: xr.Dataset, reference="max", ce_convention: str = "auto", *,
              nominal_capacity_mAh: float | None = None, retention_of: str = "discharge",
              cycles: str = "detect", **detect_kwargs) -> xr.Dataset:
    """Per-cycle summary of a cycling dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset (cell attrs ``active_mass_mg``, ``active_fraction``,
        ``area_cm2``/``loading_mg_cm2`` enable the specific and areal capacities).
    reference : {"max", "max_after_first", "first"} or int, default "max"
        Reference of the capacity retention: the maximum capacity, the maximum after the first
        (formation) cycle, the first cycle, or the given cycle number.
    ce_convention : {"auto", "discharge/charge", "charge/discharge"}
        Coulombic efficiency definition; "auto" = second half-cycle / first half-cycle of the
        cycle (discharge/charge for cells starting with charge, charge/discharge otherwise).
    nominal_capacity_mAh : float, optional
        Capacity (mAh) that defines 1C. Default: attribute ``nominal_capacity_mAh``, else
        attribute ``c_rate_basis_mAh_g`` (mAh/g) x active mass, else the largest discharge
        capacity of the test (stated in ``attrs["c_rate_basis"]``).
    retention_of : {"discharge", "charge"}
        Which capacity the retention refers to.
    cycles : {"detect", "file"}
        Number cycles from the detected half-cycles (default) or keep the file's ``cycle``.
    **detect_kwargs
        Passed to :func:`detect_half_cycles`.

    Returns
    -------
    xarray.Dataset
        Over ``cycle``: ``charge_capacity``/``discharge_capacity`` (mAh), their
        ``*_specific`` (mAh/g) and ``*_areal`` (mAh/cm2) versions when the attrs allow,
        ``coulombic_efficiency`` (%), ``retention`` (%), ``charge_energy``/``discharge_energy``
        (mWh), ``energy_efficiency`` (%), ``mean_charge_voltage``/``mean_discharge_voltage`` (V),
        ``polarisation`` (V) and ``polarisation_mid`` (V), ``charge_current``/
        ``discharge_current`` (mA), ``c_rate`` (1/h, discharge current / nominal capacity),
        ``charge_cv_capacity`` (mAh). Conventions are stated in ``attrs``.
    """
    ds_d = detect_half_cycles(ds, **detect_kwargs)
    tab = half_cycles(ds_d)
    first = ds_d.attrs["first_direction"]
    if cycles == "file":
        if "cycle" not in ds.variables:
            raise AnalysisError("cycles='file' needs a 'cycle' variable in the dataset")
        tab["cycle"] = ("half_cycle", np.asarray(ds["cycle"].values)[tab["start"].values].astype(np.int64))
    elif cycles != "detect":
        raise AnalysisError(f"cycles: expected 'detect' or 'file', got {cycles!r}")
    cyc = tab["cycle"].values
    ucyc = np.unique(cyc)
    ci = np.searchsorted(ucyc, cyc)
    d = tab["direction"].values
    nc = ucyc.size

    def per(var, sign, how="sum"):
        m = d == sign
        if how == "sum":
            out = np.full(nc, np.nan)
            tot = np.bincount(ci[m], weights=tab[var].values[m], minlength=nc)
            has = np.bincount(ci[m], minlength=nc) > 0
            out[has] = tot[has]
            return out
        out = np.full(nc, np.nan)
        out[ci[m]] = tab[var].values[m]  # last half-cycle of that direction
        return out

    qc, qd = per("capacity", 1), per("capacity", -1)
    ec, ed = per("energy", 1), per("energy", -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vc, vd = ec / qc, ed / qd
    mid_c, mid_d = per("mid_voltage", 1, "last"), per("mid_voltage", -1, "last")
    ic, idis = per("current", 1, "last"), per("current", -1, "last")
    cvc = per("cv_capacity", 1)

    if ce_convention == "auto":
        ce_convention = "discharge/charge" if first == "charge" else "charge/discharge"
    with np.errstate(divide="ignore", invalid="ignore"):
        if ce_convention == "discharge/charge":
            ce = 100 * qd / qc
            ee = 100 * ed / ec
        elif ce_convention == "charge/discharge":
            ce = 100 * qc / qd
            ee = 100 * ec / ed
        else:
            raise AnalysisError(f"ce_convention: expected 'auto', 'discharge/charge' or 'charge/discharge', got {ce_convention!r}")
    if retention_of not in ("discharge", "charge"):
        raise AnalysisError(f"retention_of: expected 'discharge' or 'charge', got {retention_of!r}")
    base_q = qd if retention_of == "discharge" else qc
    if reference == "max":
        ref_val = np.nanmax(base_q) if np.isfinite(base_q).any() else np.nan
        ref_cycle = int(ucyc[np.nanargmax(base_q)]) if np.isfinite(base_q).any() else -1
    elif reference == "max_after_first":
        # the formation cycle excluded: how papers often quote retention (e.g. study S2)
        tail = base_q[1:]
        if tail.size and np.isfinite(tail).any():
            ref_cycle = int(ucyc[1:][np.nanargmax(tail)])
            ref_val = np.nanmax(tail)
        else:
            ref_val = np.nanmax(base_q) if np.isfinite(base_q).any() else np.nan
            ref_cycle = int(ucyc[np.nanargmax(base_q)]) if np.isfinite(base_q).any() else -1
    elif reference == "first":
        fin = np.flatnonzero(np.isfinite(base_q))
        ref_cycle = int(ucyc[fin[0]]) if fin.size else -1
        ref_val = base_q[fin[0]] if fin.size else np.nan
    elif isinstance(reference, (int, np.integer)) and not isinstance(reference, bool):
        if reference not in ucyc:
            raise AnalysisError(f"reference: cycle {reference} is not in the data ({ucyc.min()}..{ucyc.max()})")
        ref_cycle = int(reference)
        ref_val = base_q[np.searchsorted(ucyc, reference)]
    else:
        raise AnalysisError(f"reference: expected 'max', 'max_after_first', 'first' or a cycle number, got {reference!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        retention = 100 * base_q / ref_val

    attrs = ds.attrs
    mass, mass_note = _mass_g(attrs)
    nominal = nominal_capacity_mAh if nominal_capacity_mAh is not None else attrs.get("nominal_capacity_mAh")
    if nominal is not None:
        nominal = float(nominal)
        nominal_note = f"nominal capacity {nominal:.6g} mAh"
    elif attrs.get("c_rate_basis_mAh_g") is not None and mass:
        nominal = float(attrs["c_rate_basis_mAh_g"]) * mass
        nominal_note = f"1C = {float(attrs['c_rate_basis_mAh_g']):.6g} mAh/g x {mass * 1000:.6g} mg active = {nominal:.6g} mAh"
    else:
        nominal = float(np.nanmax(qd)) if np.isfinite(qd).any() else np.nan
        nominal_note = f"largest discharge capacity of the test ({nominal:.6g} mAh) taken as 1C"
    cap_attrs = {"units": "mAh"}
    data = {
        "charge_capacity": (qc, {**cap_attrs, "long_name": "charge capacity"}),
        "discharge_capacity": (qd, {**cap_attrs, "long_name": "discharge capacity"}),
    }
    if mass:
        data["charge_capacity_specific"] = (qc / mass, {"units": "mAh/g", "long_name": "specific charge capacity"})
        data["discharge_capacity_specific"] = (qd / mass, {"units": "mAh/g", "long_name": "specific discharge capacity"})
        data["discharge_energy_specific"] = (ed / mass, {"units": "mWh/g", "long_name": "specific discharge energy"})
    area, area_note = _area_cm2(attrs)
    if area:
        data["charge_capacity_areal"] = (qc / area, {"units": "mAh/cm2", "long_name": "areal charge capacity"})
        data["discharge_capacity_areal"] = (qd / area, {"units": "mAh/cm2", "long_name": "areal discharge capacity"})
    data.update({
        "coulombic_efficiency": (ce, {"units": "%", "long_name": f"coulombic efficiency ({ce_convention})"}),
        "retention": (retention, {"units": "%", "long_name": f"{retention_of} capacity retention vs cycle {ref_cycle}"}),
        "charge_energy": (ec, {"units": "mWh"}),
        "discharge_energy": (ed, {"units": "mWh"}),
        "energy_efficiency": (ee, {"units": "%", "long_name": f"energy efficiency ({ce_convention})"}),
        "mean_charge_voltage": (vc, {"units": "V", "long_name": "mean charge voltage (energy / capacity)"}),
        "mean_discharge_voltage": (vd, {"units": "V", "long_name": "mean discharge voltage (energy / capacity)"}),
        "polarisation": (vc - vd, {"units": "V", "long_name": "mean charge V - mean discharge V"}),
        "polarisation_mid": (mid_c - mid_d, {"units": "V", "long_name": "charge V - discharge V at half capacity"}),
        "charge_current": (ic, {"units": "mA", "long_name": "median |current| of the charge"}),
        "discharge_current": (idis, {"units": "mA", "long_name": "median |current| of the discharge"}),
        "c_rate": (idis / nominal, {"units": "1/h", "long_name": "discharge C-rate"}),
        "charge_c_rate": (ic / nominal, {"units": "1/h", "long_name": "charge C-rate"}),
        "charge_cv_capacity": (cvc, {"units": "mAh", "long_name": "capacity of the constant-voltage charge"}),
    })
    out = xr.Dataset({k: ("cycle", v, a) for k, v, a in ((k, *va) for k, va in data.items())},
                     coords={"cycle": ("cycle", ucyc, {"long_name": "cycle number"})})
    out.attrs = {
        "first_direction": first,
        "ce_convention": ce_convention,
        "retention_reference": str(reference),
        "retention_reference_cycle": ref_cycle,
        "retention_reference_mAh": float(ref_val) if np.isfinite(ref_val) else np.nan,
        "retention_of": retention_of,
        "polarisation_definition": "mean charge voltage - mean discharge voltage of the same cycle (mean V = energy/capacity); "
                                   "polarisation_mid: voltages at half of each half-cycle's capacity",
        "c_rate_basis": nominal_note,
        "capacity_source": ds_d.attrs.get("capacity_source", ""),
        "specific_basis": mass_note or "no active_mass_mg attribute: specific capacities not computed",
        "areal_basis": area_note or "no area_cm2 / loading_mg_cm2 attribute: areal capacities not computed",
    }
    if "source_file" in ds.attrs:
        out.attrs["source_file"] = ds.attrs["source_file"]
    return out


def rate_blocks(obj, rtol: float = 0.1, **summary_kwargs) -> xr.Dataset:
    """Segment a test into blocks of consecutive cycles at the same C-rate (rate capability).

    Parameters
    ----------
    obj : xarray.Dataset
        A summary from :func:`summarize` or a cycling dataset (summarised first).
    rtol : float, default 0.1
        Relative change of the discharge current that starts a new block.
    **summary_kwargs
        Passed to :func:`summarize` when ``obj`` is a cycling dataset.

    Returns
    -------
    xarray.Dataset
        Over ``block``: ``first_cycle``, ``last_cycle``, ``n_cycles``, ``current`` (mA, median
        discharge current), ``c_rate`` (1/h), ``discharge_capacity`` (mAh, mean over the block),
        ``last_discharge_capacity`` (mAh) and their ``*_specific`` (mAh/g) versions when
        available; plus ``block`` of every cycle as the variable ``cycle_block`` over ``cycle``.
    """
    summ = obj if "discharge_current" in getattr(obj, "variables", {}) else summarize(obj, **summary_kwargs)
    cur = summ["discharge_current"].values
    cur_f = np.where(np.isfinite(cur), cur, summ["charge_current"].values)
    cyc = summ["cycle"].values
    ok = np.isfinite(cur_f) & (cur_f > 0)
    if not ok.any():
        raise AnalysisError("rate_blocks: no cycle with a known current")
    lc = np.log(np.where(ok, cur_f, np.nan))
    lc = pd.Series(lc).ffill().bfill().to_numpy()
    new = np.r_[True, np.abs(np.diff(lc)) > np.log1p(rtol)]
    blk = np.cumsum(new) - 1
    nb = int(blk[-1]) + 1
    starts = np.flatnonzero(new)
    stops = np.r_[starts[1:], cyc.size]
    med = np.array([np.nanmedian(cur_f[a:b]) for a, b in zip(starts, stops)])  # one per block
    cr = summ["c_rate"].values
    cr_b = np.array([np.nanmedian(cr[a:b]) if np.isfinite(cr[a:b]).any() else np.nan for a, b in zip(starts, stops)])
    data = {
        "first_cycle": ("block", cyc[starts]), "last_cycle": ("block", cyc[stops - 1]),
        "n_cycles": ("block", stops - starts),
        "current": ("block", med, {"units": "mA"}), "c_rate": ("block", cr_b, {"units": "1/h"}),
    }
    for var in ("discharge_capacity", "discharge_capacity_specific"):
        if var in summ:
            x = summ[var].values
            u = summ[var].attrs.get("units", "")
            data[var] = ("block", np.array([np.nanmean(x[a:b]) if np.isfinite(x[a:b]).any() else np.nan
                                            for a, b in zip(starts, stops)]), {"units": u, "long_name": "mean over the block"})
            data["last_" + var] = ("block", x[stops - 1], {"units": u})
    out = xr.Dataset(data, coords={"block": np.arange(nb)})
    out["cycle_block"] = ("cycle", blk)
    out = out.assign_coords(cycle=cyc)
    out.attrs = {"rtol": rtol, "c_rate_basis": summ.attrs.get("c_rate_basis", "")}
    return out
