"""``ssb-explorer cycles FILE [--out summary.csv]``: per-cycle summary of a cycler file."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import xarray as xr

from analysis.errors import SSBError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``cycles`` command's arguments to ``parser``."""
    parser.add_argument("file", help="cycler file (Arbin, NEWARE, BioLogic, Maccor...) or a .nc cycling dataset")
    parser.add_argument("--out", help="write the per-cycle summary to this CSV file")
    parser.add_argument("--reference", default="max",
                        help="retention reference: 'max', 'first' or a cycle number (default max)")
    parser.add_argument("--ce-convention", default="auto", choices=["auto", "discharge/charge", "charge/discharge"],
                        help="coulombic efficiency convention (default: second / first half-cycle)")
    parser.add_argument("--cycles-from", default="detect", choices=["detect", "file"],
                        help="number cycles from the detected half-cycles or keep the file's cycle index")
    parser.add_argument("--mass-mg", type=float, help="cathode (composite) mass in mg, for mAh/g")
    parser.add_argument("--active-fraction", type=float, help="active-material fraction of that mass (0..1)")
    parser.add_argument("--area-cm2", type=float, help="electrode area in cm2, for mAh/cm2")


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a cycler file or a ``.nc`` cycling dataset into the data model.

    Parameters
    ----------
    path : str or path-like
        Instrument file (read by :func:`analysis.io.read`) or netCDF file of the data model.

    Returns
    -------
    xarray.Dataset
        A ``cycling`` dataset.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", str(p))
    if p.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        try:
            with xr.open_dataset(p) as ds:
                return ds.load()
        except (OSError, ValueError) as exc:
            raise SSBError(f"{p}: not a readable netCDF file ({exc})") from None
    try:
        from analysis import io as _io
    except ImportError as exc:
        raise SSBError(f"{p}: instrument readers (analysis.io) are not available ({exc}); use a .nc dataset") from None
    return _io.read(p)


def _parse_reference(text: str):
    if text in ("max", "first"):
        return text
    try:
        return int(text)
    except ValueError:
        raise SSBError(f"--reference: expected 'max', 'first' or a cycle number, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Summarise ``args.file`` cycle by cycle; print a table and optionally write a CSV."""
    from analysis.cycling import summarize

    ds = load(args.file)
    for attr, val in (("active_mass_mg", args.mass_mg), ("active_fraction", args.active_fraction),
                      ("area_cm2", args.area_cm2)):
        if val is not None:
            ds.attrs[attr] = val
    summ = summarize(ds, reference=_parse_reference(args.reference), ce_convention=args.ce_convention,
                     cycles=args.cycles_from)
    df = summ.to_dataframe()
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        try:
            df.to_csv(tmp, float_format="%.6g")
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
    cols = [c for c in ("charge_capacity", "discharge_capacity", "discharge_capacity_specific",
                        "coulombic_efficiency", "retention", "polarisation", "c_rate") if c in df]
    with_units = df[cols].rename(columns={c: f"{c} [{summ[c].attrs.get('units', '')}]" for c in cols})
    print(f"{args.file}: {summ.sizes['cycle']} cycles, starts with {summ.attrs['first_direction']}; "
          f"CE = {summ.attrs['ce_convention']}; retention vs cycle {summ.attrs['retention_reference_cycle']}")
    print(with_units.to_string(float_format=lambda x: f"{x:.4g}", max_rows=40))
    if args.out:
        print(f"summary written to {args.out}", file=sys.stderr)
    return 0
