"""NetCDF files in the project's data model: read back exactly, refused with a clear reason otherwise."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sample_data
from analysis import io as sio
from analysis import store
from analysis.io import ReadError


def test_sample_pellet_series_reads_back_exactly_and_goes_into_the_store(tmp_path):
    src = sample_data.HERE / "s1_lpscb_pellets.nc"
    assert sio.sniff(src) == "ssb-netcdf"
    ds = sio.read(src)
    ref = sample_data.load("s1_lpscb_pellets")
    assert ds.attrs["kind"] == "pellet_eis" and ds.attrs["reader"] == "ssb-netcdf"
    assert ds.attrs["source_file"] == "s1_lpscb_pellets.nc"
    np.testing.assert_array_equal(ds["z_real"].values, ref["z_real"].values)
    np.testing.assert_array_equal(ds["unit_cell_volume_A3"].values, ref["unit_cell_volume_A3"].values)
    st = store.open(tmp_path / "store")
    e = st.ingest(src)
    assert e.kind == "pellet_eis" and e.sizes["sample"] == 12
    back = st.load(e.id)
    np.testing.assert_array_equal(back["z_imag"].values, ref["z_imag"].values)
    assert list(back["sample"].values) == list(ref["sample"].values)


def test_classic_netcdf_and_expected_kind(tmp_path):
    ref = sample_data.load("s5_dc_polarisation")
    p = tmp_path / "dc.nc"
    ref.to_netcdf(p, engine="scipy")  # NetCDF-3 classic
    ds = sio.read(p, kind="dc_polarisation")
    assert ds.attrs["kind"] == "dc_polarisation"
    with pytest.raises(ReadError, match=r"dc\.nc: holds dc_polarisation data, not cycling"):
        sio.read(p, kind="cycling")


def test_not_in_the_data_model_truncated_or_invalid(tmp_path):
    other = tmp_path / "other.nc"
    xr.Dataset({"temperature_field": (("x", "y"), np.zeros((3, 4)))}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(ReadError, match=r"other\.nc: a NetCDF file that is not in the ssb-explorer data model"):
        sio.read(other)
    cut = tmp_path / "cut.nc"
    cut.write_bytes((sample_data.HERE / "s5_halide_pellets.nc").read_bytes()[:5000])
    with pytest.raises(ReadError, match=r"cut\.nc: not a readable NetCDF file"):
        sio.read(cut)
    bad = sample_data.load("s5_halide_pellets").copy()
    bad["z_real"] = bad["z_real"].isel(frequency=slice(0, 3)).rename(frequency="f3")
    badp = tmp_path / "bad.nc"
    bad.to_netcdf(badp, engine="h5netcdf")
    with pytest.raises(ReadError, match=r"bad\.nc: invalid pellet_eis dataset"):
        sio.read(badp)

