"""Ionic and electronic transport of solid electrolytes: conductivity, intercepts, Arrhenius.

Formulas (see ``/work/shared/DOMAIN.md``, section 2)
----------------------------------------------------
* ionic conductivity of a pellet ``sigma = t / (R A)`` (S/cm with t in cm, A in cm2);
* Arrhenius ``sigma T = A exp(-Ea / (kB T))`` ("sigmaT", usual for ion hopping) or
  ``sigma = sigma0 exp(-Ea / (kB T))`` ("sigma"); the two Ea differ by about ``kB T``;
* electronic conductivity by DC polarisation ``sigma_e = (t / A) dI_ss/dV`` (slope over
  several voltages) or ``t I_ss / (V A)`` (one voltage);
* ionic transport capability of a symmetric cell ``sigma_i = L / ((R_t + R_s) A)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.errors import AnalysisError

#: Boltzmann constant in eV/K
KB_EV = 8.617333262e-5


def _pos(name, x):
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)):
        raise AnalysisError(f"{name} must be finite, got {x!r}")
    if np.any(a <= 0):
        raise AnalysisError(f"{name} must be > 0, got {x!r}")
    return a


def _out(a):
    return float(a) if np.ndim(a) == 0 else a


def conductivity(R_ohm, thickness_cm, area_cm2):
    """Ionic conductivity ``sigma = t / (R A)``.

    Parameters
    ----------
    R_ohm : float or array_like
        Resistance of the pellet (ohm), e.g. the high-frequency intercept or bulk + grain
        boundary resistances.
    thickness_cm : float or array_like
        Pellet thickness t (cm).
    area_cm2 : float or array_like
        Electrode area A (cm2).

    Returns
    -------
    float or numpy.ndarray
        Conductivity in S/cm.
    """
    R = _pos("R_ohm", R_ohm)
    t = _pos("thickness_cm", thickness_cm)
    A = _pos("area_cm2", area_cm2)
    return _out(t / (R * A))


def ionic_transport_capability(R_t, R_s, L_cm, A_cm2):
    """Ionic transport capability of a symmetric cell ``sigma_i = L / ((R_t + R_s) A)``.

    Parameters
    ----------
    R_t, R_s : float or array_like
        Transfer and electrolyte (series) resistances (ohm).
    L_cm : float
        Electrolyte thickness (cm), e.g. 0.099 cm.
    A_cm2 : float
        Area (cm2), e.g. 0.785 cm2.

    Returns
    -------
    float or numpy.ndarray
        sigma_i in S/cm.
    """
    Rt = np.asarray(R_t, dtype=float)
    Rs = np.asarray(R_s, dtype=float)
    if np.any(Rt < 0) or np.any(Rs < 0):
        raise AnalysisError("R_t and R_s must be >= 0 ohm")
    return _out(_pos("L_cm", L_cm) / (_pos("R_t + R_s", Rt + Rs) * _pos("A_cm2", A_cm2)))


@dataclass
class ElectronicConductivity:
    """Electronic conductivity from DC polarisation.

    Attributes
    ----------
    sigma_S_cm : float
        Electronic conductivity (S/cm).
    stderr_S_cm : float
        Standard error (S/cm; NaN for a single voltage or two voltages).
    conductance_S : float
        dI/dV (S).
    intercept_A : float
        Current at V = 0 from the linear fit (A; offset of the instrument or of a residual
        ionic current).
    method : str
        "slope" (several voltages) or "single" (one voltage, ``t I / (V A)``).
    """

    sigma_S_cm: float
    stderr_S_cm: float
    conductance_S: float
    intercept_A: float
    method: str


def electronic_conductivity(V_applied, I_ss, thickness_cm, area_cm2, *, through_origin: bool = False):
    """Electronic conductivity from steady-state DC polarisation currents.

    Parameters
    ----------
    V_applied : float or array_like
        Applied voltages (V).
    I_ss : float or array_like
        Steady-state currents (A) at those voltages.
    thickness_cm, area_cm2 : float
        Pellet thickness (cm) and area (cm2).
    through_origin : bool
        Force the I-V line through the origin (default: free intercept).

    Returns
    -------
    ElectronicConductivity
        With one voltage: ``sigma = t I / (V A)``; with several: ``sigma = (t/A) dI/dV`` from
        a least-squares line, with its standard error.
    """
    V = np.atleast_1d(np.asarray(V_applied, dtype=float))
    I = np.atleast_1d(np.asarray(I_ss, dtype=float))
    if V.shape != I.shape:
        raise AnalysisError(f"V_applied has {V.size} values but I_ss has {I.size}")
    if not (np.all(np.isfinite(V)) and np.all(np.isfinite(I))):
        raise AnalysisError("V_applied and I_ss must be finite")
    g = _pos("thickness_cm", thickness_cm) / _pos("area_cm2", area_cm2)
    if V.size == 1:
        if V[0] == 0:
            raise AnalysisError("V_applied must be non-zero")
        G = I[0] / V[0]
        return ElectronicConductivity(float(g * G), float("nan"), float(G), 0.0, "single")
    if np.unique(V).size < 2:
        raise AnalysisError("V_applied needs at least two different voltages for a slope")
    if through_origin:
        G = float(V @ I / (V @ V))
        res = I - G * V
        dof = V.size - 1
        se = float(np.sqrt(res @ res / dof / (V @ V))) if dof > 0 else float("nan")
        b = 0.0
    else:
        X = np.c_[V, np.ones_like(V)]
        coef, *_ = np.linalg.lstsq(X, I, rcond=None)
        G, b = float(coef[0]), float(coef[1])
        res = I - X @ coef
        dof = V.size - 2
        if dof > 0:
            cov = np.linalg.inv(X.T @ X) * (res @ res / dof)
            se = float(np.sqrt(cov[0, 0]))
        else:
            se = float("nan")
    return ElectronicConductivity(float(g * G), float(g * se), G, b, "slope")


@dataclass
class ArrheniusFit:
    """Result of :func:`fit_arrhenius`.

    Attributes
    ----------
    Ea_eV, Ea_stderr_eV : float
        Activation energy and its standard error (eV).
    prefactor, prefactor_stderr : float
        ``A`` in S K/cm ("sigmaT") or ``sigma0`` in S/cm ("sigma").
    form : str
        "sigmaT" or "sigma".
    sigma_25C, sigma_25C_stderr : float
        Conductivity at 298.15 K predicted by the fit (S/cm), with its standard error.
    r2 : float
        Coefficient of determination of the linear fit of ln(y) against 1/T.
    T_K, sigma_S_cm : numpy.ndarray
        The data fitted.
    covariance : numpy.ndarray
        Covariance of (ln prefactor, Ea/kB) of the linear fit.
    """

    Ea_eV: float
    Ea_stderr_eV: float
    prefactor: float
    prefactor_stderr: float
    form: str
    sigma_25C: float
    sigma_25C_stderr: float
    r2: float
    T_K: np.ndarray
    sigma_S_cm: np.ndarray
    covariance: np.ndarray

    def predict(self, T_K):
        """Conductivity (S/cm) at temperatures ``T_K`` (K) from the fitted law."""
        T = _pos("T_K", T_K)
        s = self.prefactor * np.exp(-self.Ea_eV / (KB_EV * T))
        if self.form == "sigmaT":
            s = s / T
        return _out(s)

    def to_dict(self) -> dict:
        """JSON-friendly summary."""
        return {k: (float(v) if np.ndim(v) == 0 and not isinstance(v, str) else v)
                for k, v in self.__dict__.items() if k not in ("T_K", "sigma_S_cm", "covariance")}


def fit_arrhenius(T_K, sigma_S_cm, form: str = "sigmaT", sigma_err=None) -> ArrheniusFit:
    """Fit an Arrhenius law to conductivities measured at several temperatures.

    The fit is linear in ``ln(y) = ln(P) - (Ea/kB) (1/T)`` with ``y = sigma T`` ("sigmaT")
    or ``y = sigma`` ("sigma"), weighted by ``sigma / sigma_err`` when errors are given
    (relative errors become absolute errors of ``ln y``).

    Parameters
    ----------
    T_K : array_like
        Temperatures (K), at least two distinct.
    sigma_S_cm : array_like
        Conductivities (S/cm), > 0.
    form : {"sigmaT", "sigma"}
        Which law to fit. Always record it: Ea differs by about kB*T (~0.025 eV) between them.
    sigma_err : array_like, optional
        One-sigma errors of ``sigma_S_cm`` (S/cm). With errors the standard errors come from
        them; without, from the scatter of the points (needs >= 3 temperatures).

    Returns
    -------
    ArrheniusFit
        Ea (eV) and prefactor with standard errors, sigma at 25 C with its standard error, r2.
    """
    if form not in ("sigmaT", "sigma"):
        raise AnalysisError(f"form must be 'sigmaT' or 'sigma', got {form!r}")
    T = _pos("T_K", T_K).ravel()
    s = _pos("sigma_S_cm", sigma_S_cm).ravel()
    if T.shape != s.shape:
        raise AnalysisError(f"T_K has {T.size} values but sigma_S_cm has {s.size}")
    if np.unique(T).size < 2:
        raise AnalysisError("fit_arrhenius needs at least two different temperatures")
    y = np.log(s * T) if form == "sigmaT" else np.log(s)
    x = 1.0 / T
    if sigma_err is not None:
        e = _pos("sigma_err", sigma_err).ravel() * np.ones_like(s)
        wts = s / e
    else:
        wts = np.ones_like(s)
    X = np.c_[np.ones_like(x), -x]
    Xw, yw = X * wts[:, None], y * wts
    coef, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    res = yw - Xw @ coef
    dof = T.size - 2
    XtX_inv = np.linalg.inv(Xw.T @ Xw)
    if sigma_err is not None:
        cov = XtX_inv
    elif dof > 0:
        cov = XtX_inv * (res @ res / dof)
    else:
        cov = np.full((2, 2), np.nan)
    lnP, EaK = coef
    Ea = EaK * KB_EV
    P = float(np.exp(lnP))
    yhat = X @ coef
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = float(1 - np.sum((y - yhat) ** 2) / ss_tot) if ss_tot > 0 else 1.0
    T25 = 298.15
    g = np.array([1.0, -1.0 / T25])
    ln_s25 = lnP - EaK / T25 - (np.log(T25) if form == "sigmaT" else 0.0)
    s25 = float(np.exp(ln_s25))
    s25_se = float(s25 * np.sqrt(g @ cov @ g))
    return ArrheniusFit(
        Ea_eV=float(Ea), Ea_stderr_eV=float(np.sqrt(cov[1, 1]) * KB_EV), prefactor=P,
        prefactor_stderr=float(P * np.sqrt(cov[0, 0])), form=form, sigma_25C=s25,
        sigma_25C_stderr=s25_se, r2=r2, T_K=T, sigma_S_cm=s, covariance=cov,
    )


def hf_intercept(freq, Z, method: str = "auto", *, full_output: bool = False):
    """High-frequency real-axis intercept of a pellet spectrum (ohm): the pellet resistance.

    For a fast sulfide between blocking electrodes at room temperature the bulk and
    grain-boundary arcs lie above the measured frequencies and the spectrum is only the
    electrode spike; the resistance of the pellet is where the spike meets the real axis.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz).
    Z : array_like of complex
        Impedance (ohm), Im(Z) with its sign.
    method : {"auto", "fit", "minimum", "crossing"}
        * "fit": fit ``R0-CPE1`` (``L0-R0-CPE1`` if any point is inductive) to the spike, i.e.
          to the points from the frequency where -Z'' is smallest downward (at least 5
          points, at most two decades); returns R0. Robust to noise, uses many points.
        * "minimum": Re(Z) at the smallest -Z'' (the arc/spike valley), refined by a
          parabola through its neighbours in log frequency. For spectra that show an arc
          before the spike this is R_bulk + R_gb.
        * "crossing": Re(Z) linearly interpolated where Im(Z) changes sign (inductive tail).
        * "auto": "crossing" if Im(Z) changes sign at high frequency, else "fit" if the
          spectrum starts with the spike (smallest -Z'' at the highest frequencies), else
          "minimum".
    full_output : bool
        Return ``(R, info)`` with a dict of method, points used and standard error.

    Returns
    -------
    float or (float, dict)
        The intercept (ohm).
    """
    f = np.asarray(freq, dtype=float).ravel()
    Z = np.asarray(Z, dtype=complex).ravel()
    if f.shape != Z.shape:
        raise AnalysisError(f"hf_intercept: freq has {f.size} points but Z has {Z.size}")
    ok = np.isfinite(f) & np.isfinite(Z) & (f > 0)
    f, Z = f[ok], Z[ok]
    if f.size < 3:
        raise AnalysisError(f"hf_intercept: need at least 3 valid points, got {f.size}")
    order = np.argsort(-f)
    f, Z = f[order], Z[order]
    y = -Z.imag
    if method not in ("auto", "fit", "minimum", "crossing"):
        raise AnalysisError(f"hf_intercept: unknown method {method!r}")
    cross = np.nonzero((y[:-1] < 0) & (y[1:] >= 0))[0]
    if method == "auto":
        imin = int(np.argmin(y))
        if cross.size and y[0] < 0:
            method = "crossing"
        elif imin <= max(1, f.size // 10):
            method = "fit"
        else:
            method = "minimum"
    info = {"method": method, "stderr": float("nan"), "n_points": 0}
    if method == "crossing":
        if not cross.size:
            raise AnalysisError("hf_intercept: Im(Z) never changes sign; use method='fit' or 'minimum'")
        k = cross[0]
        t = -y[k] / (y[k + 1] - y[k])
        R = float(Z.real[k] + t * (Z.real[k + 1] - Z.real[k]))
        info["n_points"] = 2
    elif method == "minimum":
        k = int(np.argmin(y))
        if 0 < k < y.size - 1:
            lf = np.log(f[k - 1:k + 2])
            a = np.polyfit(lf, y[k - 1:k + 2], 2)
            if a[0] > 0:
                lx = np.clip(-a[1] / (2 * a[0]), lf.min(), lf.max())
                R = float(np.interp(lx, lf[::-1], Z.real[k - 1:k + 2][::-1]))
            else:
                R = float(Z.real[k])
        else:
            R = float(Z.real[k])
        info["n_points"] = 3
    else:
        from analysis.eis.fit import fit_circuit

        k0 = int(np.argmin(y)) if np.argmin(y) < f.size - 5 else 0
        sel = (f <= f[k0]) & (f >= f[k0] / 100.0)
        if sel.sum() < 5:
            sel = np.zeros(f.size, bool)
            sel[k0:k0 + 5] = True
        fs, Zs = f[sel], Z[sel]
        spec = "L0-R0-CPE1" if np.any(Zs.imag > 0) else "R0-CPE1"
        res = fit_circuit(fs, Zs, spec)
        if not np.isfinite(res.params["R0"]):
            raise AnalysisError(f"hf_intercept: spike fit failed ({res.message})")
        R = res.params["R0"]
        info.update(stderr=res.stderr["R0"], n_points=int(sel.sum()), fit=res)
    return (R, info) if full_output else R
