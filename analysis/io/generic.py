"""Generic delimited text: impedance tables (Cartesian or polar) and cycler tables.

Handles headerless 3-column files (f, Z', Z'' with Z'' = Im(Z)), files with a header row whose
names are recognised (see :mod:`analysis.io._columns`), an explicit ``columns`` map, delimiter
detection (comma, semicolon, tab, whitespace), decimal commas, comment lines (``#``) and several
spectra in one file (a loop / cycle column, or repeated frequency sweeps).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from analysis.io._columns import UnitError, cycling_columns, eis_columns, temperature_to_k
from analysis.io._common import ReadError, make_cycling, make_eis, parse_table, stack_spectra

_NUM = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def _is_num(tok: str) -> bool:
    t = tok.strip().strip('"')
    return bool(_NUM.match(t)) or t.lower() in ("nan", "inf", "-inf", "+inf")


def split_line(line: str, sep: str | None) -> list[str]:
    """Split ``line`` on ``sep`` (None = whitespace), dropping one trailing empty field."""
    s = line.strip("\r\n")
    toks = s.split(sep) if sep is not None else s.split()
    if sep is not None and len(toks) > 1 and not toks[-1].strip():
        toks = toks[:-1]
    return [t.strip() for t in toks]


def detect_layout(lines: list[str], start: int = 0, limit: int = 400) -> tuple[int, str | None, bool]:
    """Find the first numeric data row, its separator and whether it uses decimal commas.

    Returns
    -------
    first : int
        0-based index of the first data row (-1 if none).
    sep : str or None
        Separator (None = whitespace).
    decimal_comma : bool
        True when numbers are written with a decimal comma.
    """
    for i in range(start, min(len(lines), start + limit)):
        s = lines[i].strip()
        if not s or s.startswith("#"):
            continue
        for sep in ("\t", ";", ",", None):
            toks = split_line(s, sep)
            if len(toks) < 2:
                continue
            if all(_is_num(t) or t == "" for t in toks) and sum(_is_num(t) for t in toks) >= 2:
                dc = sep != "," and any("," in t for t in toks) and not any("." in t for t in toks)
                if sep == "," and len(toks) >= 2:
                    return i, ",", False
                return i, sep, dc
    return -1, None, False


def find_header(lines: list[str], first: int, sep: str | None, ncols: int) -> tuple[int, list[str] | None]:
    """Return (index, names) of the header row just above the data (same field count), if any."""
    for j in range(first - 1, max(-1, first - 4), -1):
        s = lines[j].strip()
        if not s:
            continue
        toks = split_line(s.lstrip("#"), sep)
        if len(toks) >= ncols - 1 and not all(_is_num(t) for t in toks if t):
            return j, toks
        break
    return -1, None


def _col(values: np.ndarray, spec: tuple[int, float]) -> np.ndarray:
    idx, fac = spec
    return values[:, idx] * fac


def resolve_column_map(path, names: list[str] | None, colmap: dict) -> dict:
    """Turn a user column map (data-model key -> header name or 0-based index) into ``(index, factor)``.

    Keys: ``frequency``, ``z_real``, ``z_imag``, ``minus_z_imag`` (a -Im(Z) column), ``z_mod``,
    ``phase`` (degrees), ``phase_rad``, ``loop``. Values: the header name or the column index.
    """
    out = {}
    for key, col in colmap.items():
        if isinstance(col, (int, np.integer)):
            idx = int(col)
        else:
            if names is None or col not in names:
                raise ReadError(path, f"column {col!r} given for {key!r} is not in the header")
            idx = names.index(col)
        fac = 1.0
        if key == "minus_z_imag":
            key, fac = "z_imag", -1.0
        elif key == "phase_rad":
            key, fac = "phase", 57.29577951308232
        elif key not in ("frequency", "z_real", "z_imag", "z_mod", "phase", "loop"):
            raise ReadError(path, f"unknown key {key!r} in the column map")
        out[key] = (idx, fac)
    return out


def eis_from_table(path, names: list[str] | None, values: np.ndarray, lines: list[int], *, reader: str,
                   sha256: str | None = None, attrs: dict | None = None, columns: dict | None = None,
                   loop_dim: str = "loop") -> xr.Dataset:
    """Build an ``eis`` dataset from a numeric table and its header.

    Parameters
    ----------
    path : path-like
        Source file.
    names : list of str or None
        Column names (None for a headerless table: f, Z', Z'' in columns 0-2, or an index column
        followed by them).
    values : numpy.ndarray
        The table (rows x columns).
    lines : list of int
        File line of each row.
    reader : str
        Reader name.
    sha256 : str, optional
        File digest.
    attrs : dict, optional
        Extra attributes.
    columns : dict, optional
        Explicit column map (see :func:`resolve_column_map`).
    loop_dim : str
        Name of the dimension when the file holds several spectra.

    Returns
    -------
    xarray.Dataset
        Kind ``eis``.
    """
    ncol = values.shape[1]
    if columns:
        spec = resolve_column_map(path, names, columns)
    elif names is not None:
        try:
            spec = eis_columns(names)
        except UnitError as exc:
            raise ReadError(path, str(exc), lines[0] - 1 if lines else None) from None
    else:
        if ncol < 3:
            raise ReadError(path, f"only {ncol} numeric column(s): an impedance table needs frequency, Z' and Z''",
                            lines[0] if lines else None)
        first = values[:, 0]
        if ncol >= 4 and np.allclose(first, np.arange(first.size) + first[0]) and first[0] in (0, 1):
            spec = {"frequency": (1, 1.0), "z_real": (2, 1.0), "z_imag": (3, 1.0)}
        elif ncol in (3, 4) or ncol > 4:
            spec = {"frequency": (0, 1.0), "z_real": (1, 1.0), "z_imag": (2, 1.0)}
    for k, (idx, _f) in spec.items():
        if idx >= ncol:
            raise ReadError(path, f"column {idx} for {k!r} is beyond the {ncol} columns of the table")
    if "frequency" not in spec:
        raise ReadError(path, "no frequency column found (expected a header such as 'freq/Hz' or 'Frequency (Hz)')")
    col_names = {}
    if names is not None:
        col_names = {k: names[idx] for k, (idx, _f) in spec.items() if idx < len(names)}
    f = _col(values, spec["frequency"])
    if "z_real" in spec and "z_imag" in spec:
        zr = _col(values, spec["z_real"])
        zi = _col(values, spec["z_imag"])
        form = "cartesian"
    elif "z_mod" in spec and "phase" in spec:
        mod = _col(values, spec["z_mod"])
        ph = np.deg2rad(_col(values, spec["phase"]))
        zr, zi = mod * np.cos(ph), mod * np.sin(ph)
        form = "polar"
    else:
        missing = [k for k in ("z_real", "z_imag") if k not in spec]
        raise ReadError(path, f"missing impedance column(s) {missing} (and no |Z|/phase pair) in the header")
    # rows with frequency 0 and zero impedance are not impedance points: the DC rows of Parstat
    # files and the end-of-loop rows of EC-Lab exports; they are skipped (counted in an attribute)
    skip = (f == 0) & (zr == 0) & (zi == 0)
    a = dict(attrs or {})
    if skip.any():
        keep = ~skip
        f, zr, zi, values = f[keep], zr[keep], zi[keep], values[keep]
        lines = [ln for ln, k in zip(lines, keep) if k] if len(lines) == len(keep) else []
        a["skipped_rows"] = int(skip.sum())
        if f.size == 0:
            raise ReadError(path, "no impedance rows (all rows have frequency 0 and zero impedance)")
    a["input_form"] = form
    if col_names:
        a["original_columns"] = ", ".join(f"{k}={v}" for k, v in col_names.items())
    # several spectra in one table
    groups = None
    if "loop" in spec:
        lv = values[:, spec["loop"][0]]
        if np.unique(f).size != f.size and np.all(np.isfinite(lv)):
            groups = lv
    if groups is None and np.all(np.isfinite(f)) and np.unique(f).size != f.size:
        groups = _sweeps(f)
    if groups is not None:
        labels = []
        spectra = []
        lines_arr = np.asarray(lines) if len(lines) == len(f) else None
        order = pd.unique(groups)
        if len(order) > 1:
            for g in order:
                m = groups == g
                spectra.append(make_eis(path, f[m], zr[m], zi[m], reader=reader,
                                        lines=None if lines_arr is None else list(lines_arr[m]),
                                        sha256=sha256, attrs=a, columns=col_names))
                labels.append(int(g) if float(g).is_integer() else g)
            return stack_spectra(path, spectra, loop_dim, labels)
    return make_eis(path, f, zr, zi, reader=reader, lines=lines or None, sha256=sha256, attrs=a, columns=col_names)


def _sweeps(f: np.ndarray) -> np.ndarray | None:
    """Split repeated frequency sweeps: a new sweep starts where the sweep direction restarts.

    Returns sweep labels (0, 1, ...) or None when the repeats do not look like whole sweeps.
    """
    if f.size < 4:
        return None
    d = np.sign(np.diff(f))
    main = np.sign(np.sum(d)) or -1.0
    breaks = np.flatnonzero(d == -main) + 1
    if breaks.size == 0:
        return None
    labels = np.zeros(f.size, dtype=np.int64)
    for b in breaks:
        labels[b:] += 1
    # every sweep must itself be duplicate-free, otherwise let the duplicate check report it
    for g in np.unique(labels):
        fg = f[labels == g]
        if np.unique(fg).size != fg.size or fg.size < 2:
            return None
    return labels


def read_eis_text(path, text: str, *, sha256: str | None = None, columns: dict | None = None,
                  reader: str = "generic-eis", attrs: dict | None = None, **_ignored) -> xr.Dataset:
    """Read a delimited impedance table (any delimiter, optional header, optional comments).

    Parameters
    ----------
    path : path-like
        Source file (for messages and provenance).
    text : str
        Decoded file content.
    sha256 : str, optional
        File digest.
    columns : dict, optional
        Explicit column map, e.g. ``{"frequency": "Freq", "z_mod": "Mod", "phase": "Phz"}`` or
        indices ``{"frequency": 0, "z_real": 1, "z_imag": 2}``.
    reader : str
        Name recorded in the ``reader`` attribute.
    attrs : dict, optional
        Extra attributes.

    Returns
    -------
    xarray.Dataset
        Kind ``eis`` (dims ``frequency`` or ``(loop, frequency)``).
    """
    lines = text.splitlines()
    first, sep, dc = detect_layout(lines)
    if first < 0:
        raise ReadError(path, "no numeric table found (unknown format or unsupported delimiter)")
    ncols = len(split_line(lines[first], sep))
    hidx, names = find_header(lines, first, sep, ncols)
    if names is not None and len(names) < ncols:
        names = names + [f"col{k}" for k in range(len(names), ncols)]
    values, nums = parse_table(path, lines[first:], first + 1, sep, ncols, decimal_comma=dc)
    return eis_from_table(path, names, values, nums, reader=reader, sha256=sha256, attrs=attrs, columns=columns)


def read_cycling_frame(path, df: pd.DataFrame, *, reader: str, sha256: str | None = None, attrs: dict | None = None,
                       columns: dict | None = None, status_map=None, current_sign: float = 1.0,
                       header_line: int | None = None) -> xr.Dataset:
    """Build a ``cycling`` dataset from a table of cycler records with recognisable headers.

    Parameters
    ----------
    path : path-like
        Source file.
    df : pandas.DataFrame
        One row per record, original column names.
    reader : str
        Reader name.
    sha256 : str, optional
        File digest.
    attrs : dict, optional
        Extra attributes.
    columns : dict, optional
        Explicit map data-model key (``time``, ``voltage``, ``current``, ``cycle``, ``step``,
        ``capacity``, ``charge_capacity``, ``discharge_capacity``, ``temperature``, ``pressure``,
        ``status``) -> column name; units are then taken from the data model (s, V, mA, mAh, K, MPa).
    status_map : callable, optional
        Maps the status column (array of str) to directions (+1/-1/0, or None to use the current).
    current_sign : float
        Multiply the current by this (+1 when the file already uses positive = charge).
    header_line : int, optional
        Line of the header (for messages).

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``.
    """
    names = [str(c) for c in df.columns]
    try:
        spec = cycling_columns(names)
    except UnitError as exc:
        raise ReadError(path, str(exc), header_line) from None
    if columns:
        for k, col in columns.items():
            if col not in names:
                raise ReadError(path, f"column {col!r} given for {k!r} is not in the header", header_line)
            spec[k] = (names.index(col), 1.0)
            if k == "temperature":
                spec["temperature_unit"] = "K"
    missing = [k for k in ("time", "voltage", "current") if k not in spec]
    if missing:
        raise ReadError(path, f"missing cycler column(s) {missing}; found {names[:12]}", header_line)

    def num(key):
        idx, fac = spec[key]
        col = df.iloc[:, idx]
        if key == "time":
            return to_seconds(col) * fac
        if col.dtype == object or str(col.dtype).startswith(("str", "string")):
            col = pd.to_numeric(col.astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")
        return np.asarray(col, dtype=float) * fac

    t = num("time")
    if np.any(~np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise ReadError(path, f"time is not a number in record {bad + 1}",
                        None if header_line is None else header_line + 1 + bad)
    v = num("voltage")
    i = num("current") * current_sign
    cycle = num("cycle").astype(np.int64) if "cycle" in spec and np.all(np.isfinite(num("cycle"))) else None
    step = num("step").astype(np.int64) if "step" in spec and np.all(np.isfinite(num("step"))) else None
    direction = None
    if "status" in spec and status_map is not None:
        direction = status_map(np.asarray(df.iloc[:, spec["status"][0]].astype(str)), i)
    throughput = None
    if "charge_capacity" in spec and "discharge_capacity" in spec:
        throughput = np.abs(np.nan_to_num(num("charge_capacity"))) + np.abs(np.nan_to_num(num("discharge_capacity")))
    elif "capacity" in spec:
        throughput = np.abs(np.nan_to_num(num("capacity")))
    temp = None
    if "temperature" in spec:
        temp = temperature_to_k(num("temperature"), spec.get("temperature_unit", "C"))
        if np.all(np.isnan(temp)):
            temp = None
    pres = num("pressure") if "pressure" in spec else None
    used = {k: names[v_[0]] for k, v_ in spec.items() if isinstance(v_, tuple)}
    a = dict(attrs or {})
    a["original_columns"] = ", ".join(f"{k}={c}" for k, c in used.items())
    return make_cycling(path, time_s=t, voltage_v=v, current_ma=i, cycle=cycle, step=step, direction=direction,
                        throughput_mah=throughput, reader=reader, sha256=sha256, attrs=a, columns=used,
                        temperature_k=temp, pressure_mpa=pres)


def to_seconds(col) -> np.ndarray:
    """Convert a time column to seconds: numbers as they are, ``[D-]HH:MM:SS[.f]`` durations parsed.

    Parameters
    ----------
    col : pandas.Series or array_like
        Column values.

    Returns
    -------
    numpy.ndarray
        Float seconds (NaN where unparseable).
    """
    s = pd.Series(col)
    if s.dtype.kind in "fiu":
        return np.asarray(s, dtype=float)
    st = s.astype(str).str.strip()
    out = np.array(pd.to_numeric(st.str.replace(",", ".", regex=False), errors="coerce"), dtype=float)
    need = np.isnan(out) & st.str.contains(":", regex=False).to_numpy()
    if need.any():
        sub = st[need].str.replace(r"^(\d+)[-d]\s*(?=\d+:)", r"\1 days ", regex=True)
        td = pd.to_timedelta(sub, errors="coerce")
        out[need] = td.dt.total_seconds().to_numpy(dtype=float)
    return out


def read_table_text(path, text: str, *, sep=None, header_line: int | None = None, decimal_comma: bool = False):
    """Parse a delimited text table whose header is at 0-based ``header_line`` (auto when None).

    Returns
    -------
    (pandas.DataFrame, int)
        Frame with the original headers, and the 1-based line number of the header.
    """
    import io

    lines = text.splitlines()
    if header_line is None:
        first, sep_d, dc = detect_layout(lines)
        if first < 0:
            raise ReadError(path, "no numeric table found (unknown format or unsupported delimiter)")
        sep = sep if sep is not None else sep_d
        decimal_comma = decimal_comma or dc
        ncols = len(split_line(lines[first], sep))
        header_line, names = find_header(lines, first, sep, ncols)
        if names is None:
            raise ReadError(path, "the table has no header row naming its columns", first + 1)
    body = "\n".join(lines[header_line:])
    try:
        df = pd.read_csv(io.StringIO(body), sep=sep if sep is not None else r"\s+", engine="c" if sep else "python",
                         decimal="," if decimal_comma else ".", skipinitialspace=True, on_bad_lines="error",
                         low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).splitlines()[0][:200]
        m = re.search(r"line (\d+)", msg)
        raise ReadError(path, f"malformed table: {msg}", header_line + int(m.group(1)) if m else None) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ReadError(path, "the table has a header but no data rows", header_line + 1)
    return df, header_line + 1


def read_cycling_text(path, text: str, *, sha256: str | None = None, columns: dict | None = None,
                      reader: str = "generic-cycling", attrs: dict | None = None, **_ignored) -> xr.Dataset:
    """Read a delimited cycler table with a header naming time, voltage and current (units from the header).

    Parameters
    ----------
    path : path-like
        Source file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.
    columns : dict, optional
        Explicit map data-model key -> column name (values then in s, V, mA, mAh, K, MPa).
    reader : str
        Reader name.
    attrs : dict, optional
        Extra attributes.

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``; without a status column the direction follows the sign of the current.
    """
    df, hline = read_table_text(path, text)
    return read_cycling_frame(path, df, reader=reader, sha256=sha256, attrs=attrs, columns=columns,
                              header_line=hline)
