"""Transport formulas, high-frequency intercepts and Arrhenius fits."""
import numpy as np
import pytest

from analysis.eis import Circuit
from analysis.transport import (KB_EV, conductivity, electronic_conductivity, fit_arrhenius, hf_intercept,
                                ionic_transport_capability)


def test_conductivity_formula():
    # t = 0.1 cm, A = 0.785 cm2, R = 10 ohm -> 12.7 mS/cm
    assert conductivity(10.0, 0.1, 0.785) == pytest.approx(0.1 / (10 * 0.785))
    np.testing.assert_allclose(conductivity(np.array([10.0, 20.0]), 0.1, 1.0), [0.01, 0.005])
    with pytest.raises(Exception, match="R_ohm"):
        conductivity(-1, 0.1, 1)
    with pytest.raises(Exception, match="thickness_cm"):
        conductivity(1, 0, 1)


def test_ionic_transport_capability():
    # the S4 cell geometry: L = 0.099 cm, A = 0.785 cm2
    assert ionic_transport_capability(30.0, 20.0, 0.099, 0.785) == pytest.approx(0.099 / (50 * 0.785))


def test_electronic_conductivity_slope_and_single_point():
    V = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    G = 2e-8  # S
    I = G * V + 1e-11
    r = electronic_conductivity(V, I, 0.05, 0.785)
    assert r.method == "slope"
    assert r.sigma_S_cm == pytest.approx(0.05 / 0.785 * G, rel=1e-9)
    assert r.intercept_A == pytest.approx(1e-11, rel=1e-6)
    s = electronic_conductivity(0.5, G * 0.5, 0.05, 0.785)
    assert s.method == "single" and s.sigma_S_cm == pytest.approx(0.05 * G * 0.5 / (0.5 * 0.785))
    with pytest.raises(Exception):
        electronic_conductivity([0.1, 0.1], [1e-9, 1e-9], 0.05, 0.785)


@pytest.mark.parametrize("form", ["sigmaT", "sigma"])
def test_arrhenius_recovers_known_parameters(form):
    rng = np.random.default_rng(5)
    T = np.linspace(253, 353, 8)
    Ea, A = 0.30, 5e4
    sig = A * np.exp(-Ea / (KB_EV * T)) / (T if form == "sigmaT" else 1.0)
    noisy = sig * (1 + 0.005 * rng.standard_normal(T.size))
    r = fit_arrhenius(T, noisy, form=form)
    assert r.form == form
    assert abs(r.Ea_eV - Ea) <= 3 * r.Ea_stderr_eV and r.Ea_stderr_eV < 0.005
    assert abs(np.log(r.prefactor / A)) <= 3 * r.prefactor_stderr / r.prefactor
    s25 = A * np.exp(-Ea / (KB_EV * 298.15)) / (298.15 if form == "sigmaT" else 1.0)
    assert r.sigma_25C == pytest.approx(s25, rel=0.01)
    assert abs(r.sigma_25C - s25) <= 3 * r.sigma_25C_stderr
    assert r.r2 > 0.999
    np.testing.assert_allclose(r.predict(T), sig, rtol=0.02)
    exact = fit_arrhenius(T, sig, form=form)
    assert exact.Ea_eV == pytest.approx(Ea, rel=1e-10) and exact.prefactor == pytest.approx(A, rel=1e-8)


def test_the_two_forms_differ_by_about_kT():
    T = np.linspace(253, 353, 8)
    sig = 5e4 * np.exp(-0.30 / (KB_EV * T)) / T
    a = fit_arrhenius(T, sig, form="sigmaT")
    b = fit_arrhenius(T, sig, form="sigma")
    assert a.Ea_eV - b.Ea_eV == pytest.approx(KB_EV * np.mean(T), rel=0.05)


def test_arrhenius_with_errors_and_bad_input():
    T = np.array([273.0, 298.0, 323.0])
    sig = 1e3 * np.exp(-0.3 / (KB_EV * T))
    r = fit_arrhenius(T, sig, form="sigma", sigma_err=0.01 * sig)
    assert r.Ea_eV == pytest.approx(0.3) and r.Ea_stderr_eV > 0
    with pytest.raises(Exception, match="form"):
        fit_arrhenius(T, sig, form="x")
    with pytest.raises(Exception, match="two different"):
        fit_arrhenius([300, 300], [1, 2])
    with pytest.raises(Exception, match="sigma_S_cm"):
        fit_arrhenius(T, [1, -1, 2])


F = np.logspace(6.3, -1, 60)  # 2 MHz .. 0.1 Hz


def test_hf_intercept_of_a_blocking_pellet_spike():
    # fast sulfide at room temperature: bulk + grain boundary above 2 MHz, only the spike
    c = Circuit("R0-p(R1,CPE1)-CPE2")
    Z = c.impedance(F, dict(R0=100, R1=300, CPE1_Q=1e-10, CPE1_n=0.9, CPE2_Q=1e-6, CPE2_n=0.85))
    R, info = hf_intercept(F, Z, full_output=True)
    assert info["method"] == "fit"
    assert R == pytest.approx(400, rel=0.01)
    Zs = Circuit("R0-CPE2").impedance(F, dict(R0=12.3, CPE2_Q=1e-6, CPE2_n=0.85))
    assert hf_intercept(F, Zs) == pytest.approx(12.3, rel=1e-6)


def test_hf_intercept_with_inductive_tail_and_with_an_arc():
    c = Circuit("L0-R0-CPE2")
    Z = c.impedance(F, dict(L0=2e-7, R0=15, CPE2_Q=1e-6, CPE2_n=0.9))
    assert hf_intercept(F, Z, method="fit") == pytest.approx(15, rel=1e-4)
    assert hf_intercept(F, Z, method="crossing") == pytest.approx(15, rel=0.02)
    # arc resolved in the window: the valley between arc and spike gives R0 + R1
    c = Circuit("R0-p(R1,CPE1)-CPE2")
    Z = c.impedance(F, dict(R0=50, R1=1000, CPE1_Q=1e-9, CPE1_n=0.95, CPE2_Q=1e-5, CPE2_n=0.9))
    R, info = hf_intercept(F, Z, full_output=True)
    assert info["method"] == "minimum"
    assert R == pytest.approx(1050, rel=0.03)


def test_s5_dc_polarisation_sample():
    """S5: 8.11e-9 S/cm (x = 0) and 1.09e-9 S/cm (x = 0.2) from the slope of I_ss against V."""
    from pathlib import Path

    import xarray as xr

    from tests.conftest import require

    p = Path(__file__).resolve().parents[2] / "sample_data" / "s5_dc_polarisation.nc"
    require(p.is_file(), f"sample data {p} not found (python -m sample_data)")
    ds = xr.open_dataset(p)
    assert ds["current_ss"].attrs["units"] == "A"
    want = {"LZNC-x0.0": 8.11e-9, "LZNC-x0.2": 1.09e-9}
    for name, sigma in want.items():
        d = ds.sel(sample=name)
        r = electronic_conductivity(d["voltage"].values, d["current_ss"].values, float(d["thickness_cm"]),
                                    float(d["area_cm2"]))
        assert r.sigma_S_cm == pytest.approx(sigma, rel=0.03)
        assert abs(r.sigma_S_cm - sigma) <= 3 * r.stderr_S_cm + 0.01 * sigma
