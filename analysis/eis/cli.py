"""``ssb-explorer fit FILE --circuit SPEC [--json]``: fit an equivalent circuit to a file."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``fit`` command's arguments to ``parser``."""
    parser.add_argument("file", metavar="FILE", help="impedance file (any format analysis.io reads)")
    parser.add_argument("--circuit", "-c", required=True, metavar="SPEC",
                        help="circuit string, e.g. 'R0-p(R1,CPE1)-W1' (see docs/eis.md)")
    parser.add_argument("--weighting", choices=("modulus", "unity", "proportional"), default="modulus",
                        help="residual weighting (default: modulus)")
    parser.add_argument("--p0", metavar="NAME=VALUE,...", help="initial values, e.g. R0=10,R1=100 (others automatic)")
    parser.add_argument("--fix", metavar="NAME=VALUE,...", help="fixed parameters, e.g. CPE1_n=1")
    parser.add_argument("--drop-inductive", action="store_true", help="ignore points with Im(Z) > 0")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def _pairs(text: str | None, what: str) -> dict:
    from analysis.errors import AnalysisError

    out = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise AnalysisError(f"--{what}: expected NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise AnalysisError(f"--{what}: {v!r} is not a number (for {k.strip()})") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Fit every spectrum of the file; print a table or JSON. Returns 0, or 1 if a fit failed."""
    from analysis.eis import Circuit, fit_circuit
    from analysis.eis._cli_common import load_spectra
    from analysis.eis.guess import initial_guesses

    circuit = Circuit(args.circuit)
    fixed = _pairs(args.fix, "fix")
    p0_user = _pairs(args.p0, "p0")
    unknown = [k for k in list(fixed) + list(p0_user) if k not in circuit.param_names]
    if unknown:
        from analysis.errors import AnalysisError

        raise AnalysisError(f"unknown parameter(s) {', '.join(unknown)}; {circuit.spec} has {', '.join(circuit.param_names)}")
    results = []
    status = 0
    for label, f, Z in load_spectra(args.file):
        if args.drop_inductive:
            keep = Z.imag <= 0
            f, Z = f[keep], Z[keep]
        p0 = None
        if p0_user:
            m = np.isfinite(Z)
            P = initial_guesses(circuit, f[m], Z[m])
            for k, v in p0_user.items():
                P[:, circuit.param_names.index(k)] = v
            p0 = P
        r = fit_circuit(f, Z, circuit, p0=p0, fixed=fixed or None, weighting=args.weighting)
        status |= 0 if r.success else 1
        d = r.to_dict()
        if label:
            d["spectrum"] = label
        d["file"] = str(args.file)
        results.append(d)
    if args.json:
        json.dump(results if len(results) > 1 else results[0], sys.stdout, indent=2, allow_nan=True)
        sys.stdout.write("\n")
        return status
    for d in results:
        head = f"{d['file']}" + (f" [{d['spectrum']}]" if "spectrum" in d else "")
        print(f"{head}: {d['circuit']}  ({d['n_points']} points, {d['weighting']} weighting)")
        print(f"  {'success' if d['success'] else 'FAILED'}: {d['message']}; chi2 = {d['chi2']:.4g}, "
              f"reduced chi2 = {d['red_chi2']:.4g}")
        for k, v in d["params"].items():
            se = d["stderr"][k]
            rel = f"{100 * se / abs(v):.2g} %" if v and np.isfinite(se) else "-"
            fx = "  (fixed)" if k in d["fixed"] else ""
            print(f"  {k:>12s} = {v:<12.6g} +/- {se:<10.3g} ({rel}){fx}")
    return status
