"""Impedance building blocks for simulated spectra.

Closed forms of the usual elements (complex ohm). The fitting engine has its own element
library (:mod:`analysis.eis`); these few are kept separate on purpose so that the simulators
that generate the sample data do not share code with the fitter that is tested on them.
"""
from __future__ import annotations

import numpy as np

#: Boltzmann constant in eV/K.
KB_EV = 8.617333262e-5


def log_frequencies(f_max_hz: float, f_min_hz: float, per_decade: int) -> np.ndarray:
    """Logarithmically spaced frequencies from ``f_max_hz`` down to ``f_min_hz``.

    Parameters
    ----------
    f_max_hz, f_min_hz : float
        Highest and lowest frequency in Hz.
    per_decade : int
        Points per decade (as set on a potentiostat).

    Returns
    -------
    numpy.ndarray
        Frequencies in Hz, decreasing (instrument order).
    """
    n = int(round(np.log10(f_max_hz / f_min_hz) * per_decade)) + 1
    return np.logspace(np.log10(f_max_hz), np.log10(f_min_hz), n)


def _w(freq):
    return 2 * np.pi * np.asarray(freq, dtype=float)


def zarc(freq, R: float, tau: float, phi: float) -> np.ndarray:
    """ZARC (R parallel CPE) written with its time constant: ``R / (1 + (j w tau)^phi)`` in ohm.

    Parameters
    ----------
    freq : array_like
        Frequency in Hz.
    R : float
        Resistance in ohm.
    tau : float
        Characteristic time in s.
    phi : float
        Dispersion exponent, 0 < phi <= 1 (1 = ideal RC).
    """
    return R / (1 + (1j * _w(freq) * tau) ** phi)


def cpe(freq, Q: float, n: float) -> np.ndarray:
    """Constant-phase element ``1 / (Q (j w)^n)`` in ohm (Q in F s^(n-1))."""
    return 1.0 / (Q * (1j * _w(freq)) ** n)


def inductor(freq, L: float) -> np.ndarray:
    """Inductance ``j w L`` in ohm (L in H)."""
    return 1j * _w(freq) * L


def warburg_semi_infinite(freq, A: float) -> np.ndarray:
    """Semi-infinite Warburg ``A (1 - j) / sqrt(w)`` in ohm (A in ohm s^-1/2)."""
    w = _w(freq)
    return A * (1 - 1j) / np.sqrt(w)


def warburg_open(freq, R: float, tau: float) -> np.ndarray:
    """Finite-space (reflective) Warburg ``R coth(sqrt(j w tau)) / sqrt(j w tau)`` in ohm."""
    s = np.sqrt(1j * _w(freq) * tau)
    return R / (s * np.tanh(s))


def arrhenius_sigma(T_K, sigma_ref_S_cm: float, Ea_eV: float, T_ref_K: float = 298.15,
                    form: str = "sigmaT") -> np.ndarray:
    """Conductivity at ``T_K`` from its value at ``T_ref_K`` and an activation energy.

    Parameters
    ----------
    T_K : array_like
        Temperature in K.
    sigma_ref_S_cm : float
        Conductivity at ``T_ref_K`` in S/cm.
    Ea_eV : float
        Activation energy in eV.
    T_ref_K : float, default 298.15
        Reference temperature in K.
    form : {"sigmaT", "sigma"}
        ``sigma T = A exp(-Ea / kB T)`` (ion hopping, default) or ``sigma = s0 exp(-Ea / kB T)``.

    Returns
    -------
    numpy.ndarray
        Conductivity in S/cm.
    """
    T = np.asarray(T_K, dtype=float)
    boltz = np.exp(-Ea_eV / KB_EV * (1 / T - 1 / T_ref_K))
    if form == "sigmaT":
        return sigma_ref_S_cm * T_ref_K / T * boltz
    if form == "sigma":
        return sigma_ref_S_cm * boltz
    raise ValueError(f"form must be 'sigmaT' or 'sigma', got {form!r}")


def add_noise(Z, rel_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add proportional Gaussian noise (``rel_sigma * |Z|`` on real and imaginary parts).

    This is the usual error structure of a potentiostat's impedance (a fraction of the modulus).
    """
    Z = np.asarray(Z, dtype=complex)
    mod = np.abs(Z)
    return Z + rel_sigma * mod * (rng.standard_normal(Z.shape) + 1j * rng.standard_normal(Z.shape))
