"""Small non-negative quadratic programs of the DRT: ``min 1/2 x'Hx - g'x, x_i >= 0 (i in C)``.

Why our own solver: pyDRTtools calls cvxopt's interior-point QP (tens of milliseconds per
solve). The DRT problems have 80-200 unknowns, a well-scaled positive-definite ``H`` once the
penalty is added, and few active bounds, so a primal-dual active-set method (Hintermueller,
Ito & Kunisch, SIAM J. Optim. 13 (2003) 865) converges in a handful of Cholesky solves of
the free block; it is exact (it stops on the KKT conditions, not on a tolerance of an
interior-point path). A Lawson-Hanson active-set loop, finite and monotone, is the fallback
if the primal-dual iteration cycles.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, LinAlgError

from analysis.errors import AnalysisError


def _solve_sub(H: np.ndarray, g: np.ndarray, free: np.ndarray) -> np.ndarray:
    x = np.zeros_like(g)
    if not free.any():
        return x
    Hf = H[np.ix_(free, free)]
    try:
        x[free] = cho_solve(cho_factor(Hf, check_finite=False), g[free], check_finite=False)
    except LinAlgError:
        x[free] = np.linalg.lstsq(Hf, g[free], rcond=None)[0]
    return x


def _lawson_hanson(H, g, constrained, tol, maxiter):
    n = g.size
    passive = ~constrained.copy()
    x = _solve_sub(H, g, passive)
    for _ in range(maxiter):
        w = g - H @ x
        cand = constrained & ~passive & (w > tol)
        if not cand.any():
            return x
        j = int(np.argmax(np.where(cand, w, -np.inf)))
        passive[j] = True
        for _inner in range(n + 1):
            z = _solve_sub(H, g, passive)
            viol = passive & constrained & (z <= 0)
            if not viol.any():
                x = z
                break
            xv, zv = x[viol], z[viol]
            alpha = float(np.min(xv / (xv - zv)))
            x = x + alpha * (z - x)
            drop = passive & constrained & (x <= tol * 1e-3)
            passive &= ~drop
            x[drop] = 0.0
        else:  # pragma: no cover - cannot happen for PD H
            break
    return x


def nnqp(H: np.ndarray, g: np.ndarray, constrained: np.ndarray | None = None, *,
         active0: np.ndarray | None = None, maxiter: int = 60) -> np.ndarray:
    """Solve ``min 1/2 x'Hx - g'x`` subject to ``x_i >= 0`` for the constrained ``i``.

    Parameters
    ----------
    H : numpy.ndarray
        Symmetric positive-definite (n, n) matrix (e.g. ``A'A + lam*P``).
    g : numpy.ndarray
        Linear term (n,) (e.g. ``A'b``).
    constrained : numpy.ndarray of bool, optional
        Which unknowns must be non-negative (default all).
    active0 : numpy.ndarray of bool, optional
        Initial guess of the bounds that are active (warm start).
    maxiter : int, default 60
        Iteration limit of the primal-dual active-set loop before the Lawson-Hanson fallback.

    Returns
    -------
    numpy.ndarray
        The minimiser (n,), in the units of ``g / H``.
    """
    g = np.asarray(g, dtype=float)
    n = g.size
    if H.shape != (n, n):
        raise AnalysisError(f"nnqp: H has shape {H.shape}, expected ({n}, {n})")
    C = np.ones(n, bool) if constrained is None else np.asarray(constrained, bool)
    # Jacobi scaling: solve for y = x * d so that diag(H) = 1 (bounds are invariant)
    d = np.sqrt(np.clip(np.diag(H), 1e-300, None))
    Hs = H / d[:, None] / d[None, :]
    gs = g / d
    scale = max(float(np.max(np.abs(gs))), 1e-300)
    tol = 1e-12 * scale
    if active0 is None:
        y = _solve_sub(Hs, gs, np.ones(n, bool))
        if not np.any(C & (y < 0)):
            return y / d
        active = C & (y < 0)
    else:
        active = np.asarray(active0, bool) & C
    seen = set()
    for _ in range(maxiter):
        y = _solve_sub(Hs, gs, ~active)
        mu = Hs @ y - gs
        new = C & ((active & (mu > tol)) | (~active & (y < 0)))
        if np.array_equal(new, active):
            return np.where(C & (y < 0), 0.0, y) / d
        key = new.tobytes()
        if key in seen:
            break
        seen.add(key)
        active = new
    y = _lawson_hanson(Hs, gs, C, tol, 4 * n)
    return y / d
