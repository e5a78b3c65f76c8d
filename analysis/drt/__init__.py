"""Distribution of relaxation times (DRT): fast RBF/Tikhonov inversion, automatic lambda,
peaks, region integrals and batch 2-D maps.

Public API
----------
compute_drt, DRTResult
    One spectrum (:mod:`analysis.drt.compute`).
drt_many
    Many spectra over extra dimensions of an xarray object (:mod:`analysis.drt.batch`).
find_peaks, find_peaks_many, integrate_regions
    Peak detection with Gaussian deconvolution (one DRT or a whole map) and resistance per tau region.
choose_lambda
    Automatic lambda alone (GCV, mGCV, L-curve, re-im).
"""
from __future__ import annotations

from analysis.drt.analytic import hn_drt, hn_impedance, zarc_drt, zarc_impedance
from analysis.drt.batch import drt_many
from analysis.drt.compute import DRTResult, choose_lambda, compute_drt
from analysis.drt.core import DRTError, cache_clear
from analysis.drt.lam import LAM_METHODS
from analysis.drt.peaks import find_peaks, find_peaks_many, integrate_regions

__all__ = [
    "DRTError", "DRTResult", "LAM_METHODS", "cache_clear", "choose_lambda", "compute_drt", "drt_many",
    "find_peaks", "find_peaks_many", "hn_drt", "hn_impedance", "integrate_regions", "zarc_drt", "zarc_impedance",
]
