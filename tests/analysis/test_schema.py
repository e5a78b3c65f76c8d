"""The data model validator: sample data passes; every kind of breakage names the field."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sample_data
from analysis.schema import KINDS, SchemaError, detect_kind, impedance, validate


@pytest.mark.parametrize("name", sample_data.names())
def test_every_sample_dataset_is_valid_and_strict(name):
    ds = sample_data.load(name)
    kind = detect_kind(ds)
    assert kind in KINDS
    validate(ds, kind, strict=kind != "pressure_log" or True)
    assert ds.attrs["synthetic"] == "true"
    assert ds.attrs["sha256"] == "synthetic"
    assert ds.attrs["study"] in {"S1", "S2", "S3", "S4", "S5"}
    assert len(ds.attrs["mimics"]) > 20


def _eis():
    f = np.logspace(5, -1, 31)
    z = 10 + 1 / (1j * 2 * np.pi * f * 1e-6)
    return xr.Dataset(
        {"z_real": ("frequency", z.real, {"units": "ohm"}), "z_imag": ("frequency", z.imag, {"units": "ohm"})},
        coords={"frequency": ("frequency", f, {"units": "Hz"})},
    )


def test_minimal_eis_valid_and_impedance():
    ds = _eis()
    validate(ds, "eis")
    z = impedance(ds)
    assert np.iscomplexobj(z.values) and z.attrs["units"] == "ohm"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ds: ds.drop_vars("z_imag"), "missing field 'z_imag'"),
        (lambda ds: ds.assign_coords(frequency=-ds.frequency), "'frequency' must be > 0"),
        (lambda ds: ds.assign_coords(frequency=ds.frequency.where(ds.frequency < 1e4)), "NaN or inf"),
        (lambda ds: ds.assign(z_real=ds.z_real.assign_attrs(units="kohm")), "units 'kohm'"),
        (lambda ds: ds.rename({"frequency": "freq"}), "missing dimension 'frequency'"),
        (lambda ds: ds.assign_coords(frequency=np.r_[ds.frequency.values[:-1], ds.frequency.values[0]]), "duplicate"),
        (lambda ds: ds.assign(z_real=ds.z_real.astype(str)), "must be numeric"),
    ],
)
def test_invalid_eis_names_the_field(mutate, message):
    with pytest.raises(SchemaError, match=message):
        validate(mutate(_eis()), "eis")


def test_pellet_strict_requires_sample_metadata():
    ds = sample_data.load("s1_lpscb_pellets")
    validate(ds.drop_vars("bmr"), "pellet_eis")  # lenient: optional metadata may be missing
    with pytest.raises(SchemaError, match="'bmr'"):
        validate(ds.drop_vars("bmr"), "pellet_eis", strict=True)
    with pytest.raises(SchemaError, match="unexpected dimension"):
        validate(ds.expand_dims(run=2), "pellet_eis")


def test_cycling_and_pressure_kinds():
    ds = sample_data.load("s2_lts_rate")
    validate(ds, "cycling", strict=True)
    with pytest.raises(SchemaError, match="'current'"):
        validate(ds.drop_vars("current"), "cycling")
    p = sample_data.load("s2_lts_conventional_pressure")
    validate(p, "pressure_log")
    bad = p.copy()
    del bad.attrs["start_time"]
    with pytest.raises(SchemaError, match="start_time"):
        validate(bad, "pressure_log")


def test_unknown_kind_and_wrong_type():
    with pytest.raises(SchemaError, match="unknown dataset kind"):
        validate(_eis(), "nope")
    with pytest.raises(SchemaError, match="expected an xarray.Dataset"):
        validate({"z_real": 1}, "eis")
