"""Electrochemical impedance analysis: circuits, fitting, Kramers-Kronig.

Public API
----------
Circuit
    Parse a circuit string (``"R0-p(R1,CPE1)-W1"``) and evaluate its impedance and Jacobian.
fit_circuit
    Fit one spectrum (automatic multi-start guess, bounds, fixed parameters, weighting).
fit_many
    Fit every spectrum of an xarray object with warm starts; returns a Dataset.
FitResult
    Parameters, standard errors, covariance, chi-square, residuals of one fit.
kramers_kronig, KKResult
    Lin-KK validity test with Schoenleber's mu criterion.

See ``docs/eis.md`` for the circuit language and the element formulas.
"""
from analysis.eis.circuit import Circuit, CircuitError
from analysis.eis.elements import ELEMENTS
from analysis.eis.fit import FitResult, fit_circuit
from analysis.eis.kk import KKResult, kramers_kronig
from analysis.eis.many import fit_many

__all__ = [
    "Circuit",
    "CircuitError",
    "ELEMENTS",
    "FitResult",
    "KKResult",
    "fit_circuit",
    "fit_many",
    "kramers_kronig",
]
