"""NEWARE cyclers: binary ``.nda`` / ``.ndax`` (through NewareNDA) and BTSDA CSV exports.

``.ndax`` files are zip archives. Before NewareNDA opens one, its zip directory is checked
(declared uncompressed sizes and compression ratios) so that a zip bomb is refused without
being inflated. The record table of NewareNDA is converted column-wise with numpy (no
per-row Python), so the conversion adds little to NewareNDA's own reading time.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import xarray as xr

from analysis.io._common import ReadError, _first, make_cycling, sanitize_name
from analysis.io.generic import read_cycling_frame, to_seconds

#: Largest total uncompressed size of an .ndax archive (bytes) unless ``max_uncompressed`` is given.
MAX_UNCOMPRESSED = 8 * 1024**3
#: Largest compression ratio accepted for a member larger than 1 MiB.
MAX_RATIO = 500.0


def check_zip(path, data: bytes | None = None, max_uncompressed: int | None = None) -> None:
    """Refuse damaged zips, zip bombs and path-traversal members before anything is inflated.

    Parameters
    ----------
    path : path-like
        The archive.
    data : bytes, optional
        Its content (read from ``path`` when None).
    max_uncompressed : int, optional
        Largest total uncompressed size in bytes (default :data:`MAX_UNCOMPRESSED`).

    Raises
    ------
    ReadError
        Not a zip archive, too many members, members too large or too compressed, unsafe names.
    """
    limit = MAX_UNCOMPRESSED if max_uncompressed is None else int(max_uncompressed)
    src = io.BytesIO(data) if data is not None else path
    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise ReadError(path, "not a valid .ndax archive (damaged or truncated zip)") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ReadError(path, f"not a valid .ndax archive ({exc})") from None
    if not infos:
        raise ReadError(path, "the .ndax archive is empty")
    if len(infos) > 10000:
        raise ReadError(path, f"the .ndax archive has {len(infos)} members (too many)")
    total = 0
    for zi in infos:
        name = zi.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            raise ReadError(path, f"unsafe member name {name[:80]!r} in the archive")
        total += zi.file_size
        ratio = zi.file_size / max(zi.compress_size, 1)
        if zi.file_size > (1 << 20) and ratio > MAX_RATIO:
            raise ReadError(path, f"zip member {name[:80]!r} expands {ratio:.0f}x (zip bomb protection)")
    if total > limit:
        raise ReadError(path, f"archive expands to {total} bytes, more than the limit of {limit} bytes "
                              "(zip bomb protection; see max_uncompressed)")


def _direction_from_status(status, current: np.ndarray) -> np.ndarray:
    """NEWARE step status -> direction: '*DChg*' -1, '*Chg*' +1, 'Rest' 0, others by current sign.

    The status strings are classified once per distinct value (``pandas.factorize``), not per record.
    """
    codes, uniques = pd.factorize(pd.Series(status), use_na_sentinel=False)
    d = np.sign(np.nan_to_num(np.asarray(current, dtype=float))).astype(np.int8)
    table = np.full(len(uniques), 2, dtype=np.int8)  # 2 = follow the current
    for k, u in enumerate(uniques):
        low = str(u).lower()
        if "dchg" in low or "discharge" in low:
            table[k] = -1
        elif "chg" in low or "charge" in low:
            table[k] = 1
        elif "rest" in low or "pause" in low or "ocv" in low:
            table[k] = 0
    mapped = table[codes]
    return np.where(mapped == 2, d, mapped).astype(np.int8)


def test_time_from_step_time(step_time: np.ndarray, step_id: np.ndarray) -> np.ndarray:
    """Test time (s) from NEWARE's step time: each step starts where the previous one ended."""
    st = np.asarray(step_time, dtype=float)
    n = st.size
    starts = np.flatnonzero(np.r_[True, step_id[1:] != step_id[:-1]])
    ends = np.r_[starts[1:] - 1, n - 1]
    dur = st[ends] - st[starts]
    offs = np.r_[0.0, np.cumsum(dur)[:-1]] - st[starts]
    seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    return st + offs[seg]


def read_nda(path, *, sha256: str | None = None, max_uncompressed: int | None = None, data: bytes | None = None,
             **_ignored) -> xr.Dataset:
    """Read a NEWARE ``.nda`` or ``.ndax`` file through NewareNDA.

    Parameters
    ----------
    path : path-like
        The file.
    sha256 : str, optional
        File digest.
    max_uncompressed : int, optional
        Zip-bomb limit for ``.ndax`` (bytes).
    data : bytes, optional
        File content already read (used for the zip check).

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``: test time accumulated from the step times (s), voltage (V), current (mA,
        NEWARE's sign: positive = charge), capacity (mAh within the half-cycle), cycle, step
        (NEWARE's running step counter), direction from the step status; auxiliary temperature
        T1 in K as ``temperature``, other auxiliary channels as ``aux_*``.
    """
    try:
        import NewareNDA
    except ImportError:  # pragma: no cover
        raise ReadError(path, "reading NEWARE files needs the NewareNDA package") from None
    head = data[:8] if data is not None else open(path, "rb").read(8)
    is_zip = head.startswith(b"PK")
    if is_zip:
        check_zip(path, data, max_uncompressed)
    elif not head.startswith(b"NEWARE"):
        raise ReadError(path, "not a NEWARE .nda/.ndax file (no NEWARE or zip signature)")
    import os
    import tempfile
    import warnings

    want = ".ndax" if is_zip else ".nda"
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="ssb-nda-") as tmp:
            warnings.simplefilter("ignore")
            src = str(path)
            if os.path.splitext(src)[1].lower() != want:
                # NewareNDA chooses its parser by extension; we chose by content
                src = os.path.join(tmp, "data" + want)
                try:
                    os.symlink(os.path.abspath(str(path)), src)
                except OSError:
                    import shutil

                    shutil.copyfile(path, src)
            df = NewareNDA.read(src, log_level="CRITICAL")
    except ReadError:
        raise
    except MemoryError:
        raise ReadError(path, "file too large to read into memory") from None
    except Exception as exc:  # NewareNDA raises many kinds on damaged files
        raise ReadError(path, f"damaged or unsupported NEWARE file ({type(exc).__name__}: {_first(exc)})") from None
    return from_newarenda_frame(path, df, sha256=sha256, fmt="ndax" if is_zip else "nda")


def from_newarenda_frame(path, df: pd.DataFrame, *, sha256: str | None = None, fmt: str = "nda") -> xr.Dataset:
    """Convert the record table returned by ``NewareNDA.read`` to a ``cycling`` dataset.

    Parameters
    ----------
    path : path-like
        Source file (provenance, messages).
    df : pandas.DataFrame
        NewareNDA's table (columns Index, Cycle, Step, Step_Index, Status, Time, Voltage,
        Current(mA), capacities, energies, Timestamp, auxiliary channels).
    sha256 : str, optional
        File digest.
    fmt : {"nda", "ndax"}
        Recorded in the ``format`` attribute.

    Returns
    -------
    xarray.Dataset
        Kind ``cycling`` (see :func:`read_nda`).
    """
    if df is None or len(df) == 0:
        raise ReadError(path, "the NEWARE file holds no data records")
    need = [c for c in ("Time", "Voltage", "Current(mA)", "Step", "Cycle", "Status") if c not in df.columns]
    if need:
        raise ReadError(path, f"NewareNDA returned no {need} column(s)")
    cur = df["Current(mA)"].to_numpy(dtype=float)
    step = df["Step"].to_numpy(dtype=np.int64)
    t = test_time_from_step_time(df["Time"].to_numpy(dtype=float), step)
    direction = _direction_from_status(df["Status"].to_numpy(), cur)
    thr = None
    if "Charge_Capacity(mAh)" in df.columns and "Discharge_Capacity(mAh)" in df.columns:
        thr = np.abs(df["Charge_Capacity(mAh)"].to_numpy(dtype=float)) + np.abs(
            df["Discharge_Capacity(mAh)"].to_numpy(dtype=float))
    known = {"Index", "Cycle", "Step", "Step_Index", "Status", "Time", "Voltage", "Current(mA)",
             "Charge_Capacity(mAh)", "Discharge_Capacity(mAh)", "Charge_Energy(mWh)", "Discharge_Energy(mWh)",
             "Timestamp"}
    temp = None
    extra = {"step_index": (df["Step_Index"].to_numpy(dtype=np.int64), "1", "step index in the protocol")} \
        if "Step_Index" in df.columns else {}
    extra["step_time"] = (df["Time"].to_numpy(dtype=float), "s", "time within the step")
    for c in ("Charge_Energy(mWh)", "Discharge_Energy(mWh)"):
        if c in df.columns:
            extra[sanitize_name(c.split("(")[0])] = (df[c].to_numpy(dtype=float), "mWh", c)
    aux_names = []
    for c in df.columns:
        if c in known:
            continue
        vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        aux_names.append(str(c))
        if str(c).startswith("T") and str(c)[1:].isdigit():
            if temp is None:
                temp = vals + 273.15
                continue
            extra[f"aux_{sanitize_name(c)}"] = (vals + 273.15, "K", f"auxiliary temperature {c}")
        elif str(c).startswith("V") and str(c)[1:].isdigit():
            extra[f"aux_{sanitize_name(c)}"] = (vals, "V", f"auxiliary voltage {c}")
        else:
            extra[f"aux_{sanitize_name(c, 'unknown')}"] = (vals, "", f"auxiliary channel {c} (unknown type)")
    attrs = {"instrument": "NEWARE", "format": fmt,
             "original_columns": ", ".join(map(str, df.columns))}
    if "Timestamp" in df.columns:
        ts = pd.to_datetime(df["Timestamp"].iloc[0], errors="coerce")
        if ts is not pd.NaT and not pd.isna(ts):
            attrs["start_time"] = ts.isoformat()
    if aux_names:
        attrs["auxiliary_channels"] = ", ".join(aux_names)
    return make_cycling(
        path, time_s=t, voltage_v=df["Voltage"].to_numpy(dtype=float), current_ma=cur,
        cycle=df["Cycle"].to_numpy(dtype=np.int64), step=step, direction=direction, throughput_mah=thr,
        reader="neware-nda (NewareNDA)", sha256=sha256, attrs=attrs, extra=extra, temperature_k=temp,
        columns={"time": "Time (step time, accumulated)", "voltage": "Voltage", "current": "Current(mA)",
                 "cycle": "Cycle", "step": "Step",
                 "capacity": "Charge_Capacity(mAh)+Discharge_Capacity(mAh)"},
    )


def read_btsda_csv(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read a NEWARE BTSDA CSV export: the flat record table or the nested 'regular' export.

    Parameters
    ----------
    path : path-like
        The file.
    text : str
        Decoded content.
    sha256 : str, optional
        File digest.

    Returns
    -------
    xarray.Dataset
        Kind ``cycling`` (current A -> mA, capacities Ah -> mAh, ``HH:MM:SS`` times -> s).
    """
    lines = text.splitlines()
    if not lines:
        raise ReadError(path, "the file is empty")
    first = lines[0]
    if first.startswith("Cycle Index") and len(lines) > 2 and lines[1].startswith(",Step Index") \
            and lines[2].startswith(",,"):
        return _read_nested(path, lines, sha256=sha256)
    import io as _io

    try:
        df = pd.read_csv(_io.StringIO(text), low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(path, f"malformed NEWARE CSV: {str(exc).splitlines()[0][:160]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    status = "Step Type" if "Step Type" in df.columns else None
    if "Step Type" in df.columns:
        df = df.rename(columns={"Step Type": "Status"})
    return read_cycling_frame(path, df, reader="neware-btsda-csv", sha256=sha256, header_line=1,
                              attrs={"instrument": "NEWARE", "format": "BTSDA CSV export (flat)"},
                              status_map=_direction_from_status if status else None,
                              columns={"time": "Cumulative Time"} if "Cumulative Time" in df.columns else None)


def _read_nested(path, lines: list[str], *, sha256: str | None) -> xr.Dataset:
    """Nested BTSDA export: cycle rows, step rows (one leading comma), record rows (two)."""
    cyc_hdr = lines[0].split(",")
    step_hdr = lines[1].split(",")[1:]
    rec_hdr = lines[2].split(",")[2:]
    nstep = len(step_hdr)
    ncyc = len(cyc_hdr)
    rows, cycles, steps, stypes, nums = [], [], [], [], []
    cyc = step = None
    stype = ""
    for k, ln in enumerate(lines[3:], start=4):
        if not ln.strip():
            continue
        if ln.startswith(",,"):
            if cyc is None or step is None:
                raise ReadError(path, "data record before any cycle/step row", k)
            f = ln.split(",")[2:]
            if len(f) < len(rec_hdr):
                raise ReadError(path, f"record row has {len(f)} fields, expected {len(rec_hdr)}", k)
            rows.append(f[:len(rec_hdr)])
            cycles.append(cyc)
            steps.append(step)
            stypes.append(stype)
            nums.append(k)
        elif ln.startswith(","):
            f = ln.split(",")[1:]
            try:
                step = int(f[0])
            except (ValueError, IndexError):
                raise ReadError(path, f"bad step row {ln[:40]!r}", k) from None
            stype = f[2] if len(f) > 2 else ""
        else:
            f = ln.split(",")
            try:
                cyc = int(f[0])
            except ValueError:
                raise ReadError(path, f"bad cycle row {ln[:40]!r}", k) from None
            if len(f) >= ncyc + nstep:  # first step on the cycle's line
                sf = f[ncyc:]
                try:
                    step = int(sf[0])
                except ValueError:
                    raise ReadError(path, f"bad step fields in cycle row {ln[:40]!r}", k) from None
                stype = sf[2] if len(sf) > 2 else ""
    if not rows:
        raise ReadError(path, "no data records in the nested NEWARE export")
    df = pd.DataFrame(rows, columns=[c.strip() for c in rec_hdr])
    need = ["Total Time", "Current(A)", "Voltage(V)"]
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise ReadError(path, f"record header lacks {miss}", 3)
    t = to_seconds(df["Total Time"])
    if np.any(np.isnan(t)):
        bad = int(np.flatnonzero(np.isnan(t))[0])
        raise ReadError(path, f"unreadable total time {df['Total Time'].iloc[bad]!r}", nums[bad])

    def fnum(c):
        return pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)

    cur = fnum("Current(A)") * 1e3
    direction = _direction_from_status(np.asarray(stypes), cur)
    thr = np.abs(fnum("Capacity(Ah)")) * 1e3 if "Capacity(Ah)" in df.columns else None
    temp = None
    tcol = next((c for c in df.columns if c.startswith("T1")), None)
    if tcol is not None:
        temp = fnum(tcol) + 273.15
    extra = {}
    for c in df.columns:
        if c.startswith("V1"):
            extra["aux_v1"] = (fnum(c), "V", f"auxiliary voltage {c}")
    step_id = np.cumsum(np.r_[True, (np.diff(steps) != 0) | (np.diff(cycles) != 0)])
    return make_cycling(path, time_s=t, voltage_v=fnum("Voltage(V)"), current_ma=cur, cycle=np.asarray(cycles),
                        step=step_id, direction=direction, throughput_mah=thr, reader="neware-btsda-csv",
                        sha256=sha256, temperature_k=temp, extra=extra,
                        attrs={"instrument": "NEWARE", "format": "BTSDA CSV export (nested regular export)",
                               "original_columns": ",".join(rec_hdr)},
                        columns={"time": "Total Time", "voltage": "Voltage(V)", "current": "Current(A)",
                                 "capacity": "Capacity(Ah)", "temperature": tcol})
