"""Electrochemical lab analyses of the studies.

* :func:`critical_current_density` - critical current density (CCD) of a Li | SE | Li symmetric
  cell from a stepped plating/stripping test (study S3: steps of 0.1 mA/cm2, 1 h plating and
  1 h stripping each); :func:`simulate_ccd_test` makes such a test with a short at a known step.
* :func:`diffusion_coefficient_randles_sevcik` - apparent Li+ diffusion coefficient from CV peak
  currents against the square root of the scan rate (study S4).
* :func:`electronic_conductivity` - electronic conductivity from DC polarisation of a pellet
  between ion-blocking electrodes (study S5), with :func:`steady_state_current`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import xarray as xr

from analysis.errors import AnalysisError

__all__ = [
    "FARADAY",
    "GAS_CONSTANT",
    "RANDLES_SEVCIK_CONSTANT",
    "CCDResult",
    "critical_current_density",
    "ccd_from_dataset",
    "simulate_ccd_test",
    "DiffusionResult",
    "diffusion_coefficient_randles_sevcik",
    "ElectronicConductivityResult",
    "electronic_conductivity",
    "electronic_conductivity_dataset",
    "steady_state_current",
]

#: Faraday constant, C/mol (CODATA 2018, exact).
FARADAY = 96485.33212
#: Molar gas constant, J/(mol K) (CODATA 2018, exact).
GAS_CONSTANT = 8.314462618
#: Dimensionless Randles-Sevcik constant of a reversible wave (Nicholson & Shain 1964):
#: ``i_p = 0.4463 * n F A C sqrt(n F v D / (R T))``; at 298.15 K this is the familiar
#: ``2.69e5 * n**1.5 * A * C * sqrt(D * v)`` (A in cm2, C in mol/cm3, D in cm2/s, v in V/s, i in A).
RANDLES_SEVCIK_CONSTANT = 0.4463


def _vec(value, name, *, positive=False, min_len=1):
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} must be numeric, got {type(value).__name__}") from exc
    a = np.atleast_1d(a)
    if a.ndim != 1:
        raise AnalysisError(f"{name} must be one-dimensional, got shape {a.shape}")
    if a.size < min_len:
        raise AnalysisError(f"{name} needs at least {min_len} values, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise AnalysisError(f"{name} contains NaN or infinite values")
    if positive and np.any(a <= 0):
        raise AnalysisError(f"{name} must be positive")
    return a


def _scalar(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} must be a number, got {value!r}") from exc
    if not np.isfinite(v) or v <= 0:
        raise AnalysisError(f"{name} must be a positive finite number, got {value!r}")
    return v


# ------------------------------------------------------------------------------- CCD


@dataclass(frozen=True)
class CCDResult:
    """Critical current density of a stepped symmetric-cell test.

    Attributes
    ----------
    ccd_mA_cm2 : float
        Current density of the last step completed without a short, mA/cm2. If no short is
        found it is the last step tested (a lower bound: see ``shorted``); NaN if the cell
        shorted during the first step.
    shorted : bool
        Whether a short was detected.
    short_step : int or None
        Index (0-based) of the step during which the cell shorted.
    short_time_s : float or None
        Time of the short, s.
    short_current_mA_cm2 : float or None
        Current density of the shorting step, mA/cm2.
    step_current_mA_cm2 : ndarray
        Current density of each step, mA/cm2.
    step_polarisation_V : ndarray
        Plateau polarisation (median of ``V*sign(j)`` over the last half of each half-cycle,
        averaged over plating and stripping) of each step, V.
    step_asr_ohm_cm2 : ndarray
        Area-specific resistance ``polarisation / j`` of each step, ohm cm2.
    step_start_s, step_end_s : ndarray
        Time span of each step, s.
    criterion : str
        Which criterion flagged the short ("collapse" or "dV/dt") or "none".
    """

    ccd_mA_cm2: float
    shorted: bool
    short_step: int | None
    short_time_s: float | None
    short_current_mA_cm2: float | None
    step_current_mA_cm2: np.ndarray
    step_polarisation_V: np.ndarray
    step_asr_ohm_cm2: np.ndarray
    step_start_s: np.ndarray
    step_end_s: np.ndarray
    criterion: str = "none"

    def as_dict(self) -> dict:
        """JSON-friendly dictionary."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Centred running median of odd ``width`` (edges use the available samples)."""
    if width <= 1 or x.size < 3:
        return x
    w = min(int(width) | 1, x.size if x.size % 2 else x.size - 1)
    h = w // 2
    pad = np.pad(x, h, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, w), axis=1)


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start/stop (exclusive) indices of the runs of True in ``mask``."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def critical_current_density(time_s, voltage_V, current_density_mA_cm2=None, *,
                             step_current_mA_cm2: Sequence[float] | None = None,
                             half_period_s: float | None = None, start_s: float = 0.0,
                             collapse_fraction: float = 0.5, drop_fraction: float = 0.5,
                             drop_window_s: float | None = None, min_points: int = 3,
                             smooth_points: int = 5, rel_tol: float = 0.02) -> CCDResult:
    """Critical current density from a stepped Li | SE | Li plating/stripping test.

    The test applies current-density steps ``j_k`` (e.g. 0.1, 0.2, ... mA/cm2), each as a
    plating half-cycle (+j) followed by a stripping half-cycle (-j). A Li short shows as the
    polarisation ``p = V * sign(j)`` collapsing well below what the step should show. For each
    half-cycle the reference polarisation is the larger of (a) the running maximum of ``p``
    within the half-cycle and (b) the polarisation of the previous step's half-cycle at the
    same time into the half (a higher current never lowers the polarisation of a healthy cell,
    whatever the interface kinetics). ``p`` is smoothed by a running median first. A short is flagged at the first of ``min_points``
    consecutive samples with ``p < collapse_fraction * reference`` ("collapse"), or where ``p``
    drops by more than ``drop_fraction`` of the reference within ``drop_window_s`` ("dV/dt").
    The CCD is the current density of the last step completed without a short.

    Parameters
    ----------
    time_s : array_like
        Test time, s (increasing).
    voltage_V : array_like
        Cell voltage, V (sign follows the current).
    current_density_mA_cm2 : array_like, optional
        Applied current density at each sample, mA/cm2 (positive = plating on the working
        electrode, negative = stripping, 0 = rest). Alternatively give the step table below.
    step_current_mA_cm2 : sequence of float, optional
        Step table: the current density of each step, mA/cm2, applied as +j for
        ``half_period_s`` then -j for ``half_period_s``, starting at ``start_s``.
    half_period_s : float, optional
        Duration of each plating (and each stripping) half-cycle, s (3600 for S3's protocol).
    start_s : float, default 0
        Time at which the first step starts, s.
    collapse_fraction : float, default 0.5
        A half-cycle polarisation below this fraction of its reference counts as a short.
    drop_fraction : float, default 0.5
        Fractional drop within ``drop_window_s`` that counts as a sharp negative dV/dt.
    drop_window_s : float, optional
        Window of the dV/dt criterion, s (default 2 % of the median half-cycle).
    min_points : int, default 3
        Consecutive samples needed to confirm a collapse (noise immunity).
    smooth_points : int, default 5
        Width of the running median applied to the polarisation before the tests; a drop must
        also exceed ``12 / sqrt(smooth_points)`` times the (robustly estimated) voltage noise.
    rel_tol : float, default 0.02
        Relative tolerance used to group samples of the same |j| into one step.

    Returns
    -------
    CCDResult
        CCD, step of the short and per-step polarisation / ASR.

    Raises
    ------
    AnalysisError
        Arrays of different lengths, NaN, non-increasing time, no current, bad parameters.
    """
    t = _vec(time_s, "time_s", min_len=4)
    v = _vec(voltage_V, "voltage_V", min_len=4)
    if t.size != v.size:
        raise AnalysisError(f"time_s ({t.size}) and voltage_V ({v.size}) differ in length")
    if np.any(np.diff(t) <= 0):
        raise AnalysisError("time_s must be strictly increasing")
    if not 0 < collapse_fraction < 1 or not 0 < drop_fraction < 1:
        raise AnalysisError("collapse_fraction and drop_fraction must lie in (0, 1)")
    if current_density_mA_cm2 is not None:
        j = _vec(current_density_mA_cm2, "current_density_mA_cm2")
        if j.size != t.size:
            raise AnalysisError(
                f"current_density_mA_cm2 ({j.size}) and time_s ({t.size}) differ in length")
    elif step_current_mA_cm2 is not None:
        steps = _vec(step_current_mA_cm2, "step_current_mA_cm2", positive=True)
        hp = _scalar(half_period_s, "half_period_s")
        k = np.floor((t - start_s) / hp).astype(int)
        j = np.zeros_like(t)
        ok = (t >= start_s) & (k < 2 * steps.size)
        j[ok] = steps[k[ok] // 2] * np.where(k[ok] % 2 == 0, 1.0, -1.0)
    else:
        raise AnalysisError("give current_density_mA_cm2 or step_current_mA_cm2 + half_period_s")

    aj = np.abs(j)
    active = aj > 0
    if not np.any(active):
        raise AnalysisError("current_density_mA_cm2 is zero everywhere: no steps to analyse")
    # group consecutive non-zero samples of the same |j| into steps (rests inside a step allowed)
    step_id = np.full(t.size, -1)
    levels: list[float] = []
    cur = -1
    for i in np.flatnonzero(active):
        if cur < 0 or abs(aj[i] - levels[cur]) > rel_tol * levels[cur]:
            levels.append(float(aj[i]))
            cur += 1
        step_id[i] = cur
    n_steps = len(levels)
    # half-cycles: runs of constant sign of j within a step
    sign = np.sign(j)
    halves: list[tuple[int, int, int]] = []  # (step, start, stop)
    for s in range(n_steps):
        for sgn in (1.0, -1.0):
            for a, b in _segments((step_id == s) & (sign == sgn)):
                halves.append((s, a, b))
    halves.sort(key=lambda h: h[1])
    durations = [t[b - 1] - t[a] for _, a, b in halves if b - a > 1]
    if drop_window_s is None:
        drop_window_s = 0.02 * (np.median(durations) if durations else 1.0)

    # white-noise level of the voltage (robust, from sample-to-sample differences)
    dv = np.diff(v)[np.diff(step_id) == 0]
    noise = 1.4826 * float(np.median(np.abs(dv))) / np.sqrt(2.0) if dv.size else 0.0
    pol = np.full((n_steps, 2), np.nan)
    step_start = np.array([t[step_id == s][0] for s in range(n_steps)])
    step_end = np.array([t[step_id == s][-1] for s in range(n_steps)])
    short_step = short_time = None
    criterion = "none"
    prev = None  # (step, time into half, polarisation) of the last passed half-cycle
    for s, a, b in halves:
        p = _running_median(v[a:b] * sign[a], smooth_points)
        tt = t[a:b]
        # a real collapse must exceed the extreme-value spread of the smoothed noise
        margin = 12.0 * noise / np.sqrt(max(smooth_points, 1))
        # a higher current never lowers the polarisation of a healthy cell: the previous
        # passed half-cycle, at the same time into the half, is a floor of what to expect
        expected = 0.0
        if prev is not None and s > prev[0]:
            expected = np.interp(tt - tt[0], prev[1], prev[2])
        running = np.maximum.accumulate(p)
        ref = np.maximum(running, expected)
        low = (p < collapse_fraction * ref) & (ref - p > margin)
        hit = None
        if low.size >= min_points:
            run = np.convolve(low.astype(int), np.ones(min_points, int), "valid") == min_points
            idx = np.flatnonzero(run)
            if idx.size and ref[idx[0]] > 0:
                hit, crit = idx[0], "collapse"
        # sharp negative dV/dt: p falls by drop_fraction * ref within drop_window_s
        back = np.searchsorted(tt, tt - drop_window_s)
        drop = running[np.maximum(back, 0)] - p
        didx = np.flatnonzero((drop > drop_fraction * ref) & (drop > margin) & (ref > 0)
                              & (np.arange(p.size) > 0))
        if didx.size and (hit is None or didx[0] < hit):
            hit, crit = didx[0], "dV/dt"
        if hit is not None:
            short_step, short_time, criterion = s, float(tt[hit]), crit
            break
        prev = (s, tt - tt[0], p) if prev is None or s > prev[0] or sign[a] > 0 else prev
        tail = p[p.size // 2:] if p.size > 1 else p
        col = 0 if sign[a] > 0 else 1
        pol[s, col] = float(np.median(tail))

    cnt = np.isfinite(pol).sum(axis=1)
    step_pol = np.where(cnt > 0, np.nansum(pol, axis=1) / np.maximum(cnt, 1), np.nan)
    levels_a = np.round(np.asarray(levels), 9)
    with np.errstate(invalid="ignore"):
        asr_steps = step_pol / levels_a * 1000.0  # V / (mA/cm2) -> ohm cm2
    if short_step is None:
        ccd = float(levels_a[-1])
    elif short_step == 0:
        ccd = float("nan")
    else:
        ccd = float(levels_a[short_step - 1])
    return CCDResult(
        ccd_mA_cm2=ccd, shorted=short_step is not None,
        short_step=None if short_step is None else int(short_step),
        short_time_s=short_time,
        short_current_mA_cm2=None if short_step is None else float(levels_a[short_step]),
        step_current_mA_cm2=levels_a, step_polarisation_V=step_pol,
        step_asr_ohm_cm2=asr_steps, step_start_s=step_start, step_end_s=step_end,
        criterion=criterion,
    )


def ccd_from_dataset(ds: xr.Dataset, area_cm2: float | None = None, **kwargs) -> CCDResult:
    """:func:`critical_current_density` of a ``cycling`` dataset of a symmetric cell.

    Parameters
    ----------
    ds : xarray.Dataset
        ``cycling`` kind: ``time`` (s), ``voltage`` (V), ``current`` (mA).
    area_cm2 : float, optional
        Electrode area, cm2; default the dataset's ``area_cm2`` attribute.
    **kwargs
        Passed to :func:`critical_current_density`.

    Returns
    -------
    CCDResult
    """
    for name in ("time", "voltage", "current"):
        if name not in ds:
            raise AnalysisError(f"dataset has no '{name}' variable (cycling kind expected)")
    area = area_cm2 if area_cm2 is not None else ds.attrs.get("area_cm2")
    if area is None:
        raise AnalysisError("electrode area unknown: pass area_cm2 or set the area_cm2 attribute")
    area = _scalar(area, "area_cm2")
    return critical_current_density(ds["time"].values, ds["voltage"].values,
                                    ds["current"].values / area, **kwargs)


def simulate_ccd_test(*, j0_mA_cm2: float = 0.1, dj_mA_cm2: float = 0.1, n_steps: int = 20,
                      half_period_s: float = 3600.0, sample_interval_s: float = 10.0,
                      ohmic_asr_ohm_cm2: float = 25.0, interface_asr_ohm_cm2: float = 15.0,
                      interface_tau_s: float = 300.0, exchange_current_mA_cm2: float | None = None,
                      short_step: int | None = 15, short_fraction: float = 0.4,
                      short_asr_ohm_cm2: float = 1.0, noise_V: float = 2e-4,
                      area_cm2: float = 0.636, seed: int = 0) -> xr.Dataset:
    """Simulate a stepped Li | SE | Li critical-current-density test (clearly synthetic).

    Step k applies ``j_k = j0 + k*dj`` for ``half_period_s`` (plating) and ``-j_k`` for
    ``half_period_s`` (stripping). The polarisation is ohmic (``j * ohmic_asr``) plus an
    interfacial term that charges with time constant ``interface_tau_s`` towards
    ``j * interface_asr`` (or, if ``exchange_current_mA_cm2`` is given, a symmetric
    Butler-Volmer overpotential ``2RT/F * asinh(j / (2 j_ex))``). At ``short_fraction`` of the
    plating half of step ``short_step`` the cell shorts: from then on ``V = j * short_asr``.

    Parameters
    ----------
    j0_mA_cm2, dj_mA_cm2 : float
        First current density and increment, mA/cm2 (S3: 0.1 and 0.1).
    n_steps : int
        Number of steps.
    half_period_s : float
        Duration of each plating and each stripping half, s (S3: 3600).
    sample_interval_s : float
        Sampling interval, s.
    ohmic_asr_ohm_cm2, interface_asr_ohm_cm2 : float
        Area-specific resistances, ohm cm2.
    interface_tau_s : float
        Time constant of the interfacial polarisation, s.
    exchange_current_mA_cm2 : float, optional
        Exchange current density for a Butler-Volmer interface, mA/cm2.
    short_step : int or None
        0-based index of the step that shorts; None for no short.
    short_fraction : float
        Where in the plating half-cycle the short happens (0..1).
    short_asr_ohm_cm2 : float
        Area-specific resistance of the shorted cell, ohm cm2.
    noise_V : float
        Gaussian voltage noise, V.
    area_cm2 : float
        Electrode area, cm2 (9 mm Li foil: 0.636).
    seed : int
        Random seed.

    Returns
    -------
    xarray.Dataset
        ``cycling``-kind dataset along ``record``: ``time`` (s), ``voltage`` (V), ``current``
        (mA), ``capacity`` (mAh within the half-cycle), ``cycle`` (step number, 1-based),
        ``step``, ``direction`` (+1 plating, -1 stripping) and ``current_density`` (mA/cm2);
        attributes record the truth (``true_ccd_mA_cm2``, ``true_short_step``) and
        ``synthetic = 1``.
    """
    if n_steps < 1 or half_period_s <= 0 or sample_interval_s <= 0:
        raise AnalysisError("n_steps, half_period_s and sample_interval_s must be positive")
    if short_step is not None and not 0 <= short_step < n_steps:
        raise AnalysisError(f"short_step {short_step} outside 0..{n_steps - 1}")
    rng = np.random.default_rng(seed)
    n_half = int(round(half_period_s / sample_interval_s))
    tau_local = (np.arange(n_half) + 1) * sample_interval_s
    kT_F = GAS_CONSTANT * 298.15 / FARADAY
    times, volts, jd, cyc, stp, dirs, caps = [], [], [], [], [], [], []
    shorted = False
    for k in range(n_steps):
        jk = j0_mA_cm2 + k * dj_mA_cm2
        for h, sgn in enumerate((1.0, -1.0)):
            t0 = (2 * k + h) * half_period_s
            if exchange_current_mA_cm2:
                eta_ss = 2 * kT_F * np.arcsinh(jk / (2 * exchange_current_mA_cm2))
            else:
                eta_ss = jk * 1e-3 * interface_asr_ohm_cm2
            p = jk * 1e-3 * ohmic_asr_ohm_cm2 + eta_ss * (1 - np.exp(-tau_local / interface_tau_s))
            if short_step is not None and k == short_step and h == 0:
                ts = short_fraction * half_period_s
                p = np.where(tau_local >= ts, jk * 1e-3 * short_asr_ohm_cm2, p)
                shorted = True
            elif shorted:
                p = np.full_like(p, jk * 1e-3 * short_asr_ohm_cm2)
            times.append(t0 + tau_local)
            volts.append(sgn * p + rng.normal(0.0, noise_V, n_half))
            jd.append(np.full(n_half, sgn * jk))
            cyc.append(np.full(n_half, k + 1))
            stp.append(np.full(n_half, 2 * k + h + 1))
            dirs.append(np.full(n_half, int(sgn)))
            caps.append(jk * area_cm2 * tau_local / 3600.0)
    j_all = np.concatenate(jd)
    ds = xr.Dataset(
        {
            "time": ("record", np.concatenate(times), {"units": "s"}),
            "voltage": ("record", np.concatenate(volts), {"units": "V"}),
            "current": ("record", j_all * area_cm2, {"units": "mA"}),
            "capacity": ("record", np.concatenate(caps), {"units": "mAh"}),
            "cycle": ("record", np.concatenate(cyc)),
            "step": ("record", np.concatenate(stp)),
            "direction": ("record", np.concatenate(dirs)),
            "current_density": ("record", j_all, {"units": "mA/cm2"}),
        },
        attrs={
            "synthetic": 1,
            "description": "simulated stepped Li|SE|Li critical-current-density test",
            "area_cm2": area_cm2,
            "true_short_step": -1 if short_step is None else int(short_step),
            "true_ccd_mA_cm2": (float("nan") if short_step == 0 else round(
                j0_mA_cm2 + ((n_steps if short_step is None else short_step) - 1) * dj_mA_cm2, 9)),
        },
    )
    return ds


# ------------------------------------------------------------------------ diffusion


@dataclass(frozen=True)
class DiffusionResult:
    """Li+ diffusion coefficient from Randles-Sevcik analysis.

    Attributes
    ----------
    D_cm2_s : float
        Apparent diffusion coefficient, cm2/s.
    D_stderr_cm2_s : float
        Standard error of D from the slope's standard error (``2 D s_slope / slope``), cm2/s.
    slope_A_s05_V05 : float
        Slope of |i_p| against sqrt(v), A / (V/s)**0.5.
    slope_stderr : float
        Its standard error.
    intercept_A : float
        Intercept, A (0 when fitted through the origin).
    r_squared : float
        Coefficient of determination of the line.
    n_points : int
        Number of scan rates.
    constant : float
        ``0.4463 * n F * sqrt(n F / (R T))``-based prefactor actually used, A s**0.5 / (V**0.5
        cm mol): ``i_p = constant * A * C * sqrt(D v)``; 2.69e5 * n**1.5 at 298.15 K.
    """

    D_cm2_s: float
    D_stderr_cm2_s: float
    slope_A_s05_V05: float
    slope_stderr: float
    intercept_A: float
    r_squared: float
    n_points: int
    constant: float


def diffusion_coefficient_randles_sevcik(scan_rates_V_s, peak_currents_A, n_electrons, area_cm2,
                                         concentration_mol_cm3, temperature_K=298.15, *,
                                         through_origin: bool = False) -> DiffusionResult:
    """Apparent diffusion coefficient from CV peak currents (Randles-Sevcik).

    For a reversible, diffusion-limited wave ``i_p = 0.4463 n F A C sqrt(n F v D / (R T))``
    (i_p in A, A in cm2, C in mol/cm3, v in V/s, D in cm2/s, F = 96485.33 C/mol,
    R = 8.314 J/(mol K)); at 298.15 K the prefactor is ``2.69e5 * n**1.5``. The slope of
    |i_p| against sqrt(v) gives ``D = (slope / (0.4463 n F A C))**2 * R T / (n F)``. For
    composite solid-state electrodes A and C are ill-defined (geometric area, Li
    concentration in the active material), so D is an *apparent* value for comparisons.

    Parameters
    ----------
    scan_rates_V_s : array_like
        Scan rates, V/s (0.1 mV/s = 1e-4 V/s).
    peak_currents_A : array_like
        Peak currents, A; cathodic (negative) peaks are used by magnitude, but all must have the
        same sign.
    n_electrons : float
        Electrons transferred per molecule.
    area_cm2 : float
        Electrode area, cm2.
    concentration_mol_cm3 : float
        Concentration of the diffusing species, mol/cm3.
    temperature_K : float, default 298.15
        Temperature, K.
    through_origin : bool, default False
        Force the line through the origin (the ideal Randles-Sevcik law); by default an
        intercept absorbs a constant baseline offset.

    Returns
    -------
    DiffusionResult
        D (cm2/s) with its standard error and the fit.

    Raises
    ------
    AnalysisError
        Mismatched lengths, too few points (2 through the origin, 3 with intercept), mixed
        signs, non-positive scan rates/area/concentration, a non-positive slope.
    """
    v = _vec(scan_rates_V_s, "scan_rates_V_s", positive=True)
    ip = _vec(peak_currents_A, "peak_currents_A")
    if v.size != ip.size:
        raise AnalysisError(f"scan_rates_V_s ({v.size}) and peak_currents_A ({ip.size}) differ in length")
    need = 2 if through_origin else 3
    if v.size < need:
        raise AnalysisError(f"need at least {need} scan rates for a slope with a standard error, got {v.size}")
    if not (np.all(ip > 0) or np.all(ip < 0)):
        raise AnalysisError("peak_currents_A mix signs (anodic and cathodic peaks): analyse them separately")
    n = _scalar(n_electrons, "n_electrons")
    A = _scalar(area_cm2, "area_cm2")
    C = _scalar(concentration_mol_cm3, "concentration_mol_cm3")
    T = _scalar(temperature_K, "temperature_K")
    x = np.sqrt(v)
    y = np.abs(ip)
    if through_origin:
        slope = float(x @ y / (x @ x))
        intercept = 0.0
        resid = y - slope * x
        dof = x.size - 1
        s2 = float(resid @ resid) / dof if dof > 0 else 0.0
        slope_se = float(np.sqrt(s2 / (x @ x)))
        ss_tot = float(y @ y)
    else:
        X = np.column_stack([x, np.ones_like(x)])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        slope, intercept = float(coef[0]), float(coef[1])
        resid = y - X @ coef
        dof = x.size - 2
        s2 = float(resid @ resid) / dof
        cov = s2 * np.linalg.inv(X.T @ X)
        slope_se = float(np.sqrt(cov[0, 0]))
        ss_tot = float(((y - y.mean()) ** 2).sum())
    if slope <= 0:
        raise AnalysisError("|peak current| does not increase with sqrt(scan rate): no diffusion slope")
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 1.0
    const = RANDLES_SEVCIK_CONSTANT * n * FARADAY * np.sqrt(n * FARADAY / (GAS_CONSTANT * T))
    D = (slope / (const * A * C)) ** 2
    return DiffusionResult(D_cm2_s=float(D), D_stderr_cm2_s=float(2 * D * slope_se / slope),
                           slope_A_s05_V05=slope, slope_stderr=slope_se, intercept_A=intercept,
                           r_squared=r2, n_points=int(x.size), constant=float(const))


# ----------------------------------------------------------- electronic conductivity


@dataclass(frozen=True)
class ElectronicConductivityResult:
    """Electronic conductivity from DC polarisation.

    Attributes
    ----------
    sigma_S_cm : float
        Electronic conductivity, S/cm.
    sigma_stderr_S_cm : float
        Standard error (from the slope; NaN for a single voltage), S/cm.
    resistance_ohm : float
        Electronic resistance (1/slope of I_ss against V), ohm.
    intercept_A : float
        Intercept of the I-V line, A (0 through the origin).
    n_points : int
        Number of voltages.
    method : str
        "single point" or "slope".
    """

    sigma_S_cm: float
    sigma_stderr_S_cm: float
    resistance_ohm: float
    intercept_A: float
    n_points: int
    method: str


def steady_state_current(time_s, current_A, *, tail_fraction: float = 0.1) -> float:
    """Steady-state current of a chronoamperometric DC-polarisation record.

    Parameters
    ----------
    time_s : array_like
        Time, s (increasing).
    current_A : array_like
        Current, A.
    tail_fraction : float, default 0.1
        Fraction of the record (by time, at its end) averaged as the steady state.

    Returns
    -------
    float
        Mean current over the last ``tail_fraction`` of the record, A.
    """
    t = _vec(time_s, "time_s", min_len=2)
    i = _vec(current_A, "current_A", min_len=2)
    if t.size != i.size:
        raise AnalysisError(f"time_s ({t.size}) and current_A ({i.size}) differ in length")
    if np.any(np.diff(t) <= 0):
        raise AnalysisError("time_s must be strictly increasing")
    if not 0 < tail_fraction <= 1:
        raise AnalysisError(f"tail_fraction must lie in (0, 1], got {tail_fraction!r}")
    cut = t[-1] - tail_fraction * (t[-1] - t[0])
    return float(i[t >= cut].mean())


def electronic_conductivity(voltages_V, steady_currents_A, thickness_cm, area_cm2, *,
                            through_origin: bool = True) -> ElectronicConductivityResult:
    """Electronic conductivity of a pellet from DC polarisation (ion-blocking electrodes).

    One voltage: ``sigma_e = t * I_ss / (V * A)``. Several voltages: ``sigma_e = t/A * slope``
    of I_ss against V (more robust to offsets), fitted through the origin by default.

    Parameters
    ----------
    voltages_V : float or array_like
        Applied DC voltages, V.
    steady_currents_A : float or array_like
        Steady-state currents, A (:func:`steady_state_current`).
    thickness_cm : float
        Pellet thickness, cm.
    area_cm2 : float
        Electrode area, cm2.
    through_origin : bool, default True
        Fit I = V/R without an intercept.

    Returns
    -------
    ElectronicConductivityResult
        sigma_e in S/cm with its standard error.
    """
    V = _vec(voltages_V, "voltages_V")
    I = _vec(steady_currents_A, "steady_currents_A")
    if V.size != I.size:
        raise AnalysisError(f"voltages_V ({V.size}) and steady_currents_A ({I.size}) differ in length")
    if np.any(V == 0):
        raise AnalysisError("voltages_V contains 0 V: no polarisation")
    L = _scalar(thickness_cm, "thickness_cm")
    A = _scalar(area_cm2, "area_cm2")
    if V.size == 1:
        g = float(I[0] / V[0])
        se, b, method = float("nan"), 0.0, "single point"
    elif through_origin:
        g = float(V @ I / (V @ V))
        r = I - g * V
        se = float(np.sqrt((r @ r) / (V.size - 1) / (V @ V)))
        b, method = 0.0, "slope"
    else:
        if V.size < 3:
            raise AnalysisError("need at least 3 voltages for a slope with an intercept")
        X = np.column_stack([V, np.ones_like(V)])
        coef, *_ = np.linalg.lstsq(X, I, rcond=None)
        g, b = float(coef[0]), float(coef[1])
        r = I - X @ coef
        se = float(np.sqrt((r @ r) / (V.size - 2) * np.linalg.inv(X.T @ X)[0, 0]))
        method = "slope"
    if g <= 0:
        raise AnalysisError("steady-state current does not increase with voltage: no conductance")
    return ElectronicConductivityResult(sigma_S_cm=g * L / A, sigma_stderr_S_cm=se * L / A,
                                        resistance_ohm=1.0 / g, intercept_A=b,
                                        n_points=int(V.size), method=method)


def electronic_conductivity_dataset(ds: xr.Dataset, *, current_var: str = "current_ss",
                                    voltage_dim: str = "voltage",
                                    through_origin: bool = True) -> xr.Dataset:
    """Electronic conductivity of every sample of a DC-polarisation dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Steady-state currents ``current_var`` (A) along ``voltage_dim`` (coordinate in V), and
        any other dimension (e.g. ``sample``); ``thickness_cm`` and ``area_cm2`` as coordinates
        or attributes.
    current_var : str, default "current_ss"
        Name of the steady-state current variable (A).
    voltage_dim : str, default "voltage"
        Dimension of the applied voltages (V).
    through_origin : bool, default True
        See :func:`electronic_conductivity`.

    Returns
    -------
    xarray.Dataset
        ``sigma_e`` and ``sigma_e_stderr`` (S/cm) over the remaining dimensions.
    """
    if current_var not in ds:
        raise AnalysisError(f"dataset has no steady-state current variable {current_var!r}")
    da = ds[current_var]
    if voltage_dim not in da.dims:
        raise AnalysisError(f"{current_var!r} has no dimension {voltage_dim!r}")
    geo = {}
    for g in ("thickness_cm", "area_cm2"):
        if g in ds.coords or g in ds.data_vars:
            geo[g] = ds[g]
        elif g in ds.attrs:
            geo[g] = xr.DataArray(float(ds.attrs[g]))
        else:
            raise AnalysisError(f"dataset lacks {g} (coordinate or attribute)")
    V = ds[voltage_dim].values
    stacked = da.transpose(..., voltage_dim)
    others = [d for d in stacked.dims if d != voltage_dim]
    flat = stacked.values.reshape(-1, V.size)
    th = np.broadcast_to(geo["thickness_cm"].broadcast_like(stacked.isel({voltage_dim: 0})).values,
                         stacked.shape[:-1]).ravel()
    ar = np.broadcast_to(geo["area_cm2"].broadcast_like(stacked.isel({voltage_dim: 0})).values,
                         stacked.shape[:-1]).ravel()
    sig = np.empty(flat.shape[0])
    se = np.empty(flat.shape[0])
    for i, row in enumerate(flat):
        r = electronic_conductivity(V, row, th[i], ar[i], through_origin=through_origin)
        sig[i], se[i] = r.sigma_S_cm, r.sigma_stderr_S_cm
    shape = stacked.shape[:-1]
    coords = {k: v for k, v in stacked.coords.items() if voltage_dim not in v.dims}
    return xr.Dataset(
        {"sigma_e": (others, sig.reshape(shape), {"units": "S/cm", "long_name": "electronic conductivity"}),
         "sigma_e_stderr": (others, se.reshape(shape), {"units": "S/cm"})},
        coords=coords, attrs={"method": "DC polarisation, t/A x slope of I_ss vs V"})
