"""Peaks of a DRT (Gaussian deconvolution) and resistance per relaxation-time region."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import signal
from scipy.optimize import least_squares

from analysis.drt.core import DRTError

PEAK_COLUMNS = (
    "tau", "log10_tau", "f_peak", "height", "area", "area_gauss", "sigma_ln_tau", "capacitance",
)


def _tau_gamma(result, gamma=None):
    if gamma is not None:
        tau, g = np.asarray(result, dtype=float), np.asarray(gamma, dtype=float)
    elif hasattr(result, "tau") and hasattr(result, "gamma"):
        tau, g = np.asarray(result.tau, dtype=float), np.asarray(result.gamma, dtype=float)
    else:
        raise DRTError("expected a DRTResult or (tau, gamma) arrays")
    if tau.ndim != 1 or tau.shape != g.shape:
        raise DRTError(f"tau and gamma must be 1-D of equal length, got {tau.shape} and {g.shape}")
    if np.any(tau <= 0) or not np.all(np.isfinite(tau)):
        raise DRTError("tau must be finite and strictly positive (s)")
    o = np.argsort(tau)
    return tau[o], g[o]


def _softmax_weights(y, h, mu, sig):
    logG = np.log(np.maximum(h, 1e-300))[:, None] - (y[None, :] - mu[:, None]) ** 2 / (2 * sig[:, None] ** 2)
    logG -= logG.max(axis=0, keepdims=True)
    G = np.exp(logG)
    return G / G.sum(axis=0, keepdims=True)


def find_peaks(result, gamma=None, *, prominence: float = 0.02, deconvolve: bool = True,
               max_peaks: int = 12, tau_range: tuple | None = None, edges: bool = False) -> pd.DataFrame:
    """Detect the peaks of a DRT and measure them by Gaussian deconvolution.

    Peaks are local maxima of gamma with a prominence of at least ``prominence`` times the
    largest value. With ``deconvolve`` a sum of Gaussians in ln tau (one per peak; height,
    centre and width free) is fitted to gamma by bounded least squares. Two areas are
    reported: ``area_gauss`` is the area of each fitted Gaussian; ``area`` splits the
    integral of gamma between the peaks in proportion to their fitted Gaussians at each tau,
    so that the areas add up exactly to the integral of gamma (the polarisation resistance),
    even when the peaks are not Gaussian (a ZARC's DRT has heavier tails).

    Parameters
    ----------
    result : DRTResult or array_like
        A result of :func:`compute_drt`, or relaxation times tau (s) with ``gamma`` given.
    gamma : array_like, optional
        DRT (ohm per unit ln tau) when ``result`` is the tau array.
    prominence : float, default 0.02
        Minimum peak prominence as a fraction of max(gamma).
    deconvolve : bool, default True
        Fit Gaussians; otherwise heights and areas come from the raw curve split at the minima
        between peaks.
    max_peaks : int, default 12
        Keep at most this many peaks (the most prominent).
    tau_range : (float, float), optional
        Only analyse ``tau_lo <= tau <= tau_hi`` (s), e.g. to leave out the low-frequency
        spike of blocking electrodes; ``prominence`` is then relative to the maximum inside.
    edges : bool, default False
        Also report a maximum at the first or last point of the grid (a process that is only
        partly inside the measured range, e.g. a diffusion tail).

    Returns
    -------
    pandas.DataFrame
        One row per peak, ordered by tau: ``tau`` (s), ``log10_tau``, ``f_peak`` (Hz,
        ``1/(2 pi tau)``), ``height`` (ohm), ``area`` (ohm), ``area_gauss`` (ohm),
        ``sigma_ln_tau`` (Gaussian standard deviation in ln tau), ``capacitance``
        (F, ``tau / area``).
    """
    tau, g = _tau_gamma(result, gamma)
    if tau_range is not None:
        lo, hi = (float(v) for v in tau_range)
        if not (0 < lo < hi):
            raise DRTError(f"tau_range must satisfy 0 < tau_lo < tau_hi (s), got {tau_range!r}")
        keep = (tau >= lo) & (tau <= hi)
        if keep.sum() < 3:
            raise DRTError(f"tau_range {tau_range!r} holds fewer than 3 points of the DRT grid")
        tau, g = tau[keep], g[keep]
    y = np.log(tau)
    gmax = float(np.max(g)) if g.size else 0.0
    if not np.isfinite(gmax) or gmax <= 0:
        return pd.DataFrame(columns=list(PEAK_COLUMNS))
    if edges:
        gp = np.r_[0.0, g, 0.0]
        idx, props = signal.find_peaks(gp, prominence=prominence * gmax)
        widths = signal.peak_widths(gp, idx, rel_height=0.5, prominence_data=(
            props["prominences"], props["left_bases"], props["right_bases"]))[0]
        idx = idx - 1
    else:
        idx, props = signal.find_peaks(g, prominence=prominence * gmax)
        widths = signal.peak_widths(g, idx, rel_height=0.5, prominence_data=(
            props["prominences"], props["left_bases"], props["right_bases"]))[0]
    if idx.size > max_peaks:
        keep = np.sort(np.argsort(props["prominences"])[::-1][:max_peaks])
        idx, widths = idx[keep], widths[keep]
    if idx.size == 0:
        return pd.DataFrame(columns=list(PEAK_COLUMNS))
    dy = float(np.mean(np.diff(y)))
    sig0 = np.clip(widths * dy / (2 * math.sqrt(2 * math.log(2))), 2 * dy, None)
    h0, mu0 = g[idx], y[idx]
    k = idx.size
    total = float(np.trapezoid(g, y))
    if deconvolve:
        lo = np.concatenate([np.zeros(k), mu0 - 2 * sig0, np.full(k, dy)])
        hi = np.concatenate([np.full(k, 2 * gmax), mu0 + 2 * sig0, np.full(k, y[-1] - y[0])])
        p0 = np.clip(np.concatenate([h0, mu0, sig0]), lo + 1e-12, hi - 1e-12)

        def resid(p):
            h, mu, s = p[:k], p[k:2 * k], p[2 * k:]
            return (h[:, None] * np.exp(-((y[None, :] - mu[:, None]) ** 2) / (2 * s[:, None] ** 2))).sum(0) - g

        fit = least_squares(resid, p0, bounds=(lo, hi), x_scale="jac", max_nfev=200 * k)
        h, mu, s = fit.x[:k], fit.x[k:2 * k], fit.x[2 * k:]
        area_gauss = h * s * math.sqrt(2 * math.pi)
        wts = _softmax_weights(y, h, mu, s)
        area = np.trapezoid(wts * g[None, :], y, axis=1)
        tau_pk = np.exp(mu)
        height = np.interp(mu, y, g)
    else:
        # split at the minima between consecutive peaks
        bounds = [0] + [int(a + np.argmin(g[a:b + 1])) for a, b in zip(idx[:-1], idx[1:])] + [g.size - 1]
        area = np.array([np.trapezoid(g[a:b + 1], y[a:b + 1]) for a, b in zip(bounds[:-1], bounds[1:])])
        area *= total / area.sum() if area.sum() > 0 else 1.0
        area_gauss = np.full(k, np.nan)
        s = sig0
        tau_pk = tau[idx]
        height = h0
    order = np.argsort(tau_pk)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = tau_pk / area
    df = pd.DataFrame({
        "tau": tau_pk, "log10_tau": np.log10(tau_pk), "f_peak": 1 / (2 * np.pi * tau_pk),
        "height": height, "area": area, "area_gauss": area_gauss, "sigma_ln_tau": s, "capacitance": cap,
    }).iloc[order].reset_index(drop=True)
    df.attrs["units"] = {"tau": "s", "f_peak": "Hz", "height": "ohm", "area": "ohm",
                         "area_gauss": "ohm", "sigma_ln_tau": "1", "capacitance": "F"}
    return df


def _integrate_1d(tau, g, lo, hi):
    y = np.log(tau)
    a, b = math.log(lo), math.log(hi)
    a, b = max(a, y[0]), min(b, y[-1])
    if b <= a:
        return 0.0
    inside = (y > a) & (y < b)
    yy = np.concatenate([[a], y[inside], [b]])
    gg = np.concatenate([[np.interp(a, y, g)], g[inside], [np.interp(b, y, g)]])
    return float(np.trapezoid(gg, yy))


def _check_regions(regions):
    if not isinstance(regions, dict) or not regions:
        raise DRTError("regions must be a non-empty dict name -> (tau_lo, tau_hi) in s")
    out = {}
    for name, rng in regions.items():
        try:
            lo, hi = (float(v) for v in rng)
        except (TypeError, ValueError):
            raise DRTError(f"region {name!r}: expected (tau_lo, tau_hi) in s, got {rng!r}") from None
        if not (0 < lo < hi) or not math.isfinite(hi):
            raise DRTError(f"region {name!r}: need 0 < tau_lo < tau_hi (s), got ({lo}, {hi})")
        out[str(name)] = (lo, hi)
    return out


def integrate_regions(result, regions: dict, gamma=None):
    """Resistance (integral of gamma over ln tau) inside user-defined tau regions.

    Parameters
    ----------
    result : DRTResult, xarray.Dataset or array_like
        A single DRT, the output of :func:`drt_many` (variable ``gamma`` with dim ``tau``),
        or tau (s) with ``gamma`` given.
    regions : dict
        ``{"T1": (tau_lo, tau_hi), ...}`` in seconds, e.g. the T1/T2/T3 regions of an
        in situ study. Regions may overlap; parts outside the output grid count as zero.
    gamma : array_like, optional
        DRT (ohm) when ``result`` is the tau array.

    Returns
    -------
    dict or xarray.Dataset
        ``{name: resistance_ohm}`` for one DRT; for a Dataset, a Dataset with one variable
        per region over the non-tau dimensions (ohm).
    """
    reg = _check_regions(regions)
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        xr = None
    if xr is not None and isinstance(result, (xr.Dataset, xr.DataArray)):
        da = result["gamma"] if isinstance(result, xr.Dataset) else result
        if "tau" not in da.dims:
            raise DRTError("the DRT dataset has no 'tau' dimension")
        tau = np.asarray(da["tau"].values, dtype=float)
        out = {}
        for name, (lo, hi) in reg.items():
            arr = xr.apply_ufunc(
                lambda g, lo=lo, hi=hi: np.apply_along_axis(lambda v: _integrate_1d(tau, v, lo, hi), -1, g),
                da, input_core_dims=[["tau"]],
            )
            arr.attrs = {"units": "ohm", "long_name": f"resistance of region {name} ({lo:g}..{hi:g} s)"}
            out[name] = arr
        return xr.Dataset(out)
    tau, g = _tau_gamma(result, gamma)
    return {name: _integrate_1d(tau, g, lo, hi) for name, (lo, hi) in reg.items()}
