"""``ssb-explorer drt FILE``: distribution of relaxation times of an impedance file."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from analysis.drt.core import DRTError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``drt`` command to ``parser``."""
    parser.add_argument("file", help="impedance file (any format analysis.io reads, or f Z' Z'' text)")
    parser.add_argument("--lam", default="auto", help="regularisation parameter: 'auto' (default) or a number")
    parser.add_argument("--lam-method", default="gcv", choices=["gcv", "mgcv", "lcurve", "re-im"],
                        help="criterion for --lam auto (default gcv)")
    parser.add_argument("--order", type=int, default=1, choices=[1, 2], help="derivative order of the penalty")
    parser.add_argument("--shape-coeff", type=float, default=0.5, help="FWHM coefficient of the RBFs (0.5)")
    parser.add_argument("--inductance", action="store_true", help="fit a series inductance")
    parser.add_argument("--capacitance", action="store_true", help="fit a series capacitance (blocking electrodes)")
    parser.add_argument("--signed", action="store_true", help="allow negative gamma (inductive loops)")
    parser.add_argument("--data", default="complex", choices=["complex", "real", "imag"], help="part of Z fitted")
    parser.add_argument("--no-kk", action="store_true", help="skip the Kramers-Kronig check")
    parser.add_argument("--out", help="write tau (s) and gamma (ohm) of every spectrum to this CSV file")
    parser.add_argument("--peaks-out", help="write the peak table(s) to this CSV file")


def _lam_arg(text: str):
    if text == "auto":
        return "auto"
    try:
        v = float(text)
    except ValueError:
        raise DRTError(f"--lam must be 'auto' or a positive number, got {text!r}") from None
    return v


def run(args: argparse.Namespace) -> int:
    """Run the ``drt`` command; prints a summary and writes the requested CSV files."""
    import pandas as pd

    from analysis.drt.compute import compute_drt
    from analysis.eis._cli_common import load_spectra

    lam = _lam_arg(args.lam)
    spectra = load_spectra(args.file)
    curves, tables = {}, []
    for label, f, z in spectra:
        ok = np.isfinite(f) & np.isfinite(z)
        r = compute_drt(f[ok], z[ok], lam=lam, lam_method=args.lam_method, order=args.order,
                        shape_coeff=args.shape_coeff, inductance=args.inductance, data=args.data,
                        signed=args.signed, capacitance=args.capacitance, kk=not args.no_kk)
        name = label or "gamma"
        head = f"[{label}] " if label else ""
        print(f"{head}lambda = {r.lam:.3g}" + (f" ({r.lam_method})" if r.lam_method else ""))
        print(f"{head}R_inf = {r.R_inf:.6g} ohm, R_pol = {r.R_pol:.6g} ohm, L = {r.L:.3g} H"
              + (f", C = {r.C:.3g} F" if np.isfinite(r.C) else ""))
        for w in r.warnings:
            print(f"{head}warning: {w}", file=sys.stderr)
        pk = r.peaks()
        if len(pk):
            print(pk[["tau", "f_peak", "height", "area", "capacitance"]].to_string(
                index=False, float_format=lambda v: f"{v:.4g}"))
        pk.insert(0, "spectrum", name)
        tables.append(pk)
        curves[name] = r.gamma
        tau = r.tau
    if args.out:
        if len({len(v) for v in curves.values()}) > 1:
            raise DRTError("spectra of different lengths cannot share one --out table")
        pd.DataFrame({"tau_s": tau, **{f"{k}_ohm": v for k, v in curves.items()}}).to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    if args.peaks_out:
        pd.concat(tables, ignore_index=True).to_csv(args.peaks_out, index=False)
        print(f"wrote {args.peaks_out}")
    return 0
