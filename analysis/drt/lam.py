"""Automatic choice of the regularisation parameter lambda.

Methods (as in pyDRTtools and Maradesa et al., J. Electrochem. Soc. 170 (2023) 030502):

``"gcv"``
    generalised cross-validation, ``n ||r||^2 / (n - tr K)^2``;
``"mgcv"``
    modified GCV (Kim & Gu 2004), ``tr K`` weighted by rho = 1.3 (n < 50) or 2;
``"lcurve"``
    point of maximum curvature of (log ||r||^2, log x'Px);
``"re-im"``
    real-imaginary cross-validation (Saccoccio et al. 2014): fit the real part alone and
    predict the imaginary part, and vice versa.

Why our own code: pyDRTtools minimises each score with SLSQP, forming and inverting the
regularised normal matrix (and, for re-im, solving two QPs) at every evaluation. The scores
are functions of the unconstrained ridge solution, so here one generalised SVD of the
(penalty-whitened, unpenalised-columns-projected) design matrix, cached per frequency grid,
gives every score for every lambda in O(n) operations. We scan the whole range
1e-7..1 (pyDRTtools' bounds) and refine the best grid point, so the global minimum is found
instead of the local minimum next to the initial guess; the final DRT is then the
non-negative QP at the chosen lambda.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.linalg import cholesky, qr, solve_triangular, svd, LinAlgError
from scipy.optimize import minimize_scalar

from analysis.errors import AnalysisError

LAM_METHODS = ("gcv", "mgcv", "lcurve", "re-im")
#: Default search range of lambda (pyDRTtools' bounds).
LAM_BOUNDS = (1e-7, 1.0)
#: Resolution of the GCV/mGCV lambda grid (points per decade).
GCV_PER_DECADE = 50


@dataclass(frozen=True)
class Selector:
    """Generalised-SVD form of ``min ||A x - b||^2 + lam x1' P x1`` (x0 unpenalised).

    Attributes
    ----------
    n : int
        Number of data rows.
    p0 : int
        Number of unpenalised columns (R_inf, L).
    A1 : numpy.ndarray
        Penalised columns (n, N).
    Q0, R0 : numpy.ndarray
        Thin QR of the unpenalised columns (n, p0), (p0, p0).
    U, s, W : numpy.ndarray
        ``x1(lam) = W diag(s/(s^2+lam)) U' b'`` with ``b'`` the data with the unpenalised
        columns projected out.
    """

    n: int
    p0: int
    A1: np.ndarray
    Q0: np.ndarray
    R0: np.ndarray
    U: np.ndarray
    s: np.ndarray
    W: np.ndarray

    def project(self, b: np.ndarray):
        """Return ``beta = U' b'`` and ``r0^2`` (part of ||b'||^2 outside range(U))."""
        bp = b - self.Q0 @ (self.Q0.T @ b) if self.p0 else b
        beta = self.U.T @ bp
        r0 = np.maximum(np.sum(bp * bp, axis=0) - np.sum(beta * beta, axis=0), 0.0)
        return beta, r0

    def paths(self, b: np.ndarray, lams: np.ndarray):
        """Ridge solutions for all ``lams``: (x1 (N, L), x0 (p0, L)) for a 1-D ``b``."""
        beta, _ = self.project(b)
        filt = self.s[:, None] / (self.s[:, None] ** 2 + lams[None, :])
        x1 = self.W @ (filt * beta[:, None])
        if self.p0:
            x0 = solve_triangular(self.R0, self.Q0.T @ (b[:, None] - self.A1 @ x1))
        else:
            x0 = np.zeros((0, lams.size))
        return x1, x0


def build_selector(A: np.ndarray, P: np.ndarray, p0: int) -> Selector:
    """Decompose a design matrix for fast lambda scans.

    Parameters
    ----------
    A : numpy.ndarray
        Design matrix (n, p0 + N); the first ``p0`` columns are unpenalised.
    P : numpy.ndarray
        Penalty matrix (N, N) of the other columns.
    p0 : int
        Number of unpenalised columns.

    Returns
    -------
    Selector
    """
    A0, A1 = A[:, :p0], A[:, p0:]
    if p0:
        Q0, R0 = qr(A0, mode="economic")
        A1p = A1 - Q0 @ (Q0.T @ A1)
    else:
        Q0, R0 = np.zeros((A.shape[0], 0)), np.zeros((0, 0))
        A1p = A1
    dmax = float(np.max(np.diag(P)))
    delta = 1e-10 * dmax
    for _ in range(6):
        try:
            Rc = cholesky(P + delta * np.eye(P.shape[0]), lower=False, check_finite=False)
            break
        except LinAlgError:
            delta *= 100
    else:  # pragma: no cover
        raise AnalysisError("penalty matrix is not positive semi-definite")
    Bm = solve_triangular(Rc, A1p.T, trans="T", lower=False).T
    U, s, Vt = svd(Bm, full_matrices=False, check_finite=False)
    W = solve_triangular(Rc, Vt.T, lower=False)
    ro = []
    for a in (A1, Q0, R0, U, s, W):
        a = np.ascontiguousarray(a)
        a.setflags(write=False)
        ro.append(a)
    return Selector(A.shape[0], p0, *ro)


def _gcv_parts(sel: Selector, beta, r0, lams):
    s2 = (sel.s**2)[:, None]
    if beta.ndim == 1:
        f = s2 / (s2 + lams[None, :])
        res = np.sum(((1 - f) * beta[:, None]) ** 2, axis=0) + r0
        tr = sel.p0 + np.sum(f, axis=0)
        return res, tr
    # many spectra: beta (k, S) -> res (L, S)
    f = s2 / (s2 + lams[None, :])  # (k, L)
    res = ((1 - f) ** 2).T @ (beta**2) + r0[None, :]
    tr = sel.p0 + np.sum(f, axis=0)
    return res, tr[:, None]


def gcv_scores(sel: Selector, b: np.ndarray, lams: np.ndarray, rho: float = 1.0) -> np.ndarray:
    """GCV (rho = 1) or mGCV (rho > 1) score for each lambda.

    Parameters
    ----------
    sel : Selector
        Decomposition of the design matrix.
    b : numpy.ndarray
        Data (n,) or (n, S) for S spectra (ohm).
    lams : numpy.ndarray
        Regularisation parameters.
    rho : float, default 1
        Weight of the trace (mGCV).

    Returns
    -------
    numpy.ndarray
        Scores (L,) or (L, S) (ohm^2); inf where the denominator is not positive.
    """
    beta, r0 = sel.project(b)
    res, tr = _gcv_parts(sel, beta, r0, lams)
    n = sel.n
    den = (n - rho * tr) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (res / n) / den**2
    return np.where(den > 0, out, np.inf)


def lcurve_curvature(sel: Selector, b: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Signed curvature of the L-curve (log ||r||^2, log x1'Px1) at each lambda (1-D ``b``)."""
    beta, r0 = sel.project(b)
    s = sel.s[:, None]
    f = s**2 / (s**2 + lams[None, :])
    res = np.sum(((1 - f) * beta[:, None]) ** 2, axis=0) + r0
    eta = np.sum((s * beta[:, None] / (s**2 + lams[None, :])) ** 2, axis=0)
    t = np.log(lams)
    x = np.log(np.maximum(res, 1e-300))
    y = np.log(np.maximum(eta, 1e-300))
    dx, dy = np.gradient(x, t), np.gradient(y, t)
    ddx, ddy = np.gradient(dx, t), np.gradient(dy, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (dx * ddy - ddx * dy) / (dx**2 + dy**2) ** 1.5
    return np.nan_to_num(k, nan=-np.inf)


def reim_scores(sel_re: Selector, sel_im: Selector, b_re: np.ndarray, b_im: np.ndarray,
                A_re_g: np.ndarray, A_im_g: np.ndarray, omega: np.ndarray,
                inductance: bool, capacitance: bool, lams: np.ndarray) -> np.ndarray:
    """Re-im cross-validation score ``||Z' - Z'_pred(im fit)||^2 + ||Z'' - Z''_pred(re fit)||^2``.

    The real fit has R_inf as unpenalised column, the imaginary fit L and 1/C when used; as
    in pyDRTtools, each prediction takes the DRT from the other part and the R_inf (resp. L,
    1/C) from the own part.
    """
    x1_re, x0_re = sel_re.paths(b_re, lams)
    x1_im, x0_im = sel_im.paths(b_im, lams)
    pred_re = x0_re[0][None, :] + A_re_g @ x1_im
    pred_im = A_im_g @ x1_re
    k = 0
    if inductance:
        pred_im = pred_im + omega[:, None] * x0_im[k][None, :]
        k += 1
    if capacitance:
        pred_im = pred_im - (1.0 / omega)[:, None] * x0_im[k][None, :]
    return np.sum((b_re[:, None] - pred_re) ** 2, axis=0) + np.sum((b_im[:, None] - pred_im) ** 2, axis=0)


def _refine(fun, t_grid, i):
    lo = t_grid[max(i - 1, 0)]
    hi = t_grid[min(i + 1, t_grid.size - 1)]
    if hi <= lo:
        return t_grid[i]
    r = minimize_scalar(fun, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    return r.x if r.fun <= fun(t_grid[i]) else t_grid[i]


def lam_grid(bounds=LAM_BOUNDS, per_decade: int = 20) -> np.ndarray:
    """Log-uniform grid of lambda values between ``bounds`` (inclusive)."""
    lo, hi = bounds
    if not (0 < lo < hi):
        raise AnalysisError(f"lam_bounds must satisfy 0 < low < high, got {bounds!r}")
    n = int(round(np.log10(hi / lo) * per_decade)) + 1
    return np.logspace(np.log10(lo), np.log10(hi), max(n, 3))


def choose(method: str, sel: Selector, b: np.ndarray, *, bounds=LAM_BOUNDS,
           reim: tuple | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Choose lambda for one spectrum.

    Parameters
    ----------
    method : {"gcv", "mgcv", "lcurve", "re-im"}
        Selection criterion.
    sel : Selector
        Decomposition of the design used for the final fit.
    b : numpy.ndarray
        Data vector (ohm).
    bounds : tuple of float
        Search range of lambda.
    reim : tuple, optional
        ``(sel_re, sel_im, b_re, b_im, A_re_g, A_im_g, omega, inductance, capacitance)``
        for ``"re-im"``.

    Returns
    -------
    lam : float
        Chosen regularisation parameter.
    grid, scores : numpy.ndarray
        The lambda grid and the criterion on it (for plots; for "lcurve" the curvature).
    """
    lams = lam_grid(bounds)
    t = np.log(lams)
    if method in ("gcv", "mgcv"):
        # the same vectorised rule as drt_many, so that batch and single results agree
        rho = 1.0 if method == "gcv" else (1.3 if sel.n < 50 else 2.0)
        sc = gcv_scores(sel, b, lams, rho)
        return float(choose_many(method, sel, b[:, None], bounds=bounds)[0]), lams, sc
    elif method == "re-im":
        if reim is None:
            raise AnalysisError("re-im lambda selection needs both real and imaginary parts (data='complex')")
        sc = reim_scores(*reim, lams)
        i = int(np.argmin(sc))
        tb = _refine(lambda u: float(reim_scores(*reim, np.array([np.exp(u)]))[0]), t, i)
    elif method == "lcurve":
        sc = lcurve_curvature(sel, b, lams)
        inner = sc[1:-1]
        i = int(np.argmax(inner)) + 1
        y0, y1, y2 = sc[i - 1], sc[i], sc[i + 1]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        tb = t[i] + np.clip(off, -1, 1) * (t[1] - t[0])
    else:
        raise AnalysisError(f"lam_method must be one of {LAM_METHODS}, got {method!r}")
    return float(np.exp(tb)), lams, sc


def choose_many(method: str, sel: Selector, B: np.ndarray, *, bounds=LAM_BOUNDS) -> np.ndarray:
    """Vectorised GCV/mGCV choice of lambda for many spectra sharing one design.

    Lambda is the minimiser on a log grid of 50 points per decade (steps of 4.7 %, far finer
    than the resolution of the criterion). Quantising lambda this way makes spectra share
    lambda values, so that :func:`drt_many` can solve them in batches with one matrix each.

    Parameters
    ----------
    method : {"gcv", "mgcv"}
        Criterion (the others need per-spectrum work; use :func:`choose`).
    sel : Selector
        Decomposition of the design.
    B : numpy.ndarray
        Data (n, S) for S spectra (ohm).
    bounds : tuple of float
        Search range of lambda.

    Returns
    -------
    numpy.ndarray
        Lambda per spectrum (S,).
    """
    rho = 1.0 if method == "gcv" else (1.3 if sel.n < 50 else 2.0)
    lams = lam_grid(bounds, per_decade=GCV_PER_DECADE)
    sc = gcv_scores(sel, B, lams, rho)  # (L, S)
    return lams[np.argmin(sc, axis=0)]


# ---- cache of decompositions per (grid, settings, data mode) ----------------------------

@lru_cache(maxsize=64)
def _design_cached(key: tuple) -> tuple:
    from analysis.drt.compute import _design  # local import: compute imports this module
    from analysis.drt.core import discretise

    fbytes, shape_coeff, rbf, order, data, inductance, capacitance = key
    disc = discretise(np.frombuffer(fbytes, dtype=np.float64), shape_coeff, rbf, order)
    A, p0, _names = _design(disc, data, inductance, capacitance)
    AtA = A.T @ A
    A.setflags(write=False)
    AtA.setflags(write=False)
    return A, AtA, p0


@lru_cache(maxsize=64)
def _selector_cached(key: tuple) -> Selector:
    from analysis.drt.core import discretise

    A, _AtA, p0 = _design_cached(key)
    disc = discretise(np.frombuffer(key[0], dtype=np.float64), key[1], key[2], key[3])
    return build_selector(np.asarray(A), disc.P, p0)


def _key(disc, shape_coeff, rbf, order, data, inductance, capacitance):
    return (disc.freq.tobytes(), float(shape_coeff), rbf, int(order), data, bool(inductance), bool(capacitance))


def design_key(disc, shape_coeff, rbf, order, data, inductance, capacitance=False) -> tuple:
    """Hashable key of a design (frequency grid bytes and settings) for :func:`design_cached`."""
    return _key(disc, shape_coeff, rbf, order, data, inductance, capacitance)


def design_cached(key: tuple) -> tuple:
    """Cached ``(A, A.T @ A, p0)`` of a design identified by :func:`design_key`."""
    return _design_cached(key)


def design_for(disc, shape_coeff, rbf, order, data, inductance, capacitance=False):
    """Cached design matrix ``A``, ``A.T @ A`` and number of unpenalised columns."""
    return _design_cached(_key(disc, shape_coeff, rbf, order, data, inductance, capacitance))


def selector_for(disc, shape_coeff, rbf, order, data, inductance,
                 capacitance=False) -> tuple[Selector, np.ndarray, np.ndarray]:
    """Cached :class:`Selector`, design matrix ``A`` and ``A.T @ A`` for a grid and data mode."""
    key = _key(disc, shape_coeff, rbf, order, data, inductance, capacitance)
    A, AtA, _p0 = _design_cached(key)
    return _selector_cached(key), A, AtA


def clear_cache() -> None:
    """Empty the design and decomposition caches."""
    _selector_cached.cache_clear()
    _design_cached.cache_clear()
