"""Cached calls into :mod:`analysis` for the pages, keyed on primitive values only."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dashboard import data


@lru_cache(maxsize=16)
def pellet_results(name: str, circuit: str, form: str):
    """(conductivity table, Arrhenius table) of pellet dataset ``name``."""
    from analysis.pellets import arrhenius_table, conductivity_table

    cond = conductivity_table(data.load(name), circuit)
    return cond, arrhenius_table(cond, form=form)


@lru_cache(maxsize=512)
def spectrum_fit(name: str, sample: str, temperature_K: float, circuit: str):
    """Live fit of one pellet spectrum: (freq, Z, FitResult)."""
    from analysis.eis import fit_circuit

    ds = data.load(name)
    sel = ds.sel(sample=sample).sel(temperature=temperature_K, method="nearest")
    freq = sel["frequency"].values
    Z = sel["z_real"].values + 1j * sel["z_imag"].values
    return freq, Z, fit_circuit(freq, Z, circuit)


def finite(x) -> float:
    """``float(x)`` or NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")


@lru_cache(maxsize=32)
def property_model(name: str, circuit: str, form: str, prop: str, state: str):
    """Gaussian-process model of ``prop`` over FRB and BMR for the pellets in ``state``."""
    from analysis.pellets import property_model as _pm

    _, arr = pellet_results(name, circuit, form)
    return _pm(data.load(name), arr, prop, state=state)


@lru_cache(maxsize=32)
def model_map(name: str, circuit: str, form: str, prop: str, state: str, n: int = 60):
    """The model's prediction over an FRB x BMR grid (xarray Dataset with value/lower/upper)."""
    model = property_model(name, circuit, form, prop, state)
    X = model.X_train
    i_f, i_b = model.descriptors.index("frb_pct"), model.descriptors.index("bmr")
    frb = np.linspace(max(1.0, X[:, i_f].min() * 0.5), X[:, i_f].max() * 1.5, n)
    bmr = np.geomspace(max(2.0, X[:, i_b].min() / 2), X[:, i_b].max() * 1.5, n)
    return model.predict_grid(frb_pct=frb, bmr=bmr)


@lru_cache(maxsize=256)
def mill_physics(preset: str, jar_volume_ml: float, rpm: float, ball_diameter_mm: float,
                 ball_material: str, frb_pct: float, bmr: float, time_h: float):
    """Burgio impact model for the what-if settings (BurgioResult), or the error sentence."""
    from analysis.errors import SSBError
    from analysis.milling import burgio_preset

    try:
        return burgio_preset(preset, jar_volume_ml, rpm, ball_diameter_mm, ball_material,
                             frb_pct=frb_pct, bmr_value=bmr, time_h=time_h)
    except SSBError as exc:
        return str(exc)
