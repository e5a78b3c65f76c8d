"""Arbin cyclers: ``.res`` (MS Access, via mdbtools' ``mdb-export``), CSV and Excel exports.

``.res`` files are Access databases; the Debian/Ubuntu package ``mdbtools`` provides
``mdb-export``, which we call with a timeout (no shell) to export ``Channel_Normal_Table``
(and ``Auxiliary_Table`` for temperatures when present). Arbin's current is in A, positive
for charge; capacities are in Ah, cumulative within a cycle.
"""
from __future__ import annotations

import io
import shutil
import subprocess

import pandas as pd
import xarray as xr

from analysis.io._common import ReadError, _first
from analysis.io.generic import read_cycling_frame

_RENAME = {"Current": "Current(A)", "Voltage": "Voltage(V)", "Charge_Capacity": "Charge_Capacity(Ah)",
           "Discharge_Capacity": "Discharge_Capacity(Ah)", "Test_Time": "Test_Time(s)", "Temperature": "Temperature(C)"}


def _frame(path, df: pd.DataFrame, *, reader: str, sha256, attrs) -> xr.Dataset:
    df = df.rename(columns={k: v for k, v in _RENAME.items() if k in df.columns})
    drop = [c for c in df.columns if c.startswith(("Step_Time", "DateTime", "Date_Time"))]
    keep = df.drop(columns=drop)
    ds = read_cycling_frame(path, keep, reader=reader, sha256=sha256, attrs=attrs,
                            columns={k: v for k, v in (("cycle", "Cycle_Index"), ("step", "Step_Index"))
                                     if v in keep.columns}, header_line=1)
    for c in ("DateTime", "Date_Time"):
        if c in df.columns and len(df):
            v = df[c].iloc[0]
            try:
                ts = pd.Timestamp((float(v) - 25569.0) * 86400.0, unit="s") if isinstance(v, (int, float)) \
                    else pd.Timestamp(v)
                ds.attrs["start_time"] = ts.isoformat()
            except (ValueError, TypeError, OverflowError):
                pass
    return ds


def read_res(path, *, sha256: str | None = None, timeout: float = 300.0, **_ignored) -> xr.Dataset:
    """Read an Arbin ``.res`` file with ``mdb-export`` (package mdbtools).

    Parameters
    ----------
    path : path-like
        The file.
    sha256 : str, optional
        File digest.
    timeout : float
        Seconds allowed for ``mdb-export``.

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``.

    Raises
    ------
    ReadError
        mdbtools missing, not an Access database, no ``Channel_Normal_Table``.
    """
    exe = shutil.which("mdb-export")
    if exe is None:
        raise ReadError(path, "reading Arbin .res files needs mdbtools (mdb-export); install it with "
                              "'apt-get install mdbtools' or 'conda install -c conda-forge mdbtools'")
    try:
        out = subprocess.run([exe, str(path), "Channel_Normal_Table"], capture_output=True, timeout=timeout,
                             check=False)
    except subprocess.TimeoutExpired:
        raise ReadError(path, f"mdb-export took longer than {timeout:g} s") from None
    if out.returncode != 0 or not out.stdout.strip():
        msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ReadError(path, "not a readable Arbin .res database (mdb-export: "
                              f"{msg[0][:120] if msg else 'no Channel_Normal_Table'})")
    try:
        df = pd.read_csv(io.BytesIO(out.stdout), low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(path, f"unexpected mdb-export output ({_first(exc)})") from None
    if len(df) == 0:
        raise ReadError(path, "Channel_Normal_Table holds no records")
    sort = [c for c in ("Test_ID", "Data_Point") if c in df.columns]
    if sort:
        df = df.sort_values(sort, kind="stable").reset_index(drop=True)
    attrs = {"instrument": "Arbin", "format": "res (MS Access)"}
    # auxiliary temperatures (Auxiliary_Table, Data_Type 1 = temperature, first auxiliary index);
    # best effort: an unreadable auxiliary table never prevents reading the main records
    try:
        aux = subprocess.run([exe, str(path), "Auxiliary_Table"], capture_output=True, timeout=timeout, check=False)
        if aux.returncode == 0 and aux.stdout.strip() and "Data_Point" in df.columns:
            at = pd.read_csv(io.BytesIO(aux.stdout))
            need = {"Data_Point", "Auxiliary_Index", "Data_Type", "X"}
            if len(at) and need.issubset(at.columns):
                at = at[at["Data_Type"] == 1]
                if len(at):
                    at = at[at["Auxiliary_Index"] == at["Auxiliary_Index"].min()].drop_duplicates("Data_Point")
                    m = df[["Data_Point"]].merge(at[["Data_Point", "X"]], how="left", on="Data_Point")
                    if m["X"].notna().any():
                        df["Temperature(C)"] = m["X"].to_numpy()
                        attrs["temperature_source"] = "Auxiliary_Table (Data_Type 1)"
    except (subprocess.TimeoutExpired, pd.errors.ParserError, ValueError, KeyError, TypeError):
        pass
    return _frame(path, df, reader="arbin-res (mdbtools)", sha256=sha256, attrs=attrs)


def read_arbin_csv(path, text: str, *, sha256: str | None = None, **_ignored) -> xr.Dataset:
    """Read an Arbin CSV export (``Data_Point, Test_Time, ..., Current, Voltage, ...``; A, V, Ah, degC).

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
        Kind ``cycling``.
    """
    try:
        df = pd.read_csv(io.StringIO(text), low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ReadError(path, f"malformed Arbin CSV: {str(exc).splitlines()[0][:160]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ReadError(path, "the Arbin CSV has no records", 1)
    return _frame(path, df, reader="arbin-csv", sha256=sha256, attrs={"instrument": "Arbin"})


def read_xlsx(path, data: bytes, *, sha256: str | None = None, sheet: str | None = None,
              max_uncompressed: int | None = None, **_ignored) -> xr.Dataset:
    """Read an Arbin Excel export: the ``Channel_*`` sheets (concatenated in order), via openpyxl.

    Parameters
    ----------
    path : path-like
        The file.
    data : bytes
        Its content (zip directory checked first: zip-bomb protection).
    sha256 : str, optional
        File digest.
    sheet : str, optional
        Read only this sheet.
    max_uncompressed : int, optional
        Zip-bomb limit (bytes).

    Returns
    -------
    xarray.Dataset
        Kind ``cycling``.
    """
    from analysis.io.neware import check_zip

    check_zip(path, data, max_uncompressed if max_uncompressed is not None else 2 * 1024**3)
    try:
        import openpyxl  # noqa: F401  (checked here for a clear message)
    except ImportError:  # pragma: no cover
        raise ReadError(path, "reading .xlsx files needs openpyxl") from None
    try:
        xl = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
        names = [sheet] if sheet else [s for s in xl.sheet_names if s.lower().startswith("channel")]
        if sheet and sheet not in xl.sheet_names:
            raise ReadError(path, f"no sheet {sheet!r}; sheets: {xl.sheet_names}")
        if not names:
            raise ReadError(path, f"no Channel_* sheet (sheets: {xl.sheet_names[:10]}); pass sheet=")
        frames = [pd.read_excel(xl, sheet_name=s) for s in names]
    except ReadError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged workbooks
        raise ReadError(path, f"damaged or unsupported Excel file ({type(exc).__name__}: {_first(exc)})") from None
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ReadError(path, "the Channel sheet(s) hold no records")
    return _frame(path, df, reader="arbin-xlsx", sha256=sha256,
                  attrs={"instrument": "Arbin", "format": "xlsx export", "sheets": ", ".join(names)})


__all__ = ["read_res", "read_arbin_csv", "read_xlsx"]
