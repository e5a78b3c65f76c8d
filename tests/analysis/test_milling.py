"""Tests of analysis.milling against study S3's Table S1 and the Burgio check values."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import milling as m
from analysis.errors import AnalysisError

# Table S1 of study S3: rpm -> GF at R = 0.089 m
TABLE_S1 = {550: 30, 600: 36, 650: 42, 700: 49, 750: 56, 800: 64}


def test_g_force_reproduces_table_s1():
    for rpm, gf in TABLE_S1.items():
        assert round(m.g_force(rpm, 0.089)) == gf
    arr = m.g_force(np.array(list(TABLE_S1)), 0.089)
    assert np.array_equal(np.rint(arr).astype(int), list(TABLE_S1.values()))


def test_g_force_formula_and_inverse():
    w = 2 * math.pi * 600 / 60
    assert m.g_force(600, 0.1) == pytest.approx(w**2 * 0.1 / 9.80665, rel=1e-14)
    assert m.rpm_for_g_force(m.g_force(637.0, 0.089), 0.089) == pytest.approx(637.0)


def test_burgio_check_values():
    r = m.burgio(600, 0.070, 0.0225, 10, 6.0, 1, speed_ratio=-1.0)
    assert r.ball_mass_g == pytest.approx(3.14, abs=0.005)
    assert r.energy_per_impact_J == pytest.approx(19.0e-3, abs=0.05e-3)
    assert r.impact_frequency_Hz == pytest.approx(20.0, rel=1e-12)
    assert r.power_W == pytest.approx(r.energy_per_impact_J * r.impact_frequency_Hz)
    assert r.detaches and r.detachment_limit == pytest.approx(2.0)
    assert r.dose_J_per_g is None


def test_burgio_formula_independent_evaluation():
    # general speed ratio against the DOMAIN.md formula evaluated by hand
    Rp, rv, d, rho, ratio, rpm = 0.089, 0.0265, 5.0, 15.6, -1.19, 450
    wp = 2 * math.pi * rpm / 60
    wv = ratio * wp
    rp = rv - d / 2000
    mb = rho * 1000 * math.pi * (d / 1000) ** 3 / 6
    dE = -mb * rp * (wv**3 * rp / wp + wp * wv * Rp)
    fb = 0.9 * (wp - wv) / (2 * math.pi)
    r = m.burgio(rpm, Rp, rv, d, rho, 30, speed_ratio=ratio, powder_mass_g=2.0, time_h=3,
                 K=0.9, obstruction=0.7)
    assert r.energy_per_impact_J == pytest.approx(dE, rel=1e-12)
    assert r.impact_frequency_Hz == pytest.approx(fb, rel=1e-12)
    assert r.power_W == pytest.approx(0.7 * dE * 30 * fb, rel=1e-12)
    assert r.dose_J_per_g == pytest.approx(0.7 * dE * 30 * fb * 3 * 3600 / 2.0, rel=1e-12)
    assert r.bmr == pytest.approx(30 * mb * 1000 / 2.0)


def test_burgio_vectorised_matches_scalar():
    rpm = np.linspace(100, 800, 15)
    r = m.burgio(rpm, 0.07, 0.0225, 10, "ZrO2", 5, powder_mass_g=1, time_h=1)
    for i, x in enumerate(rpm):
        s = m.burgio(float(x), 0.07, 0.0225, 10, 6.0, 5, powder_mass_g=1, time_h=1)
        assert r.energy_per_impact_J[i] == pytest.approx(s.energy_per_impact_J)
        assert r.dose_J_per_g[i] == pytest.approx(s.dose_J_per_g)
    # energy ~ w^2, frequency ~ w, power ~ w^3
    assert np.allclose(r.power_W / rpm**3, r.power_W[0] / rpm[0] ** 3)
    json.dumps(r.as_dict())  # JSON-serialisable


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rpm=0), "rpm"),
        (dict(rpm=-5), "rpm"),
        (dict(rpm=float("nan")), "rpm"),
        (dict(n_balls=0), "n_balls"),
        (dict(ball_diameter_mm=50), "does not fit"),
        (dict(speed_ratio=0.5), "counter-rotating"),
        (dict(speed_ratio=-2.5), "never detach"),
        (dict(obstruction=1.5), "obstruction"),
        (dict(n_balls=200, jar_volume_ml=45), "overfilled"),
        (dict(ball_density_g_cm3="unobtainium"), "unknown ball material"),
    ],
)
def test_burgio_rejects_impossible_settings(kwargs, match):
    base = dict(rpm=600, disk_radius_m=0.07, jar_radius_m=0.0225, ball_diameter_mm=10,
                ball_density_g_cm3=6.0, n_balls=5)
    base.update(kwargs)
    with pytest.raises(AnalysisError, match=match):
        m.burgio(**base)


def test_no_detachment_non_strict_reports_flag():
    r = m.burgio(600, 0.07, 0.0225, 10, 6.0, 1, speed_ratio=-2.5, strict=False)
    assert r.detaches is False


def test_frb_bmr_conversions_s1_and_s3():
    # S1: 10 mm balls, 50 mL jar, 10 % FRB -> about 10 balls; WC
    n = m.balls_from_frb(10, 10, 50)
    assert n == 10
    assert m.frb_from_balls(n, 10, 50) == pytest.approx(10.47, abs=0.01)
    mb = m.ball_mass_g(10, "WC")
    assert mb == pytest.approx(15.6 * math.pi / 6, rel=1e-12)
    powder = m.powder_mass_from_bmr(80, n, mb)
    assert m.bmr(n, mb, powder) == pytest.approx(80)
    assert m.balls_from_bmr(80, mb, powder) == n
    # S3: 135 g of 3 mm ZrO2 balls with 6.75 g powder is BMR 20:1
    nb = m.balls_from_total_mass(135, 3, "zirconia")
    assert nb == 1592
    assert m.bmr(nb, m.ball_mass_g(3, 6.0), 6.75) == pytest.approx(20, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 60), st.floats(1, 20), st.floats(5, 500))
def test_frb_round_trip(frb, d, v):
    n = m.balls_from_frb(frb, d, v, integer=False)
    assert m.frb_from_balls(n, d, v) == pytest.approx(frb, rel=1e-12)


def test_ball_densities_table():
    assert dict(m.BALL_DENSITIES_G_CM3) == {"ZrO2": 6.0, "WC": 15.6, "steel": 7.8,
                                            "agate": 2.65, "Si3N4": 3.2}
    with pytest.raises(TypeError):
        m.BALL_DENSITIES_G_CM3["ZrO2"] = 1.0  # read-only


def test_obstruction_factor_monotone_and_limits():
    f = np.linspace(0.1, 60, 50)
    phi = m.obstruction_factor(f)
    assert np.all(np.diff(phi) < 0) and np.all((phi > 0) & (phi <= 1))
    assert m.obstruction_factor(32.0) == pytest.approx(0.5)
    with pytest.raises(AnalysisError, match="overfilled"):
        m.obstruction_factor(70)


def test_presets_and_burgio_preset():
    assert {"Fritsch P5", "Fritsch P7 premium line", "Retsch PM100", "Fritsch P6"} <= set(m.MILL_PRESETS)
    p7 = m.MILL_PRESETS["Fritsch P7 premium line"]
    assert p7.speed_ratio == pytest.approx(-1.0)  # 1:-2 relative is -1 in the lab frame
    # P7 premium, 45 mL jar (r 22.5 mm), one 10 mm ZrO2 ball: the DOMAIN check value
    r = m.burgio_preset("fritsch p7 premium line", 45, 600, 10, "ZrO2", n_balls=1, obstruction=1.0)
    assert r.energy_per_impact_J == pytest.approx(19.0e-3, abs=0.05e-3)
    # FRB and BMR inputs, automatic obstruction, array rpm
    r = m.burgio_preset("Retsch PM100", 50, np.array([300, 500]), 10, "WC", frb_pct=10,
                        bmr_value=80, time_h=16)
    assert r.frb_pct == pytest.approx(10.47, abs=0.01) and r.bmr == pytest.approx(80)
    assert r.obstruction == pytest.approx(m.obstruction_factor(r.frb_pct))
    assert r.dose_J_per_g.shape == (2,) and r.dose_J_per_g[1] > r.dose_J_per_g[0]
    with pytest.raises(AnalysisError, match="maximum"):
        m.burgio_preset("Retsch PM100", 50, 900, 10, "WC", n_balls=3)
    with pytest.raises(AnalysisError, match="unknown mill preset"):
        m.burgio_preset("Spex 8000", 50, 300, 10, "WC", n_balls=3)


def test_jar_radius_table_and_estimate():
    assert m.jar_radius_m(45) == pytest.approx(0.0225)
    r = m.jar_radius_m(100)  # not a standard size: cylinder estimate, between 80 and 125 mL
    assert m.jar_radius_m(80) < r < m.jar_radius_m(125)
    with pytest.raises(AnalysisError, match="standard size"):
        m.jar_radius_m(100, exact=True)


def test_lab_speed_ratio():
    assert m.lab_speed_ratio(-2) == -1
    assert m.lab_speed_ratio(-2.19) == pytest.approx(-1.19)


def test_sample_milling_descriptors():
    samples = {"frb_pct": [5, 10, 10], "bmr": [40, 40, 80], "rpm": [500, 500, 500],
               "milling_time_h": [16, 16, 16], "ball_diameter_mm": [10, 10, 10],
               "ball_material": ["WC", "WC", "WC"], "jar_volume_ml": [50, 50, 50]}
    out = m.sample_milling_descriptors(samples, "Retsch PM100")
    assert list(out["n_balls"].values) == [5, 10, 10]
    # dose = P t / m_powder with m_powder = N m_b / BMR
    i = 2
    r = m.burgio(500, 0.0705, m.jar_radius_m(50), 10, 15.6, 10,
                 powder_mass_g=10 * m.ball_mass_g(10, 15.6) / 80, time_h=16,
                 obstruction=m.obstruction_factor(out["frb_pct"].values[i]))
    assert out["dose_J_per_g"].values[i] == pytest.approx(r.dose_J_per_g, rel=1e-12)
    # at equal filling the dose scales with BMR
    assert out["dose_J_per_g"].values[2] == pytest.approx(2 * out["dose_J_per_g"].values[1])
    with pytest.raises(AnalysisError, match="lack"):
        m.sample_milling_descriptors({"frb_pct": [5]}, "Retsch PM100")
