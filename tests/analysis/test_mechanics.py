"""Tests of analysis.mechanics (ultrasonic elastic moduli)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import AnalysisError
from analysis.mechanics import elastic_moduli, velocities_from_moduli


def test_domain_example():
    r = elastic_moduli(1640, 4249, 2271)
    assert r.G / 1e9 == pytest.approx(8.46, abs=0.005)
    assert r.nu == pytest.approx(0.30, abs=0.005)
    assert r.E / 1e9 == pytest.approx(22.0, abs=0.05)
    assert r.B / 1e9 == pytest.approx(18.3, abs=0.05)
    d = r.as_dict("GPa")
    assert d["G_GPa"] == pytest.approx(8.458, abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(rho=st.floats(500, 20000), vs=st.floats(100, 8000), k=st.floats(1.1548, 10.0))
def test_identities_random(rho, vs, k):
    vl = k * vs  # k > sqrt(4/3) = 1.1547
    r = elastic_moduli(rho, vl, vs)
    assert r.E == pytest.approx(2 * r.G * (1 + r.nu), rel=1e-9)
    assert r.B == pytest.approx(r.E / (3 * (1 - 2 * r.nu)), rel=1e-7)
    assert -1 < r.nu < 0.5
    vl2, vs2 = velocities_from_moduli(rho, r.G, r.nu)
    assert vl2 == pytest.approx(vl, rel=1e-9) and vs2 == pytest.approx(vs, rel=1e-12)


def test_vectorised():
    r = elastic_moduli(np.array([1640, 1800]), np.array([4249, 4000]), 2271)
    assert r.G.shape == (2,)
    assert r.G[0] == pytest.approx(elastic_moduli(1640, 4249, 2271).G)


@pytest.mark.parametrize(
    "args, match",
    [
        ((1640, 2271, 4249), "sqrt\\(4/3\\)"),  # swapped velocities
        ((1640, 2600, 2271), "sqrt\\(4/3\\)"),  # VL barely above VS: B < 0
        ((-1, 4249, 2271), "density"),
        ((1640, float("nan"), 2271), "v_longitudinal"),
        ((1640, 4249, 0), "v_shear"),
    ],
)
def test_rejects_unphysical(args, match):
    with pytest.raises(AnalysisError, match=match):
        elastic_moduli(*args)
