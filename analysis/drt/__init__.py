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
