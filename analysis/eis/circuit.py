"""Equivalent-circuit language: parse ``R0-p(R1,CPE1)-W1`` and evaluate it fast.

Syntax (the one of impedance.py): ``-`` joins elements in series, ``p(a, b, ...)`` puts
sub-circuits in parallel, parentheses nest. An element is a type name followed by a label,
``R0``, ``CPE1``, ``Wo1``, ``ZARC2``, ``Rct``; the longest known type name wins (``Ws1`` is a
short Warburg, ``Rct`` a resistor labelled ``ct``). Labels must be unique. Parameters are
named ``<element>`` for R, C and L (``R0``, ``C1``, ``L0``) and ``<element>_<param>``
otherwise (``CPE1_Q``, ``CPE1_n``, ``W1_A``, ``Wo1_R``, ``Wo1_tau``, ``ZARC1_phi``).

The string is parsed once into a small tree (never ``eval``-ed); evaluation walks the tree
with numpy on a batch of parameter sets, and returns the analytic Jacobian on request
(series: derivatives add; parallel: ``dZ/dp = (Z/Z_i)^2 dZ_i/dp``).
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from analysis.errors import AnalysisError
from analysis.eis.elements import ELEMENTS, EXP, POS, ElementType


class CircuitError(AnalysisError):
    """A circuit string that cannot be parsed (message says where and why)."""


_TOKEN = re.compile(r"\s*(?:(p\()|([A-Za-z][A-Za-z0-9_]*)|([-(),]))")
_TYPES_BY_LENGTH = sorted(ELEMENTS, key=len, reverse=True)


class _Node:
    __slots__ = ("kind", "children", "etype", "label", "lo", "hi")

    def __init__(self, kind, children=(), etype=None, label=""):
        self.kind = kind  # "E", "S", "P"
        self.children = list(children)
        self.etype: ElementType | None = etype
        self.label = label
        self.lo = self.hi = 0


def _tokenize(spec: str) -> list[tuple[str, str, int]]:
    toks, pos = [], 0
    spec = spec.rstrip()
    while pos < len(spec):
        m = _TOKEN.match(spec, pos)
        if not m:
            raise CircuitError(f"circuit {spec!r}: unexpected character {spec[pos:].strip()[:1]!r} at position {pos}")
        if m.group(1):
            toks.append(("P", "p(", m.start(1)))
        elif m.group(2):
            toks.append(("E", m.group(2), m.start(2)))
        else:
            toks.append((m.group(3), m.group(3), m.start(3)))
        pos = m.end()
    return toks


def _element(name: str, spec: str, pos: int) -> _Node:
    for t in _TYPES_BY_LENGTH:
        if name.startswith(t):
            rest = name[len(t):]
            if rest and rest[0] == "_":
                continue
            return _Node("E", etype=ELEMENTS[t], label=name)
    raise CircuitError(
        f"circuit {spec!r}: unknown element {name!r} at position {pos}; known types: "
        + ", ".join(ELEMENTS)
    )


def _parse(spec: str) -> _Node:
    toks = _tokenize(spec)
    if not toks:
        raise CircuitError("circuit string is empty")
    i = 0

    def peek():
        return toks[i] if i < len(toks) else (None, None, len(spec))

    def series():
        nonlocal i
        items = [term()]
        while peek()[0] == "-":
            i += 1
            items.append(term())
        return items[0] if len(items) == 1 else _Node("S", items)

    def term():
        nonlocal i
        kind, text, pos = peek()
        if kind == "E":
            i += 1
            return _element(text, spec, pos)
        if kind == "P":
            i += 1
            branches = [series()]
            while peek()[0] == ",":
                i += 1
                branches.append(series())
            k2, _, pos2 = peek()
            if k2 != ")":
                raise CircuitError(f"circuit {spec!r}: expected ')' or ',' at position {pos2}")
            i += 1
            if len(branches) < 2:
                raise CircuitError(f"circuit {spec!r}: p(...) at position {pos} needs at least two branches")
            return _Node("P", branches)
        what = "end of string" if kind is None else repr(text)
        raise CircuitError(f"circuit {spec!r}: expected an element or p( at position {pos}, found {what}")

    root = series()
    if i != len(toks):
        raise CircuitError(f"circuit {spec!r}: unexpected {toks[i][1]!r} at position {toks[i][2]}")
    return root


class Circuit:
    """An equivalent circuit parsed from a string such as ``"R0-p(R1,CPE1)-W1"``.

    Parameters
    ----------
    spec : str
        Circuit string: ``-`` = series, ``p(a,b)`` = parallel; element types R, C, L, CPE, W,
        Wo, Ws, G, ZARC, TLM followed by a unique label (see ``docs/eis.md``).

    Attributes
    ----------
    spec : str
        The circuit string (whitespace removed).
    param_names : list of str
        Parameter names in order of appearance (``R0``, ``CPE1_Q``, ``CPE1_n``, ...).
    param_units : list of str
        Units of each parameter (ohm, F, H, F s^(n-1), s, 1 ...).
    param_kinds : list of str
        ``"pos"`` for positive scale parameters, ``"exp"`` for exponents in (0, 1].
    elements : list of (label, type name)
        The elements in order of appearance.

    Raises
    ------
    CircuitError
        If the string cannot be parsed (unknown element, unbalanced parenthesis, duplicate label).
    """

    def __init__(self, spec: str):
        if not isinstance(spec, str):
            raise CircuitError(f"circuit must be a string like 'R0-p(R1,C1)', got {type(spec).__name__}")
        self._root = _parse(spec.strip())
        self.spec = re.sub(r"\s+", "", spec)
        self.param_names: list[str] = []
        self.param_units: list[str] = []
        self.param_kinds: list[str] = []
        self.elements: list[tuple[str, str]] = []
        self._leaves: list[_Node] = []
        self._assign(self._root)
        labels = [lab for lab, _ in self.elements]
        dup = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dup:
            raise CircuitError(f"circuit {spec!r}: duplicate element label(s) {', '.join(dup)}")

    def _assign(self, node: _Node) -> None:
        node.lo = len(self.param_names)
        if node.kind == "E":
            et = node.etype
            self.param_names += et.param_names(node.label)
            self.param_units += list(et.units)
            self.param_kinds += list(et.kinds)
            self.elements.append((node.label, et.name))
            self._leaves.append(node)
        else:
            for c in node.children:
                self._assign(c)
        node.hi = len(self.param_names)

    def __repr__(self) -> str:
        return f"Circuit({self.spec!r})"

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.param_names)

    def default_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Natural-unit bounds: ``(0, inf)`` for scale parameters, ``(0, 1]`` for exponents."""
        lo = np.zeros(self.n_params)
        hi = np.where(np.array(self.param_kinds) == EXP, 1.0, np.inf)
        return lo, hi

    def as_array(self, params) -> np.ndarray:
        """Convert ``params`` (dict by name, sequence, or array ``(..., P)``) to a float array."""
        if isinstance(params, dict):
            missing = [n for n in self.param_names if n not in params]
            if missing:
                raise AnalysisError(f"circuit {self.spec}: missing parameter(s) {', '.join(missing)}")
            unknown = [k for k in params if k not in self.param_names]
            if unknown:
                raise AnalysisError(
                    f"circuit {self.spec}: unknown parameter(s) {', '.join(map(str, unknown))}; "
                    f"expected {', '.join(self.param_names)}"
                )
            return np.array([float(params[n]) for n in self.param_names])
        p = np.asarray(params, dtype=float)
        if p.shape[-1:] != (self.n_params,):
            raise AnalysisError(
                f"circuit {self.spec}: expected {self.n_params} parameters ({', '.join(self.param_names)}), "
                f"got shape {p.shape}"
            )
        return p

    def impedance(self, freq, params) -> np.ndarray:
        """Complex impedance (ohm) at frequencies ``freq`` (Hz).

        Parameters
        ----------
        freq : array_like, shape (F,)
            Frequencies in Hz.
        params : dict, sequence of length P, or array of shape (B, P)
            Parameter values in natural units (ohm, F, H, s ...), by name or in the order of
            :attr:`param_names`. A 2-D array evaluates ``B`` parameter sets at once.

        Returns
        -------
        numpy.ndarray of complex
            Shape ``(F,)``, or ``(B, F)`` for a 2-D ``params``.
        """
        p = self.as_array(params)
        w = 2.0 * np.pi * np.asarray(freq, dtype=float).ravel()
        Z, _ = self.evaluate(p.reshape(-1, self.n_params), w, jacobian=False)
        return Z[0] if p.ndim == 1 else Z

    def jacobian(self, freq, params) -> np.ndarray:
        """Analytic derivatives ``dZ/dp`` (complex, shape ``(F, P)`` or ``(B, F, P)``)."""
        p = self.as_array(params)
        w = 2.0 * np.pi * np.asarray(freq, dtype=float).ravel()
        _, J = self.evaluate(p.reshape(-1, self.n_params), w, jacobian=True)
        return J[0] if p.ndim == 1 else J

    def evaluate(self, P: np.ndarray, w: np.ndarray, jacobian: bool = True):
        """Batched evaluation: ``P`` (B, P) parameters, ``w`` (F,) rad/s -> ``Z`` (B, F), ``J`` (B, F, P).

        This is the inner loop of the fitter: no validation, no copies beyond what numpy needs.
        ``J`` is None when ``jacobian`` is False.
        """
        s = 1j * w
        ls = np.log(w) + 0.5j * np.pi  # log(s), shared by CPE, ZARC, TLM
        B = P.shape[0]
        J = np.empty((B, w.shape[0], P.shape[1]), dtype=complex) if jacobian else None
        with np.errstate(all="ignore"):
            Z = self._eval(self._root, P, s, w, ls, J)
        if Z.shape != (B, w.shape[0]):
            Z = np.broadcast_to(Z, (B, w.shape[0])).copy()
        return Z, J

    def _eval(self, node: _Node, P, s, w, ls, J):
        if node.kind == "E":
            lo = node.lo
            args = [P[:, k:k + 1] for k in range(lo, node.hi)]
            Z, d = node.etype.func(args, s, w, ls)
            if J is not None:
                for k, dk in enumerate(d):
                    J[:, :, lo + k] = dk
            return Z
        zs = [self._eval(c, P, s, w, ls, J) for c in node.children]
        if node.kind == "S":
            Z = zs[0]
            for z in zs[1:]:
                Z = Z + z
            return Z
        Y = 1.0 / zs[0]
        for z in zs[1:]:
            Y = Y + 1.0 / z
        Z = 1.0 / Y
        if J is not None:
            for c, z in zip(node.children, zs):
                if c.hi > c.lo:
                    r = Z / z
                    J[:, :, c.lo:c.hi] *= (r * r)[:, :, None]
        return Z

    # --- structure queries used by the automatic initial guess --------------------------
    def _top_items(self) -> list[_Node]:
        return self._root.children if self._root.kind == "S" else [self._root]


@lru_cache(maxsize=256)
def parse(spec: str) -> Circuit:
    """Cached :class:`Circuit` constructor (the circuit is immutable once built)."""
    return Circuit(spec)


__all__ = ["Circuit", "CircuitError", "parse", "POS", "EXP"]
