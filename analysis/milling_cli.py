"""``ssb-explorer milling``: planetary-mill physics from the mill settings.

Examples
--------
``ssb-explorer milling --rpm 550 700 --preset "Fritsch P5" --jar-ml 80 --ball-mm 3
--ball-material ZrO2 --ball-total-g 135 --powder-g 6.75 --time-h 12``

``ssb-explorer milling --rpm 600 --disk-radius-mm 70 --jar-radius-mm 22.5 --ball-mm 10
--ball-material ZrO2 --n-balls 1 --json``
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from analysis import milling as m
from analysis.errors import AnalysisError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``milling`` command to ``parser``."""
    parser.add_argument("--rpm", type=float, nargs="+", help="disk speed(s), rpm")
    geo = parser.add_argument_group("mill geometry (a preset or custom)")
    geo.add_argument("--preset", choices=list(m.MILL_PRESETS), help="named mill geometry")
    geo.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    geo.add_argument("--disk-radius-mm", type=float, help="effective disk radius R_p, mm (custom)")
    geo.add_argument("--jar-radius-mm", type=float,
                     help="jar inner radius r_v, mm (default: estimated from --jar-ml)")
    geo.add_argument("--jar-ml", type=float, help="jar volume, mL")
    geo.add_argument("--speed-ratio", type=float,
                     help="jar/disk angular velocity ratio in the LAB frame (custom; default -1)")
    geo.add_argument("--relative-ratio", type=float,
                     help="maker's relative transmission ratio (e.g. -2 for 1:-2); alternative "
                          "to --speed-ratio")
    balls = parser.add_argument_group("balls")
    balls.add_argument("--ball-mm", type=float, default=10.0, help="ball diameter, mm (default 10)")
    balls.add_argument("--ball-material", default="ZrO2",
                       help=f"ball material ({', '.join(m.BALL_DENSITIES_G_CM3)}) or density g/cm3")
    nb = balls.add_mutually_exclusive_group()
    nb.add_argument("--n-balls", type=float, help="number of balls")
    nb.add_argument("--frb", type=float, help="ball filling, %% of jar volume (solid-volume basis)")
    nb.add_argument("--ball-total-g", type=float, help="total ball mass, g")
    powder = parser.add_argument_group("powder and time")
    pw = powder.add_mutually_exclusive_group()
    pw.add_argument("--powder-g", type=float, help="powder mass, g")
    pw.add_argument("--bmr", type=float, help="ball-to-material mass ratio (80 for 80:1)")
    powder.add_argument("--time-h", type=float, help="milling time, h")
    model = parser.add_argument_group("model")
    model.add_argument("--K", type=float, default=1.0, help="impact-frequency factor (default 1)")
    model.add_argument("--obstruction", default="auto",
                       help="obstruction factor phi_b in (0,1], or 'auto' from the filling "
                            "(needs the jar volume; 1 otherwise)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _density(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return m.ball_density(text)


def compute(args: argparse.Namespace) -> m.BurgioResult:
    """Evaluate the Burgio model for parsed command-line arguments."""
    rho = _density(args.ball_material)
    rpm = np.asarray(args.rpm, dtype=float)
    preset = m.MILL_PRESETS[args.preset] if args.preset else None
    if preset is None and args.disk_radius_mm is None:
        raise AnalysisError("give --preset or --disk-radius-mm (custom mill)")
    Rp = preset.disk_radius_m if args.disk_radius_mm is None else args.disk_radius_mm / 1000.0
    if args.speed_ratio is not None:
        ratio = args.speed_ratio
    elif args.relative_ratio is not None:
        ratio = m.lab_speed_ratio(args.relative_ratio)
    else:
        ratio = preset.speed_ratio if preset else -1.0
    if args.jar_radius_mm is not None:
        rv = args.jar_radius_mm / 1000.0
    elif args.jar_ml is not None:
        rv = m.jar_radius_m(args.jar_ml)
    else:
        raise AnalysisError("give --jar-ml or --jar-radius-mm")
    if args.n_balls is not None:
        n = args.n_balls
    elif args.frb is not None:
        if args.jar_ml is None:
            raise AnalysisError("--frb needs --jar-ml")
        n = m.balls_from_frb(args.frb, args.ball_mm, args.jar_ml)
    elif args.ball_total_g is not None:
        n = m.balls_from_total_mass(args.ball_total_g, args.ball_mm, rho)
    else:
        raise AnalysisError("give the balls as --n-balls, --frb or --ball-total-g")
    powder = args.powder_g
    if powder is None and args.bmr is not None:
        powder = float(m.powder_mass_from_bmr(args.bmr, n, m.ball_mass_g(args.ball_mm, rho)))
    if args.obstruction == "auto":
        phi = (m.obstruction_factor(m.frb_from_balls(n, args.ball_mm, args.jar_ml))
               if args.jar_ml is not None else 1.0)
    else:
        try:
            phi = float(args.obstruction)
        except ValueError:
            raise AnalysisError(f"--obstruction must be a number or 'auto', got {args.obstruction!r}") from None
    if preset is not None and np.any(rpm > preset.max_rpm):
        raise AnalysisError(f"--rpm exceeds the {preset.name} maximum of {preset.max_rpm:g} rpm")
    return m.burgio(rpm if rpm.size > 1 else float(rpm[0]), Rp, rv, args.ball_mm, rho, n,
                    speed_ratio=ratio, powder_mass_g=powder, time_h=args.time_h, K=args.K,
                    obstruction=phi, jar_volume_ml=args.jar_ml)


def _table(res: m.BurgioResult) -> str:
    rpm = np.atleast_1d(res.rpm)
    cols = [("rpm", rpm, "{:.0f}"), ("g-force (g)", res.g_force, "{:.1f}"),
            ("E/impact (mJ)", np.asarray(res.energy_per_impact_J) * 1e3, "{:.3g}"),
            ("f/ball (Hz)", res.impact_frequency_Hz, "{:.3g}"), ("power (W)", res.power_W, "{:.3g}")]
    if res.dose_J_per_g is not None:
        cols.append(("dose (kJ/g)", np.asarray(res.dose_J_per_g) / 1e3, "{:.4g}"))
    cols = [(h, np.broadcast_to(np.atleast_1d(v), rpm.shape), f) for h, v, f in cols]
    widths = [max(len(h), *(len(f.format(x)) for x in v)) for h, v, f in cols]
    lines = ["  ".join(h.rjust(w) for (h, _, _), w in zip(cols, widths))]
    for i in range(rpm.size):
        lines.append("  ".join(f.format(v[i]).rjust(w) for (_, v, f), w in zip(cols, widths)))
    inp = res.inputs
    head = [
        f"Burgio impact model: R_p {inp['disk_radius_m'] * 1000:g} mm, r_v "
        f"{inp['jar_radius_m'] * 1000:.4g} mm, speed ratio (lab) {res.speed_ratio:g}, "
        f"detachment limit {res.detachment_limit:.3g}",
        f"balls: {res.n_balls:g} x {inp['ball_diameter_mm']:g} mm at "
        f"{inp['ball_density_g_cm3']:g} g/cm3 (m_b {res.ball_mass_g:.4g} g)"
        + (f", FRB {res.frb_pct:.2f} % (solid volume)" if res.frb_pct is not None else "")
        + (f", BMR {res.bmr:.3g}:1" if res.bmr is not None else ""),
        f"obstruction phi_b {np.round(res.obstruction, 3)}, K {inp['K']:g}"
        + (f", powder {res.powder_mass_g:g} g" if res.powder_mass_g is not None else "")
        + (f", time {res.time_h:g} h" if res.time_h is not None else ""),
    ]
    return "\n".join(head + lines)


def run(args: argparse.Namespace) -> int:
    """Run the ``milling`` command; returns the exit status."""
    if args.list_presets:
        for p in m.MILL_PRESETS.values():
            print(f"{p.name}: R_p {p.disk_radius_m * 1000:g} mm, ratio 1:{p.relative_ratio:g} "
                  f"(lab {p.speed_ratio:g}), max {p.max_rpm:g} rpm, jars "
                  f"{', '.join(f'{v:g}' for v in p.jar_volumes_ml)} mL. {p.source}")
        return 0
    if not args.rpm:
        raise AnalysisError("give the disk speed with --rpm (one or more values)")
    res = compute(args)
    if args.json:
        json.dump(res.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_table(res))
    return 0
