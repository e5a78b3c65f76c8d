"""``python -m sample_data``: regenerate the synthetic sample data files in this folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ssb-explorer sample-data`` / ``python -m sample_data``."""
    parser.add_argument("--out", default=None, help="output folder (default: the sample_data package)")


def run(args: argparse.Namespace) -> int:
    """Write every sample dataset; print one line per file."""
    from sample_data.generate import write_all

    out = Path(args.out) if args.out else Path(__file__).resolve().parent
    for p in write_all(out):
        print(f"wrote {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
