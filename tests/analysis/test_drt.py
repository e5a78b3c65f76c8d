"""Tests of analysis.drt: matrices, solver, lambda selection, analytic DRTs, options, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import nnls

from analysis.drt import (
    DRTError,
    choose_lambda,
    compute_drt,
    find_peaks,
    hn_drt,
    hn_impedance,
    integrate_regions,
    zarc_drt,
    zarc_impedance,
)
from analysis.drt import core, lam as lamm, solve

F81 = np.logspace(6, -2, 81)  # 1 MHz .. 10 mHz, 10 per decade (pyDRTtools' benchmark grid)
R_INF = 10.0


def two_zarc(f=F81):
    return R_INF + zarc_impedance(f, 50, 1e-4, 0.8) + zarc_impedance(f, 5, 0.1, 0.8)


def two_zarc_drt(tau):
    return zarc_drt(tau, 50, 1e-4, 0.8) + zarc_drt(tau, 5, 0.1, 0.8)


def noisy(Z, level, seed):
    """Z plus white complex noise of standard deviation ``level * |Z|`` on each part."""
    rng = np.random.default_rng(seed)
    return Z + level * np.abs(Z) * (rng.normal(size=Z.size) + 1j * rng.normal(size=Z.size))


def rel_rmse(res, truth, f=F81):
    """RMSE of gamma over the measured tau range [1/f_max, 1/f_min] divided by max(true gamma)."""
    m = (res.tau >= 1 / f.max()) & (res.tau <= 1 / f.min())
    g = truth(res.tau[m])
    return float(np.sqrt(np.mean((res.gamma[m] - g) ** 2)) / g.max())


# ---------------------------------------------------------------- matrices ----------

def _quad_elements(f, tau, eps):
    a = 2 * np.pi * f * tau
    re = integrate.quad(lambda x: np.exp(-(eps * x) ** 2) / (1 + a**2 * np.exp(2 * x)), -50, 50,
                        epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    im = -integrate.quad(lambda x: a / (np.exp(-x) + a**2 * np.exp(x)) * np.exp(-(eps * x) ** 2), -50, 50,
                         epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return re, im


@pytest.mark.parametrize("jitter", [0.0, 0.01])
def test_kernel_matrices_match_adaptive_quadrature(jitter):
    rng = np.random.default_rng(0)
    f = F81 * np.exp(jitter * rng.normal(size=F81.size))  # jitter: non-Toeplitz (table) path
    tau = 1 / f
    eps = core.epsilon_from_grid(tau, 0.5)
    A_re, A_im = core.kernel_matrices(f, tau, eps)
    for m, n in [(0, 0), (5, 40), (40, 40), (80, 0), (0, 80), (30, 33), (60, 20), (79, 80)]:
        re, im = _quad_elements(f[m], tau[n], eps)
        assert A_re[m, n] == pytest.approx(re, abs=1e-8)
        assert A_im[m, n] == pytest.approx(im, abs=1e-8)


def test_epsilon_is_pydrttools_fwhm_convention():
    tau = 1 / F81
    eps = core.epsilon_from_grid(tau, 0.5)
    assert eps == pytest.approx(0.5 * 2 * math.sqrt(math.log(2)) / (math.log(10) / 10))
    # the FWHM of the RBF is 1/coeff times the mean spacing of ln tau
    half = math.sqrt(math.log(2)) / eps
    assert 2 * half == pytest.approx((math.log(10) / 10) / 0.5)


@pytest.mark.parametrize("order", [1, 2])
def test_penalty_matrix_closed_form_matches_quadrature(order):
    tau = np.logspace(-3, 0, 7)
    eps = 2.0
    P = core.penalty_matrix(tau, eps, order)
    y = np.linspace(-25, 20, 40001)

    def deriv(c):
        u = y - math.log(c)
        phi = np.exp(-(eps * u) ** 2)
        if order == 1:
            return -2 * eps**2 * u * phi
        return (4 * eps**4 * u**2 - 2 * eps**2) * phi

    for i, j in [(0, 0), (2, 3), (1, 5), (6, 6)]:
        ref = np.trapezoid(deriv(tau[i]) * deriv(tau[j]), y)
        assert P[i, j] == pytest.approx(ref, rel=1e-6, abs=1e-9)
    assert np.allclose(P, P.T)


def test_discretisation_is_cached_and_read_only():
    d1 = core.discretise(F81[::-1][::-1], 0.5, "gaussian", 1)
    d2 = core.discretise(F81.copy(), 0.5, "gaussian", 1)
    assert d1 is d2
    with pytest.raises(ValueError):
        d1.A_re[0, 0] = 1.0
    assert core.discretise(F81, 0.5, "gaussian", 2) is not d1


# ---------------------------------------------------------------- solver ------------

@pytest.mark.parametrize("lam", [1e-1, 1e-3, 1e-5, 1e-7])
def test_nnqp_matches_scipy_nnls(lam):
    Z = noisy(two_zarc(), 0.01, 1)
    disc = core.discretise(F81, 0.5, "gaussian", 1)
    _sel, A, AtA = lamm.selector_for(disc, 0.5, "gaussian", 1, "complex", False)
    b = np.concatenate([Z.real, Z.imag])
    P = np.asarray(disc.P)
    R = np.linalg.cholesky(P + 1e-10 * np.max(np.diag(P)) * np.eye(P.shape[0])).T
    Ast = np.vstack([A, np.hstack([np.zeros((P.shape[0], 1)), math.sqrt(lam) * R])])
    x_ref, _ = nnls(Ast, np.concatenate([b, np.zeros(P.shape[0])]), maxiter=5000)
    H = np.array(AtA)
    H[1:, 1:] += lam * P
    g = A.T @ b
    x = solve.nnqp(H, g)
    obj = lambda v: 0.5 * v @ H @ v - g @ v  # noqa: E731
    assert np.all(x >= 0)
    assert obj(x) <= obj(x_ref) + 1e-9 * abs(obj(x_ref))
    # KKT: gradient zero on the free set, non-negative on the active set
    grad = H @ x - g
    scale = np.max(np.abs(g))
    assert np.all(np.abs(grad[x > 0]) < 1e-8 * scale)
    assert np.all(grad[x == 0] > -1e-8 * scale)


def test_nnqp_batch_equals_single_solves():
    rng = np.random.default_rng(5)
    disc = core.discretise(F81, 0.5, "gaussian", 1)
    _sel, A, AtA = lamm.selector_for(disc, 0.5, "gaussian", 1, "complex", False)
    Zs = [noisy(two_zarc(), 0.005, s) for s in range(12)]
    G = np.stack([A.T @ np.concatenate([z.real, z.imag]) for z in Zs])
    Pf = np.zeros_like(AtA)
    Pf[1:, 1:] = disc.P
    lams = 10 ** rng.uniform(-6, -1, len(Zs))
    H_shared = AtA + 1e-3 * Pf
    X = solve.nnqp_batch(H_shared, G)
    for j in range(len(Zs)):
        assert np.allclose(X[j], solve.nnqp(H_shared, G[j]), rtol=1e-6, atol=1e-9 * np.abs(X[j]).max())
    Hs = AtA[None] + lams[:, None, None] * Pf[None]
    X = solve.nnqp_batch(Hs, G)
    for j in range(len(Zs)):
        ref = solve.nnqp(Hs[j], G[j])
        obj = lambda v: 0.5 * v @ Hs[j] @ v - G[j] @ v  # noqa: E731
        # small lambdas are ill-conditioned: compare the objective and the fitted impedance
        assert np.all(X[j] >= 0)
        assert obj(X[j]) <= obj(ref) + 1e-9 * abs(obj(ref))
        assert np.allclose(A @ X[j], A @ ref, atol=1e-6 * np.abs(A @ ref).max())


@pytest.mark.parametrize("lam, size", [(1e-2, 2), (1e-2, 12), (1e-7, 12), (1e-5, 40)])
def test_nnqp_batch_paths_reach_the_exact_optimum(lam, size):
    """Every path of nnqp_batch (one by one below _BATCH_MIN problems or when many bounds are active at
    small lambda, the batched dual loop otherwise) gives the KKT point, as good as scipy's NNLS on the
    stacked least-squares form."""
    from scipy.optimize import nnls

    disc = core.discretise(F81, 0.5, "gaussian", 1)
    _sel, A, AtA = lamm.selector_for(disc, 0.5, "gaussian", 1, "complex", False)
    P = disc.P
    H = np.array(AtA)
    H[1:, 1:] += lam * P
    bs = [np.concatenate([z.real, z.imag]) for z in (noisy(two_zarc(), 0.01, s) for s in range(size))]
    G = np.stack([A.T @ b for b in bs])
    heavy = np.count_nonzero(G @ np.linalg.inv(H) < 0) > solve._PIVOT_HEAVY * G.size
    assert heavy == (lam < 1e-4)  # the cases cover both sides of the switch
    X = solve.nnqp_batch(H, G)
    R = np.linalg.cholesky(P + 1e-10 * np.max(np.diag(P)) * np.eye(P.shape[0])).T
    for j, b in enumerate(bs):
        x = X[j]
        grad = H @ x - G[j]
        scale = np.max(np.abs(G[j]))
        assert np.all(x >= 0)
        assert np.all(np.abs(grad[x > 0]) < 1e-7 * scale)
        assert np.all(grad[x == 0] > -1e-7 * scale)
        Ast = np.vstack([A, np.hstack([np.zeros((P.shape[0], 1)), math.sqrt(lam) * R])])
        x_ref = nnls(Ast, np.concatenate([b, np.zeros(P.shape[0])]), maxiter=5000)[0]
        obj = lambda v: 0.5 * v @ H @ v - G[j] @ v  # noqa: E731
        assert obj(x) <= obj(x_ref) + 1e-9 * abs(obj(x_ref))


def _warm_sweep_cases():
    hn = 10 + hn_impedance(F81, 50, 1e-3, 0.8, 0.7)
    return [("2zarc", noisy(two_zarc(), 0.01, 3)), ("hn", noisy(hn, 0.01, 4)), ("clean", two_zarc())]


@pytest.mark.parametrize("inductance", [False, True])
def test_warm_started_resolve_equals_cold_solve(inductance):
    """compute_drt re-uses A'b and the active set of the nearest previous lambda (lambda
    slider); the result must be the cold solver's, and the exact optimum (KKT, scipy nnls)."""
    from analysis.drt import compute as comp

    up, down = np.logspace(-4, -1, 16), np.logspace(-1, -4, 7)
    full = np.r_[np.logspace(-7, 0, 15), np.logspace(0, -7, 8)]
    disc = core.discretise(F81, 0.5, "gaussian", 1)
    _sel, A, AtA = lamm.selector_for(disc, 0.5, "gaussian", 1, "complex", inductance)
    p0 = 2 if inductance else 1
    P = np.asarray(disc.P)
    Rp = np.linalg.cholesky(P + 1e-10 * np.max(np.diag(P)) * np.eye(P.shape[0])).T
    for _name, Z in _warm_sweep_cases():
        comp.clear_warm_starts()
        b = np.concatenate([Z.real, Z.imag])
        g = A.T @ b
        for k, lam in enumerate(np.r_[up, down, full]):
            res = compute_drt(F81, Z, lam=float(lam), inductance=inductance, kk=False)
            xw = np.r_[res.R_inf, res.L, res.x] if inductance else np.r_[res.R_inf, res.x]
            xc = comp.solve_fixed(A, P, p0, b, float(lam), AtA=AtA)  # cold start, reference
            H = np.array(AtA)
            H[p0:, p0:] += lam * P
            obj = lambda v: 0.5 * v @ H @ v - g @ v  # noqa: E731
            assert np.all(xw >= 0)
            # same fitted impedance and objective at every lambda
            assert np.max(np.abs(A @ (xw - xc))) <= 1e-10 * np.max(np.abs(b))
            assert obj(xw) <= obj(xc) + 1e-13 * abs(obj(xc))
            grad = H @ xw - g
            assert np.all(np.abs(grad[xw > 0]) < 1e-9 * np.max(np.abs(g)))
            assert np.all(grad[xw == 0] > -1e-9 * np.max(np.abs(g)))
            if lam >= 1e-4:  # well-conditioned range (cond(H) < 1e7): the weights themselves agree
                assert np.max(np.abs(xw - xc)) <= 1e-9 * np.max(np.abs(xc))
                assert np.allclose(res.gamma, disc.B_fine @ xc[p0:], rtol=0, atol=1e-9 * np.max(res.gamma))
            if k % 5 == 0:  # the exact optimum of the equivalent least-squares problem
                Ast = np.vstack([A, np.hstack([np.zeros((P.shape[0], p0)), math.sqrt(lam) * Rp])])
                x_ref, _ = nnls(Ast, np.concatenate([b, np.zeros(P.shape[0])]), maxiter=5000)
                assert obj(xw) <= obj(x_ref) + 1e-12 * abs(obj(x_ref))
                assert np.max(np.abs(A @ (xw - x_ref))) <= 1e-8 * np.max(np.abs(b))


def test_warm_start_cache_is_bounded():
    from analysis.drt import compute as comp

    comp.clear_warm_starts()
    for s in range(comp._WARM_CACHE_SIZE + 5):
        Z = noisy(two_zarc(), 0.01, 100 + s)
        for lam in (1e-3, 2e-3):
            compute_drt(F81, Z, lam=lam, kk=False)
    info = comp._data_state.cache_info()
    assert info.currsize <= comp._WARM_CACHE_SIZE
    Z = noisy(two_zarc(), 0.01, 100 + comp._WARM_CACHE_SIZE + 4)
    for lam in np.logspace(-4, -2, 3 * comp._DataState.KEEP):
        r = compute_drt(F81, Z, lam=float(lam), kk=False)
    st = comp._data_state(comp._lam.design_key(core.discretise(F81), 0.5, "gaussian", 1, "complex", False),
                          np.concatenate([Z.real, Z.imag]).tobytes(), False)
    assert len(st.actives) == comp._DataState.KEEP
    assert np.array_equal(st.actives[-1], np.r_[r.R_inf, r.x] <= 0)
    comp.clear_warm_starts()
    assert comp._data_state.cache_info().currsize == 0


def test_nnqp_unconstrained_entries_and_bad_shape():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = np.array([-1.0, 1.0])
    x = solve.nnqp(H, g, np.array([False, False]))
    assert np.allclose(x, np.linalg.solve(H, g))
    with pytest.raises(Exception, match="shape"):
        solve.nnqp(np.eye(3), g)


# ---------------------------------------------------------------- lambda selection --

def _brute_ridge(A, P, p0, b, lam):
    Pf = np.zeros((A.shape[1],) * 2)
    Pf[p0:, p0:] = P
    Kinv = np.linalg.inv(A.T @ A + lam * Pf)
    K = A @ Kinv @ A.T
    return K, Kinv @ A.T @ b


def test_gcv_and_mgcv_scores_match_direct_formula():
    Z = noisy(two_zarc(), 0.01, 2)
    disc = core.discretise(F81, 0.5, "gaussian", 1)
    sel, A, _ = lamm.selector_for(disc, 0.5, "gaussian", 1, "complex", True)
    b = np.concatenate([Z.real, Z.imag])
    n = b.size
    lams = np.array([1e-5, 1e-3, 1e-1])
    for rho in (1.0, 2.0):
        fast = lamm.gcv_scores(sel, b, lams, rho)
        for k, lam in enumerate(lams):
            K, _ = _brute_ridge(A, disc.P, sel.p0, b, lam)
            ref = (np.sum(((np.eye(n) - K) @ b) ** 2) / n) / (np.trace(np.eye(n) - rho * K) / n) ** 2
            assert fast[k] == pytest.approx(ref, rel=1e-5)


def test_reim_scores_match_direct_ridge_fits():
    Z = noisy(two_zarc(), 0.01, 3)
    disc = core.discretise(F81, 0.5, "gaussian", 1)
    sel_re, A_re, _ = lamm.selector_for(disc, 0.5, "gaussian", 1, "real", False)
    sel_im, A_im, _ = lamm.selector_for(disc, 0.5, "gaussian", 1, "imag", False)
    w = 2 * np.pi * F81
    lams = np.array([1e-4, 1e-2])
    fast = lamm.reim_scores(sel_re, sel_im, Z.real, Z.imag, disc.A_re, disc.A_im, w, False, False, lams)
    for k, lam in enumerate(lams):
        _, x_re = _brute_ridge(A_re, disc.P, 1, Z.real, lam)
        _, x_im = _brute_ridge(A_im, disc.P, 0, Z.imag, lam)
        ref = np.sum((Z.real - x_re[0] - disc.A_re @ x_im) ** 2) + np.sum((Z.imag - disc.A_im @ x_re[1:]) ** 2)
        assert fast[k] == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("method", ["gcv", "mgcv", "lcurve", "re-im"])
def test_lambda_methods_give_lambda_in_bounds_growing_with_noise(method):
    lo = choose_lambda(F81, noisy(two_zarc(), 0.001, 4), lam_method=method)[0]
    hi = choose_lambda(F81, noisy(two_zarc(), 0.03, 4), lam_method=method)[0]
    assert 1e-7 <= lo <= 1 and 1e-7 <= hi <= 1
    assert hi > lo


# ---------------------------------------------------------------- analytic DRTs -----

def test_single_zarc_noise_free_recovers_analytic_drt():
    Z = R_INF + zarc_impedance(F81, 50, 1e-3, 0.8)
    r = compute_drt(F81, Z, lam=1e-6, kk=False)
    assert rel_rmse(r, lambda t: zarc_drt(t, 50, 1e-3, 0.8)) < 0.01
    assert r.R_inf == pytest.approx(R_INF, abs=0.05)
    assert r.R_total == pytest.approx(60, rel=1e-3)
    assert np.max(np.abs(r.residuals)) < 1e-3 * 60


@pytest.mark.parametrize("noise, tol", [(0.0, 0.04), (0.01, 0.07)])
def test_havriliak_negami_recovers_analytic_drt(noise, tol):
    Z = noisy(R_INF + hn_impedance(F81, 50, 1e-3, 0.8, 0.7), noise, 11)
    r = compute_drt(F81, Z, lam="auto", kk=False)
    assert rel_rmse(r, lambda t: hn_drt(t, 50, 1e-3, 0.8, 0.7)) < tol
    pk = r.peaks()
    assert r.R_inf + pk["area"].sum() == pytest.approx(60, rel=0.02)


@pytest.mark.parametrize("noise, seed", [(0.0, 0), (0.01, 0), (0.01, 1), (0.01, 2)])
def test_double_zarc_auto_lambda_accuracy_and_total_resistance(noise, seed):
    r = compute_drt(F81, noisy(two_zarc(), noise, seed), lam="auto", lam_method="gcv", kk=False)
    assert rel_rmse(r, two_zarc_drt) <= 0.07
    pk = r.peaks()
    assert r.R_inf + pk["area"].sum() == pytest.approx(65.0, rel=0.02)
    # the two processes are found where they are
    main = pk.sort_values("area", ascending=False).iloc[:2].sort_values("tau")
    assert abs(main["log10_tau"].iloc[0] + 4) < 0.05  # 50 ohm process
    assert abs(main["log10_tau"].iloc[1] + 1) < 0.3  # 5 ohm process, 1 % noise moves it


def test_auto_lambda_better_than_extreme_fixed_lambda():
    Z = noisy(two_zarc(), 0.01, 7)
    auto = rel_rmse(compute_drt(F81, Z, kk=False), two_zarc_drt)
    assert auto < rel_rmse(compute_drt(F81, Z, lam=1e-7, kk=False), two_zarc_drt)
    assert auto < rel_rmse(compute_drt(F81, Z, lam=1.0, kk=False), two_zarc_drt)


# ---------------------------------------------------------------- peaks & regions ---

def test_find_peaks_and_region_integrals_on_separated_zarcs():
    Z = R_INF + zarc_impedance(F81, 30, 1e-4, 0.8) + zarc_impedance(F81, 20, 1e-1, 0.8)
    r = compute_drt(F81, Z, lam=1e-3, kk=False)
    pk = find_peaks(r)
    main = pk.sort_values("area", ascending=False).iloc[:2].sort_values("tau")
    assert np.allclose(main["log10_tau"], [-4, -1], atol=0.02)
    assert np.allclose(main["area"], [30, 20], rtol=0.03)
    assert r.R_inf + pk["area"].sum() == pytest.approx(60, rel=0.01)
    assert np.allclose(pk["capacitance"], pk["tau"] / pk["area"])
    # region integrals against the analytic DRT integrated over the same regions
    regions = {"T1": (1e-7, 1e-2), "T2": (1e-2, 100)}
    reg = integrate_regions(r, regions)
    for name, (lo, hi) in regions.items():
        y = np.linspace(np.log(lo), np.log(hi), 20001)
        truth = np.trapezoid(zarc_drt(np.exp(y), 30, 1e-4, 0.8) + zarc_drt(np.exp(y), 20, 1e-1, 0.8), y)
        assert reg[name] == pytest.approx(truth, rel=0.02)
    # restricting the window finds only the slow process
    assert np.allclose(find_peaks(r, tau_range=(1e-2, 10))["log10_tau"], [-1], atol=0.02)


def test_find_peaks_edge_cases_and_bad_regions():
    tau = np.logspace(-3, 1, 50)
    assert len(find_peaks(tau, np.zeros(50))) == 0
    pk = find_peaks(tau, np.exp(-((np.log(tau) - np.log(0.1)) ** 2) / 0.5), deconvolve=False)
    assert len(pk) == 1 and pk["tau"].iloc[0] == pytest.approx(0.1, rel=0.1)
    with pytest.raises(DRTError, match="region 'x'"):
        integrate_regions(tau, {"x": (1, 0.1)}, gamma=np.ones(50))
    with pytest.raises(DRTError, match="non-empty dict"):
        integrate_regions(tau, {}, gamma=np.ones(50))
    with pytest.raises(DRTError, match="tau_range"):
        find_peaks(tau, np.ones(50), tau_range=(5, 1))


# ---------------------------------------------------------------- options ----------

def test_inductance_recovered_and_warned_when_missing():
    Z = two_zarc() + 1j * 2 * np.pi * F81 * 2e-6
    r = compute_drt(F81, Z, lam=1e-5, inductance=True, kk=False)
    assert r.L == pytest.approx(2e-6, rel=0.02)
    assert rel_rmse(r, two_zarc_drt) < 0.03
    r0 = compute_drt(F81, Z, lam=1e-5, inductance=False, kk=False)
    assert r0.L == 0 and any("inductive tail" in w for w in r0.warnings)


def test_series_capacitance_of_blocking_electrodes():
    Z = R_INF + zarc_impedance(F81, 50, 1e-5, 0.85) + 1 / (1j * 2 * np.pi * F81 * 1e-5)
    r = compute_drt(F81, Z, lam=1e-5, capacitance=True, kk=False)
    assert r.C == pytest.approx(1e-5, rel=0.02)
    assert rel_rmse(r, lambda t: zarc_drt(t, 50, 1e-5, 0.85)) < 0.05
    assert compute_drt(F81, two_zarc(), lam=1e-3, kk=False).C == math.inf


def test_signed_drt_represents_inductive_loop():
    # an inductive loop at low frequency: a ZARC with negative resistance
    Z = R_INF + zarc_impedance(F81, 50, 1e-4, 0.9) - zarc_impedance(F81, 5, 1.0, 0.9)
    r = compute_drt(F81, Z, lam=1e-5, signed=True, kk=False)
    assert integrate_regions(r, {"loop": (0.05, 20)})["loop"] == pytest.approx(-5, rel=0.05)
    assert r.gamma.min() < 0
    r0 = compute_drt(F81, Z, lam=1e-5, kk=False)
    assert r0.gamma.min() >= -1e-12
    assert any("signed=True" in w for w in r0.warnings)


@pytest.mark.parametrize("data", ["real", "imag"])
def test_real_or_imag_part_only(data):
    r = compute_drt(F81, two_zarc(), lam=1e-4, data=data, kk=False)
    pk = r.peaks()
    main = pk.sort_values("area", ascending=False).iloc[:2].sort_values("tau")
    assert np.allclose(main["log10_tau"], [-4, -1], atol=0.1)
    assert r.R_inf == pytest.approx(R_INF, rel=0.02)
    assert rel_rmse(r, two_zarc_drt) < 0.05


def test_input_order_preserved_and_result_helpers():
    rng = np.random.default_rng(9)
    perm = rng.permutation(F81.size)
    Z = two_zarc()
    r = compute_drt(F81[perm], Z[perm], lam=1e-4, kk=False)
    assert np.allclose(r.Z_fit, Z[perm], atol=0.05)
    assert np.allclose(r.residuals, Z[perm] - r.Z_fit)
    assert np.allclose(r.gamma_at(r.tau), r.gamma)
    ds = r.to_dataset()
    assert ds["gamma"].dims == ("tau",) and float(ds["R_inf"]) == r.R_inf
    assert r.tau[0] == pytest.approx(10 ** -6.5) and r.tau[-1] == pytest.approx(10 ** 2.5)
    assert r.tau.size == 10 * F81.size


def test_kk_check_runs_or_is_reported():
    r = compute_drt(F81, two_zarc(), lam=1e-3)
    try:
        import analysis.eis  # noqa: F401
    except ImportError:
        assert any("Kramers-Kronig check skipped" in w for w in r.warnings)
        return
    assert r.kk is not None and r.kk.passed
    bad = two_zarc().copy()
    bad[40:] = bad[40:].real * 1.5 + 1j * bad[40:].imag  # drift: not KK-consistent
    r_bad = compute_drt(F81, bad, lam=1e-3)
    assert r_bad.kk is not None and not r_bad.kk.passed
    assert any("Kramers-Kronig check failed" in w for w in r_bad.warnings)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(freq=F81[:-1]), "differ in length"),
        (dict(freq=-F81), "strictly positive"),
        (dict(freq=np.r_[F81[:-1], F81[0]]), "duplicate"),
        (dict(Z=np.r_[two_zarc()[:-1], np.nan]), "NaN"),
        (dict(freq=F81[:3], Z=two_zarc()[:3]), "at least 5"),
        (dict(lam=-1.0), "lam must be"),
        (dict(lam="gcv"), "lam must be"),
        (dict(lam_method="bogus"), "lam_method"),
        (dict(data="phase"), "data must be"),
        (dict(order=3), "order"),
        (dict(rbf="cauchy"), "rbf"),
        (dict(shape_coeff=0), "shape_coeff"),
        (dict(lam_method="re-im", data="real"), "re-im"),
    ],
)
def test_bad_input_gives_clear_error(kwargs, match):
    args = dict(freq=F81, Z=two_zarc(), kk=False)
    args.update(kwargs)
    with pytest.raises(DRTError, match=match):
        compute_drt(args.pop("freq"), args.pop("Z"), **args)
