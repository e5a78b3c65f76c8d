"""Synthetic cycling data built from a known dQ/dV (test helper, not a test module)."""
from __future__ import annotations

import numpy as np
import xarray as xr

VMIN, VMAX = 0.9, 2.4


def true_dqdv(v, peaks, base=0.05):
    """dQ/dV (mAh/V) = base + sum of Gaussians A * N(v; mu, sigma) (A in mAh)."""
    v = np.asarray(v, dtype=float)
    y = np.full_like(v, base)
    for mu, sig, area in peaks:
        y = y + area / (sig * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((v - mu) / sig) ** 2)
    return y


def v_of_q(peaks, n, *, base=0.05, vmin=VMIN, vmax=VMAX):
    """Voltage at n capacities evenly spaced from 0 to the total capacity, and those capacities."""
    vf = np.linspace(vmin, vmax, 20001)
    y = true_dqdv(vf, peaks, base)
    qf = np.concatenate([[0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(vf))])
    q = np.linspace(0, qf[-1], n)
    return np.interp(q, qf, vf), q


def half_cycle(peaks, n=2000, *, noise_mV=1.0, quant_mV=0.1, rng=None, base=0.05, charge=True):
    """(voltage, capacity) of one CC half-cycle with noise and quantisation."""
    rng = np.random.default_rng(0) if rng is None else rng
    v, q = v_of_q(peaks, n, base=base)
    if not charge:
        # discharge from VMAX to VMIN: the same Q(V) traversed backwards
        v = v[::-1]
    v = v + rng.normal(0, noise_mV * 1e-3, n)
    if quant_mV:
        v = np.round(v / (quant_mV * 1e-3)) * quant_mV * 1e-3
    return v, q


def cell(n_cycles=5, n=400, *, start="charge", current_mA=1.0, charge_peaks=None, discharge_peaks=None,
         rest_points=5, dt_rest=60.0, noise_mV=0.0, fade=0.0, seed=0, cv_fraction=0.0, attrs=None,
         drift_mV_per_cycle=0.0, ce_first=None):
    """A cycling dataset with known per-half-cycle capacities.

    Returns (ds, truth) where truth maps (cycle, direction) -> capacity (mAh).
    """
    rng = np.random.default_rng(seed)
    charge_peaks = charge_peaks or [(1.95, 0.04, 1.0), (2.15, 0.03, 0.5)]
    discharge_peaks = discharge_peaks or [(1.6, 0.04, 1.0), (1.2, 0.05, 0.3)]
    order = [1, -1] if start == "charge" else [-1, 1]
    t, V, I, Q, C, S, D = [], [], [], [], [], [], []
    now = 0.0
    step = 0
    truth = {}
    for c in range(1, n_cycles + 1):
        for d in order:
            pk = charge_peaks if d > 0 else discharge_peaks
            shift = -drift_mV_per_cycle * 1e-3 * (c - 1)
            pk = [(mu + shift, s, a * (1 - fade) ** (c - 1)) for mu, s, a in pk]
            v, q = v_of_q(pk, n)
            if d < 0:
                v = v[::-1]
            if ce_first is not None and c == 1 and d == order[1]:
                q = q * ce_first
            if noise_mV:
                v = v + rng.normal(0, noise_mV * 1e-3, n)
            qtot = q[-1]
            dt = qtot / current_mA * 3600 / (n - 1)
            tt = now + dt * np.arange(n)
            cur = np.full(n, d * current_mA)
            step += 1
            t.append(tt); V.append(v); I.append(cur); Q.append(q); C.append(np.full(n, c)); S.append(np.full(n, step)); D.append(np.full(n, d))
            now = tt[-1]
            qcv = 0.0
            if cv_fraction and d > 0:
                m = 50
                qcv = cv_fraction * qtot
                icv = current_mA * np.exp(-np.linspace(0, 3, m))
                dq = qcv * icv / icv.sum()
                tcv = now + np.cumsum(dq / icv * 3600)
                step += 1
                t.append(tcv); V.append(np.full(m, v[-1]) + (rng.normal(0, noise_mV * 1e-3, m) if noise_mV else 0))
                I.append(icv); Q.append(qtot + np.cumsum(dq)); C.append(np.full(m, c)); S.append(np.full(m, step)); D.append(np.full(m, 1))
                now = tcv[-1]
            truth[(c, d)] = qtot + qcv
            if rest_points:
                step += 1
                tr = now + dt_rest * (1 + np.arange(rest_points))
                t.append(tr); V.append(np.full(rest_points, V[-1][-1])); I.append(np.zeros(rest_points))
                Q.append(np.zeros(rest_points)); C.append(np.full(rest_points, c)); S.append(np.full(rest_points, step)); D.append(np.zeros(rest_points))
                now = tr[-1]
    cat = np.concatenate
    ds = xr.Dataset(
        {"time": ("record", cat(t), {"units": "s"}), "voltage": ("record", cat(V), {"units": "V"}),
         "current": ("record", cat(I), {"units": "mA"}), "capacity": ("record", cat(Q), {"units": "mAh"}),
         "cycle": ("record", cat(C).astype(int)), "step": ("record", cat(S).astype(int)),
         "direction": ("record", cat(D).astype(int))},
        attrs={"start_time": "2024-03-01T10:00:00", **(attrs or {})},
    )
    return ds, truth
