"""``ssb-explorer ingest FILES... --store DIR``: import instrument files into a project store."""
from __future__ import annotations

import argparse
import getpass
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``ingest`` command's arguments to ``parser``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="instrument files to import")
    parser.add_argument("--store", required=True, metavar="DIR", help="store directory (created if needed)")
    parser.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                        help="sample/cell metadata, e.g. --meta active_mass_mg=12.5 (repeatable)")
    parser.add_argument("--kind", choices=("eis", "cycling", "pressure_log"), help="expected dataset kind")
    parser.add_argument("--user", help="who imports (default: the login name)")


def parse_meta(items: list[str]) -> dict:
    """Parse ``KEY=VALUE`` strings; numbers become float/int, ``true``/``false`` booleans.

    Raises
    ------
    analysis.store.StoreError
        An item without ``=``.
    """
    from analysis.store import StoreError

    out: dict = {}
    for it in items:
        if "=" not in it:
            raise StoreError(f"--meta {it!r}: expected KEY=VALUE")
        k, v = it.split("=", 1)
        k, v = k.strip(), v.strip()
        val: object = v
        if v.lower() in ("true", "false"):
            val = v.lower() == "true"
        else:
            try:
                val = int(v)
            except ValueError:
                try:
                    val = float(v)
                except ValueError:
                    val = v
        out[k] = val
    return out


def run(args: argparse.Namespace) -> int:
    """Import each file; print one line per file; return 1 if any import failed."""
    from analysis import store
    from analysis.errors import SSBError

    meta = parse_meta(args.meta)
    try:
        user = args.user or getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover
        user = None
    st = store.open(args.store)
    status = 0
    for path in args.files:
        try:
            e = st.ingest(path, metadata=meta, user=user, kind=args.kind)
        except (SSBError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            print(f"ssb-explorer ingest: {exc}", file=sys.stderr)
            status = 1
            continue
        state = "imported" if e.created else "already in the store"
        dims = ", ".join(f"{k}={v}" for k, v in e.sizes.items())
        print(f"{path}: {state} as {e.id} ({e.kind}, {e.reader}, {dims})")
    return status
