"""Differential capacity (dQ/dV), differential voltage (dV/dQ) and redox-peak tracking.

Why our own implementation
--------------------------
The usual recipe (cellpy ``ica.dqdv``, navani ``dqdv_single_cycle``) interpolates V(Q) or Q(V),
differentiates point by point and then smooths. Differentiating first turns voltage noise and
quantisation into huge spikes, and a constant-voltage (CV) tail, where capacity keeps growing at a
fixed voltage, becomes an infinite dQ/dV: a false peak taller than the real ones.

Here dQ/dV is computed as a *density*: the charge passed between two consecutive records is spread
uniformly over the voltage interval the cell crossed between them, and accumulated on a regular
voltage grid (segments narrower than a grid bin go to the bin of their midpoint; wider ones, e.g.
records logged every 5 mV, are distributed exactly with a ramp accumulated by ``numpy.bincount``
and a double cumulative sum), for every half-cycle at once. Charge is conserved whatever the noise, the
quantisation or the direction of the voltage (non-monotonic segments simply add their charge where
it was passed). The density is then smoothed by ONE Gaussian kernel in voltage whose full width at
half maximum is the physical knob ``resolution_mV``: features closer than that are not resolved.
Trailing CV segments are detected (voltage held within a tolerance of the terminal voltage, or the
current decaying below the constant-current value) and excluded; the charge they carry is reported in
the attributes instead of being turned into a peak.

All voltages in V, capacities in mAh, dQ/dV in mAh/V, dV/dQ in V/mAh.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from analysis.errors import AnalysisError

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: grid bins per resolution FWHM (bin width = resolution_mV / this)
BINS_PER_RESOLUTION = 4.0


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_1d(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name}: expected numbers, got {type(x).__name__} ({exc})") from None
    if a.ndim != 1:
        raise AnalysisError(f"{name}: expected a 1-D array, got shape {a.shape}")
    return a


def noise_sigma(voltage: np.ndarray) -> float:
    """Robust estimate of the white voltage noise (V) from consecutive differences.

    Parameters
    ----------
    voltage : array_like
        Voltage record (V).

    Returns
    -------
    float
        Standard deviation of the noise (V), from the median absolute second difference
        (an upper bound where the signal itself is steep).
    """
    v = np.asarray(voltage, dtype=float)
    if v.size > 60_000:  # 30 evenly spaced blocks of 2,000 consecutive records are plenty
        first = np.linspace(0, v.size - 2000, 30).astype(np.int64)
        blocks = v[first[:, None] + np.arange(2000)[None, :]]
        d2 = np.diff(blocks, 2, axis=1).ravel()
        d2 = d2[np.isfinite(d2)]
    else:
        v = v[np.isfinite(v)]
        if v.size < 4:
            return 0.0
        d2 = np.diff(v, 2)
    if d2.size == 0:
        return 0.0
    # second difference of white noise has std sqrt(6) sigma; MAD -> sigma factor 1.4826
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))


def cv_tail_mask(voltage, current=None, *, row=None, cv_tol_mV: float | None = None,
                 current_drop: float = 0.1, _starts: np.ndarray | None = None) -> np.ndarray:
    """Flag the trailing constant-voltage (CV) records of each half-cycle.

    A record belongs to the CV tail when it lies in the final uninterrupted run of records of its
    half-cycle that are either within ``cv_tol_mV`` of the terminal voltage or (when ``current``
    is given) within 4 x ``cv_tol_mV`` of it with an absolute current more than
    ``current_drop`` below the largest absolute current of the half-cycle (the CC value).

    Parameters
    ----------
    voltage : array_like
        Voltage (V) of the records.
    current : array_like, optional
        Current (mA) of the records; improves detection when the voltage is noisy.
    row : array_like of int, optional
        Half-cycle label of each record (records of one half-cycle contiguous); default: all
        records form one half-cycle.
    cv_tol_mV : float, optional
        Voltage tolerance (mV). Default ``max(3 mV, 5 x estimated noise)``.
    current_drop : float, default 0.1
        Relative current decay that marks CV operation.

    Returns
    -------
    numpy.ndarray of bool
        True for records in a CV tail.
    """
    v = np.asarray(voltage, dtype=float)
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    row = np.zeros(n, dtype=np.int64) if row is None else np.asarray(row)
    if cv_tol_mV is None:
        tol = max(3e-3, 5.0 * noise_sigma(v))
    else:
        tol = float(cv_tol_mV) * 1e-3
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]) if _starts is None else _starts
    lengths = np.diff(np.r_[starts, n])
    ends = starts + lengths - 1
    dv = np.abs(v - np.repeat(v[ends], lengths))
    cand = dv <= tol
    if current is not None:
        # a decayed current marks CV even through a voltage-noise spike, but only close to the
        # terminal voltage (a lower-current CC step whose voltage moves is not CV)
        near = np.flatnonzero((dv <= 4 * tol) & ~cand)
        if near.size:
            ai = np.abs(np.asarray(current, dtype=float))
            ai = np.where(np.isfinite(ai), ai, 0.0)
            imax = np.maximum.reduceat(ai, starts)
            seg_near = np.searchsorted(starts, near, side="right") - 1
            cand[near] = ai[near] < (1.0 - current_drop) * imax[seg_near]
    # the tail of each half-cycle starts after its last non-candidate record
    idx = np.arange(n)
    last_bad = np.maximum.reduceat(np.where(cand, -1, idx), starts)
    first_tail = np.maximum(last_bad + 1, starts)
    # a "tail" that is the whole half-cycle is not a CV tail (e.g. a flat record): keep it
    first_tail = np.where(last_bad < starts, ends + 1, first_tail)
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, first_tail, 1)
    np.add.at(marks, ends + 1, -1)
    return np.cumsum(marks[:-1]) > 0


def _density(x: np.ndarray, q: np.ndarray, row: np.ndarray, n_rows: int, n_bins: int,
             drop: np.ndarray | None = None) -> np.ndarray:
    """Exact piecewise-linear charge density on a grid (bins [k, k+1) in grid units).

    ``x``: record positions in grid units; ``q``: capacity (mAh); ``row``: output row of each
    record (records of one row contiguous; consecutive records of different rows are not
    joined; ``drop``: records whose incoming segment is left out, e.g. a CV tail). Returns the
    charge per bin (mAh), shape (n_rows, n_bins).

    The charge ``w`` of a segment crossing [lo, hi] has the cumulative distribution
    ``w * clip((v - lo) / (hi - lo), 0, 1)``: a ramp, i.e. two slope changes. Slope changes at
    fractional grid positions are split into an integer slope change and a step, accumulated
    with ``bincount`` and integrated by a double cumulative sum along each row.
    """
    a, b = x[:-1], x[1:]
    r = row[1:].astype(np.int64)
    w = np.diff(q)
    w *= row[1:] == row[:-1]
    if drop is not None:
        w[drop[1:]] = 0.0
    w[~(w > 0)] = 0.0  # NaN, negative, or across rows
    if not np.isfinite(x).all():
        bad = ~(np.isfinite(a) & np.isfinite(b))
        w[bad] = 0.0
        a, b = np.where(bad, 0.0, a), np.where(bad, 0.0, b)
    size = n_rows * n_bins
    # (in-place arithmetic: fewer multi-megabyte temporaries, which cost page faults)
    span = np.subtract(b, a)
    np.abs(span, out=span)
    # fast path: a segment narrower than a bin goes to the bin of its midpoint (the Gaussian
    # smoothing, wider than a bin, makes the sub-bin placement irrelevant)
    small = span < 1.0
    mid = np.add(a, b)
    mid *= 0.5
    ws = np.where(small, w, 0.0)
    ws[(mid < 0) | (mid >= n_bins)] = 0.0
    np.clip(mid, 0, n_bins - 1, out=mid)
    lin = r * n_bins
    lin += mid.astype(np.int64)
    out = np.bincount(lin, weights=ws, minlength=size).reshape(n_rows, n_bins)
    del lin, mid, ws
    small |= w <= 0
    big = np.flatnonzero(~small)
    if big.size:
        # exact path: charge spread uniformly over [lo, hi]; its cumulative distribution is a
        # ramp = two slope changes, split into integer slope changes and steps, accumulated
        # with bincount and integrated by a double cumulative sum along each row
        aa, bb, ww, rb = a[big], b[big], w[big], r[big]
        lo, hi = np.minimum(aa, bb), np.maximum(aa, bb)
        dens = ww / (hi - lo)
        width = n_bins + 2
        pos = np.concatenate([np.clip(lo, 0, n_bins), np.clip(hi, 0, n_bins)])
        amp = np.concatenate([dens, -dens])
        k = pos.astype(np.int64)
        base = np.concatenate([rb, rb]) * width + k
        wsize = n_rows * width
        slope = np.bincount(base, weights=amp, minlength=wsize).reshape(n_rows, width)
        step = np.bincount(base + 1, weights=-amp * (pos - k), minlength=wsize + 1)[:wsize].reshape(n_rows, width)
        F = np.cumsum(step, axis=1)
        F[:, 1:] += np.cumsum(np.cumsum(slope, axis=1), axis=1)[:, :-1]
        out += np.diff(F[:, : n_bins + 1], axis=1)
    return out


def _grid(vmin: float, vmax: float, resolution_mV: float, grid=None):
    """Return (v0, h, n_bins, centres) of a uniform voltage grid."""
    if grid is not None:
        g = _as_1d(grid, "grid")
        if g.size < 3:
            raise AnalysisError("grid: needs at least 3 voltage points")
        d = np.diff(g)
        if not np.all(d > 0) or np.ptp(d) > 1e-6 * max(abs(d.mean()), 1e-12) + 1e-9:
            raise AnalysisError("grid: voltage grid must be uniform and increasing (V)")
        h = float(d.mean())
        return g[0] - h / 2, h, g.size, g
    h = float(resolution_mV) * 1e-3 / BINS_PER_RESOLUTION
    pad = int(np.ceil(4.0 * BINS_PER_RESOLUTION / FWHM_PER_SIGMA)) + 2  # the kernel's reach
    v0 = np.floor(vmin / h) * h - pad * h
    n = int(np.ceil((vmax - v0) / h)) + pad
    return v0, h, n, v0 + h * (np.arange(n) + 0.5)


def _check_resolution(resolution_mV: float) -> float:
    r = float(resolution_mV)
    if not np.isfinite(r) or r <= 0:
        raise AnalysisError(f"resolution_mV: must be a positive number of millivolts, got {resolution_mV!r}")
    return r


def _smooth(dens: np.ndarray, h: float, resolution_mV: float) -> np.ndarray:
    sigma = resolution_mV * 1e-3 / FWHM_PER_SIGMA / h
    if sigma < 0.05:
        return dens
    return gaussian_filter1d(dens, sigma, axis=-1, mode="constant", truncate=4.0)


def _orient(q: np.ndarray) -> np.ndarray:
    """Make the capacity of a half-cycle increase (accept negative-going discharge capacity)."""
    f = q[np.isfinite(q)]
    if f.size >= 2 and f[-1] < f[0]:
        return -q
    return q


# --------------------------------------------------------------------------------------------
# single half-cycle
# --------------------------------------------------------------------------------------------
def dqdv(voltage, capacity, resolution_mV: float = 5.0, *, current=None, grid=None,
         exclude_cv: bool = True, cv_tol_mV: float | None = None, signed: bool = False,
         direction: int | None = None) -> xr.DataArray:
    """Differential capacity dQ/dV of ONE half-cycle.

    Parameters
    ----------
    voltage : array_like
        Cell voltage (V) of the half-cycle's records, in time order.
    capacity : array_like
        Charge passed since the start of the half-cycle (mAh); a negative-going capacity
        (some testers' discharge convention) is accepted.
    resolution_mV : float, default 5.0
        Voltage resolution (mV): full width at half maximum of the Gaussian smoothing kernel.
        The only smoothing knob.
    current : array_like, optional
        Current (mA) of the records; helps detect a constant-voltage tail on noisy data.
    grid : array_like, optional
        Uniform, increasing voltage grid (V, bin centres) to return the result on.
    exclude_cv : bool, default True
        Leave out the trailing constant-voltage segment (its charge is reported in the
        ``cv_capacity_mAh`` attribute instead of becoming a false peak).
    cv_tol_mV : float, optional
        Voltage tolerance of the CV detection (mV); default ``max(3, 5 x noise)``.
    signed : bool, default False
        If True, a discharge (voltage falling while capacity grows) is returned negative.
    direction : {+1, -1}, optional
        Direction of the half-cycle; default inferred from the voltage trend.

    Returns
    -------
    xarray.DataArray
        dQ/dV (mAh/V) with coordinate ``voltage`` (V, bin centres).

    Raises
    ------
    AnalysisError
        If the inputs have different lengths or fewer than 3 finite records.
    """
    res = _check_resolution(resolution_mV)
    v = _as_1d(voltage, "voltage")
    q = _as_1d(capacity, "capacity")
    if v.size != q.size:
        raise AnalysisError(f"voltage and capacity must have the same length ({v.size} != {q.size})")
    i = None
    if current is not None:
        i = _as_1d(current, "current")
        if i.size != v.size:
            raise AnalysisError(f"current must have the length of voltage ({i.size} != {v.size})")
    ok = np.isfinite(v) & np.isfinite(q)
    v, q = v[ok], q[ok]
    if i is not None:
        i = i[ok]
    if v.size < 3:
        raise AnalysisError("voltage/capacity: fewer than 3 finite records in the half-cycle")
    q = _orient(q)
    cv_q = 0.0
    if exclude_cv:
        tail = cv_tail_mask(v, i, cv_tol_mV=cv_tol_mV)
        if tail.any():
            first = int(np.argmax(tail))
            cv_q = float(q[-1] - q[first - 1]) if first > 0 else 0.0
            v, q = v[:first], q[:first]
    if v.size < 2:
        raise AnalysisError("voltage/capacity: the half-cycle is all constant-voltage records")
    if direction is None:
        direction = 1 if v[-1] >= v[0] else -1
    v0, h, n, centres = _grid(float(v.min()), float(v.max()), res, grid)
    dens = _density((v - v0) / h, q, np.zeros(v.size, dtype=np.int64), 1, n)[0] / h
    y = _smooth(dens, h, res)
    if signed and direction < 0:
        y = -y
    return xr.DataArray(
        y, dims=("voltage",), coords={"voltage": ("voltage", centres, {"units": "V", "long_name": "voltage"})},
        name="dqdv",
        attrs={"units": "mAh/V", "long_name": "dQ/dV", "resolution_mV": res, "bin_mV": h * 1e3,
               "cv_capacity_mAh": cv_q, "direction": int(direction),
               "method": "charge density on a voltage grid, Gaussian smoothing (FWHM = resolution_mV)"},
    )


def _derivative_vs_capacity(y: np.ndarray, q: np.ndarray, resolution: float, n_points: int):
    """Bin-average y(q) on a uniform capacity grid, smooth (FWHM = resolution), differentiate."""
    qmax = float(q.max())
    qmin = float(q.min())
    if not qmax > qmin:
        raise AnalysisError("capacity: the half-cycle passes no charge")
    h = (qmax - qmin) / n_points
    k = np.clip(((q - qmin) / h).astype(np.int64), 0, n_points - 1)
    cnt = np.bincount(k, minlength=n_points)
    s = np.bincount(k, weights=y, minlength=n_points)
    centres = qmin + h * (np.arange(n_points) + 0.5)
    have = cnt > 0
    qm = np.bincount(k, weights=q, minlength=n_points)[have] / cnt[have]
    mean = np.interp(centres, qm, s[have] / cnt[have])  # bin means placed at their mean capacity
    sigma = resolution / FWHM_PER_SIGMA / h
    if sigma >= 0.05:
        mean = gaussian_filter1d(mean, sigma, mode="nearest", truncate=4.0)
    return centres, np.gradient(mean, h), mean


def dvdq(voltage, capacity, resolution_mAh: float | None = None, *, current=None, n_points: int = 500,
         exclude_cv: bool = True, cv_tol_mV: float | None = None) -> xr.DataArray:
    """Differential voltage dV/dQ of ONE half-cycle, as a function of capacity.

    Parameters
    ----------
    voltage : array_like
        Cell voltage (V), in time order.
    capacity : array_like
        Charge since the start of the half-cycle (mAh).
    resolution_mAh : float, optional
        Capacity resolution (mAh): FWHM of the Gaussian smoothing in capacity. Default 1 % of
        the half-cycle's capacity.
    current : array_like, optional
        Current (mA), for the CV-tail detection.
    n_points : int, default 500
        Number of capacity grid points.
    exclude_cv, cv_tol_mV
        As in :func:`dqdv`.

    Returns
    -------
    xarray.DataArray
        dV/dQ (V/mAh) along ``capacity`` (mAh), with the smoothed voltage as a coordinate.
    """
    v = _as_1d(voltage, "voltage")
    q = _as_1d(capacity, "capacity")
    if v.size != q.size:
        raise AnalysisError(f"voltage and capacity must have the same length ({v.size} != {q.size})")
    ok = np.isfinite(v) & np.isfinite(q)
    i = None if current is None else _as_1d(current, "current")[ok]
    v, q = v[ok], _orient(q[ok])
    if v.size < 3:
        raise AnalysisError("voltage/capacity: fewer than 3 finite records in the half-cycle")
    if exclude_cv:
        tail = cv_tail_mask(v, i, cv_tol_mV=cv_tol_mV)
        if tail.any() and tail.argmax() > 2:
            v, q = v[: tail.argmax()], q[: tail.argmax()]
    if resolution_mAh is None:
        resolution_mAh = 0.01 * float(np.ptp(q))
    if not resolution_mAh > 0:
        raise AnalysisError(f"resolution_mAh: must be positive, got {resolution_mAh!r}")
    centres, d, vs = _derivative_vs_capacity(v, q, float(resolution_mAh), int(n_points))
    return xr.DataArray(
        d, dims=("capacity",),
        coords={"capacity": ("capacity", centres, {"units": "mAh"}), "voltage": ("capacity", vs, {"units": "V"})},
        name="dvdq", attrs={"units": "V/mAh", "long_name": "dV/dQ", "resolution_mAh": float(resolution_mAh)},
    )


# --------------------------------------------------------------------------------------------
# many half-cycles
# --------------------------------------------------------------------------------------------
def _direction_code(direction) -> int:
    if direction in ("charge", 1, +1, "c", "ch"):
        return 1
    if direction in ("discharge", -1, "d", "dis"):
        return -1
    raise AnalysisError(f"direction: expected 'charge' or 'discharge', got {direction!r}")


def dqdv_cycles(ds: xr.Dataset, cycles=None, direction="charge", resolution_mV: float = 5.0, grid=None, *,
                exclude_cv: bool = True, cv_tol_mV: float | None = None, detect: bool = True) -> xr.DataArray:
    """dQ/dV of many half-cycles of a ``cycling`` dataset on one common voltage grid.

    Everything is vectorised over the half-cycles (one pass of ``bincount`` and one Gaussian
    filter for all of them).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``cycling`` dataset (see :mod:`analysis.schema`).
    cycles : int, sequence of int, slice or None
        Cycle numbers to include (None: all). A slice selects by cycle number (inclusive).
    direction : {"charge", "discharge"}
        Which half-cycle of each cycle.
    resolution_mV : float, default 5.0
        Voltage resolution (mV, FWHM of the smoothing kernel).
    grid : array_like, optional
        Uniform voltage grid (V); default spans the selected data.
    exclude_cv, cv_tol_mV
        As in :func:`dqdv`.
    detect : bool, default True
        Re-detect half-cycles from the current (:func:`analysis.cycling.detect_half_cycles`);
        if False the dataset's own ``cycle``/``direction``/``capacity`` are used.

    Returns
    -------
    xarray.DataArray
        dQ/dV (mAh/V, positive) with dims ``(cycle, voltage)``.
    """
    from analysis.cycling import detect_half_cycles

    res = _check_resolution(resolution_mV)
    d = _direction_code(direction)
    if detect:
        ds = detect_half_cycles(ds)
    for name in ("voltage", "capacity", "cycle", "direction"):
        if name not in ds.variables:
            raise AnalysisError(f"cycling dataset: missing variable {name!r}")
    v = np.asarray(ds["voltage"].values, dtype=float)
    q = np.asarray(ds["capacity"].values, dtype=float)
    cyc = np.asarray(ds["cycle"].values)
    dirn = np.asarray(ds["direction"].values)
    cur = np.asarray(ds["current"].values, dtype=float) if "current" in ds.variables else None
    sel = dirn == d
    if cycles is not None:
        all_cycles = _sorted_unique(cyc[sel])
        want = _select_cycles(all_cycles, cycles)
        sel &= np.isin(cyc, want)
    idx = np.flatnonzero(sel)
    if idx.size == 0:
        raise AnalysisError(f"no {'charge' if d > 0 else 'discharge'} records in the selected cycles {cycles!r}")
    v, q, c = v[idx], q[idx], cyc[idx]
    if not (np.isfinite(v).all() and np.isfinite(q).all()):
        fin = np.isfinite(v) & np.isfinite(q)
        if fin.sum() < 2:
            raise AnalysisError("voltage/capacity: no finite records in the selected half-cycles")
        idx, v, q, c = idx[fin], v[fin], q[fin], c[fin]
    chg = c[1:] != c[:-1]
    starts_run = None
    if np.all(c[1:] >= c[:-1]):  # the usual case: cycle numbers never decrease
        run = np.empty(c.size, dtype=np.int64)
        run[0] = 0
        np.cumsum(chg, out=run[1:])
        starts_run = np.r_[0, np.flatnonzero(chg) + 1]
        firsts = c[starts_run]
        if cycles is None:
            want = firsts
            row = run
        else:
            row = np.searchsorted(want, firsts)[run]
    else:
        if cycles is None:
            want = np.unique(c)
        row = np.searchsorted(want, c)
    # a new segment wherever the record index jumps (e.g. a rest in between) or the cycle changes
    seg = np.empty(c.size, dtype=np.int64)
    seg[0] = 0
    np.cumsum((np.diff(idx) != 1) | chg, out=seg[1:])
    drop = None
    if exclude_cv:
        drop = cv_tail_mask(v, None if cur is None else cur[idx], row=row, cv_tol_mV=cv_tol_mV,
                            _starts=starts_run)
        if drop.sum() > v.size - 2:
            raise AnalysisError("no usable records for dQ/dV in the selected half-cycles")
    v0, h, n, centres = _grid(float(v.min()), float(v.max()), res, grid)
    # records of different segments must not be joined: each segment is a row first
    nseg = int(seg[-1]) + 1
    dens = _density((v - v0) / h, q, seg, nseg, n, drop=drop)
    if nseg != want.size:
        seg_row = np.zeros(nseg, dtype=np.int64)
        seg_row[seg] = row
        out = np.zeros((want.size, n))
        np.add.at(out, seg_row, dens)
        dens = out
    y = _smooth(dens / h, h, res)
    return xr.DataArray(
        y, dims=("cycle", "voltage"),
        coords={"cycle": ("cycle", want), "voltage": ("voltage", centres, {"units": "V", "long_name": "voltage"})},
        name="dqdv",
        attrs={"units": "mAh/V", "long_name": "dQ/dV", "resolution_mV": res, "bin_mV": h * 1e3,
               "direction": "charge" if d > 0 else "discharge"},
    )


def _sorted_unique(c: np.ndarray) -> np.ndarray:
    """np.unique, fast for the usual non-decreasing cycle column."""
    if c.size and np.all(c[1:] >= c[:-1]):
        return c[np.r_[True, c[1:] != c[:-1]]]
    return np.unique(c)


def _select_cycles(available: np.ndarray, cycles) -> np.ndarray:
    if cycles is None:
        return available
    if isinstance(cycles, slice):
        lo = -np.inf if cycles.start is None else cycles.start
        hi = np.inf if cycles.stop is None else cycles.stop
        out = available[(available >= lo) & (available <= hi)]
        return out[:: cycles.step] if cycles.step else out
    want = np.atleast_1d(np.asarray(cycles))
    missing = np.setdiff1d(want, available)
    if missing.size:
        raise AnalysisError(f"cycles: {missing[:10].tolist()} not in the data (available {available.min()}..{available.max()})")
    return np.unique(want)


def dvdq_cycles(ds: xr.Dataset, cycles=None, direction="charge", resolution_mV: float = 5.0,
                **kwargs) -> xr.DataArray:
    """dV/dQ of many half-cycles, as the reciprocal of :func:`dqdv_cycles` against capacity.

    Parameters
    ----------
    ds, cycles, direction, resolution_mV, **kwargs
        As in :func:`dqdv_cycles` (same single smoothing knob).

    Returns
    -------
    xarray.DataArray
        dV/dQ (V/mAh) with dims ``(cycle, voltage)`` and a 2-D coordinate ``capacity`` (mAh,
        capacity passed at each grid voltage); NaN where dQ/dV is below 0.1 % of its maximum.
    """
    g = dqdv_cycles(ds, cycles, direction, resolution_mV, **kwargs)
    y = g.values
    h = float(np.diff(g["voltage"].values[:2])[0])
    qv = np.cumsum(y, axis=1) * h
    if _direction_code(direction) < 0:
        qv = qv[:, -1:] - qv
    floor = 1e-3 * np.nanmax(y, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(y > floor, 1.0 / y, np.nan)
    return xr.DataArray(
        d, dims=g.dims, coords={**g.coords, "capacity": (("cycle", "voltage"), qv, {"units": "mAh"})},
        name="dvdq", attrs={"units": "V/mAh", "long_name": "dV/dQ", "resolution_mV": g.attrs["resolution_mV"]},
    )


# --------------------------------------------------------------------------------------------
# peaks
# --------------------------------------------------------------------------------------------
def _refine(y: np.ndarray, k: np.ndarray, x0: float, h: float):
    """Sub-grid vertex of the peaks at indices ``k`` of rows of ``y`` (Gaussian 3-point fit)."""
    n = y.shape[-1]
    rows = np.arange(y.shape[0])
    km = np.clip(k, 1, n - 2)
    a, b, c = y[rows, km - 1], y[rows, km], y[rows, km + 1]
    pos_ok = (a > 0) & (b > 0) & (c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        la, lb, lc = np.log(np.where(pos_ok, a, 1)), np.log(np.where(pos_ok, b, 1)), np.log(np.where(pos_ok, c, 1))
        den_l = la - 2 * lb + lc
        dl = np.where(pos_ok & (den_l < 0), 0.5 * (la - lc) / den_l, np.nan)
        den = a - 2 * b + c
        dq = np.where(den < 0, 0.5 * (a - c) / den, 0.0)
    use_log = np.isfinite(dl)
    delta = np.clip(np.where(use_log, dl, dq), -0.5, 0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        hl = np.exp(lb - 0.25 * (la - lc) * delta)
    hq = b - 0.25 * (a - c) * delta
    height = np.where(use_log, hl, hq)
    return x0 + h * (km + delta), height


def _refine_fit(y: np.ndarray, k: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: float, h: float,
                frac: float = 0.6):
    """Peak vertex from a least-squares Gaussian (parabola in log y) over the peak's top.

    Uses the contiguous points around index ``k`` above ``frac`` x the maximum, inside [lo, hi];
    much less sensitive to residual noise on a broad, flat-topped peak than a 3-point vertex.
    Falls back to the 3-point vertex where fewer than 4 points qualify.
    """
    n = y.shape[-1]
    rows = np.arange(y.shape[0])
    p3, h3 = _refine(y, k, x0, h)
    top = y[rows, k]
    j = np.arange(n)[None, :]
    lvl = (frac * top)[:, None]
    inside = (j >= lo[:, None]) & (j <= hi[:, None])
    low = (y < lvl) | ~inside
    left = np.where(low & (j < k[:, None]), j, -1).max(axis=1) + 1
    right = np.where(low & (j > k[:, None]), j, n).min(axis=1) - 1
    m = (j >= left[:, None]) & (j <= right[:, None]) & (y > 0)
    cnt = m.sum(axis=1)
    xr_ = np.where(m, (j - k[:, None]).astype(float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.where(m, np.log(np.where(y > 0, y, 1.0)), 0.0)
    mf = m.astype(float)
    S = [(mf * xr_**p).sum(axis=1) for p in range(5)]
    T = [(mf * xr_**p * ly).sum(axis=1) for p in range(3)]
    A = np.stack([np.stack([S[0], S[1], S[2]], -1), np.stack([S[1], S[2], S[3]], -1),
                  np.stack([S[2], S[3], S[4]], -1)], -2)
    B = np.stack(T, -1)
    good = cnt >= 4
    A[~good] = np.eye(3)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        coef = np.linalg.solve(A, B[..., None])[..., 0]
        a, b, c = coef[:, 0], coef[:, 1], coef[:, 2]
        d = -b / (2 * c)
        hfit = np.exp(a - b * b / (4 * c))
    good &= (c < 0) & np.isfinite(d) & (np.abs(d) <= (right - left) / 2 + 1) & np.isfinite(hfit)
    return np.where(good, x0 + h * (k + d), p3), np.where(good, hfit, h3)


def _fwhm(y: np.ndarray, k: np.ndarray, height: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: float, h: float):
    """FWHM (V) around index k of each row, looking only inside [lo, hi]; NaN if not reached."""
    n = y.shape[-1]
    rows = np.arange(y.shape[0])
    j = np.arange(n)[None, :]
    half = (height / 2)[:, None]
    below = y < half
    inside = (j >= lo[:, None]) & (j <= hi[:, None])
    left_c = np.where(below & inside & (j < k[:, None]), j, -1).max(axis=1)
    right_c = np.where(below & inside & (j > k[:, None]), j, n).min(axis=1)
    hh = height / 2
    ok_l = left_c >= 0
    ok_r = right_c < n
    lc = np.clip(left_c, 0, n - 2)
    rc = np.clip(right_c, 1, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        yl0, yl1 = y[rows, lc], y[rows, lc + 1]
        xl = lc + (hh - yl0) / (yl1 - yl0)
        yr0, yr1 = y[rows, rc - 1], y[rows, rc]
        xr_ = rc - 1 + (yr0 - hh) / (yr0 - yr1)
    w = (xr_ - xl) * h
    return np.where(ok_l & ok_r, w, np.nan)


def find_peaks(da: xr.DataArray, prominence: float = 0.05, *, voltage_range=None) -> xr.Dataset:
    """All peaks of one dQ/dV curve above a relative prominence.

    Parameters
    ----------
    da : xarray.DataArray
        dQ/dV (mAh/V) along ``voltage`` (one half-cycle, e.g. from :func:`dqdv`).
    prominence : float, default 0.05
        Minimum prominence as a fraction of the curve's maximum.
    voltage_range : (float, float), optional
        Only report peaks inside this range (V).

    Returns
    -------
    xarray.Dataset
        Over ``peak``: ``position`` (V, sub-grid), ``height`` (mAh/V), ``width`` (V, FWHM),
        ``prominence`` (mAh/V).
    """
    from scipy.signal import find_peaks as _fp

    if "voltage" not in da.dims or da.ndim != 1:
        raise AnalysisError("find_peaks: expected a 1-D dQ/dV DataArray along 'voltage'")
    y = np.nan_to_num(np.asarray(da.values, dtype=float))
    x = np.asarray(da["voltage"].values, dtype=float)
    h = float(x[1] - x[0])
    ymax = float(np.max(np.abs(y))) if y.size else 0.0
    idx, props = _fp(y, prominence=prominence * ymax if ymax > 0 else None)
    if voltage_range is not None:
        m = (x[idx] >= voltage_range[0]) & (x[idx] <= voltage_range[1])
        idx = idx[m]
        props = {k: v[m] for k, v in props.items()}
    yy = np.broadcast_to(y, (idx.size, y.size))
    lo_b = np.zeros(idx.size, int) if not idx.size else np.r_[0, idx[:-1]]
    hi_b = np.full(idx.size, y.size - 1) if not idx.size else np.r_[idx[1:], y.size - 1]
    pos, height = _refine_fit(yy, idx, lo_b, hi_b, x[0], h)
    width = _fwhm(yy, idx, height, np.zeros(idx.size, int), np.full(idx.size, y.size - 1), x[0], h)
    return xr.Dataset(
        {"position": ("peak", pos, {"units": "V"}), "height": ("peak", height, {"units": "mAh/V"}),
         "width": ("peak", width, {"units": "V", "long_name": "FWHM"}),
         "prominence": ("peak", props.get("prominences", np.zeros(idx.size)), {"units": "mAh/V"})},
        coords={"peak": np.arange(idx.size)},
    )


def track_peaks(obj, windows: Sequence[tuple[float, float]], *, cycles=None, direction="charge",
                resolution_mV: float = 5.0, follow: bool = True, names: Sequence[str] | None = None) -> xr.Dataset:
    """Follow redox peaks of dQ/dV across cycles inside user voltage windows.

    For the first cycle each peak is the maximum inside its window. With ``follow=True`` the
    window then moves with the peak: for cycle n it is re-centred (same width) on the position
    found in the previous cycle, so a peak that drifts out of its original window is still
    followed. A maximum lying on the window's edge is not a peak (``is_peak`` False) and does not
    move the window.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        dQ/dV with dims ``(cycle, voltage)`` (from :func:`dqdv_cycles`), or a ``cycling``
        dataset from which it is computed.
    windows : sequence of (float, float)
        Voltage windows (V), one per peak.
    cycles, direction, resolution_mV
        Passed to :func:`dqdv_cycles` when ``obj`` is a dataset.
    follow : bool, default True
        Let the windows drift with the peaks.
    names : sequence of str, optional
        Labels of the peaks (default ``"p0"``, ``"p1"``...).

    Returns
    -------
    xarray.Dataset
        Over ``(cycle, peak)``: ``position`` (V), ``height`` (mAh/V), ``width`` (V, FWHM, NaN
        when the half maximum is not reached within one window-width beyond the window),
        ``area`` (mAh, capacity passed inside the window), ``window_lo``/``window_hi`` (V) and ``is_peak`` (bool).
    """
    if isinstance(obj, xr.Dataset):
        da = dqdv_cycles(obj, cycles, direction, resolution_mV)
    elif isinstance(obj, xr.DataArray):
        da = obj
        if da.ndim == 1 and "voltage" in da.dims:
            da = da.expand_dims(cycle=[0])
    else:
        raise AnalysisError(f"track_peaks: expected a dQ/dV DataArray or a cycling Dataset, got {type(obj).__name__}")
    if set(da.dims) != {"cycle", "voltage"}:
        raise AnalysisError(f"track_peaks: dQ/dV must have dims (cycle, voltage), has {da.dims}")
    da = da.transpose("cycle", "voltage")
    win = np.asarray(windows, dtype=float).reshape(-1, 2)
    if win.size == 0 or np.any(win[:, 1] <= win[:, 0]):
        raise AnalysisError(f"windows: expected (v_lo, v_hi) pairs with v_lo < v_hi (V), got {windows!r}")
    y = np.nan_to_num(np.asarray(da.values, dtype=float))
    x = np.asarray(da["voltage"].values, dtype=float)
    h = float(x[1] - x[0])
    x0 = float(x[0])
    nc, n = y.shape
    npk = win.shape[0]
    half_n = np.maximum(np.round((win[:, 1] - win[:, 0]) / (2 * h)).astype(np.int64), 1)
    c0 = np.clip(np.round((win.mean(axis=1) - x0) / h).astype(np.int64), 0, n - 1)
    if not follow:
        lo_i = np.broadcast_to(np.clip(c0 - half_n, 0, n - 1), (nc, npk)).copy()
        hi_i = np.broadcast_to(np.clip(c0 + half_n, 0, n - 1), (nc, npk)).copy()
    else:
        lo_i = np.empty((nc, npk), dtype=np.int64)
        hi_i = np.empty((nc, npk), dtype=np.int64)
        for p in range(npk):  # cheap scalar loop: one slice argmax per cycle and peak
            c, hw = int(c0[p]), int(half_n[p])
            lo_col, hi_col = lo_i[:, p], hi_i[:, p]
            for ic in range(nc):
                lo, hi = max(c - hw, 0), min(c + hw, n - 1)
                lo_col[ic], hi_col[ic] = lo, hi
                row = y[ic, lo:hi + 1]
                kk = int(row.argmax())
                if 0 < kk < hi - lo and row[kk] > 0:
                    c = lo + kk
    # local windows: (nc * npk, W) slices around each window
    W = int(2 * half_n.max() + 1)
    lo_f, hi_f = lo_i.reshape(-1), hi_i.reshape(-1)
    cols = np.clip(lo_f[:, None] + np.arange(W)[None, :], 0, n - 1)
    rows = np.repeat(np.arange(nc), npk)
    yy = y[rows[:, None], cols]
    wlen = hi_f - lo_f
    valid = np.arange(W)[None, :] <= wlen[:, None]
    k = np.where(valid, yy, -np.inf).argmax(axis=1)
    zeros = np.zeros_like(k)
    pos, height = _refine_fit(yy, k, zeros, wlen, x0, h)
    pos = pos + h * lo_f
    # half-maximum crossings may lie outside a narrow window: look up to one window-width further
    kg = k + lo_f
    width = _fwhm(y[rows], kg, height, np.clip(lo_f - wlen, 0, n - 1), np.clip(hi_f + wlen, 0, n - 1), 0.0, h)
    area = np.where(valid, yy, 0.0).sum(axis=1) * h
    rr = np.arange(yy.shape[0])
    is_peak = (k > 0) & (k < wlen) & (yy[rr, k] > 0)
    shape = (nc, npk)
    names = list(names) if names is not None else [f"p{i}" for i in range(npk)]
    if len(names) != npk:
        raise AnalysisError(f"names: {len(names)} names for {npk} windows")
    return xr.Dataset(
        {
            "position": (("cycle", "peak"), pos.reshape(shape), {"units": "V", "long_name": "peak position"}),
            "height": (("cycle", "peak"), height.reshape(shape), {"units": "mAh/V", "long_name": "peak height"}),
            "width": (("cycle", "peak"), width.reshape(shape), {"units": "V", "long_name": "peak FWHM"}),
            "area": (("cycle", "peak"), area.reshape(shape), {"units": "mAh", "long_name": "capacity in the window"}),
            "window_lo": (("cycle", "peak"), x0 + h * lo_i - h / 2, {"units": "V"}),
            "window_hi": (("cycle", "peak"), x0 + h * hi_i + h / 2, {"units": "V"}),
            "is_peak": (("cycle", "peak"), is_peak.reshape(shape)),
        },
        coords={"cycle": da["cycle"].values, "peak": names},
        attrs={"follow": int(follow), "resolution_mV": da.attrs.get("resolution_mV", np.nan),
               "direction": da.attrs.get("direction", "")},
    )
