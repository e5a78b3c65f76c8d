"""Tests of drt_many (batch / 2-D maps), the ds.drt accessor and the ``drt`` command."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import analysis  # noqa: F401  (registers the accessors)
from analysis.cli import main as cli_main
from analysis.drt import DRTError, DRTResult, compute_drt, drt_many, integrate_regions, zarc_impedance

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
