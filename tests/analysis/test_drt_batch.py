"""Tests of drt_many (batch / 2-D maps), the ds.drt accessor and the ``drt`` command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import analysis  # noqa: F401  (registers the accessors)
from analysis.cli import main as cli_main
from analysis.drt import (
    DRTError,
    DRTResult,
    compute_drt,
    drt_many,
    find_peaks,
    find_peaks_many,
    integrate_regions,
    zarc_impedance,
)
from analysis.drt.peaks import _integrate_1d

F = np.logspace(6, -2, 61)


def insitu_dataset(n_cycle=3, n_point=4, seed=0):
    """In situ-like series: the slow process moves to shorter tau with the point index."""
    rng = np.random.default_rng(seed)
    tau2 = np.logspace(-1, -2, n_point)
    z = np.empty((n_cycle, n_point, F.size), complex)
    for c in range(n_cycle):
        for p in range(n_point):
            zz = 10 + c + zarc_impedance(F, 40, 1e-4, 0.85) + zarc_impedance(F, 10 + 2 * c, tau2[p], 0.85)
            z[c, p] = zz + 0.002 * np.abs(zz) * (rng.normal(size=F.size) + 1j * rng.normal(size=F.size))
    return xr.Dataset(
        {
            "z_real": (("cycle", "point", "frequency"), z.real, {"units": "ohm"}),
            "z_imag": (("cycle", "point", "frequency"), z.imag, {"units": "ohm"}),
        },
        coords={
            "frequency": ("frequency", F, {"units": "Hz"}),
            "cycle": np.arange(1, n_cycle + 1),
            "point": np.arange(n_point),
            "voltage": (("cycle", "point"), np.tile(np.linspace(1.0, 2.0, n_point), (n_cycle, 1))),
        },
        attrs={"source_file": "synthetic"},
    )


@pytest.mark.parametrize("lam, method", [(1e-3, "gcv"), ("auto", "gcv"), ("auto", "mgcv"),
                                          ("auto", "lcurve"), ("auto", "re-im")])
def test_drt_many_equals_single_spectra(lam, method):
    ds = insitu_dataset()
    out = drt_many(ds, lam=lam, lam_method=method)
    assert out["gamma"].dims == ("cycle", "point", "tau")
    assert out["R_inf"].dims == ("cycle", "point")
    assert "voltage" in out.coords and out.attrs["source_file"] == "synthetic"
    for c in range(3):
        for p in range(4):
            z = ds["z_real"][c, p].values + 1j * ds["z_imag"][c, p].values
            r = compute_drt(F, z, lam=lam, lam_method=method, kk=False)
            g = out["gamma"][c, p].values
            assert np.allclose(g, r.gamma, atol=1e-4 * r.gamma.max())
            assert float(out["R_inf"][c, p]) == pytest.approx(r.R_inf, rel=1e-4)
            assert float(out["lam"][c, p]) == pytest.approx(r.lam, rel=1e-9)


def test_drt_many_tracks_the_moving_peak_and_regions():
    out = drt_many(insitu_dataset(), lam=1e-3)
    tau = out["tau"].values
    slow = out["gamma"].where(out["tau"] > 3e-3)
    tau_peak = tau[slow.fillna(0).argmax("tau").values]  # (cycle, point)
    assert np.allclose(np.log10(tau_peak), np.log10(np.logspace(-1, -2, 4))[None, :], atol=0.15)
    assert np.all(np.diff(tau_peak, axis=1) < 0)  # moves to shorter tau along the series
    reg = integrate_regions(out, {"T1": (1e-7, 3e-3), "T2": (3e-3, 100)})
    assert reg["T2"].dims == ("cycle", "point")
    # resistance of the slow process: 10 + 2 * (cycle - 1) ohm
    assert np.allclose(reg["T2"].mean("point").values, [10, 12, 14], rtol=0.06)
    assert np.allclose(out["R_inf"].mean("point").values, [10, 11, 12], rtol=0.03)


def test_drt_many_parallel_dask_and_missing_values():
    ds = insitu_dataset()
    zr = ds["z_real"].values.copy()
    zr[0, 1, 5] = np.nan  # one missing point
    zr[1, 2, :] = np.nan  # a missing spectrum
    ds["z_real"] = (("cycle", "point", "frequency"), zr)
    serial = drt_many(ds, lam=1e-3)
    par = drt_many(ds, lam=1e-3, parallel="dask", chunk_size=3)
    assert np.allclose(serial["gamma"].values, par["gamma"].values, equal_nan=True)
    assert np.all(np.isnan(serial["gamma"][1, 2].values))
    assert np.all(np.isfinite(serial["gamma"][0, 1].values))
    good = ~np.isnan(zr[0, 1])
    z = zr[0, 1][good] + 1j * ds["z_imag"].values[0, 1][good]
    r = compute_drt(F[good], z, lam=1e-3, kk=False)
    assert np.allclose(serial["gamma"][0, 1].values, r.gamma_at(serial["tau"].values), atol=1e-8)


def test_drt_many_complex_dataarray_and_errors():
    ds = insitu_dataset(1, 2)
    z = ds["z_real"] + 1j * ds["z_imag"]
    out = drt_many(z, lam=1e-3, inductance=True)
    assert out["L"].dims == ("cycle", "point")
    with pytest.raises(DRTError, match="frequency"):
        drt_many(z.rename(frequency="f"), lam=1e-3)
    with pytest.raises(DRTError, match="z_real"):
        drt_many(ds.drop_vars("z_imag"), lam=1e-3)
    with pytest.raises(DRTError, match="parallel"):
        drt_many(ds, parallel="mpi")
    with pytest.raises(DRTError, match="complex"):
        drt_many(ds["z_real"])


def test_accessor_single_and_many():
    ds = insitu_dataset(1, 2)
    one = ds.isel(cycle=0, point=0)
    r = one.drt.compute(lam=1e-3, kk=False)
    assert isinstance(r, DRTResult)
    many = ds.drt.compute(lam=1e-3, data="complex")
    assert many["gamma"].dims == ("cycle", "point", "tau")
    with pytest.raises(DRTError, match="z_real"):
        ds.drop_vars("z_real").drt.compute()


def test_cli_drt_writes_results(tmp_path, capsys):
    z = 10 + zarc_impedance(F, 40, 1e-4, 0.85) + zarc_impedance(F, 10, 1e-1, 0.85)
    src = tmp_path / "spectrum.txt"
    np.savetxt(src, np.column_stack([F, z.real, z.imag]))
    out, peaks = tmp_path / "drt.csv", tmp_path / "peaks.csv"
    rc = cli_main(["drt", str(src), "--lam", "1e-3", "--out", str(out), "--peaks-out", str(peaks), "--no-kk"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "lambda = 0.001" in text and "R_inf" in text
    import pandas as pd

    tab = pd.read_csv(out)
    assert list(tab.columns) == ["tau_s", "gamma_ohm"] and len(tab) == 10 * F.size
    pk = pd.read_csv(peaks)
    big = pk.sort_values("area", ascending=False).iloc[:2].sort_values("tau")
    assert np.allclose(big["log10_tau"], [-4, -1], atol=0.03)
    assert cli_main(["drt", str(src), "--lam", "abc"]) == 1
    assert "--lam must be" in capsys.readouterr().err
    assert cli_main(["drt", str(tmp_path / "missing.txt")]) == 1


@pytest.mark.parametrize("deconvolve", [False, True])
def test_find_peaks_many_equals_find_peaks_per_spectrum(deconvolve):
    out = drt_many(insitu_dataset(), lam=1e-3)
    g = out["gamma"].values.copy()
    g[1, 2] = np.nan  # a failed inversion contributes no rows
    out["gamma"] = (out["gamma"].dims, g)
    many = find_peaks_many(out, deconvolve=deconvolve)
    tau = out["tau"].values
    flat = g.reshape(-1, tau.size)
    n_point = out.sizes["point"]
    expect = [find_peaks(tau, gg, deconvolve=deconvolve).assign(row=i) for i, gg in enumerate(flat)
              if np.all(np.isfinite(gg))]
    expect = pd.concat(expect, ignore_index=True)
    assert len(many) == len(expect) > 2 * flat.shape[0] - 2  # the two processes of every spectrum
    assert (many["row"] != 1 * n_point + 2).all()
    for col in ("tau", "log10_tau", "height", "area", "area_gauss", "sigma_ln_tau", "capacitance", "row"):
        assert np.allclose(many[col].to_numpy(float), expect[col].to_numpy(float), equal_nan=True), col
    # each row carries its spectrum's coordinates
    assert np.array_equal(many["cycle"], out["cycle"].values[many["row"] // n_point])
    assert np.array_equal(many["point"], out["point"].values[many["row"] % n_point])
    # a 2-D array gives the same table without the coordinate columns
    arr = find_peaks_many(tau, flat, deconvolve=deconvolve)
    assert list(arr.columns) == list(expect.columns)
    assert np.allclose(arr["area"], many["area"])
    with pytest.raises(DRTError, match="expected tau"):
        find_peaks_many(tau, flat[:, :-1])


def test_integrate_regions_of_a_map_equals_the_per_spectrum_integral():
    out = drt_many(insitu_dataset(), lam=1e-3)
    tau = out["tau"].values
    regions = {"T1": (1e-7, 3e-3), "odd": (3.3e-5, 0.71), "grid point": (float(tau[5]), float(tau[40])),
               "outside": (1e5, 1e6), "all": (1e-12, 1e12)}
    reg = integrate_regions(out, regions)
    rev = integrate_regions(out.isel(tau=slice(None, None, -1)), regions)  # descending tau grid
    for name, (lo, hi) in regions.items():
        ref = np.array([[_integrate_1d(tau, g, lo, hi) for g in row] for row in out["gamma"].values])
        assert np.allclose(reg[name].values, ref, rtol=1e-12, atol=1e-12), name
        assert np.allclose(rev[name].values, ref, rtol=1e-12, atol=1e-12), name
        assert reg[name].attrs["units"] == "ohm"
    assert np.all(reg["outside"].values == 0)
