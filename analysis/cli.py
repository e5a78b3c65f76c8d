"""Command-line interface: ``ssb-explorer <command>``.

Each command lives in the module that does its science and exposes two functions,
``add_arguments(parser)`` and ``run(args) -> int``. The table below maps command names to
those modules; this file only dispatches, so commands can be added without touching each other.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> (module path, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("dashboard.serve", "serve the dashboard (panel serve) on the sample data or a store"),
    "fit": ("analysis.eis.cli", "fit an equivalent circuit to an impedance file"),
    "kk": ("analysis.eis.kk_cli", "Kramers-Kronig (Lin-KK) check of an impedance file"),
    "drt": ("analysis.drt.cli", "distribution of relaxation times of an impedance file"),
    "cycles": ("analysis.cycling_cli", "per-cycle summary of a cycler file"),
    "ingest": ("analysis.store_cli", "import instrument files into a project store"),
    "read": ("analysis.io.cli", "read an instrument file and print what was found"),
    "users": ("dashboard.users", "manage the users file of the group server"),
    "milling": ("analysis.milling_cli", "planetary-mill physics: g-force, impact energy, dose"),
    "lab": ("analysis.lab_cli", "lab analyses: elastic moduli, CCD, Li+ diffusion, electronic conductivity"),
    "sample-data": ("sample_data.__main__", "regenerate the synthetic sample data files"),
}


def _load(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per available command."""
    parser = argparse.ArgumentParser(
        prog="ssb-explorer",
        description="Solid-state battery explorer: EIS, DRT, cycling, dQ/dV, pressure, milling.",
    )
    from analysis import __version__

    parser.add_argument("--version", action="version", version=f"ssb-explorer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        mod = _load(module)
        if mod is None or not hasattr(mod, "add_arguments"):
            continue
        p = sub.add_parser(name, help=help_, description=help_)
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ssb-explorer`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except Exception as exc:  # one clear sentence instead of a traceback
        from analysis.errors import format_user_error

        msg = format_user_error(exc)
        if msg is None:
            raise
        print(f"ssb-explorer {args.command}: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
