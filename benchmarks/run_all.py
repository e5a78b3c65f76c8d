"""Run every benchmark in turn (``make bench``); each writes its own section of RESULTS.md.

``python -m benchmarks.run_all [--quick] [--only NAME,...]``. Each benchmark runs in its own
process (one at a time: they time things and share the cores); the exit status is non-zero when
one of them failed or missed its target, and the list of those is printed at the end.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

#: benchmark modules in the order they run, and whether they accept --quick
BENCHMARKS = [("bench_io", True), ("bench_eis", True), ("bench_drt", True), ("bench_dqdv", True),
              ("scale", True), ("load", True), ("load_job", True), ("soak", True), ("ui_latency", True)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (where a benchmark offers one)")
    ap.add_argument("--only", default=None, help="comma-separated benchmark names (default: all)")
    a = ap.parse_args(argv)
    names = [n for n, _ in BENCHMARKS]
    only = [s.strip() for s in a.only.split(",")] if a.only else names
    unknown = sorted(set(only) - set(names))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; known: {', '.join(names)}")
    failed = []
    for name, quick in BENCHMARKS:
        if name not in only:
            continue
        cmd = [sys.executable, "-m", f"benchmarks.{name}"] + (["--quick"] if a.quick and quick else [])
        t = time.perf_counter()
        print(f"== {' '.join(cmd[1:])}", flush=True)
        rc = subprocess.call(cmd)
        print(f"== {name}: exit {rc} in {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(f"{name} (exit {rc})")
    print("all benchmarks met their targets" if not failed else "failed or missed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
