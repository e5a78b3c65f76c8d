"""Kramers-Kronig validity test of an impedance spectrum (Lin-KK).

Method (Schoenleber, Klotz, Ivers-Tiffee, Electrochim. Acta 131 (2014) 20): fit the
spectrum with a series resistance, an inductance (and optionally a series capacitance for
blocking electrodes) and ``M`` Voigt RC elements with fixed time constants log-spaced from
``1/w_max`` to ``1/w_min``. The model is KK-consistent by construction and linear in its
unknowns, so each ``M`` is one weighted linear least-squares solve (weights ``1/|Z|``, real
and imaginary parts together). ``M`` grows from 1 until the over-fitting measure
``mu = 1 - sum(|R_k| for R_k < 0) / sum(|R_k| for R_k >= 0)`` drops to ``c`` or below
(and stays there for ``patience`` steps, see :func:`kramers_kronig`).

When the fit at that ``M`` misses the threshold, the smallest ``M`` (up to ``max_M``) whose fit
meets it is used instead. Why: mu measures how much of the fitted resistance is negative, which
is also large when the model *under*-fits. Sharp (ideal-RC) arcs between the fixed time
constants, or a series capacitance still being absorbed by the RC elements, drive mu far below
``c`` at moderate ``M`` while the residuals are still tens of per cent: the mu rule alone then
declared KK-consistent spectra of blocking cells failed (51 % residual for two ideal arcs plus a
1 mF electrode capacitance). Over-fitting cannot make a non-compliant spectrum pass this way: the
model stays KK-consistent whatever ``M``, and the residual of a drifting or corrupted spectrum
levels off above the threshold as ``M`` grows (1.7 % from ``M`` = 18 up to ``M`` = ``N`` for a Randles
cell whose R1 drifts by 30 %, tests/analysis/test_eis_kk.py).

A spectrum passes when every relative residual ``(Z - Z_fit)/|Z|`` (real and imaginary
part) is within ``threshold`` (default 1 %, the usual criterion for a good measurement).
Drift, non-linearity or a non-stationary cell show up as systematic residuals above it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.linalg

from analysis.errors import AnalysisError


@dataclass
class KKResult:
    """Result of :func:`kramers_kronig`.

    Attributes
    ----------
    M : int
        Number of RC elements used: the one chosen by the mu criterion, or (when that fit misses
        the threshold) the smallest number whose fit meets it.
    mu : float
        Over-fitting measure at ``M``.
    residuals_real, residuals_imag : numpy.ndarray
        ``(Z - Z_fit).real / |Z|`` and ``(Z - Z_fit).imag / |Z|`` (dimensionless), in the
        order of the input frequencies.
    Z_fit : numpy.ndarray of complex
        KK-consistent fit (ohm).
    passed : bool
        True if all absolute residuals are <= ``threshold``.
    threshold : float
        Maximum absolute relative residual allowed (default 0.01 = 1 %).
    message : str
        Explanation of the verdict.
    freq : numpy.ndarray
        Frequencies (Hz).
    R : numpy.ndarray
        Resistances of the RC elements (ohm), ``tau`` their time constants (s).
    tau : numpy.ndarray
    R_ohm : float
        Series resistance (ohm); ``L`` series inductance (H); ``C`` series capacitance (F,
        inf when not used).
    L : float
    C : float
    """

    M: int
    mu: float
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    Z_fit: np.ndarray
    passed: bool
    threshold: float
    message: str
    freq: np.ndarray
    R: np.ndarray
    tau: np.ndarray
    R_ohm: float
    L: float
    C: float

    @property
    def max_residual(self) -> float:
        """Largest absolute relative residual (dimensionless)."""
        return float(max(np.max(np.abs(self.residuals_real)), np.max(np.abs(self.residuals_imag))))

    @property
    def rms_residual(self) -> float:
        """Root-mean-square relative residual over real and imaginary parts."""
        return float(np.sqrt(np.mean(np.r_[self.residuals_real, self.residuals_imag] ** 2)))

    def to_dict(self) -> dict:
        """JSON-friendly summary."""
        return {
            "M": int(self.M), "mu": float(self.mu), "passed": bool(self.passed),
            "threshold": float(self.threshold), "max_residual": self.max_residual,
            "rms_residual": self.rms_residual, "message": self.message,
        }


_GELSY, _GELSY_LWORK = scipy.linalg.get_lapack_funcs(("gelsy", "gelsy_lwork"), dtype=np.float64)
_EPS = float(np.finfo(np.float64).eps)


@lru_cache(maxsize=256)
def _gelsy_lwork(m: int, n: int) -> int:
    """LAPACK workspace size of dgelsy for an (m, n) system (asked once per shape, not per solve)."""
    work, info = _GELSY_LWORK(m, n, 1, _EPS)
    return int(work.real)


def _lstsq(A, b):
    """Least-squares solution of ``A x = b`` (real, ``A`` of shape (m, n), ``b`` of shape (m,)).

    LAPACK ``dgelsy`` (complete orthogonal factorisation, about 1.5x faster than numpy's SVD-based
    gelsd on these small systems; same solution), called directly with the cut-off
    ``scipy.linalg.lstsq`` uses (machine epsilon): the same numbers as
    ``scipy.linalg.lstsq(A, b, lapack_driver="gelsy")`` without its checks and batching, which
    cost twice the factorisation itself on the ~130 x 30 systems of a Lin-KK sweep.
    """
    m, n = A.shape
    rhs = np.zeros((max(m, n), 1))
    rhs[:m, 0] = b
    _, x, _, _, info = _GELSY(np.asfortranarray(A), rhs, np.zeros((n, 1), dtype=np.int32), _EPS,
                              _gelsy_lwork(m, n), overwrite_a=True, overwrite_b=True)
    if info != 0:  # pragma: no cover - only on an invalid argument
        raise AnalysisError(f"kramers_kronig: LAPACK dgelsy failed (info={info})")
    return x[:n, 0]


def _smallest_passing_M(columns, extra, cap_col, b, caps, max_M, threshold):
    """(capacitance, M, tau, x, mu) of the smallest M whose fit meets ``threshold`` (with or
    without the series capacitance, without preferred at equal M), or None."""
    for M in range(1, max_M + 1):
        rc, tau = columns(M)
        for cap in caps:
            Ar = np.concatenate([rc, extra, cap_col] if cap else [rc, extra], axis=1)
            x = _lstsq(Ar, b)
            if float(np.max(np.abs(b - Ar @ x))) <= threshold:
                R = x[:M]
                pos, neg = R[R >= 0].sum(), -R[R < 0].sum()
                return cap, M, tau, x, (1.0 - neg / pos if pos > 0 else 0.0)
    return None


def kramers_kronig(freq, Z, c: float = 0.85, max_M: int | None = None, *, threshold: float = 0.01,
                   capacitance="auto", inductance: bool = True, patience: int = 3) -> KKResult:
    """Lin-KK test of one impedance spectrum.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz, > 0, any order, no duplicates).
    Z : array_like of complex
        Impedance (ohm).
    c : float
        mu threshold of Schoenleber's criterion (0.85 in the paper).
    max_M : int, optional
        Largest number of RC elements tried (default: the number of points, at most 100).
    threshold : float
        Largest absolute relative residual for a pass (default 0.01 = 1 %).
    capacitance : bool or "auto"
        Add a series capacitance (needed for blocking electrodes and diffusion tails, where
        Z'' diverges at low frequency). "auto" (default) runs the test with and without it
        and keeps the fit with the smaller largest residual (both models are KK-consistent).
    inductance : bool
        Add a series inductance (cables, high-frequency artefacts).
    patience : int
        Over-fitting is declared when mu <= c for ``patience`` consecutive M (mu is not
        monotonic in M, especially with a series capacitance: a single dip below c while the
        residuals are still large is an under-fit, not an over-fit). The M used is the one
        with the smallest largest residual among the M tried with mu > c (the first M with
        mu <= c if there is none). ``patience=1`` is Schoenleber's original rule. If that fit
        misses ``threshold``, the smallest M (<= ``max_M``) whose fit meets it is used (see the
        module docstring).

    Returns
    -------
    KKResult

    Raises
    ------
    AnalysisError
        For fewer than 5 valid points, non-positive frequencies or mismatched lengths.
    """
    if isinstance(capacitance, str) and capacitance != "auto":
        raise AnalysisError(f"kramers_kronig: capacitance must be True, False or 'auto', got {capacitance!r}")
    f = np.asarray(freq, dtype=float).ravel()
    Z = np.asarray(Z, dtype=complex).ravel()
    if f.shape != Z.shape:
        raise AnalysisError(f"kramers_kronig: freq has {f.size} points but Z has {Z.size}")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(Z))):
        raise AnalysisError("kramers_kronig: freq and Z must be finite (drop NaN points first)")
    if np.any(f <= 0):
        raise AnalysisError("kramers_kronig: frequencies must be > 0 Hz")
    if f.size < 5:
        raise AnalysisError(f"kramers_kronig: need at least 5 points, got {f.size}")
    if not 0 < c < 1:
        raise AnalysisError(f"kramers_kronig: c must be in (0, 1), got {c}")
    w = 2 * np.pi * f
    wt = 1.0 / np.abs(Z)
    if max_M is None:
        max_M = min(f.size, 100)
    max_M = int(max(1, max_M))
    # "auto" runs the test with and without a series capacitance and keeps the fit with the
    # smaller largest residual (both models are KK-consistent); the two M sweeps share the RC
    # columns, so they run together
    caps = (False, True) if isinstance(capacitance, str) else (bool(capacitance),)
    b = np.r_[Z.real * wt, Z.imag * wt]
    tau_min, tau_max = 1.0 / w.max(), 1.0 / w.min()
    # weighted real form of the extra columns: R_ohm (1), L (j w), 1/C (-j / w)
    ext_re = [wt]
    ext_im = [np.zeros_like(w)]
    if inductance:
        ext_re.append(np.zeros_like(w))
        ext_im.append(w * wt)
    extra = np.r_[np.stack(ext_re, axis=1), np.stack(ext_im, axis=1)]
    cap_col = np.r_[np.zeros_like(w), -wt / w][:, None]

    def columns(M):
        """Weighted real [Re; Im] of the M RC elements 1/(1 + j w tau) (2N x M) and tau."""
        tau = np.geomspace(tau_min, tau_max, M) if M > 1 else np.array([np.sqrt(tau_min * tau_max)])
        x = np.outer(w, tau)
        d = 1.0 / (1.0 + x * x)
        return np.r_[d * wt[:, None], -x * d * wt[:, None]], tau

    state = {cap: {"best": None, "first_below": None, "streak": 0, "done": False} for cap in caps}
    for M in range(1, max_M + 1):
        rc, tau = columns(M)
        for cap in caps:
            st = state[cap]
            if st["done"]:
                continue
            Ar = np.concatenate([rc, extra, cap_col] if cap else [rc, extra], axis=1)
            x = _lstsq(Ar, b)
            R = x[:M]
            pos, neg = R[R >= 0].sum(), -R[R < 0].sum()
            mu = 1.0 - neg / pos if pos > 0 else 0.0
            worst = float(np.max(np.abs(b - Ar @ x)))  # relative residuals (Z - Z_fit) / |Z|, both parts
            if mu > c:
                st["streak"] = 0
                if st["best"] is None or worst < st["best"][0]:
                    st["best"] = (worst, M, tau, x, mu)
            else:
                st["streak"] += 1
                if st["first_below"] is None:
                    st["first_below"] = (worst, M, tau, x, mu)
                if st["streak"] >= patience:
                    st["done"] = True
        if all(st["done"] for st in state.values()):
            break
    picks = {cap: (st["best"] if st["best"] is not None else st["first_below"]) for cap, st in state.items()}
    # the smaller largest residual wins (ties: without the capacitance, as the separate runs did)
    capacitance = min(caps, key=lambda cap: (picks[cap][0], cap))
    worst, M, tau, x, mu = picks[capacitance]
    by_mu = True
    if worst > threshold:  # an under-fit the mu rule took for over-fitting: smallest M that fits
        found = _smallest_passing_M(columns, extra, cap_col, b, caps, max_M, threshold)
        if found is not None:
            capacitance, M, tau, x, mu = found
            by_mu = False
    cols = [1.0 / (1.0 + 1j * np.outer(w, tau)), np.ones((w.size, 1), dtype=complex)]
    if inductance:
        cols.append((1j * w)[:, None])
    if capacitance:
        cols.append((-1j / w)[:, None])
    A = np.concatenate(cols, axis=1)
    Zfit = A @ x
    res = (Z - Zfit) / np.abs(Z)
    rr, ri = res.real, res.imag
    worst = float(max(np.max(np.abs(rr)), np.max(np.abs(ri))))
    passed = worst <= threshold
    crit = f"mu = {mu:.3f}, c = {c}" if by_mu else (
        f"the smallest M that fits within the threshold, mu = {mu:.3f} there: the mu rule (c = {c}) "
        "stopped at an under-fit")
    if capacitance:
        crit += ", with series capacitance"
    msg = (f"{'pass' if passed else 'FAIL'}: max |residual| {100 * worst:.2f} % "
           f"{'<=' if passed else '>'} {100 * threshold:.2f} % with M = {M} RC elements ({crit})")
    k = M
    R_ohm = float(x[k].real)
    Lv = float(x[k + 1].real) if inductance else 0.0
    Cv = float(1.0 / x[-1].real) if capacitance and x[-1].real != 0 else float("inf")
    return KKResult(M=M, mu=float(mu), residuals_real=rr, residuals_imag=ri, Z_fit=Zfit, passed=bool(passed),
                    threshold=float(threshold), message=msg, freq=f, R=x[:M].real.copy(), tau=tau,
                    R_ohm=R_ohm, L=Lv, C=Cv)
