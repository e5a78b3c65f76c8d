"""Fast, robust complex non-linear least-squares fitting of equivalent circuits.

Why our own optimiser
---------------------
``scipy.optimize.least_squares`` costs ~1 ms of Python overhead per call even for an
8-parameter problem and evaluates the model one parameter set at a time. The fitter here is
a compact Levenberg-Marquardt (Marquardt diagonal scaling, multiplicative damping update)
that works on a *batch* of parameter sets at once: all arrays carry a leading batch axis,
the normal equations of every member are solved with one batched ``numpy.linalg.solve``,
and the model comes with its analytic Jacobian (:meth:`Circuit.evaluate`), so one iteration
costs one model evaluation for the whole batch. The batch is used twice:

* one spectrum: several automatic starting points (:mod:`analysis.eis.guess`) run together
  and the lowest chi-square wins, which makes the automatic guess robust;
* many spectra (:func:`fit_many`): chains of neighbouring spectra are fitted in lock-step,
  each spectrum warm-started from the result of its neighbour in the chain.

Positive parameters (R, C, Q, tau, A, L) are fitted as their logarithms (scale-free steps
over many decades, positivity for free); exponents (n, phi) linearly, clipped to their
bounds (0, 1]. Reported values, standard errors and covariances are in natural units.

Weighting and statistics
------------------------
Residuals are ``r = w * (Z_fit - Z)`` split into real and imaginary parts, with
``w = 1/|Z|`` ("modulus", default), ``1`` ("unity") or ``1/|Re Z|``, ``1/|Im Z|`` for the
two parts ("proportional"). ``chi2 = sum(r**2)``; the covariance is
``s2 * inv(J^T J)`` with ``s2 = chi2 / (2F - P_free)`` (noise scale estimated from the
residuals, as lmfit and impedance.py do).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.errors import AnalysisError
from analysis.eis.circuit import EXP, Circuit, parse
from analysis.eis.guess import initial_guesses

WEIGHTINGS = ("modulus", "unity", "proportional")


@dataclass
class FitResult:
    """Result of an equivalent-circuit fit.

    Attributes
    ----------
    params : dict of str -> float
        Best-fit parameter values in natural units (ohm, F, H, F s^(n-1), s, 1 ...).
    stderr : dict of str -> float
        One-sigma standard errors (0 for fixed parameters, NaN where undetermined).
    covariance : numpy.ndarray, shape (P, P)
        Full covariance matrix in :attr:`param_names` order (zero rows/cols for fixed ones).
    param_names : list of str
        Parameter order of :attr:`covariance`.
    chi2 : float
        Weighted sum of squared residuals (see module docstring for the weighting).
    residuals : numpy.ndarray of complex
        ``(Z - Z_fit) / |Z|``, relative residuals of the points used.
    Z_fit : numpy.ndarray of complex
        Model impedance at the fitted frequencies (ohm).
    success : bool
        True if the optimiser converged to finite parameters with a usable covariance.
    message : str
        Reason for failure, or a short note on convergence.
    spec : str
        The circuit string.
    freq : numpy.ndarray
        Frequencies used in the fit (Hz).
    weighting : str
        The weighting used.
    fixed : tuple of str
        Names of the parameters held fixed.
    n_iter : int
        Levenberg-Marquardt iterations of the winning start.
    """

    params: dict
    stderr: dict
    covariance: np.ndarray
    param_names: list
    chi2: float
    residuals: np.ndarray
    Z_fit: np.ndarray
    success: bool
    message: str
    spec: str
    freq: np.ndarray = field(default_factory=lambda: np.empty(0))
    weighting: str = "modulus"
    fixed: tuple = ()
    n_iter: int = 0

    @property
    def dof(self) -> int:
        """Degrees of freedom ``2F - P_free``."""
        return max(2 * len(self.freq) - (len(self.param_names) - len(self.fixed)), 0)

    @property
    def red_chi2(self) -> float:
        """Reduced chi-square ``chi2 / dof`` (NaN if dof = 0)."""
        return self.chi2 / self.dof if self.dof else float("nan")

    @property
    def relative_stderr(self) -> dict:
        """Standard errors divided by the values (dimensionless)."""
        return {k: (self.stderr[k] / abs(v) if v else float("nan")) for k, v in self.params.items()}

    def effective_capacitance(self, label: str, resistor: str | None = None) -> float:
        """Effective capacitance (F) of a CPE, ZARC or capacitor.

        For ``R || CPE(Q, n)``: ``C = (R^(1-n) Q)^(1/n)``; for ``ZARC(R, tau, phi)``:
        ``C = tau / R``; for a capacitor its value.

        Parameters
        ----------
        label : str
            Element label, e.g. ``"CPE1"``, ``"ZARC1"`` or ``"C1"``.
        resistor : str, optional
            Name of the parallel resistor for a CPE (default: ``R`` + the CPE's number).
        """
        p = self.params
        if label.startswith("CPE"):
            Q, n = p[f"{label}_Q"], p[f"{label}_n"]
            R = p[resistor or "R" + label[3:]]
            return (R ** (1 - n) * Q) ** (1 / n)
        if label.startswith("ZARC"):
            return p[f"{label}_tau"] / p[f"{label}_R"]
        if label in p:
            return p[label]
        raise AnalysisError(f"no capacitive element {label!r} in circuit {self.spec}")

    def peak_frequency(self, label: str, resistor: str | None = None) -> float:
        """Characteristic frequency (Hz) of ``R || CPE`` (``1/(2 pi (RQ)^(1/n))``), ZARC or RC."""
        p = self.params
        if label.startswith("CPE"):
            Q, n = p[f"{label}_Q"], p[f"{label}_n"]
            R = p[resistor or "R" + label[3:]]
            return 1.0 / (2 * np.pi * (R * Q) ** (1 / n))
        if label.startswith("ZARC"):
            return 1.0 / (2 * np.pi * p[f"{label}_tau"])
        if label.startswith("C"):
            R = p[resistor or "R" + label[1:]]
            return 1.0 / (2 * np.pi * R * p[label])
        raise AnalysisError(f"no capacitive element {label!r} in circuit {self.spec}")

    def to_dict(self) -> dict:
        """JSON-friendly summary (no arrays except the parameter table)."""
        return {
            "circuit": self.spec,
            "success": bool(self.success),
            "message": self.message,
            "weighting": self.weighting,
            "chi2": float(self.chi2),
            "red_chi2": float(self.red_chi2),
            "n_points": int(len(self.freq)),
            "params": {k: float(v) for k, v in self.params.items()},
            "stderr": {k: float(v) for k, v in self.stderr.items()},
            "fixed": list(self.fixed),
        }

    def to_dataframe(self):
        """Parameter table as a pandas DataFrame (index = name; value, stderr, rel_stderr, fixed)."""
        import pandas as pd

        rel = self.relative_stderr
        return pd.DataFrame(
            {
                "value": [self.params[n] for n in self.param_names],
                "stderr": [self.stderr[n] for n in self.param_names],
                "rel_stderr": [rel[n] for n in self.param_names],
                "fixed": [n in self.fixed for n in self.param_names],
            },
            index=pd.Index(self.param_names, name="parameter"),
        )

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={v:.4g}±{self.stderr[k]:.2g}" for k, v in self.params.items())
        return f"FitResult({self.spec}, success={self.success}, chi2={self.chi2:.3g}, {rows})"


# --------------------------------------------------------------------------- problem setup
class _Problem:
    """Everything the batched LM needs: model, data, weights, free mask and transforms."""

    def __init__(self, circuit: Circuit, w, Zdata, wts, free, fixed_vals, lo_u, hi_u):
        self.c = circuit
        self.w = w
        self.Z = Zdata  # (B, F) or (1, F)
        self.wt = wts  # (B, F) or (1, F) for real, imag (tuple)
        self.free = free  # indices of free params
        self.all_free = free.size == circuit.n_params
        self.fixed_vals = fixed_vals  # full-length array (natural) with fixed values
        self.logmask = np.array([circuit.param_kinds[i] != EXP for i in free], dtype=bool)
        self.all_log = bool(self.logmask.all())
        self.lo_u, self.hi_u = lo_u, hi_u

    def to_nat(self, U):
        P = np.empty((U.shape[0], self.fixed_vals.size))
        P[:] = self.fixed_vals
        if self.all_log:
            V = np.exp(np.minimum(U, 700.0))
        else:
            V = np.where(self.logmask, np.exp(np.minimum(U, 700.0)), U)
        P[:, self.free] = V
        return P, V

    def resjac(self, U, rows=None, jac=True):
        with np.errstate(all="ignore"):
            return self._resjac(U, rows, jac)

    def _resjac(self, U, rows, jac):
        P, V = self.to_nat(U)
        Zm, J = self.c.evaluate(P, self.w, jacobian=jac)
        Zd = self.Z if rows is None or self.Z.shape[0] == 1 else self.Z[rows]
        wr, wi = self.wt
        if wr.shape[0] > 1 and rows is not None:
            wr, wi = wr[rows], wi[rows]
        d = Zm - Zd
        r = np.concatenate([d.real * wr, d.imag * wi], axis=1)
        bad = ~np.isfinite(r).all(axis=1)
        anybad = bad.any()
        if anybad:
            r[bad] = np.inf
        if not jac:
            return r, None
        Jf = J if self.all_free else J[:, :, self.free]
        Jf = Jf * (V if self.all_log else np.where(self.logmask, V, 1.0))[:, None, :]
        Jr = np.concatenate([Jf.real * wr[:, :, None], Jf.imag * wi[:, :, None]], axis=1)
        if anybad:
            Jr[bad] = 0.0
        return r, Jr


def _lm(prob: _Problem, U0: np.ndarray, max_iter: int = 200, ftol: float = 1e-7, xtol: float = 1e-8,
        prune_after: int | None = None):
    """Batched Levenberg-Marquardt in the transformed parameters ``U`` (B, P_free).

    Returns ``U, cost, n_iter, converged`` per batch member. Members whose cost is far above the
    batch minimum after ``prune_after`` iterations are dropped (multi-start pruning).
    """
    with np.errstate(all="ignore"):  # overflowing trial steps are rejected, not reported
        return _lm_loop(prob, U0, max_iter, ftol, xtol, prune_after)


def _lm_loop(prob, U0, max_iter, ftol, xtol, prune_after):
    U = np.clip(U0.copy(), prob.lo_u, prob.hi_u)
    B, Pf = U.shape
    r, J = prob.resjac(U)
    cost = np.einsum("bk,bk->b", r, r)
    if Pf == 0:  # everything fixed: nothing to optimise
        return U, cost, np.zeros(B, int), np.isfinite(cost), r, J
    lam = np.full(B, 1e-3)
    active = np.isfinite(cost)
    converged = np.zeros(B, bool)
    n_iter = np.zeros(B, int)
    diag = np.arange(Pf)
    for it in range(max_iter):
        ids = np.nonzero(active)[0]
        if ids.size == 0:
            break
        if prune_after is not None and it == prune_after and ids.size > 2:
            best = np.min(cost[ids])
            order = ids[np.argsort(cost[ids])]
            keep = set(order[:2].tolist()) | set(ids[cost[ids] <= 4.0 * best].tolist())
            active[[i for i in ids if i not in keep]] = False
            ids = np.nonzero(active)[0]
        full = ids.size == B
        sel = slice(None) if full else ids
        Ja, ra, la = J[sel], r[sel], lam[sel]
        JT = Ja.transpose(0, 2, 1)
        A = JT @ Ja
        g = (JT @ ra[:, :, None])[:, :, 0]
        dg = A[:, diag, diag]
        dg = np.maximum(dg, 1e-12 * dg.max(axis=1, keepdims=True) + 1e-300)
        M = A
        M[:, diag, diag] += la[:, None] * dg
        try:
            step = np.linalg.solve(M, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(m, v, rcond=None)[0] for m, v in zip(M, g)])
        Uo = U[sel]
        Un = np.clip(Uo - step, prob.lo_u, prob.hi_u)
        rn, Jn = prob.resjac(Un, rows=None if full else ids)
        cn = (rn * rn).sum(axis=1)
        cn[np.isnan(cn)] = np.inf
        co = cost[sel]
        acc = cn < co
        n_iter[sel] += 1
        dx = np.abs(Un - Uo).max(axis=1)
        rel = (co - cn) / np.maximum(co, 1e-300)
        if acc.any():
            ai = ids[acc]
            U[ai] = Un[acc]
            r[ai] = rn[acc]
            J[ai] = Jn[acc]
            cost[ai] = cn[acc]
        lam[sel] = np.where(acc, np.maximum(la * 0.2, 1e-12), la * 5.0)
        done = (acc & ((rel < ftol) | (dx < xtol))) | (lam[sel] > 1e10)
        converged[ids[done]] = True
        active[ids[done]] = False
        if prune_after is not None and it >= prune_after:
            # multi-start: once the best start has converged, drop starts far above it
            b = int(np.argmin(cost))
            if converged[b]:
                active &= cost <= 2.0 * cost[b]
    return U, cost, n_iter, converged, r, J


def _prepare_bounds(circuit: Circuit, bounds, free):
    lo, hi = circuit.default_bounds()
    if bounds is not None:
        if not isinstance(bounds, dict):
            b = np.asarray(bounds, dtype=float)
            if b.shape != (2, circuit.n_params):
                raise AnalysisError(f"bounds: expected a dict name -> (low, high) or an array (2, {circuit.n_params})")
            bounds = {n: (b[0, i], b[1, i]) for i, n in enumerate(circuit.param_names)}
        for name, (a, b) in bounds.items():
            if name not in circuit.param_names:
                raise AnalysisError(f"bounds: unknown parameter {name!r}; expected one of {', '.join(circuit.param_names)}")
            i = circuit.param_names.index(name)
            a = -np.inf if a is None else float(a)
            b = np.inf if b is None else float(b)
            if not a < b:
                raise AnalysisError(f"bounds: low {a} must be below high {b} for {name}")
            if circuit.param_kinds[i] != EXP and b <= 0:
                raise AnalysisError(f"bounds: {name} is a positive parameter; high bound {b} must be > 0")
            lo[i], hi[i] = max(a, 0.0) if circuit.param_kinds[i] != EXP else a, b
    lo_u, hi_u = [], []
    for i in free:
        if circuit.param_kinds[i] == EXP:
            lo_u.append(lo[i] if lo[i] > 0 else 1e-6)
            hi_u.append(hi[i])
        else:
            lo_u.append(np.log(lo[i]) if lo[i] > 0 else -690.0)
            hi_u.append(np.log(hi[i]) if np.isfinite(hi[i]) else 690.0)
    return lo, hi, np.array(lo_u), np.array(hi_u)


def _weights(Z: np.ndarray, weighting: str):
    if weighting == "modulus":
        m = 1.0 / np.abs(Z)
        return m, m
    if weighting == "unity":
        o = np.ones(Z.shape)
        return o, o
    if weighting == "proportional":
        return 1.0 / np.abs(Z.real), 1.0 / np.abs(Z.imag)
    raise AnalysisError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")


def _covariance(J: np.ndarray, cost: float, n_res: int):
    Pf = J.shape[1]
    dof = n_res - Pf
    A = J.T @ J
    try:
        # scale to unit diagonal for conditioning, then invert
        d = np.sqrt(np.diag(A))
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("parameter without influence")
        As = A / np.outer(d, d)
        inv = np.linalg.inv(As) / np.outer(d, d)
        ok = np.all(np.isfinite(inv)) and np.all(np.diag(inv) >= 0)
    except np.linalg.LinAlgError:
        inv, ok = np.full((Pf, Pf), np.nan), False
    s2 = cost / dof if dof > 0 else np.nan
    return inv * s2, ok


def _fail(circuit, spec, msg, freq=np.empty(0), weighting="modulus", fixed=()):
    n = circuit.n_params if circuit is not None else 0
    names = circuit.param_names if circuit is not None else []
    return FitResult(
        params={k: float("nan") for k in names},
        stderr={k: float("nan") for k in names},
        covariance=np.full((n, n), np.nan),
        param_names=list(names),
        chi2=float("nan"),
        residuals=np.empty(0, complex),
        Z_fit=np.empty(0, complex),
        success=False,
        message=msg,
        spec=spec,
        freq=np.asarray(freq, float),
        weighting=weighting,
        fixed=tuple(fixed),
    )


def _clean(freq, Z):
    """Drop non-finite points and non-positive frequencies; return (freq, Z, note)."""
    freq = np.asarray(freq, dtype=float).ravel()
    Z = np.asarray(Z).ravel()
    if freq.shape != Z.shape:
        return None, None, f"freq has {freq.size} points but Z has {Z.size}"
    Z = Z.astype(complex)
    ok = np.isfinite(freq) & np.isfinite(Z) & (freq > 0) & (Z != 0)
    note = ""
    if not ok.all():
        note = f"{int((~ok).sum())} point(s) with NaN/inf, zero impedance or frequency <= 0 ignored"
    return freq[ok], Z[ok], note


def _prepare_problem(circuit: Circuit, p0, bounds, fixed):
    """Free-parameter indices, fixed values, bounds (internal and user units) and start values.

    Shared by :func:`fit_circuit` and :func:`analysis.eis.many.fit_many`.
    """
    fixed = dict(fixed or {})
    for k in fixed:
        if k not in circuit.param_names:
            raise AnalysisError(f"fixed: unknown parameter {k!r}; expected one of {', '.join(circuit.param_names)}")
    free = np.array([i for i, n in enumerate(circuit.param_names) if n not in fixed], dtype=int)
    fixed_vals = np.array([float(fixed.get(n, np.nan)) for n in circuit.param_names])
    lo, hi, lo_u, hi_u = _prepare_bounds(circuit, bounds, free)
    return free, fixed_vals, lo, hi, lo_u, hi_u, _p0_array(circuit, p0, fixed_vals)


def _p0_array(circuit, p0, fixed_vals):
    if p0 is None:
        return None
    P = circuit.as_array(p0) if isinstance(p0, dict) else np.asarray(p0, float)
    if P.ndim == 1 and P.size == circuit.n_params:
        return P[None, :]
    if P.ndim == 2 and P.shape[1] == circuit.n_params:
        return P
    raise AnalysisError(
        f"p0: expected {circuit.n_params} values ({', '.join(circuit.param_names)}), got shape {P.shape}"
    )


def fit_circuit(freq, Z, spec, p0=None, bounds=None, fixed=None, weighting="modulus", *,
                max_iter: int = 200, max_starts: int = 12) -> FitResult:
    """Fit an equivalent circuit to one impedance spectrum.

    Parameters
    ----------
    freq : array_like, shape (F,)
        Frequencies in Hz (> 0; any order).
    Z : array_like of complex, shape (F,)
        Impedance in ohm (``Z' + j Z''``, Im(Z) with its sign).
    spec : str or Circuit
        Circuit string such as ``"R0-p(R1,CPE1)-W1"``.
    p0 : dict or sequence or array (K, P), optional
        Initial values in natural units (by name or in :attr:`Circuit.param_names` order). A
        2-D array gives several starts. Default: automatic multi-start guess from the
        spectrum (intercepts, arc apexes, low-frequency slope), see :mod:`analysis.eis.guess`.
    bounds : dict name -> (low, high), optional
        Bounds in natural units (None for open). Defaults: scale parameters > 0, exponents
        in (0, 1].
    fixed : dict name -> value, optional
        Parameters held at the given value.
    weighting : {"modulus", "unity", "proportional"}
        Residual weights (see module docstring).
    max_iter : int
        Iteration cap of the Levenberg-Marquardt loop.
    max_starts : int
        Upper bound on automatic starting points.

    Returns
    -------
    FitResult
        Never raises for a bad spectrum (too few points, NaN, non-convergence): such cases
        return ``success=False`` with the reason in ``message``.

    Raises
    ------
    CircuitError
        If ``spec`` cannot be parsed.
    AnalysisError
        For malformed ``p0``, ``bounds``, ``fixed`` or ``weighting`` (programming errors).
    """
    circuit = spec if isinstance(spec, Circuit) else parse(spec)
    spec_s = circuit.spec
    if weighting not in WEIGHTINGS:
        raise AnalysisError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    fixed = dict(fixed or {})
    free, fixed_vals, lo, hi, lo_u, hi_u, P0 = _prepare_problem(circuit, p0, bounds, fixed)

    try:
        f, Zc, note = _clean(freq, Z)
    except (TypeError, ValueError) as exc:
        return _fail(circuit, spec_s, f"cannot read spectrum: {exc}", weighting=weighting, fixed=fixed)
    if f is None:
        return _fail(circuit, spec_s, note, weighting=weighting, fixed=fixed)
    if 2 * f.size <= free.size:
        return _fail(circuit, spec_s, f"too few valid points ({f.size}) for {free.size} free parameters",
                     f, weighting, fixed)
    wr, wi = _weights(Zc, weighting)
    if not (np.all(np.isfinite(wr)) and np.all(np.isfinite(wi))):
        return _fail(circuit, spec_s, "proportional weighting needs non-zero Re and Im parts at every point",
                     f, weighting, fixed)
    if P0 is None:
        P0 = initial_guesses(circuit, f, Zc, max_starts=max_starts)
    return _fit_prepared(circuit, f, Zc, P0, free, fixed_vals, fixed, lo, hi, lo_u, hi_u,
                         (wr[None], wi[None]), weighting, max_iter, note)


def _to_u(P, free, kinds):
    V = np.asarray(P, float)[:, free]
    logm = np.array([kinds[i] != EXP for i in free])
    with np.errstate(all="ignore"):
        return np.where(logm, np.log(np.maximum(V, 1e-300)), V)


def _fit_prepared(circuit, f, Zc, P0, free, fixed_vals, fixed, lo, hi, lo_u, hi_u, wts, weighting,
                  max_iter, note):
    w = 2 * np.pi * f
    isfix = ~np.isnan(fixed_vals)
    P0 = np.where(isfix, fixed_vals, P0)
    P0 = np.clip(P0, np.maximum(lo, 1e-300 * (np.array(circuit.param_kinds) != EXP)), hi)
    prob = _Problem(circuit, w, Zc[None, :], wts, free, np.where(isfix, fixed_vals, 0.0), lo_u, hi_u)
    U0 = _to_u(P0, free, circuit.param_kinds)
    U, cost, n_iter, conv, r, J = _lm(prob, U0, max_iter=max_iter, prune_after=5 if len(U0) > 2 else None)
    # ties (e.g. two identical R||CPE blocks swapped): prefer the earliest start, whose arcs
    # follow the written order from high to low frequency
    if np.isfinite(cost).any():
        scale = float(np.sum((np.abs(Zc) * wts[0][0]) ** 2))
        near = cost <= np.min(cost) * (1 + 1e-6) + 1e-20 * scale
        b = int(np.nonzero(near & conv)[0][0]) if (near & conv).any() else int(np.nonzero(near)[0][0])
    else:
        b = 0
    return _result(circuit, prob, f, Zc, U[b], cost[b], int(n_iter[b]), bool(conv[b]), J[b],
                   weighting, fixed, note, r[b])


def _result(circuit, prob, f, Zc, u, cost, n_iter, conv, Ju, weighting, fixed, note, r=None):
    spec = circuit.spec
    if not np.isfinite(cost):
        return _fail(circuit, spec, "model could not be evaluated (non-finite impedance) from any start",
                     f, weighting, fixed)
    Pfull, V = prob.to_nat(u[None])
    Pfull = Pfull[0]
    # Jacobian in natural units: dZ/dp = dZ/du / (dp/du)
    Jn = Ju / np.where(prob.logmask, V[0], 1.0)[None, :]
    cov_f, ok = _covariance(Jn, cost, Ju.shape[0])
    n = circuit.n_params
    cov = np.zeros((n, n))
    cov[np.ix_(prob.free, prob.free)] = cov_f
    sd = np.sqrt(np.abs(np.diag(cov)))
    if not ok:
        sd[prob.free] = np.nan
    Zfit = circuit.evaluate(Pfull[None], prob.w, jacobian=False)[0][0] if r is None else \
        Zc + (r[: Zc.size] / prob.wt[0][0] + 1j * r[Zc.size:] / prob.wt[1][0])
    names = circuit.param_names
    tol = 1e-9 * (1 + np.abs(u))
    hit = ((np.abs(u - prob.lo_u) <= tol) & (prob.lo_u > -600)) | ((np.abs(u - prob.hi_u) <= tol) & (prob.hi_u < 600))
    at_bound = [names[i] for j, i in enumerate(prob.free) if hit[j]]
    msgs = []
    success = bool(conv and ok and np.all(np.isfinite(Pfull)))
    if not conv:
        msgs.append(f"not converged after {n_iter} iterations")
    if not ok:
        msgs.append("covariance undetermined (parameters not identifiable from this spectrum)")
    if at_bound:
        msgs.append("at bound: " + ", ".join(at_bound))
    if note:
        msgs.append(note)
    if not msgs:
        msgs.append(f"converged in {n_iter} iterations")
    return FitResult(
        params={k: float(v) for k, v in zip(names, Pfull)},
        stderr={k: float(v) for k, v in zip(names, sd)},
        covariance=cov,
        param_names=list(names),
        chi2=float(cost),
        residuals=(Zc - Zfit) / np.abs(Zc),
        Z_fit=Zfit,
        success=success,
        message="; ".join(msgs),
        spec=spec,
        freq=f,
        weighting=weighting,
        fixed=tuple(fixed),
        n_iter=n_iter,
    )
