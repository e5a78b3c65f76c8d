"""Tests of the ``ssb-explorer lab`` command (moduli, ccd, diffusion, sigma-e)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from analysis.cli import main


def test_lab_moduli(capsys):
    assert main(["lab", "moduli", "--density-g-cm3", "1.64", "--vl", "4249", "--vs", "2271",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["G_GPa"] == pytest.approx(8.46, abs=0.005)
    assert out["nu"] == pytest.approx(0.30, abs=0.005)
    assert main(["lab", "moduli", "--density", "1640", "--vl", "2271", "--vs", "4249"]) == 1
    assert "swapped" in capsys.readouterr().err


def test_lab_ccd_simulated_and_file(capsys, tmp_path):
    assert main(["lab", "ccd", "--simulate", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ccd_mA_cm2"] == pytest.approx(0.7) and out["short_step"] == 7
    from analysis.electrochem import simulate_ccd_test

    p = tmp_path / "ccd.nc"
    simulate_ccd_test(short_step=4, n_steps=8).to_netcdf(p)
    assert main(["lab", "ccd", str(p)]) == 0
    assert "CCD 0.4 mA/cm2" in capsys.readouterr().out


def test_lab_diffusion(capsys):
    D, n, A, C = 5e-10, 1, 0.785, 1e-3
    v = np.array([0.1, 0.2, 0.5, 1.0])  # mV/s
    ip = 2.6857e5 * n**1.5 * A * C * np.sqrt(D * v * 1e-3) * 1e3  # mA
    args = ["lab", "diffusion", "--scan-rates-mV-s", *map(str, v), "--peak-currents-mA",
            *map(str, ip), "--area-cm2", str(A), "--conc-mol-cm3", str(C), "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["D_cm2_s"] == pytest.approx(D, rel=2e-3)


def test_lab_sigma_e(capsys, tmp_path):
    V = np.array([0.1, 0.2, 0.3])
    ds = xr.Dataset({"current_ss": (("sample", "voltage"), np.array([[8.11e-9], [1.09e-9]]) * 0.785 / 0.055 * V)},
                    coords={"sample": ["x0", "x02"], "voltage": V},
                    attrs={"thickness_cm": 0.055, "area_cm2": 0.785})
    p = tmp_path / "dc.nc"
    ds.to_netcdf(p)
    assert main(["lab", "sigma-e", str(p), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["x0"]["sigma_S_cm"] == pytest.approx(8.11e-9, rel=1e-9)
    assert main(["lab", "sigma-e", "--voltages-V", "0.1", "0.2", "--currents-A", "1e-8", "2e-8",
                 "--thickness-cm", "0.1", "--area-cm2", "1"]) == 0
    assert "1.000e-08 S/cm" in capsys.readouterr().out
    assert main(["lab", "sigma-e"]) == 1
