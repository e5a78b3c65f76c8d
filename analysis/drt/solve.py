"""Small non-negative quadratic programs of the DRT: ``min 1/2 x'Hx - g'x, x_i >= 0 (i in C)``.

Why our own solver: pyDRTtools calls cvxopt's interior-point QP (tens of milliseconds per
solve, and stops on a tolerance of the interior-point path). The DRT problems have 80-200
unknowns and a positive-definite ``H`` once the penalty is added, so block principal pivoting
(primal-dual active set with Murty's backup rule; Hintermueller, Ito & Kunisch, SIAM J.
Optim. 13 (2003) 865; Kim & Park, SIAM J. Sci. Comput. 33 (2011) 3261) converges in a
handful of Cholesky solves of the free block and stops exactly on the KKT conditions. The
Lawson-Hanson method (scipy's compiled NNLS on the Cholesky factor; finite, monotone) is the
fallback when pivoting cycles, which happens at very small lambda. Many spectra are solved
together by a batched dual form of the same iteration (:func:`nnqp_batch`).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dposv as _dposv

from analysis.errors import AnalysisError


def _solve_sub(H: np.ndarray, g: np.ndarray, free: np.ndarray) -> np.ndarray:
    x = np.zeros_like(g)
    if not free.any():
        return x
    idx = np.flatnonzero(free)
    Hf = H.take(idx, 0).take(idx, 1)
    _c, sol, info = _dposv(Hf, g.take(idx), lower=0, overwrite_a=1, overwrite_b=0)
    if info != 0:  # not numerically positive definite: least squares
        sol = np.linalg.lstsq(H.take(idx, 0).take(idx, 1), g.take(idx), rcond=None)[0]
    x[free] = sol
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
    return x


def _bpp(H, g, C, active, tol, maxiter):
    """Block principal pivoting (Portugal, Judice & Vicente 1994; Kim & Park 2011).

    Full exchange of all infeasible variables (the primal-dual active-set step); when the
    number of infeasibilities has not decreased for three steps, Murty's single exchange of
    the last infeasible variable until it does (finite). Returns ``ok=False`` after
    ``maxiter`` steps; the caller then uses the Lawson-Hanson method.
    """
    n = g.size
    best, p = n + 1, 3
    for _ in range(maxiter):
        x = _solve_sub(H, g, ~active)
        mu = H @ x - g
        inf_free = C & ~active & (x < -1e-11 * float(np.max(np.abs(x))))
        inf_act = active & (mu < -tol)
        V = inf_free | inf_act
        nv = int(V.sum())
        if nv == 0:
            x[active] = 0.0
            x[C & (x < 0)] = 0.0
            return x, True
        if nv < best:
            best, p = nv, 3
            active = active ^ V
        elif p > 0:
            p -= 1
            active = active ^ V
        else:  # Murty's backup: exchange only the last infeasible variable
            j = int(np.flatnonzero(V)[-1])
            active = active.copy()
            active[j] = ~active[j]
    return x, False


def nnqp(H: np.ndarray, g: np.ndarray, constrained: np.ndarray | None = None, *,
         active0: np.ndarray | None = None, maxiter: int | None = None) -> np.ndarray:
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
        Initial guess of the bounds that are active (warm start); default: the negative
        entries of the unconstrained solution.
    maxiter : int, optional
        Iteration limit of block principal pivoting (default 25) before the
        Lawson-Hanson fallback.

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
    d = np.sqrt(np.maximum(H.diagonal(), 1e-300))
    Hs = H / d[:, None] / d[None, :]
    gs = g / d
    tol = 1e-12 * max(float(np.max(np.abs(gs))), 1e-300)
    if active0 is None:
        y = _solve_sub(Hs, gs, np.ones(n, bool))
        active = C & (y < 0)
        if not active.any():
            return y / d
    else:
        active = np.asarray(active0, bool) & C
    y, ok = _bpp(Hs, gs, C, active, tol, maxiter or 25)
    if not ok:  # pivoting cycles (very small lambda): finite Lawson-Hanson
        y = _nnls_cholesky(Hs, gs) if C.all() else None
        if y is None:
            y = _lawson_hanson(Hs, gs, C, tol, 4 * n)
    return y / d


def _nnls_cholesky(H, g):
    """Lawson-Hanson on ``|R y - R^-T g|`` with ``H = R'R`` (scipy's compiled NNLS), or None."""
    from scipy.linalg import LinAlgError, cholesky, solve_triangular
    from scipy.optimize import nnls as _nnls

    try:
        R = cholesky(H, lower=False, check_finite=False)
    except LinAlgError:
        return None
    rhs = solve_triangular(R, g, trans="T", lower=False, check_finite=False)
    try:
        return _nnls(R, rhs, maxiter=50 * g.size)[0]
    except RuntimeError:
        return None


# Below this many problems sharing one matrix, solving them one by one is faster than the batched
# loop (measured with 66 unknowns: at lambda 1e-3 the batch wins from 4 problems on; at 1e-5 and
# below, where pivoting needs many steps, one-by-one wins at every size up to 64).
_BATCH_MIN = 4
# When more than this fraction of the unconstrained minimisers' entries are negative (the DRT at
# small lambda), block pivoting needs many steps and one-by-one Lawson-Hanson is faster. Measured
# on batches of 64: in situ spectra with 66 unknowns, equal times at 21-35 % negatives (lambda
# 1e-5..1e-6), batch 3.3x faster at 10 % (1e-4); two-ZARC and Havriliak-Negami spectra with 82
# unknowns, batch 1.3-1.9x faster at 28 %, one by one 1.4-3x faster from 33 % on.
_PIVOT_HEAVY = 0.3


def _solve_one(H: np.ndarray, g: np.ndarray, C: np.ndarray) -> np.ndarray:
    """One problem of :func:`nnqp_batch`: compiled Lawson-Hanson (exact, finite) when every
    unknown is constrained, else (or if H is not numerically positive definite) :func:`nnqp`."""
    if C.all():
        d = np.sqrt(np.maximum(H.diagonal(), 1e-300))
        y = _nnls_cholesky(H / d[:, None] / d[None, :], g / d)
        if y is not None:
            return y / d
    return nnqp(H, g, C)


def nnqp_batch(H: np.ndarray, G: np.ndarray, constrained: np.ndarray | None = None, *,
               maxiter: int = 15, chunk: int = 1000) -> np.ndarray:
    """Solve many problems ``min 1/2 x'H_s x - g_s'x, x_i >= 0`` at once.

    With one shared ``H`` (fixed lambda), the primal-dual active-set iteration runs on all
    problems together in dual form: after one inverse ``K = H^-1`` and ``y0 = K g`` for all
    right-hand sides (a matrix product), fixing an active set ``A`` gives the multipliers
    from the small systems ``K_AA nu = -y0_A`` (one batched LAPACK call per iteration) and
    ``x = y0 + K nu``. Results are checked against the KKT conditions; problems that fail or
    do not converge in ``maxiter`` iterations are finished one by one (:func:`_solve_one`).
    With a stack of different ``H`` (a lambda per spectrum), fewer than ``_BATCH_MIN``
    problems sharing one ``H``, or problems with many bounds to find (``_PIVOT_HEAVY``),
    each problem is solved alone by
    :func:`_solve_one`: Lawson-Hanson in scipy's compiled NNLS on the Cholesky factor
    (measured on the 40 spectra of an in situ map, GCV lambdas 1e-7..2e-3, one lambda each:
    11.6 ms in all, against 23 ms with :func:`nnqp` and 49 ms with the batched loop run on
    one problem at a time; block pivoting stalls at small lambda, where a quarter of these
    problems needed the Lawson-Hanson fallback after 25 pivoting steps).

    Parameters
    ----------
    H : numpy.ndarray
        (n, n) shared matrix or (S, n, n) stack of symmetric positive-definite matrices.
    G : numpy.ndarray
        Linear terms (S, n).
    constrained : numpy.ndarray of bool, optional
        Which unknowns must be non-negative (default all).
    maxiter : int, default 15
        Iterations of the batched loop.
    chunk : int, default 1000
        Problems per batch (bounds memory).

    Returns
    -------
    numpy.ndarray
        Minimisers (S, n).
    """
    G = np.asarray(G, dtype=float)
    S, n = G.shape
    C = np.ones(n, bool) if constrained is None else np.asarray(constrained, bool)
    if H.ndim == 3:
        return np.stack([_solve_one(H[j], G[j], C) for j in range(S)]) if S else np.zeros((0, n))
    if S < _BATCH_MIN:
        return np.stack([_solve_one(H, G[j], C) for j in range(S)]) if S else np.zeros((0, n))
    X = np.empty((S, n))
    d = np.sqrt(np.clip(np.diag(H), 1e-300, None))
    Hs = H / d[:, None] / d[None, :]
    K = np.linalg.inv(Hs)
    K = 0.5 * (K + K.T)
    for a in range(0, S, chunk):
        b = min(a + chunk, S)
        Gs = G[a:b] / d
        Y0 = Gs @ K  # unconstrained minimisers
        if np.count_nonzero(C[None, :] & (Y0 < 0)) > _PIVOT_HEAVY * Y0.size:
            # small lambda: many bounds to find, the batched loop needs many steps (slower than one by one)
            X[a:b] = np.stack([_solve_one(H, g, C) for g in G[a:b]])
        else:
            X[a:b] = _pdas_shared(Hs, K, Gs, Y0, C, maxiter) / d
    return X


def _pdas_shared(Hs, K, Gs, Y0, C, maxiter):
    """Batched block principal pivoting in dual form for one shared (scaled) matrix, from the
    unconstrained minimisers ``Y0 = Gs @ K``."""
    S, n = Gs.shape
    scale = np.maximum(np.max(np.abs(Gs), axis=1), 1e-300)
    tol = 1e-12 * scale
    X = Y0.copy()
    active = C[None, :] & (Y0 < 0)
    best = np.full(S, n + 1)
    patience = np.full(S, 3)
    todo = np.flatnonzero(active.any(axis=1))
    for _ in range(maxiter):
        if todo.size == 0:
            break
        act = active[todo]
        k = act.sum(axis=1)
        kmax = int(k.max())
        order = np.argsort(~act, axis=1, kind="stable")[:, :kmax]
        valid = np.arange(kmax)[None, :] < k[:, None]
        KA = K[order[:, :, None], order[:, None, :]]
        KA[~(valid[:, :, None] & valid[:, None, :])] = 0.0
        diag = np.arange(kmax)
        KA[:, diag, diag] = np.where(valid, KA[:, diag, diag], 1.0)
        y0 = Y0[todo]
        rhs = np.where(valid, -np.take_along_axis(y0, order, axis=1), 0.0)
        nu = np.linalg.solve(KA, rhs[..., None])[..., 0] * valid
        mu = np.zeros_like(y0)
        np.put_along_axis(mu, order, nu, axis=1)
        mu[~act] = 0.0
        x = y0 + mu @ K
        x[act] = 0.0
        tolx = 1e-11 * np.max(np.abs(x), axis=1, keepdims=True)
        new = C[None, :] & ((act & (mu > tol[todo, None])) | (~act & (x < -tolx)))
        V = new ^ act
        nv = V.sum(axis=1)
        done = nv == 0
        # safeguard of block principal pivoting: Murty's single exchange when no progress
        better = nv < best[todo]
        best[todo] = np.where(better, nv, best[todo])
        patience[todo] = np.where(better, 3, patience[todo] - 1)
        murty = np.flatnonzero(~done & (patience[todo] < 0))
        if murty.size:
            last = n - 1 - np.argmax(V[murty, ::-1], axis=1)
            new[murty] = act[murty]
            new[murty, last] = ~act[murty, last]
        X[todo[done]] = np.maximum(x[done], np.where(C, 0.0, -np.inf))
        active[todo] = new
        todo = todo[~done]
    # KKT check (stationarity on the free set) and fallback
    R = X @ Hs - Gs
    free = ~(C[None, :] & (X == 0))
    bad = np.flatnonzero(np.any(np.abs(np.where(free, R, 0.0)) > 1e-7 * scale[:, None], axis=1))
    for j in np.union1d(bad, todo):  # stragglers: pivoting has already failed them, so Lawson-Hanson
        X[j] = _solve_one(Hs, Gs[j], C)
    return X
