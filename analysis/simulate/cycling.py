"""Galvanostatic cycling simulator: OCV from Gaussian dQ/dV components plus overpotential.

The open-circuit voltage of a half-cycle is the inverse of a normalised charge-voltage
relation ``F(V)``, a mixture of Gaussian "plateaus" (each one a dQ/dV peak at a known voltage
with a known width and share of the capacity) and a flat background. The measured voltage is
``OCV + eta`` on charge and ``OCV - eta`` on discharge, with ``eta`` half the polarisation.
Per-cycle capacities, coulombic efficiency, polarisation and peak positions are inputs, so
the sample data reproduces a paper's numbers exactly and the analysis can be tested on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import xarray as xr
from scipy.special import ndtr

#: A dQ/dV component: (centre V, standard deviation V, share of the half-cycle capacity).
Component = tuple[float, float, float]


@dataclass
class CellSpec:
    """Everything that defines a simulated cell (all arrays are per cycle, index 0 = cycle 1).

    Attributes
    ----------
    charge_mAh, discharge_mAh : sequence of float
        Capacity of each charge and discharge half-cycle in mAh.
    eta_V : sequence of float
        Half of the polarisation (V): charge runs at OCV + eta, discharge at OCV - eta.
    current_mA : sequence of float
        Magnitude of the constant current of each cycle in mA.
    components : callable
        ``components(cycle, direction) -> list[Component]`` for the OCV of that half-cycle
        (direction +1 charge, -1 discharge). Shares must sum to < 1; the rest is background.
    v_min, v_max : float
        Voltage window in V.
    first : {"charge", "discharge"}
        Direction of the first half-cycle.
    points : int
        Records per half-cycle (half equal in capacity, half equal in voltage).
    rest_s : float
        Rest between half-cycles in s (two records each: start and end of the rest).
    noise_V, quantum_V : float
        Voltage noise (standard deviation) and quantisation of the recorder in V.
    cv_fraction : float
        Extra capacity (fraction of the charge) taken by a constant-voltage hold at v_max.
    attrs : dict
        Cell attributes of the data model (active mass, area, ...).
    """

    charge_mAh: Sequence[float]
    discharge_mAh: Sequence[float]
    eta_V: Sequence[float]
    current_mA: Sequence[float]
    components: Callable[[int, int], list[Component]]
    v_min: float
    v_max: float
    first: str = "charge"
    points: int = 240
    rest_s: float = 600.0
    noise_V: float = 0.0005
    quantum_V: float = 0.0001
    cv_fraction: float = 0.0
    attrs: dict = field(default_factory=dict)


def _cdf_mixture(v: np.ndarray, comps: list[Component], a: float, b: float) -> np.ndarray:
    """Normalised capacity F(v) in [0, 1] on [a, b] for the given components."""
    shares = sum(c[2] for c in comps)
    if shares >= 1:
        raise ValueError("component shares must sum to less than 1")
    F = (1 - shares) * (v - a) / (b - a)
    for c0, s, w in comps:
        lo, hi = ndtr((a - c0) / s), ndtr((b - c0) / s)
        F = F + w * (ndtr((v - c0) / s) - lo) / (hi - lo)
    return F


def ocv_curve(q_frac: np.ndarray, comps: list[Component], a: float, b: float, n_grid: int = 6000):
    """Open-circuit voltage (V) at normalised capacities ``q_frac`` (0..1, increasing in V)."""
    v = np.linspace(a, b, n_grid)
    F = _cdf_mixture(v, comps, a, b)
    return np.interp(q_frac, F, v)


def _sample_fracs(comps, a, b, points):
    """Record positions: half equally spaced in capacity, half equally spaced in voltage."""
    n1 = points // 2
    q1 = np.linspace(0, 1, n1)
    v = np.linspace(a, b, points - n1)
    q2 = _cdf_mixture(v, comps, a, b)
    q = np.unique(np.concatenate([q1, q2]).round(12))
    return np.clip(q, 0, 1)


def simulate_cell(spec: CellSpec, rng: np.random.Generator) -> xr.Dataset:
    """Simulate a cycling test and return a dataset of kind ``cycling``.

    Parameters
    ----------
    spec : CellSpec
        The cell and its per-cycle evolution.
    rng : numpy.random.Generator
        Source of the voltage noise (seeded by the caller for reproducibility).

    Returns
    -------
    xarray.Dataset
        Dimension ``record``; ``time`` (s), ``voltage`` (V), ``current`` (mA, positive =
        charge), ``capacity`` (mAh since the start of the half-cycle), ``cycle``, ``step``,
        ``direction`` (+1 charge, -1 discharge, 0 rest).
    """
    n_cycles = len(spec.charge_mAh)
    order = (1, -1) if spec.first == "charge" else (-1, 1)
    t_now = 0.0
    step = 0
    chunks = {k: [] for k in ("time", "voltage", "current", "capacity", "cycle", "step", "direction")}

    def emit(t, v, i, q, cyc, st, d):
        chunks["time"].append(np.asarray(t, float))
        chunks["voltage"].append(np.asarray(v, float))
        chunks["current"].append(np.broadcast_to(np.asarray(i, float), np.shape(t)))
        chunks["capacity"].append(np.broadcast_to(np.asarray(q, float), np.shape(t)))
        chunks["cycle"].append(np.full(np.shape(t), cyc, dtype=np.int32))
        chunks["step"].append(np.full(np.shape(t), st, dtype=np.int32))
        chunks["direction"].append(np.full(np.shape(t), d, dtype=np.int8))

    v_last = None
    for k in range(n_cycles):
        cyc = k + 1
        eta = float(spec.eta_V[k])
        I = float(spec.current_mA[k])
        for d in order:
            comps = spec.components(cyc, d)
            a, b = spec.v_min + eta, spec.v_max - eta
            q = _sample_fracs(comps, a, b, spec.points)
            Q = float(spec.charge_mAh[k] if d > 0 else spec.discharge_mAh[k])
            if d > 0:
                ocv = ocv_curve(q, comps, a, b)
                v = ocv + eta
            else:
                ocv = ocv_curve(1 - q, comps, a, b)
                v = ocv - eta
            cap = q * Q
            cv_q = spec.cv_fraction * Q if d > 0 else 0.0
            if cv_q > 0:
                cap = cap * (Q - cv_q) / Q  # CC part; the CV hold brings the total to Q
            t = t_now + cap / I * 3600.0
            step += 1
            emit(t, v, d * I, cap, cyc, step, d)
            t_now = float(t[-1])
            if cv_q > 0:
                # constant-voltage hold: current decays exponentially, voltage stays at v_max
                n_cv = max(spec.points // 6, 8)
                tau_h = cv_q / I  # hours, so that the integral of I exp(-t/tau) matches cv_q
                tt = np.linspace(0, 5 * tau_h, n_cv + 1)[1:]
                icv = I * np.exp(-tt / tau_h)
                qcv = cap[-1] + I * tau_h * (1 - np.exp(-tt / tau_h))
                qcv = cap[-1] + (qcv - cap[-1]) * cv_q / (qcv[-1] - cap[-1])
                step += 1
                emit(t_now + tt * 3600.0, np.full(n_cv, spec.v_max), icv, qcv, cyc, step, d)
                t_now = float(t_now + tt[-1] * 3600.0)
            v_last = v[-1] - d * eta
            if spec.rest_s > 0:
                step += 1
                # relaxation towards the OCV at the end of the half-cycle
                emit([t_now + 1.0, t_now + spec.rest_s], [v_last + d * eta * 0.5, v_last],
                     0.0, 0.0, cyc, step, 0)
                t_now += spec.rest_s

    data = {k: np.concatenate(v) for k, v in chunks.items()}
    v = data["voltage"] + spec.noise_V * rng.standard_normal(data["voltage"].shape)
    if spec.quantum_V > 0:
        v = np.round(v / spec.quantum_V) * spec.quantum_V
    data["voltage"] = v
    return cycling_dataset(data, spec.attrs)


def cycling_dataset(data: dict, attrs: dict | None = None) -> xr.Dataset:
    """Wrap arrays into a ``cycling`` dataset with units and long names."""
    meta = {
        "time": ("s", "test time"),
        "voltage": ("V", "cell voltage"),
        "current": ("mA", "current (positive = charge)"),
        "capacity": ("mAh", "capacity within the half-cycle"),
        "cycle": ("1", "cycle number"),
        "step": ("1", "step number"),
        "direction": ("1", "half-cycle direction (+1 charge, -1 discharge, 0 rest)"),
    }
    dtypes = {"voltage": np.float32, "current": np.float32, "capacity": np.float32}
    ds = xr.Dataset(
        {
            k: ("record", np.asarray(data[k]).astype(dtypes.get(k, np.asarray(data[k]).dtype)),
                {"units": meta[k][0], "long_name": meta[k][1]})
            for k in meta
            if k != "time"
        },
        coords={"time": ("record", np.asarray(data["time"], float), {"units": "s", "long_name": "test time"})},
        attrs=dict(attrs or {}),
    )
    return ds
