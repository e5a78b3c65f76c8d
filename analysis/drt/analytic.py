"""Analytic impedances and DRTs of ZARC and Havriliak-Negami elements (test cases).

Formulas from ``DOMAIN.md``: ZARC ``Z = R / (1 + (j w tau0)^phi)`` with

``gamma(ln tau) = R/(2 pi) sin((1-phi) pi) / (cosh(phi ln(tau/tau0)) - cos((1-phi) pi))``

and Havriliak-Negami ``Z = R / (1 + (j w tau0)^phi)^psi`` with ``r = tau/tau0``,
``theta = atan2(sin(pi phi), r^phi + cos(pi phi))``:

``gamma = (R/pi) r^(phi psi) sin(psi theta) / (1 + 2 cos(pi phi) r^phi + r^(2 phi))^(psi/2)``.
"""
from __future__ import annotations

import numpy as np


def zarc_impedance(freq, R, tau0, phi):
    """Impedance (ohm) of a ZARC (R in parallel with a CPE) at ``freq`` (Hz).

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz).
    R : float
        Resistance (ohm).
    tau0 : float
        Characteristic time (s).
    phi : float
        Dispersion exponent, 0 < phi <= 1.

    Returns
    -------
    numpy.ndarray
        Complex impedance (ohm).
    """
    w = 2 * np.pi * np.asarray(freq, dtype=float)
    return R / (1 + (1j * w * tau0) ** phi)


def zarc_drt(tau, R, tau0, phi):
    """Analytic DRT (ohm per unit ln tau) of a ZARC at relaxation times ``tau`` (s); phi < 1."""
    y = np.log(np.asarray(tau, dtype=float) / tau0)
    return R / (2 * np.pi) * np.sin((1 - phi) * np.pi) / (np.cosh(phi * y) - np.cos((1 - phi) * np.pi))


def hn_impedance(freq, R, tau0, phi, psi):
    """Impedance (ohm) of a Havriliak-Negami element ``R / (1 + (j w tau0)^phi)^psi``.

    Parameters
    ----------
    freq : array_like
        Frequencies (Hz).
    R : float
        Resistance (ohm).
    tau0 : float
        Characteristic time (s).
    phi, psi : float
        Exponents, 0 < phi <= 1, 0 < psi <= 1.

    Returns
    -------
    numpy.ndarray
        Complex impedance (ohm).
    """
    w = 2 * np.pi * np.asarray(freq, dtype=float)
    return R / (1 + (1j * w * tau0) ** phi) ** psi


def hn_drt(tau, R, tau0, phi, psi):
    """Analytic DRT (ohm per unit ln tau) of a Havriliak-Negami element at ``tau`` (s)."""
    r = np.asarray(tau, dtype=float) / tau0
    rp = r**phi
    theta = np.arctan2(np.sin(np.pi * phi), rp + np.cos(np.pi * phi))
    return (R / np.pi) * r ** (phi * psi) * np.sin(psi * theta) / (
        1 + 2 * np.cos(np.pi * phi) * rp + rp**2
    ) ** (psi / 2)
