"""Circuit language: parsing, parameter names, element formulas, analytic Jacobian."""
import numpy as np
import pytest

from analysis.eis import Circuit, CircuitError

F = np.logspace(6, -2, 41)
W = 2 * np.pi * F


def test_param_names_follow_the_documented_convention():
    c = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-W1")
    assert c.param_names == ["R0", "R1", "CPE1_Q", "CPE1_n", "R2", "CPE2_Q", "CPE2_n", "W1_A"]
    c = Circuit("L0-R0-p(R1-Wo1,C1)-Ws2-G1-ZARC1-TLM1")
    assert c.param_names == ["L0", "R0", "R1", "Wo1_R", "Wo1_tau", "C1", "Ws2_R", "Ws2_tau", "G1_R", "G1_tau",
                             "ZARC1_R", "ZARC1_tau", "ZARC1_phi", "TLM1_R", "TLM1_Q", "TLM1_n"]
    assert Circuit(" R0 - p( Rct , Cdl ) ").param_names == ["R0", "Rct", "Cdl"]


@pytest.mark.parametrize("bad", ["", "R0-", "p(R1)", "X1", "R1-R1", "R0-(C1", "R0-p(R1,C1", "R0 C1", "R0-p(R1,C1))"])
def test_bad_strings_raise_a_clear_error(bad):
    with pytest.raises(CircuitError):
        Circuit(bad)


def test_no_eval_of_strings():
    with pytest.raises(CircuitError):
        Circuit("__import__('os')")


def test_element_formulas():
    j = 1j
    assert np.allclose(Circuit("R0").impedance(F, [5.0]), 5.0)
    assert np.allclose(Circuit("C1").impedance(F, [1e-6]), 1 / (j * W * 1e-6))
    assert np.allclose(Circuit("L1").impedance(F, [1e-6]), j * W * 1e-6)
    assert np.allclose(Circuit("CPE1").impedance(F, [1e-6, 0.8]), 1 / (1e-6 * (j * W) ** 0.8))
    assert np.allclose(Circuit("CPE1").impedance(F, [1e-6, 1.0]), Circuit("C1").impedance(F, [1e-6]))
    assert np.allclose(Circuit("W1").impedance(F, [7.0]), 7.0 * (1 - j) / np.sqrt(W))
    x = np.sqrt(j * W * 2.0)
    assert np.allclose(Circuit("Wo1").impedance(F, [3.0, 2.0]), 3.0 / (np.tanh(x) * x))
    assert np.allclose(Circuit("Ws1").impedance(F, [3.0, 2.0]), 3.0 * np.tanh(x) / x)
    assert np.allclose(Circuit("G1").impedance(F, [3.0, 2.0]), 3.0 / np.sqrt(1 + j * W * 2.0))
    # ZARC == R || CPE with Q = tau^phi / R
    R, tau, phi = 50.0, 1e-4, 0.8
    assert np.allclose(Circuit("ZARC1").impedance(F, [R, tau, phi]),
                       Circuit("p(R1,CPE1)").impedance(F, [R, tau ** phi / R, phi]))


def test_finite_warburg_limits():
    lo = np.array([1e-8])
    # Ws -> R at low frequency; Wo -> R/3 + R/(s tau) ; both -> semi-infinite at high frequency
    assert np.allclose(Circuit("Ws1").impedance(lo, [3.0, 1.0]), 3.0, rtol=1e-6)
    s = 1j * 2 * np.pi * lo
    assert np.allclose(Circuit("Wo1").impedance(lo, [3.0, 1.0]), 1.0 + 3.0 / s, rtol=1e-6)
    hi = np.array([1e8])
    z_inf = 3.0 / np.sqrt(1j * 2 * np.pi * hi * 1.0)
    assert np.allclose(Circuit("Wo1").impedance(hi, [3.0, 1.0]), z_inf)
    assert np.allclose(Circuit("Ws1").impedance(hi, [3.0, 1.0]), z_inf)


def test_transmission_line_limits():
    R, Q, n = 20.0, 1e-3, 1.0
    c = Circuit("TLM1")
    lo = np.array([1e-5])
    s = 1j * 2 * np.pi * lo
    assert np.allclose(c.impedance(lo, [R, Q, n]), R / 3 + 1 / (Q * s), rtol=1e-6)
    hi = np.array([1e7])
    s = 1j * 2 * np.pi * hi
    assert np.allclose(c.impedance(hi, [R, Q, n]), np.sqrt(R / (Q * s)), rtol=1e-6)


def test_series_parallel_combination():
    c = Circuit("R0-p(R1,C1)")
    z = c.impedance(F, {"R0": 10.0, "R1": 100.0, "C1": 1e-6})
    assert np.allclose(z, 10 + 100 / (1 + 1j * W * 100 * 1e-6))
    p3 = Circuit("p(R1,R2,R3)").impedance(F, [1.0, 2.0, 3.0])
    assert np.allclose(p3, 1 / (1 + 1 / 2 + 1 / 3))


@pytest.mark.parametrize("spec", ["R0-p(R1,CPE1)-p(R2,CPE2)-W1", "L0-R0-p(R1-Wo1,C1)-Ws2",
                                  "p(TLM1,ZARC2)-G1", "R0-p(R1,p(R2,C2)-CPE1)"])
def test_analytic_jacobian_matches_finite_differences(spec):
    c = Circuit(spec)
    p = np.random.default_rng(3).uniform(0.3, 0.9, c.n_params)
    p[[i for i, n in enumerate(c.param_names) if n.startswith("L")]] = 1e-7  # keep |Z| moderate for FD
    J = c.jacobian(F, p)
    for k in range(c.n_params):
        h = 1e-6 * p[k]
        e = np.zeros(c.n_params)
        e[k] = h
        num = (c.impedance(F, p + e) - c.impedance(F, p - e)) / (2 * h)
        assert np.max(np.abs(J[:, k] - num)) <= 1e-6 * np.max(np.abs(num)) + 1e-12, c.param_names[k]


def test_batched_evaluation_and_param_errors():
    c = Circuit("R0-p(R1,C1)")
    P = np.array([[1.0, 2.0, 1e-3], [3.0, 4.0, 1e-4]])
    Z = c.impedance(F, P)
    assert Z.shape == (2, F.size)
    assert np.allclose(Z[1], c.impedance(F, P[1]))
    with pytest.raises(Exception, match="missing parameter"):
        c.impedance(F, {"R0": 1.0})
    with pytest.raises(Exception, match="expected 3 parameters"):
        c.impedance(F, [1.0, 2.0])
