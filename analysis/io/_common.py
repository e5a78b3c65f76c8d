"""Shared machinery of the instrument readers: errors, safe file access, dataset builders.

Every reader ends in :func:`make_eis`, :func:`make_cycling` or :func:`make_pressure_log`, so
unit normalisation, the frequency policy (sorted high to low, duplicates rejected), provenance
attributes and the final schema validation are written once.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import xarray as xr

from analysis.errors import SSBError
from analysis.schema import SchemaError, validate

#: Default largest file a reader accepts (bytes); ``read(..., max_size=...)`` overrides it.
DEFAULT_MAX_SIZE = 2 * 1024**3
#: Longest text line accepted (characters); longer lines are a sign of a binary or hostile file.
MAX_LINE = 1_000_000


class ReadError(SSBError, ValueError):
    """An instrument file cannot be read; the message names the file, the reason and the line.

    Parameters
    ----------
    path : str or path-like
        The file being read (only its name is shown).
    reason : str
        One sentence saying what is wrong.
    line : int, optional
        1-based line number where the problem is, for text files.

    Attributes
    ----------
    path, reason, line
        The parts of the message, for programs that want them separately.
    """

    def __init__(self, path, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        name = display_name(path)
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{name}: {reason}{where}")


def display_name(path) -> str:
    """Return a safe, printable name of ``path`` (its final component, control characters removed)."""
    name = os.path.basename(str(path)) or str(path)
    name = re.sub(r"[\x00-\x1f\x7f]", "?", name)
    return name[:200]


def sanitize_name(name: str, default: str = "var") -> str:
    """Return ``name`` turned into a safe variable / file identifier (``[A-Za-z0-9_]``, <= 64 chars).

    Parameters
    ----------
    name : str
        A column header or file stem from an instrument file.
    default : str
        Used when nothing printable is left.

    Returns
    -------
    str
        Lower-case identifier.
    """
    s = re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_").lower()[:64]
    if not s:
        s = default
    if s[0].isdigit():
        s = f"{default}_{s}"
    return s


def file_bytes(path, max_size: int | None = None) -> bytes:
    """Read a whole file after checking that it exists, is a regular file and is not too large.

    Parameters
    ----------
    path : path-like
        File to read.
    max_size : int, optional
        Largest accepted size in bytes (default :data:`DEFAULT_MAX_SIZE`).

    Returns
    -------
    bytes
        The file content.

    Raises
    ------
    ReadError
        Missing, not a regular file, empty, or larger than ``max_size``.
    """
    check_file(path, max_size)
    with open(path, "rb") as fh:
        return fh.read()


def check_file(path, max_size: int | None = None) -> int:
    """Check that ``path`` is a non-empty regular file no larger than ``max_size``; return its size (bytes)."""
    p = Path(path)
    limit = DEFAULT_MAX_SIZE if max_size is None else int(max_size)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ReadError(path, "file not found") from None
    except OSError as exc:
        raise ReadError(path, f"cannot access the file ({exc.strerror})") from None
    if not p.is_file():
        raise ReadError(path, "not a regular file")
    if st.st_size == 0:
        raise ReadError(path, "the file is empty")
    if st.st_size > limit:
        raise ReadError(path, f"file is {st.st_size} bytes, larger than the limit of {limit} bytes (max_size)")
    return st.st_size


def sha256_file(path) -> str:
    """Return the hex SHA-256 digest of a file (streamed, constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def decode_text(path, data: bytes, max_line: int | None = None) -> str:
    """Decode instrument text: UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    ``max_line`` (characters, default :data:`MAX_LINE`) bounds the length of any line.

    Raises
    ------
    ReadError
        If the bytes contain NUL characters (a binary file) or a line longer than :data:`MAX_LINE`.
    """
    head = data[:65536]
    if b"\x00" in head and not (head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff")):
        raise ReadError(path, "binary content where a text file was expected")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError(path, "invalid UTF-16 text") from None
    else:
        for enc in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    # a hostile single gigantic line
    limit = MAX_LINE if max_line is None else int(max_line)
    start = 0
    n = len(text)
    lineno = 1
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > limit:
            raise ReadError(path, f"line longer than {limit} characters (not an instrument text file)", lineno)
        start = end + 1
        lineno += 1
    if "\x00" in text:
        raise ReadError(path, "binary content (NUL bytes) in a text file")
    return text


def _first(exc: BaseException, n: int = 120) -> str:
    """First line of an exception's message, at most ``n`` characters (for wrapped library errors)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else "")[:n]


def parse_float(tok: str) -> float:
    """Parse one number written with a decimal point or a decimal comma; raise ValueError otherwise."""
    tok = tok.strip().strip('"')
    try:
        return float(tok)
    except ValueError:
        if "," in tok and "." not in tok:
            return float(tok.replace(",", "."))
        raise


def parse_table(path, lines: list[str], first_line: int, sep: str | None, ncols: int | None = None,
                decimal_comma: bool = False, skip_bad: bool = False) -> tuple[np.ndarray, list[int]]:
    """Parse numeric rows into a 2-D float array.

    Parameters
    ----------
    path : path-like
        File name for error messages.
    lines : list of str
        The data lines.
    first_line : int
        1-based line number of ``lines[0]`` in the file (for messages).
    sep : str or None
        Column separator; None splits on whitespace.
    ncols : int, optional
        Expected number of columns (default: that of the first row).
    decimal_comma : bool
        Numbers use a decimal comma.
    skip_bad : bool
        Skip (instead of rejecting) rows that are not numeric.

    Returns
    -------
    values : numpy.ndarray
        Shape (rows, ncols).
    line_numbers : list of int
        1-based line number of each row.
    """
    rows: list[list[float]] = []
    nums: list[int] = []
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s:
            continue
        toks = s.split(sep) if sep is not None else s.split()
        if sep is not None and len(toks) > 1 and toks[-1].strip() == "":
            toks = toks[:-1]
        if ncols is None:
            ncols = len(toks)
        if len(toks) < ncols:
            if skip_bad:
                continue
            raise ReadError(path, f"expected {ncols} columns, found {len(toks)}", first_line + i)
        try:
            if decimal_comma:
                vals = [float(t.strip().strip('"').replace(",", ".")) if t.strip() else np.nan for t in toks[:ncols]]
            else:
                vals = [float(t.strip().strip('"')) if t.strip() else np.nan for t in toks[:ncols]]
        except ValueError:
            if skip_bad:
                continue
            bad = next((t for t in toks[:ncols] if not _isnum(t, decimal_comma)), "?")
            raise ReadError(path, f"not a number: {bad.strip()[:40]!r}", first_line + i) from None
        rows.append(vals)
        nums.append(first_line + i)
    if not rows:
        raise ReadError(path, "no data rows found")
    return np.asarray(rows, dtype=float), nums


def _isnum(t: str, decimal_comma: bool) -> bool:
    t = t.strip().strip('"')
    if decimal_comma:
        t = t.replace(",", ".")
    if not t:
        return True
    try:
        float(t)
        return True
    except ValueError:
        return False


def _attrs(path, reader: str, sha256: str | None, extra: dict | None) -> dict:
    attrs = {
        "source_file": display_name(path),
        "reader": reader,
        "sha256": sha256 if sha256 is not None else sha256_file(path),
    }
    for k, v in (extra or {}).items():
        if v is None:
            continue
        if isinstance(v, (bool, np.bool_)):
            v = int(v)
        elif isinstance(v, (list, tuple)):
            v = [str(x) for x in v] if any(isinstance(x, str) for x in v) else list(v)
        elif not isinstance(v, (str, int, float, np.integer, np.floating)):
            v = str(v)
        attrs[k] = v
    return attrs


def check_frequencies(path, f: np.ndarray, lines: list[int] | None = None) -> None:
    """Reject non-finite, non-positive and duplicate frequencies (Hz) with the offending line."""
    def _line(i):
        return None if lines is None or i >= len(lines) else lines[i]

    bad = np.flatnonzero(~np.isfinite(f))
    if bad.size:
        raise ReadError(path, "frequency is NaN or infinite", _line(bad[0]))
    bad = np.flatnonzero(f <= 0)
    if bad.size:
        raise ReadError(path, f"frequency must be > 0 Hz, found {f[bad[0]]:g}", _line(bad[0]))
    order = np.argsort(f, kind="stable")
    fs = f[order]
    dup = np.flatnonzero(fs[1:] == fs[:-1])
    if dup.size:
        i, j = sorted((order[dup[0]], order[dup[0] + 1]))
        raise ReadError(path, f"duplicate frequency {f[i]:g} Hz (also at line {_line(i)})", _line(j))


def make_eis(path, f, zr, zi, *, reader: str, lines: list[int] | None = None, sha256: str | None = None,
             attrs: dict | None = None, columns: dict | None = None, extra: dict | None = None) -> xr.Dataset:
    """Build a validated ``eis`` dataset from one spectrum.

    Parameters
    ----------
    path : path-like
        Source file (for provenance and messages).
    f : array_like
        Frequencies (Hz).
    zr, zi : array_like
        Re(Z) and Im(Z) (ohm); ``zi`` carries its sign (negative for a capacitive arc).
    reader : str
        Name of the reader (stored in the ``reader`` attribute).
    lines : list of int, optional
        File line of each point (for messages).
    sha256 : str, optional
        Precomputed digest of the file.
    attrs : dict, optional
        Extra dataset attributes (instrument header facts).
    columns : dict, optional
        Data-model name -> original column name; stored as ``original_name`` attributes.
    extra : dict, optional
        Extra per-frequency variables: name -> (values, units, long_name).

    Returns
    -------
    xarray.Dataset
        Kind ``eis``, frequencies sorted high to low (non-monotonic input is sorted; duplicates
        are rejected).

    Raises
    ------
    ReadError
        Non-finite values, frequencies <= 0 or duplicated, empty spectrum.
    """
    f = np.asarray(f, dtype=float)
    zr = np.asarray(zr, dtype=float)
    zi = np.asarray(zi, dtype=float)
    if f.size == 0:
        raise ReadError(path, "no impedance data points found")
    check_frequencies(path, f, lines)
    for name, arr in (("Re(Z)", zr), ("Im(Z)", zi)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ReadError(path, f"{name} is NaN or infinite", None if lines is None else lines[bad[0]])
    order = np.argsort(-f, kind="stable")
    sorted_input = bool(np.all(np.diff(f) < 0) or np.all(np.diff(f) > 0))
    cols = columns or {}
    ds = xr.Dataset(
        {
            "z_real": ("frequency", zr[order], {"units": "ohm", "long_name": "Re(Z)"}),
            "z_imag": ("frequency", zi[order], {"units": "ohm", "long_name": "Im(Z)"}),
        },
        coords={"frequency": ("frequency", f[order], {"units": "Hz", "long_name": "frequency"})},
    )
    for name, (vals, units, long_name) in (extra or {}).items():
        vals = np.asarray(vals)
        ds[name] = ("frequency", vals[order], {"units": units, "long_name": long_name})
    for k, v in cols.items():
        if k in ds.variables and v:
            ds[k].attrs["original_name"] = str(v)
    a = dict(attrs or {})
    if not sorted_input:
        a["note"] = "frequencies were not monotonic in the file and have been sorted"
    ds.attrs = _attrs(path, reader, sha256, a)
    return finish(path, ds, "eis")


def stack_spectra(path, spectra: list[xr.Dataset], dim: str, labels) -> xr.Dataset:
    """Stack several single-spectrum ``eis`` datasets along a new dimension ``dim``.

    When the frequency grids differ they are aligned on their union (missing points NaN).
    """
    if len(spectra) == 1:
        return spectra[0]
    attrs = dict(spectra[0].attrs)
    attrs.pop("note", None)
    same = all(s.sizes["frequency"] == spectra[0].sizes["frequency"]
               and np.allclose(s["frequency"].values, spectra[0]["frequency"].values, rtol=1e-9, atol=0)
               for s in spectra)
    if same:
        f0 = spectra[0]["frequency"]
        spectra = [s.assign_coords(frequency=f0) for s in spectra]
        ds = xr.concat(spectra, dim=dim, data_vars="all", coords="minimal", compat="override", join="override")
    else:
        ds = xr.concat(spectra, dim=dim, data_vars="all", coords="minimal", compat="override", join="outer")
        ds = ds.sortby("frequency", ascending=False)
    # per-spectrum frequencies as measured (grids can differ slightly between loops)
    ds = ds.assign_coords({dim: (dim, np.asarray(labels), {"long_name": dim})})
    ds.attrs = attrs
    for k in ("z_real", "z_imag"):
        ds[k].attrs.update(spectra[0][k].attrs)
    ds["frequency"].attrs.update({"units": "Hz", "long_name": "frequency"})
    return finish(path, ds, "eis")


def finish(path, ds: xr.Dataset, kind: str) -> xr.Dataset:
    """Validate ``ds`` as ``kind``; schema violations become a :class:`ReadError` naming the file."""
    try:
        validate(ds, kind)
    except SchemaError as exc:
        raise ReadError(path, f"the data do not form a valid {kind} dataset: {exc}") from None
    ds.attrs["kind"] = kind
    return ds


# ---------------------------------------------------------------------------------------------
# cycling


def direction_from_current(current_ma: np.ndarray) -> np.ndarray:
    """Direction (+1 charge, -1 discharge, 0 rest) from the sign of the current (mA).

    Currents below 1e-4 of the largest absolute current (or exactly zero) count as rest.
    """
    i = np.nan_to_num(np.asarray(current_ma, dtype=float))
    imax = np.max(np.abs(i)) if i.size else 0.0
    tol = max(imax * 1e-4, 1e-12)
    d = np.zeros(i.shape, dtype=np.int8)
    d[i > tol] = 1
    d[i < -tol] = -1
    return d


def half_cycle_ids(direction: np.ndarray) -> np.ndarray:
    """Half-cycle index of each record: a new half-cycle starts when the non-zero direction changes.

    Rest records belong to the half-cycle before them (index 0 before any current flows).
    """
    d = np.asarray(direction, dtype=np.int64)
    nz = d != 0
    last = np.where(nz, d, 0)
    # forward fill of the last non-zero direction
    idx = np.where(nz, np.arange(d.size), 0)
    np.maximum.accumulate(idx, out=idx)
    ff = last[idx]
    ff[~nz & (np.cumsum(nz) == 0)] = 0
    change = np.zeros(d.size, dtype=bool)
    change[1:] = (ff[1:] != ff[:-1]) & (ff[1:] != 0)
    change[0] = ff[0] != 0
    return np.cumsum(change)


def half_cycle_capacity(direction, *, throughput=None, time_s=None, current_ma=None) -> np.ndarray:
    """Capacity (mAh) passed since the start of the current half-cycle, >= 0.

    Parameters
    ----------
    direction : array_like of int
        +1 / -1 / 0 per record.
    throughput : array_like, optional
        The instrument's own accumulated charge (mAh; e.g. charge + discharge capacity), which
        may reset at step, cycle or half-cycle boundaries; resets are detected as decreases.
        Preferred: the instrument integrates at its internal rate, more exact than our record rate.
    time_s, current_ma : array_like, optional
        Used (trapezoidal integration of |I| dt) when ``throughput`` is not available.

    Returns
    -------
    numpy.ndarray
        Capacity in mAh.
    """
    d = np.asarray(direction)
    n = d.size
    if n == 0:
        return np.zeros(0)
    if throughput is not None:
        q = np.abs(np.nan_to_num(np.asarray(throughput, dtype=float)))
        inc = np.empty(n)
        inc[0] = q[0]  # a file may start in the middle of a step
        dq = np.diff(q)
        inc[1:] = np.where(dq >= 0, dq, q[1:])
    else:
        t = np.asarray(time_s, dtype=float)
        i = np.abs(np.nan_to_num(np.asarray(current_ma, dtype=float)))
        inc = np.zeros(n)
        dt = np.diff(t)
        dt = np.where(np.isfinite(dt) & (dt > 0), dt, 0.0)
        inc[1:] = 0.5 * (i[1:] + i[:-1]) * dt / 3600.0
        # a record that starts a new direction is the start of its half-cycle: nothing passed yet
        # (we do not know when in the preceding interval the current changed)
        same = d[1:] == d[:-1]
        inc[1:] = np.where(same, inc[1:], 0.0)
    hc = half_cycle_ids(d)
    # the first record of each half-cycle starts from its own increment (charge since its start)
    cs = np.cumsum(inc)
    starts = np.flatnonzero(np.r_[True, hc[1:] != hc[:-1]])
    base = np.repeat(cs[starts] - inc[starts], np.diff(np.r_[starts, n]))
    cap = cs - base
    cap[hc == 0] = 0.0
    return np.maximum(cap, 0.0)


def make_cycling(path, *, time_s, voltage_v, current_ma, cycle=None, step=None, direction=None,
                 capacity_mah=None, throughput_mah=None, reader: str, sha256: str | None = None,
                 attrs: dict | None = None, columns: dict | None = None, extra: dict | None = None,
                 pressure_mpa=None, temperature_k=None) -> xr.Dataset:
    """Build a validated ``cycling`` dataset.

    Parameters
    ----------
    path : path-like
        Source file.
    time_s, voltage_v, current_ma : array_like
        Test time (s), cell voltage (V), current (mA, positive = charge).
    cycle, step : array_like, optional
        Cycle and step numbers (default 1 / derived from direction changes).
    direction : array_like, optional
        +1 / -1 / 0 per record (default: sign of the current).
    capacity_mah : array_like, optional
        Capacity since the start of the half-cycle (mAh) when the instrument gives exactly that.
    throughput_mah : array_like, optional
        Instrument accumulated charge used to derive the capacity (see :func:`half_cycle_capacity`).
    reader : str
        Reader name.
    sha256 : str, optional
        Digest of the file.
    attrs : dict, optional
        Extra dataset attributes.
    columns : dict, optional
        Data-model name -> original column name.
    extra : dict, optional
        Extra per-record variables: name -> (values, units, long_name).
    pressure_mpa, temperature_k : array_like, optional
        Auxiliary channels (MPa, K).

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``.
    """
    t = np.asarray(time_s, dtype=float)
    n = t.size
    if n == 0:
        raise ReadError(path, "no data records found")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise ReadError(path, f"test time is NaN or infinite at record {bad[0] + 1}")
    v = np.asarray(voltage_v, dtype=float)
    i = np.asarray(current_ma, dtype=float)
    if direction is None:
        direction = direction_from_current(i)
    direction = np.asarray(direction, dtype=np.int8)
    if capacity_mah is None:
        if throughput_mah is not None:
            capacity_mah = half_cycle_capacity(direction, throughput=throughput_mah)
        else:
            capacity_mah = half_cycle_capacity(direction, time_s=t, current_ma=i)
    cap = np.abs(np.asarray(capacity_mah, dtype=float))
    if cycle is None:
        cycle = np.ones(n, dtype=np.int64)
    if step is None:
        step = 1 + np.cumsum(np.r_[False, direction[1:] != direction[:-1]])
    cols = columns or {}
    data = {
        "time": ("record", t, {"units": "s", "long_name": "test time"}),
        "voltage": ("record", v, {"units": "V", "long_name": "cell voltage"}),
        "current": ("record", i, {"units": "mA", "long_name": "current (positive = charge)"}),
        "capacity": ("record", cap, {"units": "mAh", "long_name": "capacity within the half-cycle"}),
        "cycle": ("record", np.asarray(cycle).astype(np.int64), {"units": "1", "long_name": "cycle number"}),
        "step": ("record", np.asarray(step).astype(np.int64), {"units": "1", "long_name": "step number"}),
        "direction": ("record", direction,
                      {"units": "1", "long_name": "half-cycle direction (+1 charge, -1 discharge, 0 rest)"}),
    }
    if pressure_mpa is not None:
        data["pressure"] = ("record", np.asarray(pressure_mpa, dtype=float),
                            {"units": "MPa", "long_name": "stack pressure"})
    if temperature_k is not None:
        data["temperature"] = ("record", np.asarray(temperature_k, dtype=float),
                               {"units": "K", "long_name": "temperature"})
    for name, (vals, units, long_name) in (extra or {}).items():
        data[name] = ("record", np.asarray(vals), {"units": units, "long_name": long_name})
    ds = xr.Dataset(data, coords={"record": np.arange(n)})
    for k, col in cols.items():
        if k in ds.variables and col:
            ds[k].attrs["original_name"] = str(col)
    ds.attrs = _attrs(path, reader, sha256, attrs)
    return finish(path, ds, "cycling")


def make_pressure_log(path, *, time_s, pressure_mpa, start_time: str, reader: str, sha256: str | None = None,
                      attrs: dict | None = None, columns: dict | None = None, extra: dict | None = None) -> xr.Dataset:
    """Build a validated ``pressure_log`` dataset: time (s since ``start_time``) and pressure (MPa)."""
    t = np.asarray(time_s, dtype=float)
    if t.size == 0:
        raise ReadError(path, "no data records found")
    data = {
        "time": ("record", t, {"units": "s", "long_name": "time since start_time"}),
        "pressure": ("record", np.asarray(pressure_mpa, dtype=float), {"units": "MPa", "long_name": "stack pressure"}),
    }
    for name, (vals, units, long_name) in (extra or {}).items():
        data[name] = ("record", np.asarray(vals), {"units": units, "long_name": long_name})
    ds = xr.Dataset(data, coords={"record": np.arange(t.size)})
    for k, col in (columns or {}).items():
        if k in ds.variables and col:
            ds[k].attrs["original_name"] = str(col)
    a = dict(attrs or {})
    a["start_time"] = start_time
    ds.attrs = _attrs(path, reader, sha256, a)
    return finish(path, ds, "pressure_log")
