"""``ssb-explorer kk FILE [--json]``: Lin-KK validity test of an impedance file."""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``kk`` command's arguments to ``parser``."""
    parser.add_argument("file", metavar="FILE", help="impedance file (any format analysis.io reads)")
    parser.add_argument("--c", type=float, default=0.85, help="Schoenleber mu threshold (default 0.85)")
    parser.add_argument("--threshold", type=float, default=0.01,
                        help="largest |relative residual| for a pass (default 0.01 = 1 %%)")
    parser.add_argument("--max-M", type=int, default=None, help="largest number of RC elements")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    """Test every spectrum of the file; returns 0 if all pass, 1 otherwise."""
    import numpy as np

    from analysis.eis import kramers_kronig
    from analysis.eis._cli_common import load_spectra

    out = []
    for label, f, Z in load_spectra(args.file):
        m = np.isfinite(Z) & np.isfinite(f)
        r = kramers_kronig(f[m], Z[m], c=args.c, max_M=args.max_M, threshold=args.threshold)
        d = r.to_dict()
        d["file"] = str(args.file)
        if label:
            d["spectrum"] = label
        out.append(d)
    if args.json:
        json.dump(out if len(out) > 1 else out[0], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for d in out:
            head = d["file"] + (f" [{d['spectrum']}]" if "spectrum" in d else "")
            print(f"{head}: {d['message']}; rms residual {100 * d['rms_residual']:.2f} %")
    return 0 if all(d["passed"] for d in out) else 1
