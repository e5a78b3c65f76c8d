"""``ssb-explorer lab``: the lab analyses of the studies.

Sub-commands
------------
``moduli``     elastic moduli from ultrasonic velocities (study S3)
``ccd``        critical current density of a stepped Li | SE | Li test (study S3)
``diffusion``  Li+ diffusion coefficient from CV peak currents, Randles-Sevcik (study S4)
``sigma-e``    electronic conductivity from DC polarisation (study S5)

Examples
--------
``ssb-explorer lab moduli --density-g-cm3 1.64 --vl 4249 --vs 2271``

``ssb-explorer lab ccd cell.mpr --area-cm2 0.636``  (or ``--simulate 15`` for a demonstration)

``ssb-explorer lab diffusion --scan-rates-mV-s 0.1 0.2 0.5 1 --peak-currents-mA 0.05 0.07 0.11
0.16 --n 2 --area-cm2 0.785 --conc-mol-cm3 1e-3``

``ssb-explorer lab sigma-e --voltages-V 0.1 0.2 0.3 --currents-A 1e-8 2e-8 3e-8
--thickness-cm 0.055 --area-cm2 0.785``  (or a DC-polarisation ``.nc`` file)
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from analysis import electrochem as ec
from analysis.errors import AnalysisError
from analysis.mechanics import elastic_moduli


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``lab`` sub-commands to ``parser``."""
    sub = parser.add_subparsers(dest="lab_command", metavar="ANALYSIS")

    p = sub.add_parser("moduli", help="elastic moduli from ultrasonic sound velocities")
    d = p.add_mutually_exclusive_group(required=True)
    d.add_argument("--density", type=float, help="density, kg/m3")
    d.add_argument("--density-g-cm3", type=float, help="density, g/cm3")
    p.add_argument("--vl", type=float, required=True, help="longitudinal velocity, m/s")
    p.add_argument("--vs", type=float, required=True, help="shear velocity, m/s")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("ccd", help="critical current density of a stepped symmetric-cell test")
    p.add_argument("file", nargs="?", help="cycler file (any supported format) or .nc cycling dataset")
    p.add_argument("--area-cm2", type=float, help="electrode area, cm2 (default: file attribute)")
    p.add_argument("--simulate", type=int, metavar="STEP",
                   help="analyse a simulated test (S3 protocol) that shorts at STEP (0-based)")
    p.add_argument("--collapse-fraction", type=float, default=0.5,
                   help="polarisation fraction that counts as a short (default 0.5)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("diffusion", help="Li+ diffusion coefficient from CV (Randles-Sevcik)")
    p.add_argument("--scan-rates-mV-s", type=float, nargs="+", required=True, help="scan rates, mV/s")
    p.add_argument("--peak-currents-mA", type=float, nargs="+", required=True, help="peak currents, mA")
    p.add_argument("--n", type=float, default=1.0, help="electrons transferred (default 1)")
    p.add_argument("--area-cm2", type=float, required=True, help="electrode area, cm2")
    p.add_argument("--conc-mol-cm3", type=float, required=True, help="Li concentration, mol/cm3")
    p.add_argument("--temperature-K", type=float, default=298.15, help="temperature, K")
    p.add_argument("--through-origin", action="store_true", help="fit i_p = s*sqrt(v) without intercept")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("sigma-e", help="electronic conductivity from DC polarisation")
    p.add_argument("file", nargs="?", help=".nc dataset with current_ss (A) along voltage (V)")
    p.add_argument("--voltages-V", type=float, nargs="+", help="applied voltages, V")
    p.add_argument("--currents-A", type=float, nargs="+", help="steady-state currents, A")
    p.add_argument("--thickness-cm", type=float, help="pellet thickness, cm")
    p.add_argument("--area-cm2", type=float, help="electrode area, cm2")
    p.add_argument("--json", action="store_true", help="print JSON")


def _emit(data: dict, text: str, as_json: bool) -> None:
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    else:
        print(text)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _moduli(args) -> int:
    rho = args.density if args.density is not None else args.density_g_cm3 * 1000.0
    r = elastic_moduli(rho, args.vl, args.vs)
    text = (f"density {rho:g} kg/m3, V_L {args.vl:g} m/s, V_S {args.vs:g} m/s\n"
            f"G  {r.G / 1e9:.3g} GPa\nE  {r.E / 1e9:.3g} GPa\nB  {r.B / 1e9:.3g} GPa\n"
            f"nu {r.nu:.3f}\nB/G (Pugh) {r.pugh_ratio:.3g}")
    _emit(r.as_dict("GPa"), text, args.json)
    return 0


def _ccd(args) -> int:
    if args.simulate is not None:
        ds = ec.simulate_ccd_test(short_step=args.simulate)
    elif args.file:
        path = Path(args.file)
        if path.suffix.lower() in (".nc", ".h5", ".nc4"):
            import xarray as xr

            ds = xr.load_dataset(path)
        else:
            from analysis.io import read

            ds = read(path, kind="cycling")
    else:
        raise AnalysisError("give a cycler file or --simulate STEP")
    r = ec.ccd_from_dataset(ds, args.area_cm2, collapse_fraction=args.collapse_fraction)
    lines = [f"{'step':>4} {'j (mA/cm2)':>10} {'polarisation (mV)':>18} {'ASR (ohm cm2)':>14}"]
    for i, (j, p, a) in enumerate(zip(r.step_current_mA_cm2, r.step_polarisation_V, r.step_asr_ohm_cm2)):
        if r.short_step is not None and i > r.short_step:
            lines.append(f"{i:>4} {j:>10.3g} {'(after short)':>18} {'-':>14}")
            continue
        mark = "  <- short" if r.short_step == i else ""
        lines.append(f"{i:>4} {j:>10.3g} {p * 1e3:>18.4g} {a:>14.4g}{mark}")
    if r.shorted:
        ccd = ("none (shorted during the first step)" if not math.isfinite(r.ccd_mA_cm2)
               else f"{r.ccd_mA_cm2:g} mA/cm2")
        lines.append(f"CCD {ccd}; short at step {r.short_step} ({r.short_current_mA_cm2:g} mA/cm2, "
                     f"t = {r.short_time_s:g} s, {r.criterion})")
    else:
        lines.append(f"no short detected: CCD >= {r.ccd_mA_cm2:g} mA/cm2 (last step tested)")
    data = {k: (_clean(v) if not isinstance(v, np.ndarray) else [_clean(float(x)) for x in v])
            for k, v in r.as_dict().items()}
    _emit(data, "\n".join(lines), args.json)
    return 0


def _diffusion(args) -> int:
    if len(args.scan_rates_mV_s) != len(args.peak_currents_mA):
        raise AnalysisError("--scan-rates-mV-s and --peak-currents-mA need the same number of values")
    r = ec.diffusion_coefficient_randles_sevcik(
        np.asarray(args.scan_rates_mV_s) * 1e-3, np.asarray(args.peak_currents_mA) * 1e-3,
        args.n, args.area_cm2, args.conc_mol_cm3, args.temperature_K,
        through_origin=args.through_origin)
    text = (f"D = {r.D_cm2_s:.3e} +/- {r.D_stderr_cm2_s:.2e} cm2/s (Randles-Sevcik, "
            f"{r.n_points} scan rates, R^2 {r.r_squared:.4f})\n"
            f"slope {r.slope_A_s05_V05:.4g} A/(V/s)^0.5, intercept {r.intercept_A:.3g} A, "
            f"prefactor {r.constant:.4g} (i_p = prefactor * A * C * sqrt(D v))")
    _emit(dict(r.__dict__), text, args.json)
    return 0


def _sigma_e(args) -> int:
    if args.file:
        import xarray as xr

        out = ec.electronic_conductivity_dataset(xr.load_dataset(args.file))
        names = [str(v) for v in out[out["sigma_e"].dims[0]].values] if out["sigma_e"].ndim == 1 else None
        vals = np.atleast_1d(out["sigma_e"].values)
        errs = np.atleast_1d(out["sigma_e_stderr"].values)
        names = names or [str(i) for i in range(vals.size)]
        text = "\n".join(f"{n}: sigma_e = {v:.3e} +/- {e:.1e} S/cm" for n, v, e in zip(names, vals, errs))
        data = {n: {"sigma_S_cm": float(v), "stderr_S_cm": float(e)} for n, v, e in zip(names, vals, errs)}
        _emit(data, text, args.json)
        return 0
    if not args.voltages_V or not args.currents_A or args.thickness_cm is None or args.area_cm2 is None:
        raise AnalysisError("give a file, or --voltages-V, --currents-A, --thickness-cm and --area-cm2")
    r = ec.electronic_conductivity(args.voltages_V, args.currents_A, args.thickness_cm, args.area_cm2)
    text = (f"sigma_e = {r.sigma_S_cm:.3e} S/cm"
            + (f" +/- {r.sigma_stderr_S_cm:.1e}" if math.isfinite(r.sigma_stderr_S_cm) else "")
            + f" ({r.method}, {r.n_points} voltage(s); R_e {r.resistance_ohm:.3e} ohm)")
    _emit({k: _clean(v) for k, v in r.__dict__.items()}, text, args.json)
    return 0


_HANDLERS = {"moduli": _moduli, "ccd": _ccd, "diffusion": _diffusion, "sigma-e": _sigma_e}


def run(args: argparse.Namespace) -> int:
    """Run the ``lab`` command; returns the exit status."""
    handler = _HANDLERS.get(getattr(args, "lab_command", None))
    if handler is None:
        print("ssb-explorer lab: choose one of " + ", ".join(_HANDLERS), file=sys.stderr)
        return 2
    return handler(args)
