"""Discretisation of the DRT problem: RBF kernel matrices and penalty matrices.

The model is the one of pyDRTtools (Wan et al., Electrochim. Acta 184 (2015) 483):

.. math::

    Z(\\omega) = R_\\infty + j\\omega L + \\int \\frac{\\gamma(\\ln\\tau)}{1 + j\\omega\\tau}\\,d\\ln\\tau,
    \\qquad \\gamma(\\ln\\tau) = \\sum_n x_n\\,\\phi(\\ln\\tau - \\ln\\tau_n)

with Gaussian radial basis functions :math:`\\phi(y) = \\exp(-(\\epsilon y)^2)` centred on
:math:`\\tau_n = 1/f_n`. The matrix elements

.. math::

    A^{re}_{mn} = \\int \\frac{\\phi(x)}{1 + \\alpha_{mn}^2 e^{2x}}dx, \\qquad
    A^{im}_{mn} = -\\int \\frac{\\alpha_{mn} e^{x}\\phi(x)}{1 + \\alpha_{mn}^2 e^{2x}}dx,
    \\qquad \\alpha_{mn} = 2\\pi f_m\\tau_n

depend on the frequencies and basis only through :math:`c_{mn} = \\ln\\alpha_{mn}`.

Why our own code: pyDRTtools evaluates every element with adaptive ``scipy.integrate.quad``
(about 95 % of its run time). Here the two kernel functions ``K_re(c)`` and ``K_im(c)`` are
computed with a fixed trapezoidal rule (exponentially convergent for these analytic,
rapidly decaying integrands) for all needed ``c`` at once: exactly on the Toeplitz diagonal
values when the grid is log-uniform, otherwise on a fine uniform table of ``c`` followed by
cubic Hermite interpolation (absolute error below 1e-9 of the element scale). The penalty
matrices of Gaussian RBFs are in closed form. Everything is cached per frequency grid and
settings in a bounded ``functools.lru_cache``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import math

import numpy as np

from analysis.errors import AnalysisError

#: RBF types implemented (pyDRTtools name in brackets): "gaussian" ("Gaussian").
RBF_TYPES = ("gaussian",)

#: FWHM of exp(-y^2) is 2*sqrt(ln 2): the pyDRTtools "FWHM Coefficient" convention.
FWHM_GAUSSIAN = 2.0 * math.sqrt(math.log(2.0))

_CACHE_SIZE = 64


class DRTError(AnalysisError):
    """Input that the DRT analysis cannot work on (the message names the input and why)."""


def validate_spectrum(freq, Z) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert one impedance spectrum.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz), strictly positive, finite, no duplicates, any order.
    Z : array_like
        Complex impedance (ohm), same length as ``freq``; ``Im(Z)`` with its sign
        (negative for a capacitive arc).

    Returns
    -------
    freq, Z : numpy.ndarray
        Float64 frequencies and complex128 impedances (same order as given).

    Raises
    ------
    DRTError
        If the arrays have different lengths, too few points, NaN/inf values, non-positive
        or duplicate frequencies.
    """
    f = np.asarray(freq)
    z = np.asarray(Z)
    if f.ndim != 1 or z.ndim != 1:
        raise DRTError(f"freq and Z must be 1-D arrays, got shapes {f.shape} and {z.shape}")
    if f.shape != z.shape:
        raise DRTError(f"freq ({f.size} points) and Z ({z.size} points) differ in length")
    if f.size < 5:
        raise DRTError(f"a DRT needs at least 5 frequencies, got {f.size}")
    try:
        f = np.asarray(f, dtype=np.float64)
        z = np.asarray(z, dtype=np.complex128)
    except (TypeError, ValueError) as exc:
        raise DRTError(f"freq and Z must be numeric: {exc}") from None
    if not np.isfinite(f).all():
        raise DRTError("freq contains NaN or inf")
    if not np.isfinite(z).all():
        raise DRTError(f"Z contains NaN or inf at {int(np.sum(~np.isfinite(z)))} point(s)")
    if not (f > 0).all():
        raise DRTError("freq must be strictly positive (Hz)")
    fsort = np.sort(f)
    if (fsort[1:] == fsort[:-1]).any():
        raise DRTError("freq contains duplicate frequencies")
    return f, z


def epsilon_from_grid(tau_basis: np.ndarray, shape_coeff: float) -> float:
    """Shape factor of the Gaussian RBF, pyDRTtools' "FWHM Coefficient" convention.

    Parameters
    ----------
    tau_basis : numpy.ndarray
        Basis centres (s), sorted.
    shape_coeff : float
        FWHM coefficient: the RBF's full width at half maximum equals ``1/shape_coeff``
        times the mean spacing of ``ln tau``.

    Returns
    -------
    float
        ``epsilon = shape_coeff * 2 sqrt(ln 2) / mean(diff(ln tau))`` (1/ln-units).
    """
    d = float(np.mean(np.abs(np.diff(np.log(tau_basis)))))
    return shape_coeff * FWHM_GAUSSIAN / d


def _quad_nodes(eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid nodes and weights (including the Gaussian) for integrals against phi."""
    h = min(0.1, 0.25 / eps)
    half = 6.5 / eps  # exp(-6.5**2) ~ 4e-19
    k = int(math.ceil(half / h))
    x = h * np.arange(-k, k + 1)
    w = h * np.exp(-(eps * x) ** 2)
    return x, w


def _kernels(c: np.ndarray, x: np.ndarray, w: np.ndarray, deriv: bool = False):
    """K_re(c), K_im(c) (and derivatives) by the trapezoid rule, vectorised over c."""
    u = c[:, None] + x[None, :]
    t = np.tanh(u)
    sech = 1.0 / np.cosh(np.clip(u, -700, 700))
    kre = (0.5 * (1.0 - t)) @ w
    kim = -(0.5 * sech) @ w
    if not deriv:
        return kre, kim
    dre = -(0.5 * sech * sech) @ w
    dim = (0.5 * sech * t) @ w
    return kre, kim, dre, dim


def _hermite(cq: np.ndarray, c0: float, dc: float, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolation on a uniform table starting at c0 with step dc."""
    s = (cq - c0) / dc
    i = np.clip(np.floor(s).astype(np.intp), 0, y.size - 2)
    t = s - i
    t2, t3 = t * t, t * t * t
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + t
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    return h00 * y[i] + h10 * dc * dy[i] + h01 * y[i + 1] + h11 * dc * dy[i + 1]


def kernel_matrices(freq: np.ndarray, tau_basis: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """A_re and A_im of Gaussian RBFs (dimensionless; multiply by weights in ohm).

    Parameters
    ----------
    freq : numpy.ndarray
        Frequencies (Hz), shape (M,).
    tau_basis : numpy.ndarray
        RBF centres (s), shape (N,).
    eps : float
        RBF shape factor (see :func:`epsilon_from_grid`).

    Returns
    -------
    A_re, A_im : numpy.ndarray
        Shape (M, N): real and imaginary part of the impedance of a unit RBF weight.
    """
    x, w = _quad_nodes(eps)
    lnf = np.log(2 * np.pi * freq)
    lnt = np.log(tau_basis)
    c = lnf[:, None] + lnt[None, :]
    M, N = c.shape
    # Toeplitz path: log-uniform grids with a common step give c_mn = c_00 + (m*sf + n*st)*step
    df, dt = np.diff(lnf), np.diff(lnt)
    if M > 2 and N > 2:
        step = abs(df[0])
        uniform = (
            np.allclose(np.abs(df), step, rtol=1e-10, atol=1e-12)
            and np.allclose(np.abs(dt), step, rtol=1e-10, atol=1e-12)
        )
    else:
        uniform = False
    if uniform:
        sf = np.sign(df[0])
        st = np.sign(dt[0])
        k = (sf * np.arange(M))[:, None] + (st * np.arange(N))[None, :]
        kmin = int(round(k.min()))
        vals = c[0, 0] + step * np.arange(kmin, int(round(k.max())) + 1)
        kre, kim = _kernels(vals, x, w)
        idx = np.rint(k).astype(np.intp) - kmin
        return kre[idx], kim[idx]
    if M * N <= 400:
        kre, kim = _kernels(c.ravel(), x, w)
        return kre.reshape(M, N), kim.reshape(M, N)
    lo, hi = float(c.min()), float(c.max())
    dc = 0.04
    n_tab = int(math.ceil((hi - lo) / dc)) + 2
    ctab = lo + dc * np.arange(n_tab)
    kre, kim, dre, dim = _kernels(ctab, x, w, deriv=True)
    cf = c.ravel()
    return (
        _hermite(cf, lo, dc, kre, dre).reshape(M, N),
        _hermite(cf, lo, dc, kim, dim).reshape(M, N),
    )


def penalty_matrix(tau_basis: np.ndarray, eps: float, order: int) -> np.ndarray:
    """Inner products of the derivatives of the Gaussian RBFs (closed form).

    Parameters
    ----------
    tau_basis : numpy.ndarray
        RBF centres (s), shape (N,).
    eps : float
        RBF shape factor.
    order : {0, 1, 2}
        Derivative order: ``M_ij = int phi_i^(order)(y) phi_j^(order)(y) dy``.

    Returns
    -------
    numpy.ndarray
        Symmetric positive semi-definite (N, N) matrix (units 1/ln-units^(2*order-1)).
    """
    a = eps * (np.log(tau_basis)[:, None] - np.log(tau_basis)[None, :])
    g = np.exp(-0.5 * a * a) * math.sqrt(math.pi / 2.0)
    if order == 0:
        return g / eps
    if order == 1:
        return eps * (1.0 - a * a) * g
    if order == 2:
        a2 = a * a
        return eps**3 * (3.0 - 6.0 * a2 + a2 * a2) * g
    raise DRTError(f"order must be 0, 1 or 2 (derivative of the penalty), got {order!r}")


def rbf_matrix(tau_out: np.ndarray, tau_basis: np.ndarray, eps: float) -> np.ndarray:
    """Values of the RBFs on an output grid: ``gamma(tau_out) = B @ x``.

    Parameters
    ----------
    tau_out : numpy.ndarray
        Output relaxation times (s).
    tau_basis : numpy.ndarray
        RBF centres (s).
    eps : float
        RBF shape factor.

    Returns
    -------
    numpy.ndarray
        Shape (len(tau_out), len(tau_basis)).
    """
    d = np.log(tau_out)[:, None] - np.log(tau_basis)[None, :]
    return np.exp(-(eps * d) ** 2)


@dataclass(frozen=True)
class Discretisation:
    """Cached matrices of one frequency grid and settings (read-only arrays).

    Attributes
    ----------
    freq : numpy.ndarray
        Frequencies (Hz), sorted descending (tau_basis ascending).
    tau_basis : numpy.ndarray
        RBF centres 1/freq (s), ascending.
    eps : float
        RBF shape factor.
    A_re, A_im : numpy.ndarray
        Kernel matrices (M, N).
    P : numpy.ndarray
        Penalty matrix (N, N).
    tau_fine : numpy.ndarray
        Output grid (s): 10 points per basis point, 0.5 decade beyond each end (as pyDRTtools).
    B_fine : numpy.ndarray
        RBF values on ``tau_fine``.
    """

    freq: np.ndarray
    tau_basis: np.ndarray
    eps: float
    A_re: np.ndarray
    A_im: np.ndarray
    P: np.ndarray
    tau_fine: np.ndarray
    B_fine: np.ndarray


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=_CACHE_SIZE)
def _discretise_cached(fbytes: bytes, shape_coeff: float, rbf: str, order: int, n_fine: int) -> Discretisation:
    f = np.frombuffer(fbytes, dtype=np.float64)
    tau = 1.0 / f
    eps = epsilon_from_grid(tau, shape_coeff)
    A_re, A_im = kernel_matrices(f, tau, eps)
    P = penalty_matrix(tau, eps, order)
    tau_fine = np.logspace(np.log10(tau.min()) - 0.5, np.log10(tau.max()) + 0.5, n_fine)
    B = rbf_matrix(tau_fine, tau, eps)
    return Discretisation(_ro(f.copy()), _ro(tau), eps, _ro(A_re), _ro(A_im), _ro(P), _ro(tau_fine), _ro(B))


def discretise(freq_sorted: np.ndarray, shape_coeff: float = 0.5, rbf: str = "gaussian", order: int = 1,
               n_fine: int | None = None) -> Discretisation:
    """Matrices of the DRT problem for one frequency grid (cached).

    Parameters
    ----------
    freq_sorted : numpy.ndarray
        Frequencies (Hz), sorted descending (so that tau_basis = 1/f ascends).
    shape_coeff : float, default 0.5
        FWHM coefficient of the RBFs (pyDRTtools' default 0.5).
    rbf : {"gaussian"}
        RBF type.
    order : {1, 2}
        Derivative order of the penalty.
    n_fine : int, optional
        Number of output points (default 10 per frequency, as pyDRTtools).

    Returns
    -------
    Discretisation
        Read-only matrices; identical objects are returned for repeated calls.
    """
    if rbf not in RBF_TYPES:
        raise DRTError(f"rbf must be one of {RBF_TYPES}, got {rbf!r}")
    if not (isinstance(shape_coeff, (int, float)) and shape_coeff > 0 and math.isfinite(shape_coeff)):
        raise DRTError(f"shape_coeff must be a positive number, got {shape_coeff!r}")
    if order not in (1, 2):
        raise DRTError(f"order must be 1 or 2 (derivative of the penalty), got {order!r}")
    f = np.ascontiguousarray(freq_sorted, dtype=np.float64)
    n_fine = int(n_fine or 10 * f.size)
    return _discretise_cached(f.tobytes(), float(shape_coeff), rbf, int(order), n_fine)


def cache_clear() -> None:
    """Empty the matrix caches (used by benchmarks that time assembly on a new grid)."""
    _discretise_cached.cache_clear()
    from analysis.drt import compute as _compute, lam as _lam

    _lam.clear_cache()
    _compute.clear_warm_starts()
