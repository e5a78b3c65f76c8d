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
