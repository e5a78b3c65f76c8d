"""``compute_drt``: distribution of relaxation times of one impedance spectrum."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
import math
import numbers

import numpy as np

from analysis.drt.core import DRTError, Discretisation, discretise, rbf_matrix
from analysis.drt import lam as _lam
from analysis.drt.solve import nnqp

DATA_MODES = ("complex", "real", "imag")
#: Spectra whose ``A.T @ b`` and last active set are kept for warm starts (lambda sliders).
_WARM_CACHE_SIZE = 32


@dataclass
class DRTResult:
    """Result of :func:`compute_drt`.

    Attributes
    ----------
    tau : numpy.ndarray
        Output grid of relaxation times (s): 10 points per frequency from 0.5 decade below
        ``1/f_max`` to 0.5 decade above ``1/f_min`` (pyDRTtools' ``tau_fine``).
    gamma : numpy.ndarray
        DRT on ``tau`` (ohm per unit ln tau); its integral over ln tau is a resistance.
    R_inf : float
        High-frequency resistance (ohm).
    L : float
        Series inductance (H); 0 unless ``inductance=True``.
    C : float
        Series capacitance (F) of blocking electrodes; inf unless ``capacitance=True``.
    lam : float
        Regularisation parameter used.
    Z_fit : numpy.ndarray
        Impedance of the model at the input frequencies, input order (ohm).
    residuals : numpy.ndarray
        ``Z - Z_fit`` (complex, ohm), input order.
    x : numpy.ndarray
        RBF weights (ohm), one per basis function.
    tau_basis : numpy.ndarray
        RBF centres ``1/f`` (s), ascending.
    kk : object or None
        Kramers-Kronig result (``analysis.eis.KKResult``) when the check ran.
    warnings : list of str
        Messages about the data or the computation (inductive points, KK failure...).
    freq, Z : numpy.ndarray
        Input frequencies (Hz) and impedance (ohm), input order.
    eps : float
        RBF shape factor.
    lam_method : str or None
        Criterion used when lambda was chosen automatically.
    lam_grid, lam_scores : numpy.ndarray or None
        Lambda values scanned and the criterion on them (curvature for "lcurve").
    settings : dict
        The options of the computation.
    """

    tau: np.ndarray
    gamma: np.ndarray
    R_inf: float
    L: float
    lam: float
    Z_fit: np.ndarray
    residuals: np.ndarray
    x: np.ndarray
    tau_basis: np.ndarray
    kk: object = None
    warnings: list = field(default_factory=list)
    C: float = float("inf")
    freq: np.ndarray | None = None
    Z: np.ndarray | None = None
    eps: float = float("nan")
    lam_method: str | None = None
    lam_grid: np.ndarray | None = None
    lam_scores: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    @property
    def R_pol(self) -> float:
        """Polarisation resistance: integral of gamma over ln tau on the output grid (ohm)."""
        return float(np.trapezoid(self.gamma, np.log(self.tau)))

    @property
    def R_total(self) -> float:
        """``R_inf + R_pol`` (ohm): the model's DC resistance."""
        return self.R_inf + self.R_pol

    def gamma_at(self, tau) -> np.ndarray:
        """DRT evaluated exactly from the RBF weights at relaxation times ``tau`` (s), ohm."""
        t = np.atleast_1d(np.asarray(tau, dtype=float))
        if np.any(t <= 0):
            raise DRTError("tau must be strictly positive (s)")
        return rbf_matrix(t, self.tau_basis, self.eps) @ self.x

    def peaks(self, **kwargs):
        """Peaks of the DRT with Gaussian deconvolution; see :func:`analysis.drt.find_peaks`."""
        from analysis.drt.peaks import find_peaks

        return find_peaks(self, **kwargs)

    def integrate(self, regions: dict) -> dict:
        """Resistance in each tau region; see :func:`analysis.drt.integrate_regions`."""
        from analysis.drt.peaks import integrate_regions

        return integrate_regions(self, regions)

    def to_dataset(self):
        """The DRT as an ``xarray.Dataset`` with dim ``tau`` (gamma) and scalar R_inf, L, lam."""
        import xarray as xr

        return xr.Dataset(
            {
                "gamma": ("tau", self.gamma, {"units": "ohm", "long_name": "DRT gamma(ln tau)"}),
                "R_inf": ((), self.R_inf, {"units": "ohm", "long_name": "high-frequency resistance"}),
                "L": ((), self.L, {"units": "H", "long_name": "series inductance"}),
                "lam": ((), self.lam, {"units": "1", "long_name": "regularisation parameter"}),
            },
            coords={"tau": ("tau", self.tau, {"units": "s", "long_name": "relaxation time"})},
            attrs={k: str(v) for k, v in self.settings.items()},
        )


def _design(disc: Discretisation, data: str, inductance: bool, capacitance: bool = False):
    """Design matrix [R_inf?, L?, 1/C?, basis...] for a data mode; returns (A, p0, names)."""
    w = 2 * np.pi * disc.freq
    M, N = disc.A_re.shape
    cols, names = [], []
    if data == "complex":
        cols.append(np.concatenate([np.ones(M), np.zeros(M)]))
        names.append("R_inf")
        if inductance:
            cols.append(np.concatenate([np.zeros(M), w]))
            names.append("L")
        if capacitance:
            cols.append(np.concatenate([np.zeros(M), -1.0 / w]))
            names.append("Cinv")
        basis = np.vstack([disc.A_re, disc.A_im])
    elif data == "real":
        cols.append(np.ones(M))
        names.append("R_inf")
        basis = np.asarray(disc.A_re)
    elif data == "imag":
        if inductance:
            cols.append(w)
            names.append("L")
        if capacitance:
            cols.append(-1.0 / w)
            names.append("Cinv")
        basis = np.asarray(disc.A_im)
    else:
        raise DRTError(f"data must be one of {DATA_MODES}, got {data!r}")
    A = np.column_stack(cols + [basis]) if cols else np.array(basis)
    return A, len(cols), names


def _design_names(data: str, inductance: bool, capacitance: bool) -> list[str]:
    """Names of the unpenalised leading unknowns of :func:`_design`."""
    names = [] if data == "imag" else ["R_inf"]
    if inductance and data != "real":
        names.append("L")
    if capacitance and data != "real":
        names.append("Cinv")
    return names


def _rhs(Z: np.ndarray, data: str) -> np.ndarray:
    if data == "complex":
        return np.concatenate([Z.real, Z.imag])
    return Z.real.copy() if data == "real" else Z.imag.copy()


def _check_lam(lam):
    if type(lam) is float and lam > 0 and math.isfinite(lam):  # fast path (lambda sliders)
        return lam
    if isinstance(lam, str):
        if lam != "auto":
            raise DRTError(f"lam must be 'auto' or a positive number, got {lam!r}")
        return None
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not (lam > 0 and math.isfinite(lam)):
        raise DRTError(f"lam must be 'auto' or a positive number, got {lam!r}")
    return float(lam)


def _kk_check(freq, Z, warnings):
    try:
        from analysis.eis import kramers_kronig
    except ImportError:
        warnings.append("Kramers-Kronig check skipped: analysis.eis.kramers_kronig is not available")
        return None
    try:
        kk = kramers_kronig(freq, Z)
    except Exception as exc:  # the DRT must still run when the check itself fails
        warnings.append(f"Kramers-Kronig check could not run: {exc}")
        return None
    if not getattr(kk, "passed", True):
        msg = getattr(kk, "message", "") or "residuals above threshold"
        warnings.append(f"Kramers-Kronig check failed ({msg}); the DRT of non-KK-compliant data is unreliable")
    return kk


def _inductive_warnings(freq_sorted, Z_sorted, inductance, signed, warnings):
    pos = Z_sorted.imag > 0
    if not pos.any():
        return
    n = int(pos.sum())
    half = freq_sorted.size // 2
    hi_f = pos[:half].any()
    lo_f = pos[half:].any()
    if hi_f and not inductance:
        warnings.append(
            f"{n} point(s) have Im(Z) > 0; at high frequency this is an inductive tail "
            "(cables, cell): use inductance=True to fit a series L"
        )
    if lo_f and not signed:
        warnings.append(
            "Im(Z) > 0 at low frequency (inductive loop): a non-negative DRT cannot represent it; "
            "use signed=True for a DRT that may be negative, or drop those points"
        )


def compute_drt(freq, Z, lam="auto", lam_method="gcv", order=1, rbf="gaussian", shape_coeff=0.5,
                inductance=False, data="complex", *, signed=False, capacitance=False, kk=True,
                lam_bounds=_lam.LAM_BOUNDS) -> DRTResult:
    """Distribution of relaxation times by Tikhonov-regularised RBF regression.

    Model: ``Z = R_inf + j w L + integral gamma(ln tau) / (1 + j w tau) d ln tau`` with
    gamma a sum of Gaussian RBFs centred at ``tau_m = 1/f_m`` (pyDRTtools' discretisation),
    weights non-negative (unless ``signed``), ``R_inf >= 0``, ``L >= 0``, and penalty
    ``lam * integral (d^order gamma / d ln tau^order)^2``. The matrices are cached per frequency
    grid and settings, so a new lambda only re-solves a small QP.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz), positive, any order.
    Z : array_like
        Complex impedance (ohm) with ``Im(Z) < 0`` for capacitive behaviour.
    lam : "auto" or float, default "auto"
        Regularisation parameter (same meaning and scale as pyDRTtools' lambda), or
        ``"auto"`` to choose it with ``lam_method``.
    lam_method : {"gcv", "mgcv", "lcurve", "re-im"}, default "gcv"
        Criterion for ``lam="auto"``.
    order : {1, 2}, default 1
        Derivative order of the penalty.
    rbf : {"gaussian"}, default "gaussian"
        Radial basis function.
    shape_coeff : float, default 0.5
        FWHM coefficient of the RBF (pyDRTtools' "FWHM Coefficient").
    inductance : bool, default False
        Fit a series inductance ``L >= 0`` (H) for high-frequency inductive tails.
    data : {"complex", "real", "imag"}, default "complex"
        Which part of Z is fitted. With "real", L is estimated afterwards from the
        imaginary residual; with "imag", R_inf afterwards from the real residual.
    signed : bool, default False
        Allow negative gamma (inductive loops, negative-resistance features).
    capacitance : bool, default False
        Fit a series capacitance ``C`` (F) with ``1/C >= 0``: the low-frequency spike of
        blocking electrodes (electrolyte pellets), which a DRT cannot represent. Not used
        with ``data="real"``.
    kk : bool, default True
        Run ``analysis.eis.kramers_kronig`` first; a failure adds a warning.
    lam_bounds : tuple of float, default (1e-7, 1)
        Search range for automatic lambda.

    Returns
    -------
    DRTResult
        ``tau`` (s), ``gamma`` (ohm), ``R_inf`` (ohm), ``L`` (H), ``lam``, ``Z_fit`` and
        ``residuals`` (ohm), RBF weights and diagnostics.

    Raises
    ------
    DRTError
        For invalid data or options (message names the input).

    Examples
    --------
    >>> res = compute_drt(freq, Z, lam=1e-3)          # doctest: +SKIP
    >>> res.peaks()                                   # doctest: +SKIP
    """
    from analysis.drt.core import validate_spectrum

    f, z = validate_spectrum(freq, Z)
    if data not in DATA_MODES:
        raise DRTError(f"data must be one of {DATA_MODES}, got {data!r}")
    lam_value = _check_lam(lam)
    if lam_value is None and lam_method not in _lam.LAM_METHODS:
        raise DRTError(f"lam_method must be one of {_lam.LAM_METHODS}, got {lam_method!r}")
    if lam_value is None and lam_method == "re-im" and data != "complex":
        raise DRTError("lam_method='re-im' needs data='complex' (it fits each part and predicts the other)")
    inductance = bool(inductance)
    capacitance = bool(capacitance)
    warnings: list[str] = []
    if capacitance and data == "real":
        warnings.append("capacitance=True is ignored with data='real' (a series C has no real part)")
        capacitance = False
    order_idx = np.argsort(-f, kind="stable")
    fs, zs = f[order_idx], z[order_idx]
    kk_res = _kk_check(f, z, warnings) if kk else None
    _inductive_warnings(fs, zs, inductance, signed, warnings)

    disc = discretise(fs, shape_coeff, rbf, order)
    key = _lam.design_key(disc, shape_coeff, rbf, order, data, inductance, capacitance)
    A, AtA, p0 = _lam.design_cached(key)
    b = _rhs(zs, data)
    grid = scores = None
    if lam_value is None:
        sel = _lam.selector_for(disc, shape_coeff, rbf, order, data, inductance, capacitance)[0]
        reim = None
        if lam_method == "re-im":
            sel_re, _, _ = _lam.selector_for(disc, shape_coeff, rbf, order, "real", False)
            sel_im, _, _ = _lam.selector_for(disc, shape_coeff, rbf, order, "imag", inductance, capacitance)
            reim = (sel_re, sel_im, zs.real, zs.imag, disc.A_re, disc.A_im, 2 * np.pi * fs,
                    inductance, capacitance)
        lam_value, grid, scores = _lam.choose(lam_method, sel, b, bounds=lam_bounds, reim=reim)
    # a new lambda on a known (grid, data): one matrix add and a warm-started active-set solve
    state = _data_state(key, b.tobytes(), bool(signed))
    C = np.ones(AtA.shape[0], bool)
    if signed:
        C[p0:] = False
    x_all = nnqp(AtA + lam_value * _penalty_full(key), state.g, C, active0=state.nearest(lam_value))
    state.remember(lam_value, _active_set(x_all, p0, signed))
    return _assemble(f, z, fs, zs, order_idx, disc, A, data, inductance, capacitance, x_all, p0, lam_value,
                     warnings, kk_res, lam_method if grid is not None else None, grid, scores,
                     dict(lam=lam, lam_method=lam_method, order=order, rbf=rbf, shape_coeff=shape_coeff,
                          inductance=inductance, capacitance=capacitance, data=data, signed=signed))


class _DataState:
    """``A.T @ b`` of one spectrum on one design, and the active sets of its last solutions.

    The remembered solutions are one tuple, replaced as a whole (safe for threads that share
    the cache: a reader sees either the old or the new tuple).
    """

    __slots__ = ("entries", "g")

    #: Solutions remembered per spectrum (the oldest is forgotten first).
    KEEP = 8

    def __init__(self, g: np.ndarray):
        self.g = g
        self.entries: tuple = ()  # ((log lambda, active set), ...)

    @property
    def actives(self) -> list:
        """Remembered active sets, oldest first."""
        return [a for _t, a in self.entries]

    def nearest(self, lam: float) -> np.ndarray | None:
        """Active set of the remembered solution with the closest ``log(lambda)``, or None."""
        entries = self.entries
        if not entries:
            return None
        t = math.log(lam)
        return min(entries, key=lambda e: abs(e[0] - t))[1]

    def remember(self, lam: float, active: np.ndarray) -> None:
        """Store the active set of the optimum at ``lam`` (bounded to :attr:`KEEP` entries)."""
        self.entries = (*self.entries, (math.log(lam), active))[-self.KEEP:]


@lru_cache(maxsize=_WARM_CACHE_SIZE)
def _data_state(key: tuple, bbytes: bytes, signed: bool) -> _DataState:
    """Bounded cache per (design, data, signed): a lambda change re-uses ``A.T @ b`` and starts
    the active-set iteration from the optimum at the nearest previous lambda (only the speed
    depends on the start: the iteration stops on the exact KKT conditions)."""
    A = _lam.design_cached(key)[0]
    g = A.T @ np.frombuffer(bbytes, dtype=np.float64)
    g.setflags(write=False)
    return _DataState(g)


@lru_cache(maxsize=_WARM_CACHE_SIZE)
def _penalty_full(key: tuple) -> np.ndarray:
    """Penalty matrix padded with zeros for the unpenalised unknowns (R_inf, L, 1/C)."""
    _A, AtA, p0 = _lam.design_cached(key)
    Pf = np.zeros_like(AtA)
    Pf[p0:, p0:] = discretise(np.frombuffer(key[0], dtype=np.float64), key[1], key[2], key[3]).P
    Pf.setflags(write=False)
    return Pf


def _active_set(x_all: np.ndarray, p0: int, signed: bool) -> np.ndarray:
    act = x_all <= 0.0
    if signed:
        act[p0:] = False
    act.setflags(write=False)
    return act


def clear_warm_starts() -> None:
    """Empty the per-spectrum cache of ``A.T @ b`` and warm-start active sets."""
    _data_state.cache_clear()
    _penalty_full.cache_clear()


def solve_fixed(A, P, p0, b, lam, signed=False, AtA=None, *, g=None, active0=None):
    """Solve the regularised non-negative problem for one lambda.

    Parameters
    ----------
    A : numpy.ndarray
        Design matrix (n, p0 + N).
    P : numpy.ndarray
        Penalty of the basis block (N, N).
    p0 : int
        Number of unpenalised leading columns (R_inf, L), always constrained >= 0.
    b : numpy.ndarray
        Data (n,) in ohm.
    lam : float
        Regularisation parameter.
    signed : bool, default False
        Leave the basis weights unconstrained.
    AtA : numpy.ndarray, optional
        Precomputed ``A.T @ A``.
    g : numpy.ndarray, optional
        Precomputed ``A.T @ b``.
    active0 : numpy.ndarray of bool, optional
        Warm start: guess of the unknowns that are zero at the optimum (e.g. those of the
        solution at a nearby lambda). The result does not depend on it, only the speed.

    Returns
    -------
    numpy.ndarray
        ``[R_inf?, L?, x...]``.
    """
    H = np.array(A.T @ A if AtA is None else AtA, dtype=float)
    H[p0:, p0:] += lam * P
    if g is None:
        g = A.T @ b
    C = np.ones(H.shape[0], bool)
    if signed:
        C[p0:] = False
    return nnqp(H, g, C, active0=active0)


def _assemble(f, z, fs, zs, order_idx, disc, A, data, inductance, capacitance, x_all, p0, lam_value, warnings,
              kk_res, method, grid, scores, settings) -> DRTResult:
    x = x_all[p0:]
    names = _design_names(data, inductance, capacitance)
    R_inf = float(x_all[names.index("R_inf")]) if "R_inf" in names else 0.0
    L = float(x_all[names.index("L")]) if "L" in names else 0.0
    cinv = float(x_all[names.index("Cinv")]) if "Cinv" in names else 0.0
    zfit = np.empty(fs.size, dtype=np.complex128)
    if data == "complex":  # the design matrix gives [Re; Im] of the model, R_inf, L, 1/C included
        y = A @ x_all
        zfit.real[order_idx] = y[:fs.size]
        zfit.imag[order_idx] = y[fs.size:]
    else:
        w = 2 * np.pi * fs
        zre_g = disc.A_re @ x
        zim_g = disc.A_im @ x - cinv / w
        if data == "imag":
            R_inf = max(float(np.mean(zs.real - zre_g)), 0.0)
            warnings.append("data='imag': R_inf estimated afterwards from the mean real residual")
        if data == "real" and inductance:
            r = zs.imag - zim_g
            L = max(float(np.dot(w, r) / np.dot(w, w)), 0.0)
            warnings.append("data='real': L estimated afterwards from the imaginary residual")
        zfit[order_idx] = R_inf + zre_g + 1j * (w * L + zim_g)
    gamma = disc.B_fine @ x
    return DRTResult(
        tau=np.array(disc.tau_fine), gamma=gamma, R_inf=R_inf, L=L,
        C=(1.0 / cinv if cinv > 0 else float("inf")), lam=float(lam_value),
        Z_fit=zfit, residuals=z - zfit, x=x, tau_basis=np.array(disc.tau_basis), kk=kk_res,
        warnings=warnings, freq=f, Z=z, eps=disc.eps, lam_method=method, lam_grid=grid,
        lam_scores=scores, settings=settings,
    )


def choose_lambda(freq, Z, lam_method="gcv", order=1, shape_coeff=0.5, inductance=False, data="complex",
                  lam_bounds=_lam.LAM_BOUNDS):
    """Regularisation parameter chosen by ``lam_method`` (GCV, mGCV, L-curve or re-im).

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz).
    Z : array_like
        Complex impedance (ohm).
    lam_method : {"gcv", "mgcv", "lcurve", "re-im"}, default "gcv"
        Criterion.
    order, shape_coeff, inductance, data
        As in :func:`compute_drt`.
    lam_bounds : tuple of float
        Search range.

    Returns
    -------
    lam : float
        The chosen lambda.
    grid, scores : numpy.ndarray
        Lambdas scanned and the criterion on them.
    """
    r = compute_drt(freq, Z, lam="auto", lam_method=lam_method, order=order, shape_coeff=shape_coeff,
                    inductance=inductance, data=data, kk=False, lam_bounds=lam_bounds)
    return r.lam, r.lam_grid, r.lam_scores
