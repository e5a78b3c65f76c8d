"""The project's xarray data model and its validator.

Every reader produces, and every analysis consumes, one of the dataset kinds below. The
full description is in ``docs/data-model.md``; this module is its executable form.

Kinds
-----
``eis``
    Impedance spectra without pellet metadata (what a reader returns for an EIS file).
    Dimension ``frequency`` plus any others; variables ``z_real`` and ``z_imag`` (ohm).
``pellet_eis``
    Impedance of electrolyte pellets: dims ``(sample, temperature, frequency)`` or a subset
    containing ``frequency``; per-sample coordinates for composition, geometry, state and
    milling parameters.
``insitu_eis``
    Spectra recorded during cycling: dims ``(cycle, point, frequency)`` with the cell
    ``voltage`` and state of charge ``soc`` of each (cycle, point).
``cycling``
    One cell's time series along dimension ``record``: ``time`` (s), ``voltage`` (V),
    ``current`` (mA, positive = charge), ``capacity`` (mAh), ``cycle``, ``step``,
    ``direction`` (+1 charge, -1 discharge, 0 rest); optional ``pressure`` (MPa),
    ``temperature`` (K).
``pressure_log``
    A stack-pressure logger's record along ``record``: ``time`` (s since the ``start_time``
    attribute) and ``pressure`` (MPa).
``dc_polarisation``
    Steady-state currents ``current_ss`` (A) of an ion-blocking cell at several applied
    ``voltage`` values (V), with ``thickness_cm`` and ``area_cm2`` (electronic conductivity).

Conventions: ``z_imag`` is Im(Z) with its sign (negative for a capacitive arc; plots show
-Z''); frequency in Hz, strictly positive; temperatures in K; currents in mA; capacities in
mAh; pressures in MPa; lengths in cm; masses in mg.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from analysis.errors import SSBError

KINDS = ("eis", "pellet_eis", "insitu_eis", "cycling", "pressure_log", "dc_polarisation")

#: Provenance attributes every dataset carries.
PROVENANCE_ATTRS = ("source_file", "reader", "sha256")


class SchemaError(SSBError, ValueError):
    """A dataset does not follow the data model; the message names the field and the problem."""


@dataclass(frozen=True)
class Field:
    """One variable or coordinate of a dataset kind."""

    name: str
    units: str
    required: bool = True
    dims: tuple[str, ...] | None = None  # dimensions it must span (subset check), None = any
    numeric: bool = True
    positive: bool = False
    finite: bool = False
    long_name: str = ""


@dataclass(frozen=True)
class Kind:
    """Description of one dataset kind."""

    name: str
    required_dims: tuple[str, ...]
    allowed_dims: tuple[str, ...] | None
    fields: tuple[Field, ...] = field(default_factory=tuple)
    required_attrs: tuple[str, ...] = ()


SAMPLE_FIELDS = (
    Field("composition", "1", numeric=False, long_name="composition"),
    Field("thickness_cm", "cm", positive=True, long_name="pellet thickness"),
    Field("area_cm2", "cm2", positive=True, long_name="pellet area"),
    Field("mass_mg", "mg", positive=True, long_name="pellet mass"),
    Field("state", "1", numeric=False, long_name="state (as-milled / sintered)"),
    Field("frb_pct", "%", long_name="filling rate of milling balls"),
    Field("bmr", "1", long_name="ball-to-material mass ratio"),
    Field("rpm", "rpm", long_name="mill speed"),
    Field("milling_time_h", "h", long_name="milling time"),
    Field("ball_diameter_mm", "mm", long_name="ball diameter"),
    Field("ball_material", "1", numeric=False, long_name="ball material"),
    Field("jar_volume_ml", "mL", long_name="jar volume"),
)

_Z = (
    Field("z_real", "ohm", long_name="Re(Z)"),
    Field("z_imag", "ohm", long_name="Im(Z)"),
    Field("frequency", "Hz", dims=("frequency",), positive=True, finite=True, long_name="frequency"),
)

SCHEMAS: dict[str, Kind] = {
    "eis": Kind("eis", ("frequency",), None, _Z),
    "pellet_eis": Kind(
        "pellet_eis",
        ("frequency",),
        ("sample", "temperature", "frequency"),
        _Z
        + (Field("temperature", "K", dims=("temperature",), positive=True, required=False,
                 long_name="temperature"),)
        + SAMPLE_FIELDS,
    ),
    "insitu_eis": Kind(
        "insitu_eis",
        ("cycle", "point", "frequency"),
        None,
        _Z
        + (
            Field("cycle", "1", dims=("cycle",), long_name="cycle number"),
            Field("point", "1", dims=("point",), long_name="measurement point within the cycle"),
            Field("voltage", "V", long_name="cell voltage at the spectrum"),
            Field("soc", "%", long_name="state of charge at the spectrum"),
        ),
    ),
    "cycling": Kind(
        "cycling",
        ("record",),
        None,
        (
            Field("time", "s", dims=("record",), finite=True, long_name="test time"),
            Field("voltage", "V", dims=("record",), long_name="cell voltage"),
            Field("current", "mA", dims=("record",), long_name="current (positive = charge)"),
            Field("capacity", "mAh", dims=("record",), long_name="capacity within the half-cycle"),
            Field("cycle", "1", dims=("record",), long_name="cycle number"),
            Field("step", "1", dims=("record",), long_name="step number"),
            Field("direction", "1", dims=("record",), long_name="half-cycle direction (+1 charge, -1 discharge, 0 rest)"),
            Field("pressure", "MPa", dims=("record",), required=False, long_name="stack pressure"),
            Field("temperature", "K", dims=("record",), required=False, positive=True, long_name="temperature"),
        ),
    ),
    "pressure_log": Kind(
        "pressure_log",
        ("record",),
        None,
        (
            Field("time", "s", dims=("record",), finite=True, long_name="time since start_time"),
            Field("pressure", "MPa", dims=("record",), long_name="stack pressure"),
        ),
        required_attrs=("start_time",),
    ),
    "dc_polarisation": Kind(
        "dc_polarisation",
        ("voltage",),
        None,
        (
            Field("voltage", "V", dims=("voltage",), finite=True, long_name="applied voltage"),
            Field("current_ss", "A", dims=("voltage",), long_name="steady-state current"),
            Field("thickness_cm", "cm", positive=True, long_name="pellet thickness"),
            Field("area_cm2", "cm2", positive=True, long_name="pellet area"),
        ),
    ),
}

#: Optional cell attributes of ``cycling`` datasets (name -> units).
CELL_ATTRS = {
    "active_mass_mg": "mg",
    "active_fraction": "1",
    "area_cm2": "cm2",
    "loading_mg_cm2": "mg/cm2",
    "cathode": "",
    "electrolyte": "",
    "anode": "",
    "voltage_min_V": "V",
    "voltage_max_V": "V",
    "start_time": "ISO 8601",
}


def _where(ds: xr.Dataset) -> str:
    src = ds.attrs.get("source_file")
    return f" (dataset from {src})" if src else ""


def validate(ds: xr.Dataset, kind: str, *, strict: bool = False) -> xr.Dataset:
    """Check that ``ds`` follows the data model for ``kind``.

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset to check.
    kind : {"eis", "pellet_eis", "insitu_eis", "cycling", "pressure_log"}
        Which description of ``docs/data-model.md`` applies.
    strict : bool, default False
        Also require the optional metadata (per-sample coordinates of ``pellet_eis``,
        ``units``/``long_name`` on every variable, provenance attributes).

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that ``validate`` can be chained.

    Raises
    ------
    SchemaError
        Naming the first missing or invalid field and why.
    """
    if kind not in SCHEMAS:
        raise SchemaError(f"unknown dataset kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(ds, xr.Dataset):
        raise SchemaError(f"expected an xarray.Dataset for kind {kind!r}, got {type(ds).__name__}")
    spec = SCHEMAS[kind]
    where = _where(ds)
    for d in spec.required_dims:
        if d not in ds.dims:
            raise SchemaError(f"{kind}: missing dimension {d!r}{where}")
    if spec.allowed_dims is not None:
        extra = [d for d in ds.dims if d not in spec.allowed_dims]
        if extra:
            raise SchemaError(
                f"{kind}: unexpected dimension(s) {extra}; allowed {list(spec.allowed_dims)}{where}"
            )
    for f in spec.fields:
        is_sample_meta = kind == "pellet_eis" and f in SAMPLE_FIELDS
        if f.name not in ds.variables:
            if f.required and (not is_sample_meta or strict):
                raise SchemaError(f"{kind}: missing field {f.name!r} ({f.units}){where}")
            continue
        var = ds[f.name]
        if f.dims is not None and not set(f.dims).issubset(var.dims):
            raise SchemaError(f"{kind}: field {f.name!r} must span dims {f.dims}, has {var.dims}{where}")
        if is_sample_meta and "sample" in ds.dims and var.dims not in ((), ("sample",)):
            raise SchemaError(f"{kind}: sample coordinate {f.name!r} must be along 'sample', has {var.dims}{where}")
        units = var.attrs.get("units")
        if units is not None and f.units and units != f.units:
            raise SchemaError(f"{kind}: field {f.name!r} has units {units!r}, expected {f.units!r}{where}")
        if strict:
            if units is None:
                raise SchemaError(f"{kind}: field {f.name!r} has no 'units' attribute{where}")
            if not var.attrs.get("long_name"):
                raise SchemaError(f"{kind}: field {f.name!r} has no 'long_name' attribute{where}")
        if f.numeric:
            if not np.issubdtype(var.dtype, np.number) and var.dtype != bool:
                raise SchemaError(f"{kind}: field {f.name!r} must be numeric, has dtype {var.dtype}{where}")
            vals = np.asarray(var.values, dtype=float)
            if f.finite and not np.all(np.isfinite(vals)):
                raise SchemaError(f"{kind}: field {f.name!r} contains NaN or inf{where}")
            if f.positive and np.any(vals[np.isfinite(vals)] <= 0):
                raise SchemaError(f"{kind}: field {f.name!r} must be > 0{where}")
    if "frequency" in spec.required_dims:
        fr = np.asarray(ds["frequency"].values, dtype=float)
        if fr.size and np.unique(fr).size != fr.size:
            raise SchemaError(f"{kind}: duplicate frequencies{where}")
    for a in spec.required_attrs:
        if a not in ds.attrs:
            raise SchemaError(f"{kind}: missing attribute {a!r}{where}")
    if strict:
        for a in PROVENANCE_ATTRS:
            if a not in ds.attrs:
                raise SchemaError(f"{kind}: missing provenance attribute {a!r}{where}")
        for name, var in ds.data_vars.items():
            if "units" not in var.attrs or "long_name" not in var.attrs:
                raise SchemaError(f"{kind}: variable {name!r} needs 'units' and 'long_name'{where}")
    return ds


def impedance(ds: xr.Dataset) -> xr.DataArray:
    """Return the complex impedance ``z_real + 1j * z_imag`` (ohm) of an EIS dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset of kind ``eis``, ``pellet_eis`` or ``insitu_eis``.

    Returns
    -------
    xarray.DataArray
        Complex impedance in ohm with the dims of ``z_real``.
    """
    z = ds["z_real"] + 1j * ds["z_imag"]
    z.attrs = {"units": "ohm", "long_name": "impedance"}
    return z


def detect_kind(ds: xr.Dataset) -> str | None:
    """Guess the kind of a dataset from its dimensions and variables (``None`` if unknown).

    Parameters
    ----------
    ds : xarray.Dataset
        Any dataset.

    Returns
    -------
    str or None
        One of :data:`KINDS`, or None.
    """
    if ds.attrs.get("kind") in KINDS:
        return ds.attrs["kind"]
    if "frequency" in ds.dims and "z_real" in ds:
        if {"cycle", "point"} <= set(ds.dims):
            return "insitu_eis"
        if "sample" in ds.dims or "thickness_cm" in ds.variables:
            return "pellet_eis"
        return "eis"
    if "voltage" in ds.dims and "current_ss" in ds:
        return "dc_polarisation"
    if "record" in ds.dims:
        if "voltage" in ds.variables and "current" in ds.variables:
            return "cycling"
        if "pressure" in ds.variables:
            return "pressure_log"
    return None
