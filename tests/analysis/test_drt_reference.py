"""DRT of the real and published reference spectra (SSB_REFERENCE_DATA)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.drt import compute_drt, find_peaks

pytestmark = pytest.mark.reference


def _read_io(path):
    try:
        from analysis.io import read
    except ImportError:
        pytest.skip("analysis.io is not importable yet: cannot read instrument files")
    ds = read(path)
    return ds["frequency"].values, ds["z_real"].values + 1j * ds["z_imag"].values


def test_pydrttools_synthetic_2zarc_matches_its_published_result(ref_file):
    data = pd.read_csv(ref_file("eis/pyDRTtools_synthetic_2ZARC0.csv"))
    assert list(data.columns[1:]) == ["Freq", "Real", "Imag"] and len(data) == 81
    ref = pd.read_csv(ref_file("eis/pyDRTtools_synthetic_2ZARC0_DRT-RR_result.csv")).iloc[:, 0].to_numpy()
    tau = np.logspace(-6, 2, 81)
    assert ref.shape == tau.shape
    r = compute_drt(data["Freq"].to_numpy(), data["Real"].to_numpy() + 1j * data["Imag"].to_numpy(),
                    lam="auto", inductance=True, kk=False)
    g = r.gamma_at(tau)
    # same shape: the curves are proportional (the published file is scaled by ~0.48, see docs/drt.md)
    assert np.corrcoef(g, ref)[0, 1] > 0.99
    # same peaks, within 0.05 decade (prominence 10 %: both curves also have a small noise
    # feature at the low-frequency edge)
    ours = find_peaks(tau, g, prominence=0.1)
    theirs = find_peaks(tau, ref, prominence=0.1)
    assert len(ours) == len(theirs) == 2
    assert np.allclose(ours["log10_tau"], theirs["log10_tau"], atol=0.05)
    # and where the synthetic processes are (tau = 1e-4 s and 0.1 s)
    assert np.allclose(ours["log10_tau"], [-4, -1], atol=0.1)
    # our gamma is in ohm per unit ln tau: its integral is Z'(f_min) - Z'(f_max) (~60 ohm)
    assert r.R_inf + r.R_pol == pytest.approx(data["Real"].iloc[0], rel=0.04)


def test_pydrttools_lib_data_with_inductance(ref_file):
    arr = np.loadtxt(ref_file("eis/pyDRTtools_LIB_data.txt"))
    assert arr.shape == (107, 3)
    f, z = arr[:, 0], arr[:, 1] + 1j * arr[:, 2]
    assert np.sum(z.imag > 0) > 0  # inductive high-frequency tail
    r = compute_drt(f, z, lam=1e-3, inductance=True)
    assert r.L > 0
    assert 1e-8 < r.L < 1e-5
    assert not any("inductive tail" in w for w in r.warnings)
    assert np.sqrt(np.mean(np.abs(r.residuals) ** 2)) < 0.005 * np.mean(np.abs(z))
    assert r.R_inf == pytest.approx(0.112, rel=0.05)
    pk = r.peaks()
    assert len(pk) >= 2 and np.all(pk["area"] > 0)
    # without L the tail is reported
    r0 = compute_drt(f, z, lam=1e-3, kk=False)
    assert any("inductive tail" in w for w in r0.warnings)


def test_lpscl_blocking_pellet_gives_bulk_peak(ref_file):
    f, z = _read_io(ref_file("eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt"))
    assert f.size == 79
    r = compute_drt(f, z, lam="auto", capacitance=True, kk=False)
    pk = r.peaks(tau_range=(1e-8, 1e-5))
    bulk = pk.sort_values("area", ascending=False).iloc[0]
    # the pellet's arc peaks near 1 MHz (tau ~ 1.4e-7 s) with a capacitance of ~1e-10 F
    assert 5e-8 < bulk["tau"] < 5e-7
    assert 1e-11 < bulk["capacitance"] < 1e-9
    # R_inf + the arc's resistance reach the real-axis plateau before the electrode spike (~1.44 kohm)
    plateau = z.real[(f > 2e4) & (f < 1e5)].mean()
    assert r.R_inf + pk["area"][pk["tau"] < 1e-5].sum() == pytest.approx(plateau, rel=0.05)
    # the blocking electrodes are the series capacitance (~0.3 uF)
    assert 5e-8 < r.C < 2e-6


def test_ssb_cell_gives_interface_and_diffusion_peaks(ref_file):
    f, z = _read_io(ref_file("eis/hybriddrt_PEIS_SSB.mpr"))
    r = compute_drt(f, z, lam="auto", lam_method="lcurve", kk=False)
    assert np.sqrt(np.mean(np.abs(r.residuals) ** 2)) < 0.01 * np.mean(np.abs(z))
    assert r.R_inf == pytest.approx(z.real[np.argmax(f)], rel=0.15)
    pk = r.peaks()
    assert np.all(pk["area"] > 0)
    mid = pk[(pk["tau"] > 1e-3) & (pk["tau"] < 1)]
    slow = pk[pk["tau"] > 1]
    assert len(mid) >= 1 and len(slow) >= 1
    # interface / charge-transfer capacitance range, 1e-6 .. 1e-3 F
    assert np.all((mid["capacitance"] > 1e-6) & (mid["capacitance"] < 1e-3))
