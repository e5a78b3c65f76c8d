"""Shared helpers of the benchmark scripts.

Each benchmark script owns one section of ``benchmarks/RESULTS.md`` and replaces it with
:func:`write_section`, so scripts can be run one at a time or all together
(``python -m benchmarks.run_all``). Anchor libraries (impedance.py, pyimpspec, pyDRTtools,
cellpy, navani...) are installed in separate virtual environments under
``benchmarks/.venvs/<name>`` by :func:`anchor_python` and timed there by a small driver
script, so their dependency pins never touch the project's environment.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
VENVS = HERE / ".venvs"

HEADER = """# Benchmark results

Measured by the scripts in `benchmarks/` on the development machine (2 cores, 24 GiB).
Each section is written by the script named in it; anchors run in their own virtual
environments (`benchmarks/.venvs/`) on the same inputs in the same run, and ratios are
anchor time / ssb-explorer time (higher is better for us).
"""


def machine_line() -> str:
    """One line describing the interpreter and machine the numbers come from."""
    import numpy
    import scipy

    return (
        f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of RESULTS.md, under a file lock."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}\n"
    with open(HERE / ".results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = RESULTS.read_text() if RESULTS.exists() else HEADER + "\n"
        if begin in text and end in text:
            pre, rest = text.split(begin, 1)
            _, post = rest.split(end, 1)
            text = pre + block.rstrip("\n") + post
        else:
            text = text.rstrip("\n") + "\n\n" + block
        tmp = RESULTS.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(RESULTS)


def anchor_python(name: str, requirements: list[str], python: str | None = None) -> Path:
    """Create ``benchmarks/.venvs/<name>`` with ``requirements`` installed; return its python.

    Parameters
    ----------
    name : str
        Folder name of the virtual environment.
    requirements : list of str
        pip requirement strings (installed once; a stamp file records them).
    python : str, optional
        Interpreter used to create the venv (default: this one).
    """
    venv = VENVS / name
    py = venv / "bin" / "python"
    stamp = venv / ".requirements.json"
    if py.exists() and stamp.exists() and json.loads(stamp.read_text()) == requirements:
        return py
    VENVS.mkdir(parents=True, exist_ok=True)
    subprocess.run([python or sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *requirements], check=True)
    stamp.write_text(json.dumps(requirements))
    return py


def run_json(py: Path, script: str, payload: dict, timeout: float = 1800) -> dict:
    """Run ``script`` (Python source) with interpreter ``py``; JSON in on stdin, JSON out on stdout."""
    proc = subprocess.run(
        [str(py), "-c", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"anchor script failed ({py}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
