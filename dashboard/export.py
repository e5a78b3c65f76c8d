"""Exports for the dashboard: datasets (NetCDF, CSV), fit tables (CSV) and figures (HTML, PNG, SVG).

Everything returns ``bytes`` ready for a ``pn.widgets.FileDownload`` callback. Tables and
datasets are written with their units in the CSV column names (``z_real (ohm)``), so a
spreadsheet opened a year later still says what the numbers are.

Figures: standalone HTML always works (Bokeh's JavaScript is inlined, no internet needed).
PNG and SVG are rendered by Bokeh's own exporters in a headless Chromium driven by Playwright
(the same Debian ``/usr/bin/chromium`` the browser tests use; ``SSB_CHROMIUM`` overrides). When
Playwright or Chromium is missing, :func:`image_export_status` says why and the Data page offers
HTML only; :func:`figure_png` / :func:`figure_svg` then raise :class:`ExportError` (never crash).
"""
from __future__ import annotations

import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from analysis.errors import SSBError

__all__ = [
    "ExportError", "dataset_netcdf", "dataset_csv", "table_frame", "table_csv", "fit_table_names",
    "fit_table", "figure_html", "figure_png", "figure_svg", "image_export_status", "chromium_path",
]

#: Fit tables offered for each dataset kind (name -> what it is).
FIT_TABLES = {
    "pellet_eis": {"conductivity": "conductivity per pellet and temperature (circuit fit)",
                   "arrhenius": "Arrhenius fit per pellet (Ea, sigma(25 C))"},
    "cycling": {"cycle_summary": "capacity, coulombic efficiency, retention per cycle"},
    "eis": {"circuit_fit": "equivalent-circuit fit of every spectrum (parameters with errors)"},
    "insitu_eis": {"circuit_fit": "equivalent-circuit fit of every spectrum (parameters with errors)"},
}
#: Circuit fitted to EIS datasets that do not name one in their attributes.
DEFAULT_EIS_CIRCUIT = "R0-p(R1,CPE1)-W1"


class ExportError(SSBError, RuntimeError):
    """An export could not be produced; the message says what and why."""


# --------------------------------------------------------------------------- datasets
def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """Copy of ``ds`` whose attributes NetCDF can store (None dropped, bools as int, lists joined)."""
    def fix(attrs: dict) -> dict:
        out = {}
        for k, v in attrs.items():
            if v is None:
                continue
            if isinstance(v, (bool, np.bool_)):
                v = int(v)
            elif isinstance(v, dict):
                v = repr(v)
            elif isinstance(v, (list, tuple)):
                v = "; ".join(map(str, v)) if any(isinstance(x, str) for x in v) else np.asarray(v)
            out[str(k)] = v
        return out

    out = ds.copy()
    out.attrs = fix(ds.attrs)
    for name in out.variables:
        out[name].attrs = fix(out[name].attrs)
    return out


def dataset_netcdf(ds: xr.Dataset) -> bytes:
    """Serialise a dataset of the data model to NetCDF-4 bytes (engine h5netcdf).

    Parameters
    ----------
    ds : xarray.Dataset
        Any dataset (units stay in the variables' ``units`` attributes).

    Returns
    -------
    bytes
        A NetCDF-4/HDF5 file that ``xarray.open_dataset`` reads back unchanged.

    Raises
    ------
    ExportError
        When the dataset cannot be written.
    """
    buf = io.BytesIO()
    try:
        _netcdf_safe(ds.load() if hasattr(ds, "load") else ds).to_netcdf(buf, engine="h5netcdf")
    except (ValueError, TypeError, OSError) as exc:
        raise ExportError(f"dataset {ds.attrs.get('source_file', '')!s}: cannot write NetCDF ({exc})") from None
    return buf.getvalue()


def _unit_name(name: str, var) -> str:
    units = (getattr(var, "attrs", {}) or {}).get("units")
    return f"{name} ({units})" if units and units != "1" else str(name)


def table_frame(table) -> pd.DataFrame:
    """A flat table (one row per point) of an xarray Dataset/DataArray or a DataFrame.

    Column names carry the units (``"z_real (ohm)"``); dimension coordinates become columns.

    Parameters
    ----------
    table : xarray.Dataset, xarray.DataArray or pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, xr.DataArray):
        table = table.to_dataset(name=table.name or "value")
    if not isinstance(table, xr.Dataset):
        raise ExportError(f"cannot export a {type(table).__name__} as a table")
    cplx = [v for v in table.data_vars if np.iscomplexobj(table[v].values)]
    if cplx:  # CSV has no complex numbers: real and imaginary parts side by side
        table = table.copy()
        for v in cplx:
            table[f"{v}_real"] = table[v].real.assign_attrs(table[v].attrs)
            table[f"{v}_imag"] = table[v].imag.assign_attrs(table[v].attrs)
        table = table.drop_vars(cplx)
    if table.sizes:
        df = table.to_dataframe().reset_index()
    else:
        df = pd.DataFrame({k: [v.item()] for k, v in table.data_vars.items()})
    return df.rename(columns={c: _unit_name(c, table[c]) for c in df.columns if c in table.variables})


def table_csv(table, comment: str | None = None) -> bytes:
    """CSV bytes (UTF-8) of a table; see :func:`table_frame`.

    Parameters
    ----------
    table : xarray.Dataset, xarray.DataArray or pandas.DataFrame
    comment : str, optional
        Written first as ``# ...`` lines (provenance: dataset, circuit, date).

    Returns
    -------
    bytes
    """
    df = table_frame(table)
    head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    return (head + df.to_csv(index=False, float_format="%.10g")).encode("utf-8")


def dataset_csv(ds: xr.Dataset) -> bytes:
    """CSV bytes of a dataset: one row per point, units in the column names, provenance on top.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    bytes
    """
    keep = ("title", "kind", "source_file", "reader", "sha256", "study", "synthetic", "store_id")
    comment = "\n".join(f"{k}: {ds.attrs[k]}" for k in keep if k in ds.attrs)
    return table_csv(ds, comment or None)


# --------------------------------------------------------------------------- fit tables
def fit_table_names(kind: str | None) -> dict[str, str]:
    """Fit tables offered for a dataset of ``kind`` (``{name: description}``, possibly empty)."""
    return dict(FIT_TABLES.get(kind or "", {}))


def fit_table(ds: xr.Dataset, table: str, circuit: str | None = None) -> xr.Dataset:
    """Compute fit table ``table`` of dataset ``ds`` through :mod:`analysis`.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset of the data model (its ``kind`` attribute or structure decides what is offered).
    table : str
        One of :func:`fit_table_names` for the dataset's kind.
    circuit : str, optional
        Equivalent circuit for EIS fits; default the dataset's ``circuit`` attribute, else
        :data:`DEFAULT_EIS_CIRCUIT` (pellets: :data:`analysis.pellets.PELLET_CIRCUIT`).

    Returns
    -------
    xarray.Dataset
        The table (units in the variables' attributes).

    Raises
    ------
    ExportError
        Unknown table for this kind; analysis errors pass through as
        :class:`analysis.errors.SSBError`.
    """
    from analysis.schema import detect_kind

    kind = ds.attrs.get("kind") or detect_kind(ds)
    if table not in FIT_TABLES.get(kind, {}):
        raise ExportError(f"no fit table {table!r} for a {kind} dataset "
                          f"(available: {', '.join(FIT_TABLES.get(kind, {})) or 'none'})")
    if kind == "pellet_eis":
        from analysis.pellets import PELLET_CIRCUIT, arrhenius_table, conductivity_table

        cond = conductivity_table(ds, circuit or ds.attrs.get("circuit") or PELLET_CIRCUIT)
        if table == "conductivity":
            return cond
        return arrhenius_table(cond, form=ds.attrs.get("arrhenius_form", "sigmaT"))
    if kind == "cycling":
        from analysis.cycling import summarize

        return summarize(ds)
    from analysis.eis.many import fit_many

    return fit_many(ds, circuit or ds.attrs.get("circuit") or DEFAULT_EIS_CIRCUIT)


# --------------------------------------------------------------------------- figures
def chromium_path() -> str | None:
    """The Chromium used for PNG/SVG export (``SSB_CHROMIUM`` or Debian's ``/usr/bin/chromium``)."""
    p = os.environ.get("SSB_CHROMIUM") or "/usr/bin/chromium"
    if Path(p).is_file():
        return p
    return shutil.which("chromium") or shutil.which("chromium-browser")


@lru_cache(maxsize=1)
def image_export_status() -> tuple[bool, str]:
    """Whether PNG/SVG export works here: ``(True, "")`` or ``(False, reason sentence)``."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, ("PNG/SVG export needs Playwright (pip install playwright) and Chromium; "
                       "download the figure as HTML instead.")
    if chromium_path() is None:
        return False, ("PNG/SVG export needs Chromium (apt-get install chromium); "
                       "download the figure as HTML instead.")
    return True, ""


def _bokeh_model(obj, width: int, height: int):
    from bokeh.model import Model

    if isinstance(obj, Model):
        return obj
    import holoviews as hv

    try:
        obj = obj.opts(width=width, height=height, clone=True)
    except Exception:  # noqa: BLE001 - not every object takes size options
        pass
    return hv.render(obj, backend="bokeh")


def figure_html(obj, title: str = "ssb-explorer figure", width: int = 800, height: int = 500) -> bytes:
    """A standalone interactive HTML file of a figure (Bokeh JS inlined: works offline).

    Parameters
    ----------
    obj : holoviews object or bokeh model
    title : str
        HTML page title.
    width, height : int
        Figure size (pixels) for HoloViews objects.

    Returns
    -------
    bytes
    """
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    try:
        model = _bokeh_model(obj, width, height)
        return file_html(model, INLINE, title).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - never crash the server on an export
        raise ExportError(f"cannot render the figure as HTML ({type(exc).__name__}: {exc})") from None


def _in_browser(fn):
    """Run ``fn(browser)`` with a headless Chromium, in a worker thread.

    Playwright's sync API refuses to run inside an asyncio loop (the Panel server's), hence
    the thread.
    """
    ok, why = image_export_status()
    if not ok:
        raise ExportError(why)

    def work():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            try:
                return fn(browser)
            finally:
                browser.close()

    try:
        with ThreadPoolExecutor(max_workers=1) as ex:
            return ex.submit(work).result(timeout=120)
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - never crash the server on an export
        raise ExportError(f"figure export in Chromium failed ({type(exc).__name__}: {exc})") from None


def figure_png(obj, width: int = 800, height: int = 500, scale: float = 2.0) -> bytes:
    """PNG bytes of a figure, rendered by Bokeh in headless Chromium.

    Parameters
    ----------
    obj : holoviews object or bokeh model
    width, height : int
        Figure size (CSS pixels).
    scale : float
        Pixel density (2 = a sharp image for papers and slides).

    Returns
    -------
    bytes

    Raises
    ------
    ExportError
        When Playwright/Chromium is unavailable or rendering failed (message says why).
    """
    from bokeh.io.export import get_screenshot_as_png

    model = _bokeh_model(obj, width, height)

    def shot(browser):
        img = get_screenshot_as_png(model, driver=browser, scale_factor=scale, timeout=30)
        out = io.BytesIO()
        img.save(out, format="PNG")
        return out.getvalue()

    return _in_browser(shot)


def figure_svg(obj, width: int = 800, height: int = 500) -> bytes:
    """SVG bytes of a figure (vector graphics; Bokeh's SVG backend in headless Chromium).

    Parameters
    ----------
    obj : holoviews object or bokeh model
    width, height : int
        Figure size (pixels).

    Returns
    -------
    bytes

    Raises
    ------
    ExportError
        When Playwright/Chromium is unavailable or rendering failed (message says why).
    """
    from bokeh.io.export import get_svgs

    model = _bokeh_model(obj, width, height)
    for m in model.select({"type": _plot_type()}):
        m.output_backend = "svg"

    def svgs(browser):
        out = get_svgs(model, driver=browser, timeout=30)
        if not out:
            raise ExportError("the figure produced no SVG")
        return out[0].encode("utf-8")

    return _in_browser(svgs)


def _plot_type():
    from bokeh.models import Plot

    return Plot

