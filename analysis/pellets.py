"""Pellet workflows: conductivity of every spectrum, Arrhenius fit per sample, series trends.

These compose :mod:`analysis.eis` (circuit fits) and :mod:`analysis.transport` (conductivity,
Arrhenius) over a ``pellet_eis`` dataset, so the dashboard and a notebook get the same numbers
from one call.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.errors import AnalysisError
from analysis.schema import validate

#: Default circuit for blocking-electrode pellets of fast conductors: wiring inductance,
#: total ionic resistance (the high-frequency intercept) and the electrode CPE.
PELLET_CIRCUIT = "L0-R0-CPE1"


def resistance_param(spec: str) -> str:
    """Name of the series resistance taken as the pellet's total resistance (``R0``)."""
    return "R0"


def conductivity_table(ds: xr.Dataset, spec: str = PELLET_CIRCUIT, r_param: str | None = None) -> xr.Dataset:
    """Fit ``spec`` to every spectrum of a ``pellet_eis`` dataset and derive the conductivity.

    Parameters
    ----------
    ds : xarray.Dataset
        Kind ``pellet_eis`` with ``thickness_cm`` and ``area_cm2`` coordinates.
    spec : str, default ``"L0-R0-CPE1"``
        Equivalent circuit (see :mod:`analysis.eis`).
    r_param : str, optional
        Parameter holding the ionic resistance (default ``R0``).

    Returns
    -------
    xarray.Dataset
        Over the non-frequency dims: ``R`` and ``R_stderr`` (ohm), ``sigma`` and
        ``sigma_stderr`` (S/cm), ``fit_success``, ``chi2``, plus every fitted parameter.
    """
    from analysis.eis import fit_many
    from analysis.transport import conductivity

    validate(ds, "pellet_eis")
    for c in ("thickness_cm", "area_cm2"):
        if c not in ds.variables:
            raise AnalysisError(f"pellet dataset {ds.attrs.get('source_file', '')!r} has no {c!r}: "
                                "cannot compute a conductivity")
    r_param = r_param or resistance_param(spec)
    fits = fit_many(ds, spec)
    if r_param not in fits:
        raise AnalysisError(f"circuit {spec!r} has no parameter {r_param!r}")
    R = fits[r_param]
    Rerr = fits[f"{r_param}_stderr"]
    sigma = xr.apply_ufunc(conductivity, R, ds["thickness_cm"], ds["area_cm2"])
    out = fits.copy()
    out["R"] = R.assign_attrs(units="ohm", long_name="total ionic resistance")
    out["R_stderr"] = Rerr.assign_attrs(units="ohm", long_name="standard error of R")
    out["sigma"] = xr.DataArray(sigma).assign_attrs(units="S/cm", long_name="ionic conductivity")
    out["sigma_stderr"] = (out["sigma"] * Rerr / R).assign_attrs(units="S/cm", long_name="standard error of sigma")
    out.attrs.update(circuit=spec, resistance_parameter=r_param)
    return out


def arrhenius_table(cond: xr.Dataset, form: str = "sigmaT", T_ref_K: float = 298.15) -> xr.Dataset:
    """Arrhenius fit of ``sigma(temperature)`` for every sample of a :func:`conductivity_table`.

    Parameters
    ----------
    cond : xarray.Dataset
        Output of :func:`conductivity_table` with a ``temperature`` dimension (K).
    form : {"sigmaT", "sigma"}
        Arrhenius form fitted (recorded in the output's attributes).
    T_ref_K : float, default 298.15
        Temperature at which the measured conductivity is also reported.

    Returns
    -------
    xarray.Dataset
        Over ``sample`` (if present): ``Ea`` and ``Ea_stderr`` (eV), ``log10_prefactor``,
        ``sigma_fit_25C`` (S/cm, from the fit) and ``sigma_25C`` (S/cm, measured at the
        temperature closest to ``T_ref_K``) with ``sigma_25C_stderr``.
    """
    from analysis.transport import fit_arrhenius

    if "temperature" not in cond.dims:
        raise AnalysisError("an Arrhenius fit needs spectra at several temperatures")
    T = cond["temperature"].values
    i_ref = int(np.argmin(np.abs(T - T_ref_K)))
    sig = cond["sigma"].transpose(..., "temperature")
    err = cond["sigma_stderr"].transpose(..., "temperature")
    other = [d for d in sig.dims if d != "temperature"]
    flat = sig.values.reshape(-1, T.size)
    ferr = err.values.reshape(-1, T.size)
    cols = {k: np.full(flat.shape[0], np.nan) for k in ("Ea", "Ea_stderr", "log10_prefactor", "sigma_fit_25C", "r2")}
    for i in range(flat.shape[0]):
        ok = np.isfinite(flat[i]) & (flat[i] > 0)
        if ok.sum() < 3:
            continue
        res = fit_arrhenius(T[ok], flat[i][ok], form=form, sigma_err=ferr[i][ok])
        cols["Ea"][i] = res.Ea_eV
        cols["Ea_stderr"][i] = res.Ea_stderr_eV
        cols["log10_prefactor"][i] = np.log10(res.prefactor)
        cols["sigma_fit_25C"][i] = res.sigma_25C
        cols["r2"][i] = res.r2
    shape = [sig.sizes[d] for d in other]
    coords = {k: v for k, v in cond.coords.items() if set(v.dims) <= set(other)}
    units = {"Ea": ("eV", "activation energy"), "Ea_stderr": ("eV", "standard error of Ea"),
             "log10_prefactor": ("1", "log10 of the Arrhenius prefactor"),
             "sigma_fit_25C": ("S/cm", "conductivity at 25 C from the fit"), "r2": ("1", "R^2 of the fit")}
    out = xr.Dataset(
        {k: (other, v.reshape(shape), {"units": units[k][0], "long_name": units[k][1]}) for k, v in cols.items()},
        coords=coords,
    )
    out["sigma_25C"] = sig.isel(temperature=i_ref, drop=True).assign_attrs(
        units="S/cm", long_name=f"measured conductivity at {T[i_ref] - 273.15:.0f} C")
    out["sigma_25C_stderr"] = err.isel(temperature=i_ref, drop=True).assign_attrs(units="S/cm")
    out.attrs.update(arrhenius_form=form, T_ref_K=float(T[i_ref]))
    return out


def select_sample(ds: xr.Dataset, **criteria) -> str | None:
    """Id of the first sample whose coordinates equal ``criteria`` (``None`` if none does).

    Parameters
    ----------
    ds : xarray.Dataset
        Kind ``pellet_eis`` with a ``sample`` dimension.
    **criteria
        Coordinate name -> wanted value (floats compared with a relative tolerance of 1e-9).
    """
    mask = np.ones(ds.sizes["sample"], bool)
    for k, v in criteria.items():
        if v is None or k not in ds.coords:
            continue
        vals = ds[k].values
        if vals.dtype.kind in "fiu":
            mask &= np.isclose(vals.astype(float), float(v), rtol=1e-9, atol=0)
        else:
            mask &= vals.astype(str) == str(v)
    idx = np.flatnonzero(mask)
    return str(ds["sample"].values[idx[0]]) if idx.size else None


def unit_cell_volume(ds: xr.Dataset) -> xr.DataArray | None:
    """Unit-cell volume of every sample, from the dataset's structural coordinates.

    Parameters
    ----------
    ds : xarray.Dataset
        Kind ``pellet_eis`` with a ``sample`` dimension and either a ``unit_cell_volume_A3``
        coordinate (cubic angstrom, e.g. from a Rietveld refinement) or a cubic lattice
        parameter ``lattice_a_angstrom`` (angstrom; argyrodites and other cubic phases), whose
        cube is the volume.

    Returns
    -------
    xarray.DataArray or None
        ``unit_cell_volume_A3`` (angstrom^3) over ``sample``; NaN where not measured; ``None``
        when the dataset has neither coordinate.
    """
    if "unit_cell_volume_A3" in ds.coords or "unit_cell_volume_A3" in ds.data_vars:
        v = ds["unit_cell_volume_A3"].astype(float)
    elif "lattice_a_angstrom" in ds.coords or "lattice_a_angstrom" in ds.data_vars:
        v = ds["lattice_a_angstrom"].astype(float) ** 3
    else:
        return None
    if "sample" not in v.dims:
        raise AnalysisError("unit-cell data must be given per sample (dimension 'sample')")
    out = xr.DataArray(np.asarray(v.values, float), dims=("sample",), coords={"sample": ds["sample"].values},
                       name="unit_cell_volume_A3")
    out.attrs.update(units="angstrom3", long_name="unit-cell volume")
    return out


#: Properties a structure-property model can be built for: name -> (unit label, model in log10?)
MODEL_PROPERTIES = {"sigma_25C": ("S/cm", True), "Ea": ("eV", False)}


def training_mask(ds: xr.Dataset, state: str | None = None) -> np.ndarray:
    """Samples used to train a structure-property model.

    The samples in ``state`` (if the dataset has a ``state`` coordinate) and of the most
    common pellet mass (pellet mass is a measurement choice, not a synthesis parameter).
    """
    mask = np.ones(ds.sizes["sample"], bool)
    if state is not None and "state" in ds.coords:
        mask &= ds["state"].values.astype(str) == str(state)
    if "mass_mg" in ds.coords:
        m = ds["mass_mg"].values.astype(float)
        vals, counts = np.unique(m[mask & np.isfinite(m)], return_counts=True)
        if vals.size:
            mask &= m == vals[np.argmax(counts)]
    return mask


def property_model(ds: xr.Dataset, arr: xr.Dataset, prop: str = "sigma_25C", state: str | None = "sintered",
                   descriptors: tuple[str, ...] = ("frb_pct", "bmr"), log_descriptors: tuple[str, ...] = ("bmr",)):
    """Gaussian-process model of a pellet property against milling descriptors.

    Parameters
    ----------
    ds : xarray.Dataset
        ``pellet_eis`` dataset (per-sample descriptor coordinates).
    arr : xarray.Dataset
        Its :func:`arrhenius_table` (``sigma_25C`` in S/cm, ``Ea`` in eV, with stderr).
    prop : {"sigma_25C", "Ea"}
        Property modelled (conductivity is modelled as log10 of mS/cm).
    state : str, optional
        Only samples in this state (``"sintered"`` or ``"as-milled"``).
    descriptors : tuple of str
        Per-sample coordinates used as inputs (e.g. ``frb_pct``, ``bmr``, or a dose).
    log_descriptors : tuple of str
        Descriptors modelled on a log scale (ratios such as BMR).

    Returns
    -------
    analysis.structure_property.GPModel
        Trained on the selected samples; ``y`` in mS/cm for conductivity, eV for Ea.
    """
    from analysis.structure_property import fit_property

    if prop not in MODEL_PROPERTIES:
        raise AnalysisError(f"unknown property {prop!r}; choose one of {list(MODEL_PROPERTIES)}")
    mask = training_mask(ds, state)
    X = {d: ds[d].values.astype(float)[mask] for d in descriptors}
    scale = 1e3 if prop == "sigma_25C" else 1.0
    y = arr[prop].values[mask] * scale
    err_name = "sigma_25C_stderr" if prop == "sigma_25C" else "Ea_stderr"
    yerr = arr[err_name].values[mask] * scale if err_name in arr else None
    ok = np.isfinite(y) & np.all([np.isfinite(v) for v in X.values()], axis=0)
    if ok.sum() < 3:
        raise AnalysisError(f"need at least 3 measured samples to model {prop} (have {int(ok.sum())})")
    X = {k: v[ok] for k, v in X.items()}
    return fit_property(X, y[ok], None if yerr is None else yerr[ok], log_y=MODEL_PROPERTIES[prop][1],
                        log_descriptors=tuple(d for d in log_descriptors if d in descriptors),
                        y_name="sigma(25 C) / mS cm-1" if prop == "sigma_25C" else "Ea / eV")
