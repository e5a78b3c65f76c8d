"""Exports: NetCDF/CSV round trips, fit tables from analysis, figures as HTML/PNG/SVG (or a clear refusal)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sample_data
from dashboard import export


def _eis_dataset(truth: dict, spec: str = "R0-p(R1,CPE1)") -> xr.Dataset:
    """Two spectra simulated from known circuit parameters (dimension ``cycle``)."""
    from analysis.eis import Circuit

    f = np.logspace(6, -1, 50)
    z = [Circuit(spec).impedance(f, dict(truth, R1=truth["R1"] * k)) for k in (1.0, 2.0)]
    z = np.array(z)
    return xr.Dataset({"z_real": (("cycle", "frequency"), z.real, {"units": "ohm"}),
                       "z_imag": (("cycle", "frequency"), z.imag, {"units": "ohm"})},
                      coords={"cycle": [1, 2], "frequency": ("frequency", f, {"units": "Hz"})},
                      attrs={"kind": "eis", "circuit": spec, "flag": True, "none": None,
                             "names": ["a", "b"], "d": {"x": 1}})


@pytest.mark.parametrize("name", ["s1_lpscb_pellets", "s2_lts_rate", "s4_lis_insitu_eis",
                                  "s2_lts_conventional_pressure"])
def test_netcdf_round_trip_of_sample_data(name):
    ds = sample_data.load(name)
    back = xr.open_dataset(io.BytesIO(export.dataset_netcdf(ds)), engine="h5netcdf").load()
    xr.testing.assert_identical(back, ds)


def test_netcdf_makes_attributes_safe():
    ds = _eis_dataset({"R0": 10.0, "R1": 100.0, "CPE1_Q": 1e-6, "CPE1_n": 0.9})
    back = xr.open_dataset(io.BytesIO(export.dataset_netcdf(ds)), engine="h5netcdf").load()
    assert back.attrs["flag"] == 1 and "none" not in back.attrs and back.attrs["names"] == "a; b"
    np.testing.assert_array_equal(back["z_real"].values, ds["z_real"].values)


def test_dataset_csv_has_units_provenance_and_the_values():
    ds = sample_data.load("s2_lts_rate")
    raw = export.dataset_csv(ds)
    assert raw.startswith(b"# title: SYNTHETIC sample data: s2_lts_rate\n")
    assert b"# study: S2\n" in raw
    df = pd.read_csv(io.BytesIO(raw), comment="#")
    assert {"voltage (V)", "current (mA)", "capacity (mAh)", "time (s)"} <= set(df.columns)
    np.testing.assert_allclose(df["voltage (V)"].to_numpy(), ds["voltage"].values, rtol=1e-9)
    np.testing.assert_allclose(df["time (s)"].to_numpy(), ds["time"].values, rtol=1e-9)
    assert len(df) == ds.sizes["record"]


def test_table_csv_splits_complex_values_and_keeps_dataframes():
    z = xr.DataArray(np.array([1 + 2j, 3 - 4j]), dims="frequency",
                     coords={"frequency": [10.0, 1.0]}, name="Z", attrs={"units": "ohm"})
    df = pd.read_csv(io.BytesIO(export.table_csv(z, "one\ntwo")), comment="#")
    assert list(df.columns) == ["frequency", "Z_real (ohm)", "Z_imag (ohm)"]
    np.testing.assert_array_equal(df["Z_imag (ohm)"], [2.0, -4.0])
    frame = pd.DataFrame({"a": [1.5]})
    assert export.table_csv(frame) == b"a\n1.5\n"
    with pytest.raises(export.ExportError, match="cannot export a list"):
        export.table_frame([1, 2])


def test_fit_table_names_per_kind():
    assert set(export.fit_table_names("pellet_eis")) == {"conductivity", "arrhenius"}
    assert set(export.fit_table_names("cycling")) == {"cycle_summary"}
    assert export.fit_table_names("pressure_log") == {}
    assert export.fit_table_names(None) == {}


def test_eis_fit_table_recovers_the_simulated_parameters():
    truth = {"R0": 12.0, "R1": 150.0, "CPE1_Q": 2e-6, "CPE1_n": 0.85}
    ds = _eis_dataset(truth)
    tab = export.fit_table(ds, "circuit_fit")
    for k, v in truth.items():
        np.testing.assert_allclose(tab[k].sel(cycle=1).item(), v, rtol=1e-3)
    np.testing.assert_allclose(tab["R1"].sel(cycle=2).item(), 2 * truth["R1"], rtol=1e-3)
    df = pd.read_csv(io.BytesIO(export.table_csv(tab)))
    assert "R1 (ohm)" in df.columns and "R1_stderr (ohm)" in df.columns and len(df) == 2


def test_pellet_and_cycling_fit_tables_are_the_analysis_results():
    from analysis.cycling import summarize
    from analysis.pellets import arrhenius_table, conductivity_table

    ds = sample_data.load("s5_halide_pellets")
    cond = conductivity_table(ds, ds.attrs["circuit"])
    xr.testing.assert_allclose(export.fit_table(ds, "conductivity"), cond)
    arr = export.fit_table(ds, "arrhenius")
    xr.testing.assert_allclose(arr, arrhenius_table(cond, form=ds.attrs["arrhenius_form"]))
    # study S5 (synthetic truth): the volcano's optimum is x = 0.2 at about 1.03 mS/cm
    best = int(np.nanargmax(arr["sigma_25C"].values))
    assert str(arr["composition"].values[best]) == "Li1.8Zr0.8Nb0.2Cl6"
    assert float(arr["sigma_25C"].values[best]) * 1e3 == pytest.approx(1.03, rel=0.05)
    cyc = sample_data.load("s2_lts_rate")
    xr.testing.assert_allclose(export.fit_table(cyc, "cycle_summary"), summarize(cyc))


def test_fit_table_refuses_unknown_tables():
    with pytest.raises(export.ExportError, match="no fit table 'arrhenius' for a cycling dataset"):
        export.fit_table(sample_data.load("s2_lts_rate"), "arrhenius")


def _figure():
    import holoviews as hv

    return hv.Curve(([0, 1, 2], [1, 3, 2]), "time (h)", "voltage (V)")


def test_figure_html_is_standalone():
    html = export.figure_html(_figure(), title="t").decode()
    assert html.lower().lstrip().startswith("<!doctype html")
    assert "cdn.bokeh.org" not in html  # JS inlined: opens offline
    assert "voltage (V)" in html


def test_png_and_svg_or_a_clear_refusal():
    ok, why = export.image_export_status()
    if not ok:
        assert "HTML" in why
        with pytest.raises(export.ExportError, match="HTML"):
            export.figure_png(_figure())
        return
    png = export.figure_png(_figure(), width=300, height=200, scale=1)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (300, 200)
    svg = export.figure_svg(_figure(), width=300, height=200).decode()
    assert svg.startswith("<svg") and 'width="300"' in svg


def test_image_export_unavailable_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(export, "image_export_status", lambda: (False, "PNG/SVG export needs Chromium; HTML works"))
    with pytest.raises(export.ExportError, match="needs Chromium"):
        export.figure_svg(_figure())


def test_a_netcdf_download_imports_again(tmp_path):
    """What the Data page downloads as NetCDF goes back into a store (reader ssb-netcdf) unchanged."""
    import numpy as np

    import sample_data
    from analysis import store
    from dashboard.export import dataset_netcdf

    for name, var, kind in (("s2_lts_insitu_eis", "z_real", "insitu_eis"),
                            ("s2_lts_conventional", "voltage", "cycling")):
        ref = sample_data.load(name)
        st = store.open(tmp_path / "store")
        e = st.ingest_bytes(dataset_netcdf(ref), f"{name}.nc")
        back = st.load(e.id)
        assert e.kind == kind and back.attrs["reader"] == "ssb-netcdf"
        np.testing.assert_array_equal(back[var].values, ref[var].values)
