"""Distribution of relaxation times (DRT): fast RBF/Tikhonov inversion, automatic lambda,
peaks, region integrals and batch 2-D maps.

Public API
----------
compute_drt, DRTResult
    One spectrum (:mod:`analysis.drt.compute`).
drt_many
    Many spectra over extra dimensions of an xarray object (:mod:`analysis.drt.batch`).
find_peaks, integrate_regions
    Peak detection with Gaussian deconvolution and resistance per tau region.
choose_lambda
    Automatic lambda alone (GCV, mGCV, L-curve, re-im).
"""
from __future__ import annotations

from analysis.drt.core import DRTError, cache_clear
from analysis.drt.compute import DRTResult, compute_drt
from analysis.drt.analytic import hn_drt, hn_impedance, zarc_drt, zarc_impedance

__all__ = [
    "DRTError", "DRTResult", "compute_drt", "cache_clear",
    "zarc_impedance", "zarc_drt", "hn_impedance", "hn_drt",
]

from analysis.drt.batch import drt_many
from analysis.drt.peaks import find_peaks, integrate_regions
from analysis.drt.lam import LAM_METHODS


def choose_lambda(freq, Z, lam_method="gcv", order=1, shape_coeff=0.5, inductance=False, data="complex",
                  lam_bounds=(1e-7, 1.0)):
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


__all__ += ["drt_many", "find_peaks", "integrate_regions", "choose_lambda", "LAM_METHODS"]
