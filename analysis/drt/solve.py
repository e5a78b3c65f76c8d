"""Small non-negative quadratic programs of the DRT: ``min 1/2 x'Hx - g'x, x_i >= 0 (i in C)``.

Why our own solver: pyDRTtools calls cvxopt's interior-point QP (tens of milliseconds per
solve, and stops on a tolerance of the interior-point path). The DRT problems have 80-200
unknowns and a positive-definite ``H`` once the penalty is added, so block principal pivoting
(primal-dual active set with Murty's backup rule; Hintermueller, Ito & Kunisch, SIAM J.
Optim. 13 (2003) 865; Kim & Park, SIAM J. Sci. Comput. 33 (2011) 3261) converges in a
handful of Cholesky solves of the free block and stops exactly on the KKT conditions. A
Lawson-Hanson active-set loop (finite, monotone) is the fallback. Many spectra are solved
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
        Iteration limit of block principal pivoting (default ``n``) before the
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
    d = np.sqrt(np.clip(np.diag(H), 1e-300, None))
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
    y, ok = _bpp(Hs, gs, C, active, tol, maxiter or n)
    if not ok:  # full exchanges cycle (small lambda): finite Lawson-Hanson
        y = _lawson_hanson(Hs, gs, C, tol, 4 * n)
    return y / d


def nnqp_batch(H: np.ndarray, G: np.ndarray, constrained: np.ndarray | None = None, *,
               maxiter: int = 60, chunk: int = 1000) -> np.ndarray:
    """Solve many problems ``min 1/2 x'H_s x - g_s'x, x_i >= 0`` at once.

    The primal-dual active-set iteration runs on all problems together: the free-block
    solve of each problem is written as one full-size system whose active rows and columns
    are replaced by the identity, so each iteration is a single batched LAPACK call
    (``numpy.linalg.solve`` over a stack). Problems that have not converged after ``maxiter``
    iterations are finished one by one by :func:`nnqp`.

    Parameters
    ----------
    H : numpy.ndarray
        (n, n) shared matrix or (S, n, n) stack of symmetric positive-definite matrices.
    G : numpy.ndarray
        Linear terms (S, n).
    constrained : numpy.ndarray of bool, optional
        Which unknowns must be non-negative (default all).
    maxiter : int, default 60
        Iterations of the batched loop.
    chunk : int, default 1000
        Problems per batch (bounds memory to chunk * n^2 floats).

    Returns
    -------
    numpy.ndarray
        Minimisers (S, n).
    """
    G = np.asarray(G, dtype=float)
    S, n = G.shape
    C = np.ones(n, bool) if constrained is None else np.asarray(constrained, bool)
    X = np.empty((S, n))
    shared = H.ndim == 2
    for a in range(0, S, chunk):
        b = min(a + chunk, S)
        Hc = np.broadcast_to(H, (b - a, n, n)) if shared else H[a:b]
        X[a:b] = _pdas_batch(Hc, G[a:b], C, maxiter, H if shared else None)
    return X


def _pdas_batch(H, G, C, maxiter, Hshared):
    """Batched primal-dual active set in dual form.

    With ``K = H^-1`` and ``y0 = K g``, fixing the active set ``A`` gives multipliers
    ``nu`` from the small system ``K_AA nu = -y0_A`` and ``x = y0 + K_:A nu``; so after one
    inverse per distinct ``H`` each iteration costs a |A|-sized solve instead of an n-sized one.
    Every result is checked against the KKT conditions and, failing that, recomputed by
    :func:`nnqp`.
    """
    S, n = G.shape
    d = np.sqrt(np.clip(np.diagonal(H, axis1=1, axis2=2), 1e-300, None))  # (S, n)
    shared = Hshared is not None
    if shared:
        d0 = d[0]
        Hs1 = Hshared / d0[:, None] / d0[None, :]
        K1 = np.linalg.inv(Hs1)
        K1 = 0.5 * (K1 + K1.T)
        Gs = G / d0
        Y0 = Gs @ K1
    else:
        Hs = H / d[:, :, None] / d[:, None, :]
        Gs = G / d
        Kall = np.linalg.inv(Hs)
        Y0 = np.einsum("sij,sj->si", Kall, Gs)
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
        if shared:
            KA = K1[order[:, :, None], order[:, None, :]]
        else:
            tt = todo[:, None, None]
            KA = Kall[tt, order[:, :, None], order[:, None, :]]
            Kcol = Kall[tt, order[:, :, None], np.arange(n)[None, None, :]]  # (T, kmax, n)
        pad = ~(valid[:, :, None] & valid[:, None, :])
        KA[pad] = 0.0
        diag = np.arange(kmax)
        KA[:, diag, diag] = np.where(valid, KA[:, diag, diag], 1.0)
        y0 = Y0[todo]
        rhs = np.where(valid, -np.take_along_axis(y0, order, axis=1), 0.0)
        nu = np.linalg.solve(KA, rhs[..., None])[..., 0] * valid
        mu = np.zeros_like(y0)
        np.put_along_axis(mu, order, nu, axis=1)
        mu[~act] = 0.0
        x = y0 + (mu @ K1 if shared else np.einsum("tkn,tk->tn", Kcol, nu))
        x[act] = 0.0
        tolx = 1e-11 * np.max(np.abs(x), axis=1, keepdims=True)
        new = C[None, :] & ((act & (mu > tol[todo, None])) | (~act & (x < -tolx)))
        V = new ^ act
        nv = V.sum(axis=1)
        done = nv == 0
        # block principal pivoting safeguard: Murty's single exchange when no progress
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
    R = (X @ Hs1 if shared else np.einsum("sij,sj->si", Hs, X)) - Gs
    free = ~(C[None, :] & (X == 0))
    bad = np.flatnonzero(np.any(np.abs(np.where(free, R, 0.0)) > 1e-7 * scale[:, None], axis=1))
    bad = np.union1d(bad, todo)
    for j in bad:
        X[j] = nnqp(Hs1 if shared else Hs[j], Gs[j], C)
    return X / (d0 if shared else d)
