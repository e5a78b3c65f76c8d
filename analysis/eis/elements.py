"""Circuit elements: impedance and analytic derivatives, vectorised over a batch.

Every element function receives its parameters as a list of arrays of shape ``(B, 1)``
(``B`` parameter sets evaluated at once, used by the batched fitter), the complex angular
variable ``s = j*omega`` of shape ``(F,)``, ``omega`` (rad/s) and ``ls = log(s)`` (computed
once per evaluation), and returns the impedance
``Z`` (complex, ohm, broadcastable to ``(B, F)``) together with the list of analytic
derivatives ``dZ/dp_k`` (each broadcastable to ``(B, F)``). Analytic derivatives make one Levenberg-Marquardt iteration cost a
single model evaluation instead of ``P + 1`` (finite differences), which is where most of the
speed of :func:`analysis.eis.fit_circuit` comes from.

Element formulas (``w`` = angular frequency, ``s = j w``)
---------------------------------------------------------
R    resistor,                  ``Z = R``
C    capacitor,                 ``Z = 1 / (s C)``
L    inductor,                  ``Z = s L``
CPE  constant-phase element,    ``Z = 1 / (Q s^n)``, ``0 < n <= 1``
W    semi-infinite Warburg,     ``Z = A (1 - j) / sqrt(w)``
Wo   finite Warburg, open (reflective/blocking) boundary,
                                ``Z = R coth(sqrt(s tau)) / sqrt(s tau)``
Ws   finite Warburg, short (transmissive) boundary,
                                ``Z = R tanh(sqrt(s tau)) / sqrt(s tau)``
G    Gerischer,                 ``Z = R / sqrt(1 + s tau)``
ZARC R || CPE written with a time constant (Cole-Cole),
                                ``Z = R / (1 + (s tau)^phi)``, ``0 < phi <= 1``
TLM  transmission line of a blocking porous electrode (Bisquert), total ionic resistance
     ``R`` along the line and interfacial CPE ``(Q, n)`` (total for the electrode):
     ``Z = R coth(k) / k`` with ``k = sqrt(R Q s^n)``; high frequency ``Z -> sqrt(R Z_Q)``
     (45 degree line for n = 1), low frequency ``Z -> R/3 + 1/(Q s^n)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: parameter kinds: "pos" = strictly positive scale parameter (fitted as its logarithm),
#: "exp" = exponent in (0, 1] (fitted linearly, clipped to its bounds)
POS, EXP = "pos", "exp"


@dataclass(frozen=True)
class ElementType:
    """Description of one element type of the circuit language."""

    name: str
    params: tuple[str, ...]
    units: tuple[str, ...]
    kinds: tuple[str, ...]
    func: Callable
    description: str

    def param_names(self, label: str) -> list[str]:
        """Parameter names of an element labelled ``label`` (e.g. ``CPE1`` -> CPE1_Q, CPE1_n)."""
        if self.name in ("R", "C", "L"):
            return [label]
        return [f"{label}_{p}" for p in self.params]


def _coth_over_x(x):
    """f(x) = coth(x)/x and f'(x) for complex x (stable for large |x|)."""
    t = np.tanh(x)
    coth = 1.0 / t
    f = coth / x
    csch2 = coth * coth - 1.0
    df = -csch2 / x - coth / (x * x)
    return f, df


def _r(p, s, w, ls):
    # returned with shape (B, 1): broadcasting does the rest (saves two allocations)
    (R,) = p
    return R + 0j, [1.0]


def _c(p, s, w, ls):
    (C,) = p
    Z = 1.0 / (s * C)
    return Z, [-Z / C]


def _l(p, s, w, ls):
    (L,) = p
    return s * L, [s]


def _cpe(p, s, w, ls):
    Q, n = p
    Z = np.exp(-n * ls) / Q
    return Z, [-Z / Q, -Z * ls]


def _w(p, s, w, ls):
    (A,) = p
    k = (1.0 - 1.0j) / np.sqrt(w)
    return A * k, [k]


def _wo(p, s, w, ls):
    R, tau = p
    x = np.sqrt(s * tau)
    f, df = _coth_over_x(x)
    return R * f, [f, R * df * x / (2.0 * tau)]


def _ws(p, s, w, ls):
    R, tau = p
    x = np.sqrt(s * tau)
    t = np.tanh(x)
    f = t / x
    df = (1.0 - t * t) / x - t / (x * x)
    return R * f, [f, R * df * x / (2.0 * tau)]


def _g(p, s, w, ls):
    R, tau = p
    u = 1.0 + s * tau
    Z = R / np.sqrt(u)
    return Z, [Z / R, -Z * s / (2.0 * u)]


def _zarc(p, s, w, ls):
    R, tau, phi = p
    lst = ls + np.log(tau)
    y = np.exp(phi * lst)
    d = 1.0 / (1.0 + y)
    Z = R * d
    dd = -R * d * d * y
    return Z, [d, dd * phi / tau, dd * lst]


def _tlm(p, s, w, ls):
    R, Q, n = p
    k2 = R * Q * np.exp(n * ls)
    k = np.sqrt(k2)
    f, df = _coth_over_x(k)
    g = R * df * k / 2.0  # dZ/d(ln k^2) = R f'(k) k / 2
    return R * f, [f + g / R, g / Q, g * ls]


ELEMENTS: dict[str, ElementType] = {
    e.name: e
    for e in (
        ElementType("R", ("R",), ("ohm",), (POS,), _r, "resistor"),
        ElementType("C", ("C",), ("F",), (POS,), _c, "capacitor"),
        ElementType("L", ("L",), ("H",), (POS,), _l, "inductor"),
        ElementType("CPE", ("Q", "n"), ("F s^(n-1)", "1"), (POS, EXP), _cpe, "constant-phase element"),
        ElementType("W", ("A",), ("ohm s^-0.5",), (POS,), _w, "semi-infinite Warburg"),
        ElementType("Wo", ("R", "tau"), ("ohm", "s"), (POS, POS), _wo, "finite Warburg, open (reflective) boundary"),
        ElementType("Ws", ("R", "tau"), ("ohm", "s"), (POS, POS), _ws, "finite Warburg, short (transmissive) boundary"),
        ElementType("G", ("R", "tau"), ("ohm", "s"), (POS, POS), _g, "Gerischer element"),
        ElementType("ZARC", ("R", "tau", "phi"), ("ohm", "s", "1"), (POS, POS, EXP), _zarc, "ZARC (R || CPE, Cole-Cole)"),
        ElementType("TLM", ("R", "Q", "n"), ("ohm", "F s^(n-1)", "1"), (POS, POS, EXP), _tlm,
                    "transmission line, blocking porous electrode"),
    )
}
