"""Cached calls into :mod:`analysis` for the pages, keyed on primitive values only."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dashboard import data


@data.cached(maxsize=16)
def pellet_results(name: str, circuit: str, form: str):
    """(conductivity table, Arrhenius table) of pellet dataset ``name``."""
    from analysis.pellets import arrhenius_table, conductivity_table

    cond = conductivity_table(data.load(name), circuit)
    return cond, arrhenius_table(cond, form=form)


@data.cached(maxsize=512)
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


@data.cached(maxsize=32)
def property_model(name: str, circuit: str, form: str, prop: str, state: str):
    """Gaussian-process model of ``prop`` over FRB and BMR for the pellets in ``state``."""
    from analysis.pellets import property_model as _pm

    _, arr = pellet_results(name, circuit, form)
    return _pm(data.load(name), arr, prop, state=state)


@data.cached(maxsize=32)
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


# ---------------------------------------------------------------- synthesis page (plot-ready, cached)
def _frozen(**arrays) -> dict:
    """Arrays made read-only (they are shared by every caller of a cached function)."""
    out = {}
    for k, v in arrays.items():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
        out[k] = v
    return out


@data.cached(maxsize=256)
def pellet_sample(name: str, criteria: tuple) -> str | None:
    """Id of the pellet whose coordinates equal ``criteria`` ((name, value) pairs), or None."""
    from analysis.pellets import select_sample

    return select_sample(data.load(name), **dict(criteria))


@data.cached(maxsize=512)
def spectrum_view(name: str, sample: str, temperature_K: float, circuit: str) -> dict:
    """Plot-ready arrays of one spectrum and its live fit (Nyquist, high-frequency zoom, Bode).

    Returns a dict: ``zr``, ``mzi`` (Z' and -Z'', ohm), ``fr``, ``mfi`` (fit), ``freq`` (Hz),
    ``absz``, ``absf`` (|Z| of data and fit, ohm), ``ph``, ``phf`` (-phase, degrees), ``keep``
    (points within 4 R of the high-frequency intercept), ``r`` (intercept, ohm) and the fit's
    ``chi2``, ``success``, ``message``.
    """
    freq, Z, fit = spectrum_fit(name, sample, temperature_K, circuit)
    zf = np.asarray(fit.Z_fit, dtype=complex) if fit.success else np.full_like(Z, np.nan)
    r = float(fit.params.get("R0", np.nanmin(Z.real))) if fit.success else float(np.nanmin(Z.real))
    keep = np.abs(Z - r) <= 4 * max(r, 1e-12)
    return _frozen(freq=np.asarray(freq, float), zr=Z.real.copy(), mzi=-Z.imag, fr=zf.real.copy(), mfi=-zf.imag,
                   absz=np.abs(Z), absf=np.abs(zf), ph=-np.degrees(np.angle(Z)), phf=-np.degrees(np.angle(zf)),
                   keep=keep, r=r, chi2=float(fit.chi2), success=bool(fit.success), message=str(fit.message))


@data.cached(maxsize=512)
def pellet_numbers(name: str, circuit: str, form: str, sample: str, temperature_K: float) -> dict:
    """Conductivity (S/cm), resistance (ohm) at ``temperature_K``, Arrhenius numbers and unit-cell volume
    (``cell``, cubic angstrom; NaN without structural data) of one pellet."""
    from analysis.pellets import unit_cell_volume

    cond, arr = pellet_results(name, circuit, form)
    c = cond.sel(sample=sample).sel(temperature=temperature_K, method="nearest")
    a = arr.sel(sample=sample)
    out = {k: float(src[k]) for src, keys in ((c, ("sigma", "sigma_stderr", "R", "R_stderr")),
                                              (a, ("Ea", "Ea_stderr", "sigma_25C", "log10_prefactor")))
           for k in keys}
    cell = unit_cell_volume(data.load(name))
    out["cell"] = float(cell.sel(sample=sample)) if cell is not None else float("nan")
    return out


@data.cached(maxsize=256)
def arrhenius_view(name: str, circuit: str, form: str, sample: str) -> dict:
    """Arrhenius plot arrays of one pellet: measured ``x`` (1000/T, 1/K), ``y`` (log10 of sigma*T or
    sigma), the fitted line ``xl``, ``yl`` and ``Ea`` (eV)."""
    from analysis.transport import KB_EV

    cond, arr = pellet_results(name, circuit, form)
    T = cond["temperature"].values.astype(float)
    s = cond["sigma"].sel(sample=sample).values
    y = np.log10(s * T) if form == "sigmaT" else np.log10(s)
    a = arr.sel(sample=sample)
    Tl = np.linspace(T.min(), T.max(), 50)
    yl = float(a["log10_prefactor"]) - float(a["Ea"]) / (KB_EV * Tl * np.log(10))
    return _frozen(x=1000 / T, y=y, xl=1000 / Tl, yl=yl, Ea=float(a["Ea"]))


@data.cached(maxsize=512)
def trend_series(name: str, circuit: str, form: str, axis: str, held: tuple) -> dict:
    """Pellets along coordinate ``axis`` with the ``held`` ((name, value) pairs) coordinates fixed.

    Returns ``x`` (sorted), ``sigma`` (sigma(25 C), mS/cm), ``Ea``, ``Ea_stderr`` (eV), ``cell``
    (unit-cell volume, cubic angstrom; NaN without structural data), ``ids``.
    """
    from analysis.pellets import unit_cell_volume

    _, arr = pellet_results(name, circuit, form)
    ds = data.load(name)
    cell = unit_cell_volume(ds)
    cell = np.full(ds.sizes["sample"], np.nan) if cell is None else cell.values
    mask = np.ones(ds.sizes["sample"], bool)
    for q, val in held:
        if q not in ds.coords:
            continue
        v = ds[q].values
        mask &= (np.isclose(v.astype(float), float(val)) if v.dtype.kind in "fiu" else v.astype(str) == str(val))
    x = ds[axis].values[mask].astype(float)
    order = np.argsort(x)
    return _frozen(x=x[order], sigma=arr["sigma_25C"].values[mask][order] * 1e3, Ea=arr["Ea"].values[mask][order],
                   Ea_stderr=arr["Ea_stderr"].values[mask][order], cell=cell[mask][order],
                   ids=np.asarray(ds["sample"].values[mask][order]).astype(str))


@data.cached(maxsize=1024)
def model_estimate(name: str, circuit: str, form: str, prop: str, state: str, frb_pct: float, bmr: float):
    """(mean, lower, upper) of the structure-property model's 2-sigma band at (FRB, BMR)."""
    m = property_model(name, circuit, form, prop, state)
    mean, lo, hi = m.predict_interval({"frb_pct": [float(frb_pct)], "bmr": [float(bmr)]}, k=2.0)
    return float(mean[0]), float(lo[0]), float(hi[0])
