"""Automatic initial guesses for equivalent-circuit fits.

The guess reads a few features of the spectrum (high-frequency intercept, low-frequency
real part, apexes of -Z'' and of -dZ'/dln(w), low-frequency slope) and hands them to the
circuit's elements by their role in the top-level series:

* a bare resistor in the top-level series -> the high-frequency intercept;
* an inductor -> the positive Im(Z) at the highest frequency (or a small value);
* "arcs" (parallel blocks, ZARC, Gerischer) -> one detected time constant and arc width
  each; inside a parallel block every branch is guessed with the same (R, tau): a resistor
  gets R, a capacitor tau/R, a CPE tau^n/R, a resistor in series with a diffusion element
  gets R and the diffusion element a low-frequency guess;
* "tails" (W, Wo, Ws, C, CPE, TLM standing alone) -> the low-frequency part of the spectrum.

Which arc of the circuit string belongs to which apex is not known (users do not always
write the high-frequency arc first), so :func:`initial_guesses` returns several starts
(every assignment order for up to three arcs, two CPE exponents, log-spaced time
constants); the fitter runs them as one batch and keeps the best.
"""
from __future__ import annotations

import itertools

import numpy as np

from analysis.eis.circuit import Circuit, _Node

_ARC_TYPES = ("ZARC", "G")
_TAIL_TYPES = ("W", "Wo", "Ws", "C", "CPE", "TLM")


class _Features:
    """Spectrum features used by the guess (frequencies sorted high -> low)."""

    def __init__(self, freq, Z):
        order = np.argsort(-freq)
        f = freq[order]
        Z = Z[order]
        self.w = 2 * np.pi * f
        x, y = Z.real, -Z.imag
        self.w_max, self.w_min = self.w[0], self.w[-1]
        # high-frequency intercept: Re Z where Im Z crosses zero, else at the top frequency
        self.L = 0.0
        if y[0] < 0:
            self.L = max(-y[0], 0.0) / self.w[0]
            cross = np.nonzero((y[:-1] < 0) & (y[1:] >= 0))[0]
            if cross.size:
                k = cross[0]
                t = -y[k] / (y[k + 1] - y[k])
                self.R_hf = x[k] + t * (x[k + 1] - x[k])
            else:
                self.R_hf = x[0]
        else:
            self.R_hf = float(np.min(x[: max(2, len(x) // 20)]))
        self.R_hf = max(float(self.R_hf), 0.0)
        self.x_lf = float(x[-1])
        self.span = max(float(np.max(x)) - self.R_hf, 1e-6 * max(np.max(np.abs(Z)), 1e-300))
        self.y_lf = max(float(y[-1]), 1e-3 * self.span)
        # low-frequency slope of log(-Z'') vs log(w) -> CPE exponent of a tail
        k = max(3, len(f) // 8)
        yy = np.maximum(y[-k:], 1e-300)
        with np.errstate(all="ignore"):
            slope = np.polyfit(np.log(self.w[-k:]), np.log(yy), 1)[0]
        self.n_tail = float(np.clip(-slope, 0.45, 1.0)) if np.isfinite(slope) else 0.8
        # candidate arcs: apexes of -Z'' (ranked first) and of -dZ'/dln(w) (shoulders),
        # both smoothed over ~5 points to ignore noise, with a prominence threshold
        kern = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
        ys = np.convolve(np.pad(y, 2, mode="edge"), kern, mode="valid")
        thr = 0.02 * self.span
        valleys = [0] + [i for i in range(1, len(ys) - 1) if ys[i] <= ys[i - 1] and ys[i] < ys[i + 1]]
        prim = []
        for i in range(1, len(ys) - 1):
            if ys[i] > thr and ys[i] >= ys[i - 1] and ys[i] > ys[i + 1]:
                nxt = [v for v in valleys if v > i]
                prv = [v for v in valleys if v < i]
                base = max(ys[nxt[0]] if nxt else 0.0, ys[prv[-1]] if prv else 0.0)
                if ys[i] - base < thr:
                    continue
                R = 2.5 * ys[i]
                if nxt and prv:
                    R = max(x[nxt[0]] - x[prv[-1]], 2.0 * ys[i])
                prim.append((1.0 / self.w[i], float(R)))
        lw = np.log(self.w)
        with np.errstate(all="ignore"):
            d = -np.gradient(np.convolve(np.pad(x, 2, mode="edge"), kern, mode="valid"), lw)
        sec = []
        for i in range(2, len(d) - 2):
            if d[i] > 0.05 * self.span and d[i] >= d[i - 1] and d[i] > d[i + 1]:
                tau = 1.0 / self.w[i]
                if all(abs(np.log(tau / t)) > np.log(5.0) for t, _ in prim + sec):
                    sec.append((tau, float(2.2 * d[i])))
        prim.sort(key=lambda c: -c[1])
        sec.sort(key=lambda c: -c[1])
        cands = prim + sec  # ranked: -Z'' apexes by width, then shoulders by height
        self.cands = cands


def _role(node: _Node) -> str:
    if node.kind == "P":
        return "arc"
    if node.kind == "S":
        return "arc"
    name = node.etype.name
    if name == "R":
        return "offset"
    if name == "L":
        return "ind"
    if name in _ARC_TYPES:
        return "arc"
    return "tail"


def _tail_guess(node: _Node, p, ft: _Features, R_tail, tau_scale=1.0):
    et = node.etype.name
    lo = node.lo
    if et == "W":
        p[lo] = ft.y_lf * np.sqrt(ft.w_min)
    elif et in ("Wo", "Ws"):
        p[lo] = R_tail
        p[lo + 1] = tau_scale * 3.0 / ft.w_min
    elif et == "C":
        p[lo] = 1.0 / (ft.w_min * ft.y_lf)
    elif et == "CPE":
        n = ft.n_tail
        p[lo] = np.sin(n * np.pi / 2) / (ft.y_lf * ft.w_min ** n)
        p[lo + 1] = n
    elif et == "TLM":
        n = ft.n_tail
        p[lo] = R_tail
        p[lo + 1] = np.sin(n * np.pi / 2) / (ft.y_lf * ft.w_min ** n)
        p[lo + 2] = n
    else:  # arc-like element used as a tail
        _arc_guess(node, p, ft, R_tail, tau_scale / ft.w_min, 0.85, R_tail)


def _arc_guess(node: _Node, p, ft: _Features, R, tau, n0, R_tail):
    """Fill the parameters of ``node`` for an arc of width ``R`` (ohm) at time constant ``tau`` (s)."""
    if node.kind == "E":
        et = node.etype.name
        lo = node.lo
        if et == "R":
            p[lo] = R
        elif et == "C":
            p[lo] = tau / R
        elif et == "L":
            p[lo] = max(ft.L, 1e-3 * R / ft.w_max)
        elif et == "CPE":
            p[lo], p[lo + 1] = tau ** n0 / R, n0
        elif et in ("ZARC",):
            p[lo], p[lo + 1], p[lo + 2] = R, tau, n0
        elif et in ("G",):
            p[lo], p[lo + 1] = R, tau
        elif et == "TLM":
            p[lo], p[lo + 1], p[lo + 2] = R, tau ** n0 / R, n0
        else:
            _tail_guess(node, p, ft, R_tail)
        return
    if node.kind == "P":
        for c in node.children:
            _arc_guess(c, p, ft, R, tau, n0, R_tail)
        return
    # series inside an arc: the first resistor-like item takes the arc, the rest are tails
    taken = False
    for c in node.children:
        if not taken and (c.kind != "E" or c.etype.name in ("R", "ZARC", "G")):
            _arc_guess(c, p, ft, R, tau, n0, R_tail)
            taken = True
        elif c.kind == "E" and c.etype.name == "L":
            p[c.lo] = max(ft.L, 1e-3 * R / ft.w_max)
        elif c.kind == "E":
            _tail_guess(c, p, ft, R_tail)
        else:
            _arc_guess(c, p, ft, R, tau, n0, R_tail)


def initial_guesses(circuit: Circuit, freq: np.ndarray, Z: np.ndarray, max_starts: int = 12) -> np.ndarray:
    """Several starting points for fitting ``circuit`` to one spectrum.

    Parameters
    ----------
    circuit : Circuit
        The circuit to fit.
    freq : numpy.ndarray
        Frequencies (Hz, > 0, finite).
    Z : numpy.ndarray of complex
        Measured impedance (ohm).
    max_starts : int
        Upper bound on the number of starts returned.

    Returns
    -------
    numpy.ndarray, shape (K, P)
        Starting parameter sets in natural units; row 0 is the primary guess.
    """
    ft = _Features(np.asarray(freq, float), np.asarray(Z, complex))
    items = circuit._top_items()
    roles = [_role(n) for n in items]
    arcs = [n for n, r in zip(items, roles) if r == "arc"]
    offsets = [n for n, r in zip(items, roles) if r == "offset"]
    K = len(arcs)
    # arc time constants and widths: detected candidates, the K widest, high frequency first
    ranked = ft.cands
    cands = sorted(ranked[:K])
    if len(cands) < K:
        grid = np.geomspace(3.0 / ft.w_max, 0.3 / ft.w_min, K + 2)[1:-1]
        free = [t for t in grid if all(abs(np.log(t / c[0])) > np.log(3) for c in cands)]
        rest = max(ft.span - sum(c[1] for c in cands), 0.1 * ft.span)
        need = K - len(cands)
        extra = [(t, rest / need) for t in (free + list(grid))[:need]]
        cands = sorted(cands + extra)
    R_arcs = sum(c[1] for c in cands)
    R_tail = max(ft.x_lf - ft.R_hf - R_arcs, 0.1 * ft.span)
    grid_all = np.geomspace(3.0 / ft.w_max, 0.3 / ft.w_min, K + 2)[1:-1] if K else []

    assignments = []
    if K:
        perms = list(itertools.permutations(range(K))) if K <= 3 else [tuple(range(K)), tuple(range(K))[::-1]]
        for perm in perms:
            assignments.append([cands[i] for i in perm])
        assignments.append([(t, ft.span / K) for t in grid_all])
        # alternative choice of arcs among the next-ranked candidates (high frequency first)
        if len(ranked) > K:
            for alt in itertools.combinations(ranked[: K + 2], K):
                alt = sorted(alt)
                if alt != cands:
                    assignments.append(alt)
    else:
        assignments.append([])

    has_tail = any(r == "tail" for r in roles)
    combos = [(0.85, 1.0, a) for a in assignments]
    if has_tail:
        combos += [(0.85, 0.1, a) for a in assignments[:2]] + [(0.85, 10.0, a) for a in assignments[:1]]
    combos += [(0.95, 1.0, a) for a in assignments[:3]]
    starts = []
    for n0, tau_scale, arc_set in combos:
        p = np.full(circuit.n_params, np.nan)
        for node in offsets:
            p[node.lo] = max(ft.R_hf / max(len(offsets), 1), 1e-3 * ft.span)
        for node, r in zip(items, roles):
            if r == "ind":
                p[node.lo] = max(ft.L, 1e-4 * ft.span / ft.w_max)
            elif r == "tail":
                _tail_guess(node, p, ft, R_tail, tau_scale)
        for node, (tau, R) in zip(arcs, arc_set):
            _arc_guess(node, p, ft, max(R, 1e-6 * ft.span), tau, n0, R_tail)
        starts.append(p)
    P = np.array(starts)
    # order: primary guesses first; keep max_starts
    bad = ~np.isfinite(P)
    if bad.any():
        P[bad] = 1.0
    _, idx = np.unique(np.round(np.log(np.abs(P) + 1e-300), 6), axis=0, return_index=True)
    P = P[np.sort(idx)]
    return P[:max_starts]
