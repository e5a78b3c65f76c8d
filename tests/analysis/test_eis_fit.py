"""Equivalent-circuit fitting: round trips from truth, real data against impedance.py, failures."""
import numpy as np
import pytest
import xarray as xr

from analysis.eis import Circuit, FitResult, fit_circuit, fit_many

F = np.logspace(6, -1, 71)  # 1 MHz .. 0.1 Hz, 10 points per decade


def _lu(rng, a, b):
    return float(np.exp(rng.uniform(np.log(a), np.log(b))))


def _draw(rng, spec):
    R0, R1, n1, t1 = _lu(rng, 5, 50), _lu(rng, 50, 500), rng.uniform(0.7, 0.95), _lu(rng, 1e-6, 1e-5)
    p = dict(R0=R0, R1=R1, CPE1_Q=t1 ** n1 / R1, CPE1_n=n1)
    if spec.endswith("W1"):
        R2, n2, t2 = _lu(rng, 50, 500), rng.uniform(0.7, 0.95), _lu(rng, 1e-3, 1e-2)
        p.update(R2=R2, CPE2_Q=t2 ** n2 / R2, CPE2_n=n2, W1_A=_lu(rng, 10, 100))
    else:
        p.update(Wo1_R=_lu(rng, 50, 500), Wo1_tau=_lu(rng, 1e-2, 10))
    return p


def _noisy(rng, Z, level=0.01):
    return Z + level * np.abs(Z) * (rng.standard_normal(Z.size) + 1j * rng.standard_normal(Z.size))


def _canonical(p):
    """Order identical R||CPE blocks by time constant (labels of equal blocks are arbitrary)."""
    if "R2" not in p:
        return dict(p)
    tau = [(p[f"R{k}"] * p[f"CPE{k}_Q"]) ** (1 / p[f"CPE{k}_n"]) for k in (1, 2)]
    if tau[0] <= tau[1]:
        return dict(p)
    q = dict(p)
    for a, b in (("R1", "R2"), ("CPE1_Q", "CPE2_Q"), ("CPE1_n", "CPE2_n")):
        q[a], q[b] = p[b], p[a]
    return q


@pytest.mark.parametrize("spec", ["R0-p(R1,CPE1)-p(R2,CPE2)-W1", "R0-p(R1,CPE1)-Wo1"])
def test_round_trip_200_random_parameter_sets(spec):
    """Every parameter within 3 standard errors in >= 95 % of 200 cases, automatic guess, 1 % noise."""
    rng = np.random.default_rng(20240601)
    c = Circuit(spec)
    ok = 0
    for _ in range(200):
        truth = _draw(rng, spec)
        Z = _noisy(rng, c.impedance(F, truth))
        r = fit_circuit(F, Z, c)
        got, se = _canonical(r.params), r.stderr
        if "R2" in truth and got != r.params:  # swapped blocks: swap the errors too
            se = _canonical({**{k: v for k, v in r.stderr.items()}, **{f"CPE{k}_n": r.params[f"CPE{k}_n"] for k in (1, 2)}})
            se = {k: (r.stderr[{"R1": "R2", "R2": "R1", "CPE1_Q": "CPE2_Q", "CPE2_Q": "CPE1_Q",
                                 "CPE1_n": "CPE2_n", "CPE2_n": "CPE1_n"}.get(k, k)]) for k in r.stderr}
        truth = _canonical(truth)
        if r.success and all(abs(got[k] - truth[k]) <= 3 * se[k] for k in truth):
            ok += 1
    assert ok >= 190, f"{spec}: only {ok}/200 within 3 standard errors"


def test_noise_free_round_trip_is_exact():
    c = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-W1")
    truth = dict(R0=12, R1=150, CPE1_Q=2e-8, CPE1_n=0.9, R2=300, CPE2_Q=1e-5, CPE2_n=0.8, W1_A=40)
    r = fit_circuit(F, c.impedance(F, truth), c)
    assert r.success, r.message
    for k, v in truth.items():
        assert r.params[k] == pytest.approx(v, rel=1e-6)
    assert r.chi2 < 1e-20


def test_stderr_matches_the_scatter_of_repeated_fits():
    """The reported standard error is the spread of estimates over noise realisations."""
    rng = np.random.default_rng(7)
    c = Circuit("R0-p(R1,CPE1)-Wo1")
    truth = dict(R0=20, R1=200, CPE1_Q=1e-7, CPE1_n=0.85, Wo1_R=150, Wo1_tau=1.0)
    Z0 = c.impedance(F, truth)
    est, ses = [], []
    for _ in range(150):
        r = fit_circuit(F, _noisy(rng, Z0), c, p0=truth)
        est.append([r.params[k] for k in truth])
        ses.append([r.stderr[k] for k in truth])
    ratio = np.std(est, axis=0) / np.median(ses, axis=0)
    assert np.all((ratio > 0.75) & (ratio < 1.3)), dict(zip(truth, ratio))


def test_real_data_reproduces_impedance_py(ref_file):
    """impedancepy_exampleData.csv: published impedance.py fit of R0-p(R1,C1)-p(R2-Wo1,C2).

    impedance.py fits without weights from the initial guess [.01, .01, 100, .01, .05, 100, 1]
    after dropping Im(Z) > 0. Its optimiser stops slightly early along the flat Wo1_R/Wo1_tau
    valley; we reach a lower chi-square, so those two agree within one standard error
    (1 % and 2 % apart) and all others within 1 %.
    """
    d = np.loadtxt(ref_file("eis/impedancepy_exampleData.csv"), delimiter=",")
    d = d[d[:, 2] <= 0]
    f, Z = d[:, 0], d[:, 1] + 1j * d[:, 2]
    ref = dict(R0=1.65e-2, R1=8.68e-3, C1=3.32, R2=5.39e-3, Wo1_R=6.31e-2, Wo1_tau=2.33e2, C2=2.20e-1)
    r = fit_circuit(f, Z, "R0-p(R1,C1)-p(R2-Wo1,C2)", p0=[.01, .01, 100, .01, .05, 100, 1], weighting="unity")
    assert r.success, r.message
    assert len(f) == 57
    for k in ("R0", "R1", "C1", "R2", "Wo1_R", "C2"):
        assert r.params[k] == pytest.approx(ref[k], rel=0.01), k
    for k in ref:
        assert abs(r.params[k] - ref[k]) <= max(0.01 * ref[k], r.stderr[k]), k
    cost_ref = np.sum(np.abs(Circuit(r.spec).impedance(f, ref) - Z) ** 2)
    assert r.chi2 <= cost_ref


def test_fixed_parameters_and_bounds():
    c = Circuit("R0-p(R1,CPE1)")
    truth = dict(R0=10, R1=100, CPE1_Q=1e-6, CPE1_n=0.8)
    Z = c.impedance(F, truth)
    r = fit_circuit(F, Z, c, fixed={"CPE1_n": 0.8})
    assert r.params["CPE1_n"] == 0.8 and r.stderr["CPE1_n"] == 0.0 and r.fixed == ("CPE1_n",)
    assert r.params["R1"] == pytest.approx(100, rel=1e-6)
    r = fit_circuit(F, Z, c, bounds={"CPE1_n": (0.5, 0.7)})
    assert 0.5 <= r.params["CPE1_n"] <= 0.7 + 1e-12
    assert "at bound" in r.message


@pytest.mark.parametrize("weighting", ["modulus", "unity", "proportional"])
def test_weightings_recover_truth(weighting):
    c = Circuit("R0-p(R1,C1)-W1")
    truth = dict(R0=10, R1=100, C1=1e-6, W1_A=30)
    r = fit_circuit(F, c.impedance(F, truth), c, weighting=weighting)
    assert r.success and r.weighting == weighting
    for k, v in truth.items():
        assert r.params[k] == pytest.approx(v, rel=1e-5)


def test_bad_spectra_do_not_raise():
    c = "R0-p(R1,CPE1)"
    r = fit_circuit(F[:2], np.array([1 + 1j, 2 - 1j]), c)
    assert not r.success and "too few" in r.message
    r = fit_circuit(F, np.full(F.size, np.nan + 0j), c)
    assert not r.success
    r = fit_circuit(F[:5], np.ones(7), c)
    assert not r.success and "points" in r.message
    Z = Circuit(c).impedance(F, [10, 100, 1e-6, 0.8])
    Z[::7] = np.nan
    r = fit_circuit(F, Z, c)
    assert r.success and "ignored" in r.message
    r = fit_circuit(-F, Z, c)
    assert not r.success
    r = fit_circuit(F, np.zeros(F.size), c)
    assert not r.success


def test_result_helpers():
    c = Circuit("R0-p(R1,CPE1)")
    r = fit_circuit(F, c.impedance(F, [10, 100, 1e-6, 0.8]), c)
    assert isinstance(r, FitResult)
    assert r.effective_capacitance("CPE1") == pytest.approx((100 ** 0.2 * 1e-6) ** (1 / 0.8), rel=1e-5)
    assert r.peak_frequency("CPE1") == pytest.approx(1 / (2 * np.pi * (100 * 1e-6) ** (1 / 0.8)), rel=1e-5)
    d = r.to_dict()
    assert d["params"]["R1"] == pytest.approx(100) and d["success"]
    df = r.to_dataframe()
    assert list(df.index) == c.param_names
    assert r.covariance.shape == (4, 4) and np.allclose(r.covariance, r.covariance.T)
    assert r.residuals.shape == r.Z_fit.shape == F.shape


def test_fit_many_warm_starts_along_extra_dims():
    rng = np.random.default_rng(11)
    c = Circuit("R0-p(R1,CPE1)-W1")
    T = np.linspace(250, 350, 12)
    samples = ["a", "b", "c"]
    R1 = np.array([[200 * np.exp(3000 * (1 / t - 1 / 300)) * (1 + 0.2 * i) for t in T] for i in range(3)])
    Z = np.empty((3, T.size, F.size), complex)
    for i in range(3):
        for k in range(T.size):
            Z[i, k] = _noisy(rng, c.impedance(F, [10, R1[i, k], 1e-7, 0.85, 30]), 0.002)
    da = xr.DataArray(Z, dims=("sample", "temperature", "frequency"),
                      coords={"sample": samples, "temperature": T, "frequency": F})
    res = fit_many(da, c, chain_length=5)
    assert set(c.param_names) <= set(res.data_vars) and "R1_stderr" in res and "chi2" in res
    assert res["R1"].dims == ("sample", "temperature")
    assert bool(res["success"].all())
    np.testing.assert_allclose(res["R1"].values, R1, rtol=0.02)
    assert np.all(np.abs(res["R1"].values - R1) <= 5 * res["R1_stderr"].values)
    # the same result from the Dataset form, with NaN padding in one spectrum
    ds = xr.Dataset({"z_real": da.real, "z_imag": da.imag})
    ds["z_real"][0, 0, :5] = np.nan
    res2 = fit_many(ds, c, keep_fit=True)
    assert res2["R1"].values[0, 0] == pytest.approx(R1[0, 0], rel=0.02)
    assert res2["z_fit_real"].shape == Z.shape


def test_fit_many_single_spectrum_and_errors():
    c = Circuit("R0-p(R1,C1)")
    da = xr.DataArray(c.impedance(F, [1, 2, 1e-4]), dims=("frequency",), coords={"frequency": F})
    res = fit_many(da, c)
    assert float(res["R1"]) == pytest.approx(2, rel=1e-6)
    with pytest.raises(Exception, match="frequency"):
        fit_many(xr.DataArray(np.ones(3, complex), dims=("f",)), c)
    with pytest.raises(Exception, match="complex"):
        fit_many(xr.DataArray(np.ones(3), dims=("frequency",)), c)


@pytest.mark.parametrize("spec, truth", [
    ("R0", [5.0]),
    ("C1", [1e-6]),
    ("L1-R0", [1e-6, 3.0]),
    ("R0-ZARC1-G1", [1.0, 10.0, 1e-3, 0.8, 5.0, 1e-1]),
    ("R0-TLM1", [1.0, 10.0, 1e-3, 0.9]),
    ("R0-p(R1,CPE1)-Ws1", [1.0, 10.0, 1e-4, 0.9, 20.0, 3.0]),
    ("R0-p(R1,C1)-p(R2-Wo1,C2)", [0.0165, 0.0087, 3.3, 0.0054, 0.063, 233.0, 0.22]),
])
def test_every_element_fits_back_from_the_automatic_guess(spec, truth):
    f = np.logspace(5, -2, 50)
    r = fit_circuit(f, Circuit(spec).impedance(f, truth), spec)
    assert r.success, r.message
    np.testing.assert_allclose([r.params[k] for k in r.param_names], truth, rtol=1e-5)


def test_all_parameters_fixed():
    c = Circuit("R0-p(R1,C1)")
    r = fit_circuit(F, c.impedance(F, [1, 2, 1e-3]), c, fixed=dict(R0=1, R1=2, C1=1e-3))
    assert r.success and r.chi2 == pytest.approx(0, abs=1e-20)
