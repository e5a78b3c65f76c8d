"""``ssb-explorer read FILE``: read an instrument file and print what was found."""
from __future__ import annotations

import argparse
import json

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``read`` command's arguments to ``parser``."""
    parser.add_argument("files", nargs="*", metavar="FILE", help="instrument file(s)")
    parser.add_argument("--kind", choices=("eis", "cycling", "pressure_log"), help="expected dataset kind")
    parser.add_argument("--format", dest="fmt", help="force a reader (see --list-formats)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary per file")
    parser.add_argument("--list-formats", action="store_true", help="list the supported formats and exit")


def summary(ds) -> dict:
    """Return a JSON-friendly summary of a dataset read from a file (kind, sizes, ranges, attrs).

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset returned by :func:`analysis.io.read`.

    Returns
    -------
    dict
        ``kind``, ``format``, ``sizes``, ``variables``, value ranges with units, provenance.
    """
    out = {"file": ds.attrs.get("source_file"), "kind": ds.attrs.get("kind"), "format": ds.attrs.get("format_id"),
           "reader": ds.attrs.get("reader"), "sha256": ds.attrs.get("sha256"),
           "sizes": {k: int(v) for k, v in ds.sizes.items()}, "ranges": {}}
    for name in list(ds.coords) + list(ds.data_vars):
        v = ds[name]
        if v.dtype.kind in "fiu" and v.size:
            vals = np.asarray(v.values, dtype=float)
            if np.isfinite(vals).any():
                out["ranges"][name] = [float(np.nanmin(vals)), float(np.nanmax(vals)), v.attrs.get("units", "")]
    return out


def run(args: argparse.Namespace) -> int:
    """Read each file and print a summary; return 0, or 1 if any file could not be read."""
    import sys

    from analysis import io

    if args.list_formats:
        for f in io.formats():
            print(f"{f.name:16s} {f.kind:13s} {f.instrument}: {f.description}")
        return 0
    if not args.files:
        print("ssb-explorer read: give at least one FILE (or --list-formats)", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            ds = io.read(path, args.kind, format=args.fmt)
        except io.ReadError as exc:
            print(f"ssb-explorer read: {exc}", file=sys.stderr)
            status = 1
            continue
        s = summary(ds)
        if args.json:
            print(json.dumps(s))
            continue
        dims = ", ".join(f"{k}={v}" for k, v in s["sizes"].items())
        print(f"{path}: {s['kind']} ({s['format']}, reader {s['reader']}), {dims}")
        for name, (lo, hi, unit) in s["ranges"].items():
            print(f"  {name:12s} {lo:12.6g} .. {hi:<12.6g} {unit}")
        print(f"  sha256 {s['sha256']}")
    return status
