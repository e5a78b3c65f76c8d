"""Instrument readers: every common EIS and cycler file into the project's data model.

>>> import analysis.io
>>> ds = analysis.io.read("PEIS_LPSCl.mpt")            # doctest: +SKIP
>>> analysis.io.sniff("PEIS_LPSCl.mpt")                 # doctest: +SKIP
'biologic-mpt'

The format is detected from the file's content (signatures and header rows), the extension
only breaks ties. Every dataset carries the provenance attributes ``source_file``, ``reader``
and ``sha256``, the original column names (``original_name`` / ``original_columns``), and is
validated against :mod:`analysis.schema`. Anything wrong with the file raises
:class:`ReadError`, whose message names the file, the reason and, for text, the line.

Policies (documented in ``docs/formats.md``): frequencies are sorted high to low (files whose
frequencies are not monotonic are sorted, with a ``note`` attribute); duplicate frequencies
within one spectrum, frequencies <= 0 and NaN/inf values are refused; several spectra in one
file become a ``loop`` dimension.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analysis.io._common import (DEFAULT_MAX_SIZE, ReadError, check_file, decode_text, display_name,
                                 sha256_file)

__all__ = ["read", "read_bytes", "sniff", "detect_format", "formats", "FORMATS", "ReadError", "FormatInfo"]


@dataclass(frozen=True)
class FormatInfo:
    """One supported file format.

    Attributes
    ----------
    name : str
        Identifier used by ``read(..., format=name)`` and in the ``reader`` attribute.
    kind : str
        Dataset kind it produces (``eis``, ``cycling``, ``pressure_log`` or ``eis|cycling``).
    instrument : str
        Instrument / software family.
    extensions : tuple of str
        Usual file extensions (informative only; detection uses the content).
    description : str
        One line for the documentation and the CLI.
    """

    name: str
    kind: str
    instrument: str
    extensions: tuple[str, ...]
    description: str


FORMATS: dict[str, FormatInfo] = {f.name: f for f in (
    FormatInfo("biologic-mpt", "eis|cycling", "BioLogic EC-Lab / BT-Lab", (".mpt", ".txt"),
               "ASCII export: PEIS/GEIS spectra or GCPL/CA/modulo-bat records; any locale; header optional"),
    FormatInfo("biologic-mpr", "eis|cycling", "BioLogic EC-Lab / BT-Lab", (".mpr",),
               "binary file, decoded by galvani"),
    FormatInfo("gamry-dta", "eis", "Gamry Framework", (".dta",),
               "EISPOT / EISGALV .DTA, ZCURVE table (drift-corrected Zreal/Zimag when present)"),
    FormatInfo("zview-z", "eis", "Scribner ZPlot / ZView", (".z",), "ZPLOT2 ASCII .z file"),
    FormatInfo("autolab-txt", "eis", "Metrohm Autolab (FRA / Z60W export)", (".txt", ".csv"),
               "Z60W-style text: counted table of Freq, Ampl, Bias, Time, Z', Z''"),
    FormatInfo("parstat-txt", "eis", "Princeton Applied Research Parstat (VersaStudio)", (".txt",),
               "tab text: DC rows (frequency 0) are skipped, EIS rows kept"),
    FormatInfo("relaxis-txt", "eis", "rhd instruments RelaxIS", (".txt",), "RelaxIS spectrum export"),
    FormatInfo("squidstat-csv", "eis", "Admiral Instruments Squidstat", (".csv",),
               "Squidstat CSV: Frequency (Hz), Z' (Ohms), -Z'' (Ohms) ..."),
    FormatInfo("generic-eis", "eis", "any", (".csv", ".txt", ".dat"),
               "delimited text: headerless f, Z', Z'' or named columns (Cartesian or |Z|/phase; loop column)"),
    FormatInfo("neware-nda", "cycling", "NEWARE BTS", (".nda", ".ndax"), "binary .nda / .ndax, decoded by NewareNDA"),
    FormatInfo("neware-csv", "cycling", "NEWARE BTSDA", (".csv",), "BTSDA CSV export (flat or nested regular export)"),
    FormatInfo("maccor-txt", "cycling", "Maccor", (".txt", ".0*"), "Maccor text export (tab separated; any encoding)"),
    FormatInfo("arbin-res", "cycling", "Arbin", (".res",), "MS Access .res, read with mdbtools (mdb-export)"),
    FormatInfo("arbin-csv", "cycling", "Arbin", (".csv",), "Arbin CSV export (Data_Point, Test_Time, ...)"),
    FormatInfo("arbin-xlsx", "cycling", "Arbin", (".xlsx",), "Arbin Excel export (Channel_* sheets), via openpyxl"),
    FormatInfo("generic-cycling", "cycling", "any", (".csv", ".txt"),
               "delimited text with time, voltage and current columns (units from the headers)"),
    FormatInfo("pressure-log", "pressure_log", "stack-pressure logger", (".csv", ".txt"),
               "timestamped pressure CSV (pressure in MPa, kPa, bar, psi, N with an area)"),
    FormatInfo("ssb-netcdf", "any", "ssb-explorer data model", (".nc",),
               "NetCDF in the project's data model (a pellet series assembled in a notebook, a dataset "
               "downloaded from the Data page)"),
)}


def formats() -> list[FormatInfo]:
    """Return the supported formats (see :data:`FORMATS`)."""
    return list(FORMATS.values())


def _first_lines(text: str, n: int = 8) -> list[str]:
    return text[:20000].splitlines()[:n]


def detect_format(path, data: bytes | None = None) -> str:
    """Identify the format of a file from its content (the extension only breaks ties).

    Parameters
    ----------
    path : path-like
        The file.
    data : bytes, optional
        Its content (read when None; at most the first 64 KiB are needed).

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    ReadError
        Unknown or empty file.
    """
    if data is None:
        check_file(path)
        with open(path, "rb") as fh:
            data = fh.read(65536)
    data = data[:65536]
    if not data:
        raise ReadError(path, "the file is empty")
    ext = os.path.splitext(str(path))[1].lower()
    head = data[:65536]
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return "biologic-mpr"
    from analysis.io.netcdf import is_netcdf

    if is_netcdf(head):
        return "ssb-netcdf"
    if head.startswith(b"NEWARE"):
        return "neware-nda"
    if head[4:19] in (b"Standard Jet DB", b"Standard ACE DB"):
        return "arbin-res"
    if head.startswith(b"PK"):
        if b"xl/" in head or b"[Content_Types].xml" in head or ext in (".xlsx", ".xlsm"):
            return "arbin-xlsx"
        return "neware-nda"
    if ext in (".nda", ".ndax"):
        return "neware-nda"
    if ext == ".mpr":
        return "biologic-mpr"
    if ext == ".res":
        return "arbin-res"
    try:
        text = decode_text(path, head)
    except ReadError:
        raise ReadError(path, "unknown binary format (no known instrument signature)") from None
    lines = _first_lines(text, 12)
    if not lines or not any(ln.strip() for ln in lines):
        raise ReadError(path, "the file contains no text")
    first = lines[0].strip().strip('"').lstrip("\ufeff")
    up = first.upper()
    if up.startswith(("EC-LAB ASCII FILE", "BT-LAB ASCII FILE")):
        return "biologic-mpt"
    if first.startswith("mode\tox/red") or (first.startswith("freq/Hz\t") and "Re(Z)/Ohm" in first):
        return "biologic-mpt"
    if up == "EXPLAIN" or b"ZCURVE\tTABLE" in head:
        return "gamry-dta"
    if up.startswith("ZPLOT") or up.startswith("ZVIEW"):
        return "zview-z"
    if "Z60W" in first or "FRA" == up[:3]:
        return "autolab-txt"
    if up.startswith("RELAXIS"):
        return "relaxis-txt"
    if first.startswith("Today's Date") or re.search(r"(^|\n)Rec#?\t", text[:20000]):
        return "maccor-txt"
    low = first.lower()
    if "elapsed time (s)" in low and "frequency (hz)" in low and "zre" in low:
        return "parstat-txt"
    if first.startswith("Cycle Index,Chg. Cap.") or first.startswith("DataPoint,Cycle Index") or \
            ("Step Type" in first and "Cycle Index" in first):
        return "neware-csv"
    if "Data_Point" in first and ("Test_Time" in first or "Test Time" in first):
        return "arbin-csv"
    if "squidstat" in text[:3000].lower() or ("z' (ohms)" in low and "-z'' (ohms)" in low):
        return "squidstat-csv"
    return _guess_generic(path, text)


def _guess_generic(path, text: str) -> str:
    from analysis.io._columns import UnitError, cycling_columns, eis_columns
    from analysis.io.generic import detect_layout, find_header, split_line

    lines = text.splitlines()
    first, sep, _dc = detect_layout(lines)
    if first < 0:
        # a header with rows that are not numeric (timestamps): pressure logs
        names = split_line(lines[0], "," if "," in lines[0] else ("\t" if "\t" in lines[0] else ";")) if lines else []
        low = [n.lower() for n in names]
        if any("pressure" in n or n.startswith(("p/", "p (", "force")) for n in low) and \
                any(("time" in n or "date" in n) for n in low):
            return "pressure-log"
        raise ReadError(path, "unknown format: no table of two or more numeric columns and no known instrument "
                              "header")
    ncols = len(split_line(lines[first], sep))
    _h, names = find_header(lines, first, sep, ncols)
    if names is None:
        return "generic-eis"
    try:
        ec = eis_columns(names)
    except UnitError:
        ec = {"frequency": None}
    if "frequency" in ec:
        return "generic-eis"
    low = [n.lower() for n in names]
    pressure_like = any("pressure" in n or n.startswith(("force", "p/", "p (", "p[")) for n in low)
    try:
        cc = cycling_columns(names)
    except UnitError:
        return "generic-cycling"
    if "voltage" in cc and "current" in cc:
        return "generic-cycling"
    if pressure_like:
        return "pressure-log"
    if "voltage" in cc or "current" in cc:
        return "generic-cycling"
    return "generic-eis"


#: alias: the issue calls it ``sniff``
def sniff(path, data: bytes | None = None) -> str:
    """Alias of :func:`detect_format`: the format key of ``path`` judged from its content."""
    return detect_format(path, data)


_UNSAFE_NAME = re.compile(r"(^|[\\/])\.\.([\\/]|$)|[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    """Validate an uploaded file name: no directories, no ``..``, no control characters.

    Parameters
    ----------
    name : str
        The name as given by the user / browser.

    Returns
    -------
    str
        The same name.

    Raises
    ------
    ReadError
        If the name could escape a directory or is unprintable.
    """
    if not name or _UNSAFE_NAME.search(name) or "/" in name or "\\" in name or name in (".", ".."):
        shown = re.sub(r"[\x00-\x1f\x7f]", "?", name or "")[:200]
        raise ReadError("upload", f"unsafe file name {shown!r} (path separators, '..' or control characters)")
    if len(name) > 255:
        raise ReadError(name[:60] + "...", "file name longer than 255 characters")
    return name


def read(path, kind: str | None = None, *, format: str | None = None, max_size: int | None = None,
         name: str | None = None, **options):
    """Read an instrument file into the project's data model.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    kind : {"eis", "cycling", "pressure_log", "pellet_eis", "insitu_eis", "dc_polarisation"}, optional
        Expected dataset kind; a file of another kind raises :class:`ReadError`. For BioLogic
        files holding both, selects the interpretation.
    format : str, optional
        Force a reader (a key of :data:`FORMATS`) instead of detecting it.
    max_size : int, optional
        Largest accepted file size in bytes (default 2 GiB).
    name : str, optional
        Original file name (e.g. of an upload); validated and used as ``source_file``.
    **options
        Reader options: ``columns`` (explicit column map for generic tables, e.g.
        ``{"frequency": "Freq", "z_mod": "Mod", "phase": "Phz"}``), ``max_uncompressed``
        (``.ndax`` zip-bomb limit, bytes), ``sheet`` (xlsx sheet name), ``area_cm2`` (pressure
        logs given as force in N), ``max_line`` (longest accepted text line, characters).

    Returns
    -------
    xarray.Dataset
        Kind ``eis`` (dims ``frequency`` or ``(loop, frequency)``; ``z_real``/``z_imag`` in ohm,
        frequency in Hz), ``cycling`` (dim ``record``; s, V, mA, mAh) or ``pressure_log``
        (s since ``start_time``, MPa), with ``source_file``, ``reader``, ``sha256`` attributes.

    Raises
    ------
    ReadError
        Unknown format, damaged file, missing columns, invalid values; the message names the
        file, the reason and the line.
    """
    if name is not None:
        check_name(name)
    limit = DEFAULT_MAX_SIZE if max_size is None else int(max_size)
    check_file(path, limit)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ReadError(path, f"file larger than the limit of {limit} bytes (max_size)")
    if not data:
        raise ReadError(path, "the file is empty")
    fmt = format or detect_format(name if name else path, data[:65536])
    if fmt not in FORMATS:
        raise ReadError(path, f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    try:
        ds = _dispatch(fmt, path, data, sha, kind, options)
    except ReadError as exc:
        if name is not None:
            raise ReadError(name, exc.reason, exc.line) from None
        raise
    except (MemoryError, RecursionError):
        raise ReadError(path, "file too large or too deeply nested to read") from None
    if kind is not None and ds.attrs.get("kind") != kind:
        raise ReadError(path, f"holds {ds.attrs.get('kind')} data, not {kind}")
    if name is not None:
        ds.attrs["source_file"] = display_name(name)
    ds.attrs.setdefault("format", fmt)
    ds.attrs["format_id"] = fmt
    return ds


def _dispatch(fmt: str, path, data: bytes, sha: str, kind, options):
    if fmt == "biologic-mpr":
        from analysis.io.biologic import read_mpr

        return read_mpr(path, data, sha256=sha, kind=kind, **options)
    if fmt == "neware-nda":
        from analysis.io.neware import read_nda

        return read_nda(path, sha256=sha, data=data, **options)
    if fmt == "arbin-res":
        from analysis.io.arbin import read_res

        return read_res(path, sha256=sha, **options)
    if fmt == "arbin-xlsx":
        from analysis.io.arbin import read_xlsx

        return read_xlsx(path, data, sha256=sha, **options)
    if fmt == "ssb-netcdf":
        from analysis.io.netcdf import read_netcdf

        return read_netcdf(path, data, sha256=sha, kind=kind)
    text = decode_text(path, data, options.pop("max_line", None))
    if fmt == "biologic-mpt":
        from analysis.io.biologic import read_mpt

        return read_mpt(path, text, sha256=sha, kind=kind, **options)
    if fmt == "gamry-dta":
        from analysis.io.gamry import read_dta

        return read_dta(path, text, sha256=sha, **options)
    if fmt == "zview-z":
        from analysis.io.zview import read_z

        return read_z(path, text, sha256=sha, **options)
    if fmt == "autolab-txt":
        from analysis.io.autolab import read_autolab

        return read_autolab(path, text, sha256=sha, **options)
    if fmt == "parstat-txt":
        from analysis.io.parstat import read_parstat

        return read_parstat(path, text, sha256=sha, **options)
    if fmt == "relaxis-txt":
        from analysis.io.relaxis import read_relaxis

        return read_relaxis(path, text, sha256=sha, **options)
    if fmt in ("squidstat-csv", "generic-eis"):
        from analysis.io.generic import read_eis_text

        return read_eis_text(path, text, sha256=sha, reader=fmt,
                             attrs={"instrument": "Admiral Squidstat"} if fmt == "squidstat-csv" else None,
                             **options)
    if fmt == "neware-csv":
        from analysis.io.neware import read_btsda_csv

        return read_btsda_csv(path, text, sha256=sha, **options)
    if fmt == "maccor-txt":
        from analysis.io.maccor import read_maccor

        return read_maccor(path, text, sha256=sha, **options)
    if fmt == "arbin-csv":
        from analysis.io.arbin import read_arbin_csv

        return read_arbin_csv(path, text, sha256=sha, **options)
    if fmt == "generic-cycling":
        from analysis.io.generic import read_cycling_text

        return read_cycling_text(path, text, sha256=sha, **options)
    if fmt == "pressure-log":
        from analysis.io.pressure import read_pressure_log

        return read_pressure_log(path, text, sha256=sha, **options)
    raise ReadError(path, f"no reader for format {fmt!r}")  # pragma: no cover


def read_bytes(data: bytes, name: str, kind: str | None = None, **options):
    """Read an uploaded file given as bytes (the dashboard's upload page).

    Parameters
    ----------
    data : bytes
        File content.
    name : str
        The uploaded file's name (validated: no directories, no ``..``); the extension helps
        detection and the name becomes ``source_file``.
    kind : str, optional
        Expected dataset kind.
    **options
        As for :func:`read`.

    Returns
    -------
    xarray.Dataset
        As :func:`read`.
    """
    check_name(name)
    suffix = os.path.splitext(name)[1][:16]
    if not re.fullmatch(r"\.[A-Za-z0-9_]*", suffix or "."):
        suffix = ""
    with tempfile.TemporaryDirectory(prefix="ssb-upload-") as tmp:
        p = Path(tmp) / f"upload{suffix}"
        p.write_bytes(data)
        return read(p, kind, name=name, **options)


__all__ += ["check_name", "sha256_file"]
