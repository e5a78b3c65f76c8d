"""Tests of analysis.electrochem: CCD, Randles-Sevcik diffusion, DC-polarisation sigma_e."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from analysis import electrochem as ec
from analysis.errors import AnalysisError

# ------------------------------------------------------------------------------- CCD


@pytest.mark.parametrize("short_step", [1, 3, 8, 15, 19])
def test_ccd_is_predecessor_of_short_step(short_step):
    ds = ec.simulate_ccd_test(short_step=short_step, n_steps=20)
    r = ec.ccd_from_dataset(ds)
    assert r.shorted and r.short_step == short_step
    assert r.ccd_mA_cm2 == pytest.approx(0.1 * short_step)  # j_k = 0.1 (k+1); predecessor
    assert r.ccd_mA_cm2 == pytest.approx(ds.attrs["true_ccd_mA_cm2"])
    # the short happens 40 % into the plating half of that step
    assert r.short_time_s == pytest.approx((2 * short_step + 0.4) * 3600, abs=120)
    # per-step ASR of passed steps: ohmic 25 + interfacial ~15 ohm cm2 at the plateau
    passed = r.step_asr_ohm_cm2[:short_step]
    assert np.allclose(passed, 40, rtol=0.03)
    assert np.isnan(r.step_polarisation_V[short_step + 1:]).all()


def test_ccd_no_short_and_first_step_short():
    r = ec.ccd_from_dataset(ec.simulate_ccd_test(short_step=None, n_steps=12))
    assert not r.shorted and r.short_step is None and r.ccd_mA_cm2 == pytest.approx(1.2)
    r = ec.ccd_from_dataset(ec.simulate_ccd_test(short_step=0, n_steps=5))
    assert r.shorted and r.short_step == 0 and math.isnan(r.ccd_mA_cm2)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("noise", [1e-4, 2e-3])
def test_ccd_butler_volmer_interface_and_noise(seed, noise):
    ds = ec.simulate_ccd_test(short_step=8, exchange_current_mA_cm2=0.5, noise_V=noise, seed=seed)
    r = ec.ccd_from_dataset(ds)
    assert r.short_step == 8 and r.ccd_mA_cm2 == pytest.approx(0.8)


def test_ccd_from_step_table_and_time_arrays():
    ds = ec.simulate_ccd_test(short_step=5, n_steps=10)
    r = ec.critical_current_density(ds["time"].values, ds["voltage"].values,
                                    step_current_mA_cm2=0.1 * np.arange(1, 11),
                                    half_period_s=3600)
    assert r.short_step == 5 and r.ccd_mA_cm2 == pytest.approx(0.5)
    r2 = ec.critical_current_density(ds["time"].values, ds["voltage"].values,
                                     ds["current_density"].values)
    assert r2.ccd_mA_cm2 == pytest.approx(0.5)


def test_ccd_bad_input():
    t = np.arange(10.0)
    with pytest.raises(AnalysisError, match="differ in length"):
        ec.critical_current_density(t, t[:5], np.ones(10))
    with pytest.raises(AnalysisError, match="increasing"):
        ec.critical_current_density(t[::-1], t, np.ones(10))
    with pytest.raises(AnalysisError, match="zero everywhere"):
        ec.critical_current_density(t, t, np.zeros(10))
    with pytest.raises(AnalysisError, match="NaN"):
        ec.critical_current_density(t, np.full(10, np.nan), np.ones(10))
    with pytest.raises(AnalysisError, match="area"):
        ds = ec.simulate_ccd_test(n_steps=2, short_step=None)
        del ds.attrs["area_cm2"]
        ec.ccd_from_dataset(ds)


def test_simulated_ccd_is_cycling_kind():
    from analysis.schema import validate

    ds = ec.simulate_ccd_test(n_steps=3, short_step=None)
    validate(ds, "cycling")


# ------------------------------------------------------------------------ diffusion


def _cv_peaks(D, n=1, A=0.785, C=1e-3, T=298.15, rates=(1e-4, 2e-4, 5e-4, 1e-3)):
    v = np.asarray(rates)
    F, R = 96485.33212, 8.314462618
    return v, 0.4463 * n * F * A * C * np.sqrt(n * F * v * D / (R * T))


@pytest.mark.parametrize("D", [1e-12, 3e-10, 1e-8])
@pytest.mark.parametrize("n", [1, 2])
def test_randles_sevcik_round_trip(D, n):
    v, ip = _cv_peaks(D, n=n)
    r = ec.diffusion_coefficient_randles_sevcik(v, ip, n, 0.785, 1e-3)
    assert r.D_cm2_s == pytest.approx(D, rel=1e-9)
    assert r.r_squared == pytest.approx(1.0)
    # cathodic peaks (negative) give the same D
    r2 = ec.diffusion_coefficient_randles_sevcik(v, -ip, n, 0.785, 1e-3, through_origin=True)
    assert r2.D_cm2_s == pytest.approx(D, rel=1e-9)


def test_randles_sevcik_constant_at_25C():
    # the textbook 2.69e5 n^1.5 prefactor
    r = ec.diffusion_coefficient_randles_sevcik(*_cv_peaks(1e-9), 1, 0.785, 1e-3)
    assert r.constant == pytest.approx(2.69e5, rel=2e-3)


def test_randles_sevcik_stderr_with_noise():
    rng = np.random.default_rng(1)
    D = 2e-10
    errs, Ds = [], []
    for _ in range(300):
        v, ip = _cv_peaks(D, rates=np.linspace(1e-4, 1e-3, 8))
        ip = ip * (1 + 0.02 * rng.standard_normal(ip.size))
        r = ec.diffusion_coefficient_randles_sevcik(v, ip, 1, 0.785, 1e-3, through_origin=True)
        Ds.append(r.D_cm2_s)
        errs.append(r.D_stderr_cm2_s)
    # the reported standard error matches the observed scatter within 25 %
    assert np.std(Ds) == pytest.approx(np.median(errs), rel=0.25)
    assert np.mean(Ds) == pytest.approx(D, rel=0.02)


def test_randles_sevcik_bad_input():
    with pytest.raises(AnalysisError, match="mix signs"):
        ec.diffusion_coefficient_randles_sevcik([1e-4, 2e-4, 3e-4], [1e-5, -1e-5, 2e-5], 1, 1, 1e-3)
    with pytest.raises(AnalysisError, match="at least 3"):
        ec.diffusion_coefficient_randles_sevcik([1e-4, 2e-4], [1e-5, 2e-5], 1, 1, 1e-3)
    with pytest.raises(AnalysisError, match="scan_rates_V_s"):
        ec.diffusion_coefficient_randles_sevcik([0, 2e-4, 3e-4], [1e-5, 2e-5, 3e-5], 1, 1, 1e-3)
    with pytest.raises(AnalysisError, match="area_cm2"):
        ec.diffusion_coefficient_randles_sevcik([1e-4, 2e-4, 3e-4], [1e-5, 2e-5, 3e-5], 1, 0, 1e-3)


# ----------------------------------------------------------- electronic conductivity


def test_sigma_e_s5_values():
    t, A = 0.055, 0.785
    V = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    for sigma in (8.11e-9, 1.09e-9):
        I = sigma * A / t * V
        r = ec.electronic_conductivity(V, I, t, A)
        assert r.sigma_S_cm == pytest.approx(sigma, rel=1e-12)
        single = ec.electronic_conductivity(0.3, sigma * A / t * 0.3, t, A)
        assert single.sigma_S_cm == pytest.approx(sigma) and single.method == "single point"
    # with an offset, the intercept fit recovers the slope
    r = ec.electronic_conductivity(V, 8.11e-9 * A / t * V + 3e-10, t, A, through_origin=False)
    assert r.sigma_S_cm == pytest.approx(8.11e-9, rel=1e-9)


def test_sigma_e_dataset_and_steady_state():
    V = np.array([0.1, 0.2, 0.3])
    sig = np.array([8.11e-9, 1.09e-9])
    ds = xr.Dataset({"current_ss": (("sample", "voltage"), sig[:, None] * 0.785 / 0.055 * V)},
                    coords={"sample": ["a", "b"], "voltage": V,
                            "thickness_cm": ("sample", [0.055, 0.055]), "area_cm2": ("sample", [0.785, 0.785])})
    out = ec.electronic_conductivity_dataset(ds)
    assert np.allclose(out["sigma_e"].values, sig, rtol=1e-12)
    t = np.linspace(0, 3600, 500)
    i = 1e-8 + 5e-7 * np.exp(-t / 100)
    assert ec.steady_state_current(t, i) == pytest.approx(1e-8, rel=1e-3)
    with pytest.raises(AnalysisError, match="0 V"):
        ec.electronic_conductivity([0.0, 0.1], [0, 1e-9], 0.05, 0.785)
