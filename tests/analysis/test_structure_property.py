"""Tests of analysis.structure_property (Gaussian-process structure-property maps)."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import linalg

from analysis.errors import AnalysisError
from analysis.structure_property import fit_property

# Study S1 (DOMAIN.md), sintered pellets of 100 mg: FRB series at BMR 40:1 and BMR series at 10 % FRB
S1_FRB = [5, 10, 20, 10, 10]
S1_BMR = [40, 40, 40, 20, 80]
S1_SIGMA = [11.6, 12.4, 10.8, 11.0, 13.3]  # mS/cm
S1_EA = [0.270, 0.352, 0.3434, 0.365, 0.280]  # eV


def _s1_model(**kw):
    return fit_property({"frb_pct": S1_FRB, "bmr": S1_BMR}, S1_SIGMA, log_y=True,
                        log_descriptors=("bmr",), y_name="sigma_mS_cm", **kw)


def test_s1_loo_of_optimum_within_2_sigma():
    m = _s1_model()
    loo = m.loo()
    i = 4  # 10 % FRB / 80:1 sample
    assert abs(loo.z[i]) <= 2.0
    lo, hi = 10 ** (loo.mean[i] - 2 * loo.std[i]), 10 ** (loo.mean[i] + 2 * loo.std[i])
    assert lo <= 13.3 <= hi


def test_s1_monotone_in_bmr_like_the_data():
    m = _s1_model()
    rep = m.monotonicity("bmr", at={"frb_pct": 10})
    assert rep.data_direction == "increasing"
    assert rep.direction == "increasing" and rep.monotone
    # FRB: data are non-monotone (peak at 10 %), and so is the model
    rep = m.monotonicity("frb_pct", at={"bmr": 40})
    assert rep.data_direction == "non-monotone" and rep.direction == "non-monotone"


def test_s1_ea_linear_target_and_grid():
    m = fit_property({"frb_pct": S1_FRB, "bmr": S1_BMR}, S1_EA, log_descriptors=("bmr",),
                     y_name="Ea_eV")
    ds = m.predict_grid(frb_pct=np.linspace(5, 20, 16), bmr=np.geomspace(20, 80, 12))
    assert ds["mean"].dims == ("frb_pct", "bmr") and ds["mean"].shape == (16, 12)
    assert np.all(ds["std"].values >= 0)
    assert np.allclose(ds["value"], ds["mean"]) and np.allclose(ds["upper"] - ds["mean"], 2 * ds["std"])


def test_loo_closed_form_matches_brute_force():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (15, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(15)
    m = fit_property({"a": X[:, 0], "b": X[:, 1]}, y)
    loo = m.loo()
    # brute force with the same hyperparameters: condition on all but one point
    K = m._K
    t = m._t
    for i in range(15):
        keep = np.arange(15) != i
        Kk = K[np.ix_(keep, keep)]
        ks = K[i, keep]
        mu = ks @ linalg.solve(Kk, t[keep])
        var = K[i, i] - ks @ linalg.solve(Kk, ks)
        assert loo.mean[i] == pytest.approx(mu * m._y_std + m._y_mean, rel=1e-6, abs=1e-8)
        assert loo.std[i] == pytest.approx(np.sqrt(var) * m._y_std, rel=1e-6)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_recovers_known_function_and_calibrated(kernel):
    rng = np.random.default_rng(7)
    n = 40
    x1, x2 = rng.uniform(0, 10, n), rng.uniform(-1, 1, n)
    f = lambda a, b: np.sin(a / 2) + 0.5 * b  # noqa: E731
    noise = 0.05
    y = f(x1, x2) + noise * rng.standard_normal(n)
    m = fit_property({"x1": x1, "x2": x2}, y, kernel=kernel)
    loo = m.loo()
    assert loo.fraction_within_2sigma >= 0.85
    assert loo.rmse < 0.15
    xt1, xt2 = rng.uniform(1, 9, 200), rng.uniform(-0.9, 0.9, 200)
    mu, sd = m.predict(np.column_stack([xt1, xt2]))
    err = mu - f(xt1, xt2)
    assert np.sqrt(np.mean(err**2)) < 0.1
    assert np.mean(np.abs(err) <= 2 * np.sqrt(sd**2 + noise**2)) >= 0.85
    # the irrelevant-ish second descriptor has a longer length-scale than its standardised range
    assert m.hyperparameters["noise_std"] < 0.3


def test_log_y_and_y_err_and_dataset_input():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 12)
    sigma = 10 ** (-3 + 2 * x)  # conductivity over two decades
    err = 0.05 * sigma
    ds = xr.Dataset({"dose": ("sample", x)})
    m = fit_property(ds, sigma * (1 + 0.02 * rng.standard_normal(12)), y_err=err, log_y=True)
    c, lo, hi = m.predict_interval([[0.5]])
    assert lo[0] < 10**-2 < hi[0] and c[0] == pytest.approx(1e-2, rel=0.1)
    assert m.monotonicity("dose").direction == "increasing"


def test_bad_input():
    with pytest.raises(AnalysisError, match="at least 3"):
        fit_property({"a": [1, 2]}, [1, 2])
    with pytest.raises(AnalysisError, match="different lengths"):
        fit_property({"a": [1, 2, 3], "b": [1, 2]}, [1, 2, 3])
    with pytest.raises(AnalysisError, match="NaN"):
        fit_property({"a": [1, np.nan, 3]}, [1, 2, 3])
    with pytest.raises(AnalysisError, match="positive"):
        fit_property({"a": [1, 2, 3]}, [1, -2, 3], log_y=True)
    with pytest.raises(AnalysisError, match="kernel"):
        fit_property({"a": [1, 2, 3]}, [1, 2, 3], kernel="poly")
    m = fit_property({"a": [1, 2, 3, 4]}, [1, 2, 3, 5])
    with pytest.raises(AnalysisError, match="unknown grid axis"):
        m.predict_grid(b=[1, 2])
    with pytest.raises(AnalysisError, match="columns"):
        m.predict(np.ones((3, 2)))


def test_on_s1_sample_data_file():
    """The project's S1 sample data: descriptors from the file, properties from its generator."""
    from pathlib import Path

    from analysis.milling import sample_milling_descriptors
    from sample_data.generate import S1_SAMPLES

    path = Path(__file__).resolve().parents[2] / "sample_data" / "s1_lpscb_pellets.nc"
    assert path.is_file(), "sample data missing: run `ssb-explorer sample-data`"
    ds = xr.load_dataset(path)
    s = ds.isel(sample=(ds["state"] == "sintered").values)
    sigma = {r[0]: r[5] for r in S1_SAMPLES}
    y = np.array([sigma[k] for k in s["sample"].values])
    m = fit_property({"frb_pct": s["frb_pct"].values, "bmr": s["bmr"].values}, y, log_y=True,
                     log_descriptors=("bmr",), y_name="sigma_mS_cm")
    loo = m.loo()
    opt = [i for i, k in enumerate(s["sample"].values) if k == "FRB10-BMR80-S"][0]
    assert abs(loo.z[opt]) <= 2
    rep = m.monotonicity("bmr", at={"frb_pct": 10})
    assert rep.direction == rep.data_direction == "increasing"
    # dose from the mill settings as a descriptor: higher BMR at the same FRB = higher dose
    md = sample_milling_descriptors(s, "Retsch PM100")
    d = md["dose_J_per_g"].values
    bmr = s["bmr"].values
    at10 = np.isclose(s["frb_pct"].values, 10)
    order = np.argsort(bmr[at10])
    assert np.all(np.diff(d[at10][order]) >= 0)
    m2 = fit_property({"frb_pct": s["frb_pct"].values, "dose_J_per_g": d}, y, log_y=True,
                      log_descriptors=("dose_J_per_g",))
    assert m2.loo().fraction_within_2sigma >= 0.8


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
@pytest.mark.parametrize("prior", [False, True])
def test_lml_gradient_matches_finite_differences(kernel, prior):
    from scipy.optimize import approx_fprime

    from analysis.structure_property import _neg_lml

    rng = np.random.default_rng(0)
    Z, t = rng.normal(size=(8, 2)), rng.normal(size=8)
    extra = np.full(8, 0.01)
    th = np.log([1.3, 0.7, 2.0, 0.2])
    g = _neg_lml(th, kernel, Z, t, extra, prior)[1]
    fd = approx_fprime(th, lambda x: _neg_lml(x, kernel, Z, t, extra, prior)[0], 1e-7)
    assert np.allclose(g, fd, rtol=1e-5, atol=1e-5)
