"""Impedance and DRT explorer (studies S2, S3, S4, S5): in situ spectra across cycles and states of charge.

Pick a cell (``insitu_eis`` dataset), a cycle range, a point of the cycle (voltage / SOC) and a
cycle within the range. The page shows the spectrum with a live equivalent-circuit fit
(:func:`analysis.eis.fit_circuit`), its Kramers-Kronig residuals (:func:`analysis.eis.kramers_kronig`),
its distribution of relaxation times (:func:`analysis.drt.compute_drt`) with a lambda slider or an
automatic lambda, a 2-D DRT map over the selected cycles or over the points of the selected cycle
(:func:`analysis.drt.drt_many`, one batch call), and peak positions and region resistances
(:func:`analysis.drt.find_peaks`, :func:`analysis.drt.integrate_regions`) tracked along the map.

All heavy results are cached in module-level functions (:func:`dashboard.data.cached`: an LRU
cache whose key also holds the dataset's revision) keyed on primitives (dataset name,
cycle/point numbers, tuples, rounded floats); the DRT matrices
themselves are cached inside :mod:`analysis.drt` per frequency grid, so a lambda move only
re-solves the small non-negative QP.

Speed (one slider move redraws only what it changes): every plot is an overlay of layers, each a
DynamicMap on its own stream whose key (:meth:`DRTExplorer._sync`) holds exactly the layer's
inputs; the streams that changed fire together, so each plot updates once and HoloViews redraws
only the changed layers (the τ-region shading is a static layer; a lambda move leaves the circuit
fit alone). Layers return clones of option-styled templates (:func:`_tmpl`: no option processing per
frame) and use vectorised elements (``VSpans``/``HSpans``/``VLines``, one ``Segments`` for several
lines). The shown cycle/point on the 2-D map and the tracks is a Bokeh ``Span`` moved in place, so a
cycle move does not redraw the map or the tracks.
"""
from __future__ import annotations

import math
import re
import weakref
from functools import lru_cache

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the backend that the .opts below refer to)
import numpy as np
import pandas as pd
import panel as pn
import param

from analysis.errors import SSBError
from dashboard import data, theme
from dashboard.live import LiveDataFrame, live
from dashboard.widgets import sections, set_value, throttled

if "Curve" not in dir(hv.opts):  # no hv.extension yet (plain Python, tests)
    hv.Store.set_current_backend("bokeh")  # makes hv.opts.<Element> builders available in plain Python

DEFAULT_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"
DEFAULT_REGIONS = "T1: 1e-7-1e-2, T2: 1e-2-1, T3: 1-1e3"
LAM_METHODS = {"GCV": "gcv", "mGCV": "mgcv", "L-curve": "lcurve", "re-im CV": "re-im"}
TABLE_COLUMNS = ("parameter", "value", "± 1σ", "± %", "unit")
READOUT_CSS = [":host { border-left: 4px solid #0072B2; background: rgba(0, 114, 178, 0.06); padding: 0 12px; }"]
#: colours of the tau regions (Okabe-Ito green, reddish purple, orange, sky blue, vermillion; no yellow)
REGION_COLORS = [theme.OKABE_ITO[2], theme.OKABE_ITO[4], theme.OKABE_ITO[1], theme.OKABE_ITO[5], theme.OKABE_ITO[3]]
MAP_AXES = {"cycles at this point": "cycle", "points of this cycle": "point"}
#: page sections (tabs): key -> title
SECTIONS = {"spectrum": "Spectrum & fit", "drt": "DRT & 2-D map", "tracks": "Peak & region tracks"}
UNIT_TEXT = {"ohm": "Ω", "F s^(n-1)": "F·s^(n−1)", "ohm s^-0.5": "Ω·s^−½", "1": "–", "F": "F", "H": "H",
             "s": "s"}

_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_REGION_RE = re.compile(
    rf"^\s*(?:(?P<name>[A-Za-z][\w ]*?)\s*[:=]\s*)?(?P<lo>{_NUM})\s*(?:-|–|—|\.\.|to|,)\s*(?P<hi>{_NUM})\s*$")


#: layer keys (see DRTExplorer._sync): which inputs each plot layer depends on
LAYER_KEYS = ("spec", "fit", "drt", "peaks", "regions", "map", "tracks")
#: one stream class per layer key (distinct parameter names: HoloViews merges the contents of streams
#: triggered together)
_LAYER_STREAMS = {k: hv.streams.Stream.define(f"Layer_{k}", **{f"key_{k}": None}) for k in LAYER_KEYS}


class RegionError(SSBError, ValueError):
    """A tau-region text that cannot be parsed (message says which part and why)."""


def parse_regions(text: str, names: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Parse tau regions typed by the user, without ``eval``.

    Parameters
    ----------
    text : str
        Regions separated by ``;`` or ``,``, each ``lo-hi`` in seconds, optionally named:
        ``"1e-7-1e-2, 1e-2-1, 1-1e3"`` or ``"T1: 1e-7-1e-2; T2: 1e-2-1"``. ``..`` and ``to``
        are accepted as range separators.
    names : list of str, optional
        Names for unnamed regions in order (default ``T1, T2, ...``).

    Returns
    -------
    dict of str -> (float, float)
        ``{name: (tau_lo, tau_hi)}`` in seconds, ``0 < tau_lo < tau_hi``.

    Raises
    ------
    RegionError
        For an empty text, an unparsable part, or ``tau_lo >= tau_hi``.
    """
    if not isinstance(text, str) or not text.strip():
        raise RegionError("tau regions: empty; type e.g. '1e-7-1e-2, 1e-2-1, 1-1e3' (seconds)")
    # split on ';' or on ',' that separates two ranges (a ',' followed by a name or a number range)
    parts = [p for p in re.split(r"\s*;\s*|\s*,\s*(?=(?:[A-Za-z][\w ]*\s*[:=]\s*)?" + _NUM + r"\s*(?:-|–|—|\.\.|to)\s*" + _NUM + ")",
                                 text.strip()) if p.strip()]
    out: dict[str, tuple[float, float]] = {}
    for i, part in enumerate(parts):
        m = _REGION_RE.match(part)
        if not m:
            raise RegionError(f"tau regions: cannot read {part!r}; expected 'lo-hi' in seconds, e.g. '1e-2-1'")
        lo, hi = float(m["lo"]), float(m["hi"])
        if not (0 < lo < hi) or not math.isfinite(hi):
            raise RegionError(f"tau regions: {part!r} needs 0 < lo < hi (s)")
        name = (m["name"] or "").strip() or (names[i] if names and i < len(names) else f"T{i + 1}")
        if name in out:
            raise RegionError(f"tau regions: name {name!r} used twice")
        out[name] = (lo, hi)
    return out


def format_regions(regions: dict[str, tuple[float, float]]) -> str:
    """Inverse of :func:`parse_regions`: ``"T1: 1e-07-0.01, ..."`` (seconds)."""
    return ", ".join(f"{k}: {lo:g}-{hi:g}" for k, (lo, hi) in regions.items())


def default_regions(name: str) -> str:
    """Region text from the dataset attrs ``drt_regions_s`` / ``drt_region_names``, else S2's T1/T2/T3."""
    ds = data.load(name)
    vals = ds.attrs.get("drt_regions_s")
    if vals is not None:
        v = np.asarray(vals, dtype=float).ravel()
        if v.size >= 2 and v.size % 2 == 0:
            names = [s.strip() for s in str(ds.attrs.get("drt_region_names", "")).split(",") if s.strip()]
            regs = {}
            for i in range(v.size // 2):
                regs[names[i] if i < len(names) else f"T{i + 1}"] = (float(v[2 * i]), float(v[2 * i + 1]))
            return format_regions(regs)
    return DEFAULT_REGIONS


def lam_key(auto: bool, lam_log10: float):
    """Primitive cache key of the lambda setting: ``"auto"`` or lambda rounded to 4 significant digits."""
    return "auto" if auto else float(f"{10 ** round(float(lam_log10), 3):.4g}")


# --------------------------------------------------------------------------- cached science
@data.cached(maxsize=1024)
def spectrum(name: str, cycle: int, point: int):
    """(freq Hz, complex Z ohm) of one spectrum of dataset ``name`` (read-only arrays)."""
    s = data.load(name).sel(cycle=cycle, point=point)
    f = np.asarray(s["frequency"].values, dtype=float)
    z = np.asarray(s["z_real"].values + 1j * s["z_imag"].values)
    ok = np.isfinite(z)
    f, z = f[ok], z[ok]
    f.flags.writeable = False
    z.flags.writeable = False
    return f, z


@data.cached(maxsize=512)
def circuit_fit(name: str, cycle: int, point: int, circuit: str):
    """:func:`analysis.eis.fit_circuit` of one spectrum (modulus weighting, automatic guess)."""
    from analysis.eis import fit_circuit

    f, z = spectrum(name, cycle, point)
    return fit_circuit(f, z, circuit)


@data.cached(maxsize=512)
def kk_check(name: str, cycle: int, point: int):
    """:func:`analysis.eis.kramers_kronig` of one spectrum."""
    from analysis.eis import kramers_kronig

    f, z = spectrum(name, cycle, point)
    return kramers_kronig(f, z)


@data.cached(maxsize=1024)
def drt(name: str, cycle: int, point: int, lam, lam_method: str, inductance: bool):
    """:func:`analysis.drt.compute_drt` of one spectrum (``lam`` a float or ``"auto"``)."""
    from analysis.drt import compute_drt

    f, z = spectrum(name, cycle, point)
    return compute_drt(f, z, lam=lam, lam_method=lam_method, inductance=inductance, kk=False)


@data.cached(maxsize=1024)
def drt_peaks(name: str, cycle: int, point: int, lam, lam_method: str, inductance: bool, deconvolve: bool):
    """Peaks (:func:`analysis.drt.find_peaks`) of the cached single-spectrum DRT."""
    from analysis.drt import find_peaks

    return find_peaks(drt(name, cycle, point, lam, lam_method, inductance), deconvolve=deconvolve)


@data.cached(maxsize=64)
def _full_map(name: str, axis: str, key: int, lam, lam_method: str, inductance: bool):
    """One batch :func:`analysis.drt.drt_many` call over a whole row set.

    ``axis="cycle"``: every cycle at point ``key``; ``axis="point"``: every point of cycle ``key``.
    Computed once per (dataset, point or cycle, lambda settings), so moving the cycle range only
    slices it.
    """
    from analysis.drt import drt_many

    ds = data.load(name)
    sub = ds.sel(point=key) if axis == "cycle" else ds.sel(cycle=key)
    return drt_many(sub[["z_real", "z_imag"]], lam=lam, lam_method=lam_method, inductance=inductance)


@data.cached(maxsize=256)
def drt_map(name: str, axis: str, cycles: tuple, point: int, cycle: int, lam, lam_method: str,
            inductance: bool):
    """2-D DRT: the spectra of ``cycles`` at ``point`` (dims cycle, tau) for ``axis="cycle"``,
    every point of ``cycle`` (dims point, tau) for ``axis="point"``; a slice of :func:`_full_map`."""
    if axis == "cycle":
        return _full_map(name, "cycle", int(point), lam, lam_method, inductance).sel(cycle=list(cycles))
    return _full_map(name, "point", int(cycle), lam, lam_method, inductance)


@data.cached(maxsize=64)
def _full_tracks(name: str, axis: str, key: int, lam, lam_method: str, inductance: bool, regions: tuple,
                 deconvolve: bool):
    """Peaks (with the row's coordinate in column ``label``) and region resistances of a full map."""
    from analysis.drt import find_peaks_many, integrate_regions

    m = _full_map(name, axis, key, lam, lam_method, inductance)
    dim = "cycle" if axis == "cycle" else "point"
    peaks = find_peaks_many(m["gamma"], deconvolve=deconvolve)
    peaks = peaks.assign(label=peaks[dim].astype(int)).drop(columns=["row", dim])
    regs = integrate_regions(m, {n: (lo, hi) for n, lo, hi in regions})
    return peaks, regs


@data.cached(maxsize=256)
def drt_tracks(name: str, axis: str, cycles: tuple, point: int, cycle: int, lam, lam_method: str,
               inductance: bool, regions: tuple, deconvolve: bool):
    """(peaks DataFrame with column ``row``, region resistances Dataset) along the map's rows.

    ``regions`` is a tuple of ``(name, tau_lo, tau_hi)``. Cached: treat the results as read-only.
    """
    key = int(point) if axis == "cycle" else int(cycle)
    peaks, regs = _full_tracks(name, axis, key, lam, lam_method, inductance, regions, deconvolve)
    if axis == "cycle":
        order = {int(c): i for i, c in enumerate(cycles)}
        peaks = peaks[peaks["label"].isin(list(order))].copy()
        peaks["row"] = peaks["label"].map(order)
        regs = regs.sel(cycle=list(cycles))
    else:
        labels = list(_full_map(name, axis, key, lam, lam_method, inductance)["point"].values)
        order = {int(p): i for i, p in enumerate(labels)}
        peaks = peaks.copy()
        peaks["row"] = peaks["label"].map(order)
    return peaks, regs


@data.cached(maxsize=256)
def _map_arrays(name: str, axis: str, cycles: tuple, point: int, cycle: int, lam, lam_method: str,
                inductance: bool, regions: tuple, deconvolve: bool):
    """(log10 tau, gamma rows x tau, peak log10 tau, peak row) of the 2-D map, as read-only arrays."""
    m = drt_map(name, axis, cycles, point, cycle, lam, lam_method, inductance)
    peaks, _ = drt_tracks(name, axis, cycles, point, cycle, lam, lam_method, inductance, regions, deconvolve)
    out = (np.log10(m["tau"].values), np.asarray(m["gamma"].values, float),
           np.asarray(peaks["log10_tau"], float), np.asarray(peaks["row"], float))
    for a in out:
        a.flags.writeable = False
    return out


@data.cached(maxsize=256)
def _region_series(name: str, axis: str, cycles: tuple, point: int, cycle: int, lam, lam_method: str,
                   inductance: bool, regions: tuple, deconvolve: bool) -> dict:
    """``{"R∞": ..., region name: ...}`` resistances (ohm) along the map's rows."""
    m = drt_map(name, axis, cycles, point, cycle, lam, lam_method, inductance)
    _, regs = drt_tracks(name, axis, cycles, point, cycle, lam, lam_method, inductance, regions, deconvolve)
    return {"R∞": np.asarray(m["R_inf"].values, float), **{n: np.asarray(regs[n].values, float) for n in regs.data_vars}}


@data.cached(maxsize=512)
def _fit_impedance(name: str, cycle: int, point: int, circuit: str):
    """(Z ohm, f Hz) of the circuit fit on 200 log-spaced frequencies over the measured range (NaN if it failed)."""
    from analysis.eis import Circuit

    f, _ = spectrum(name, cycle, point)
    fd = np.logspace(np.log10(f.min()), np.log10(f.max()), 200)
    fit = circuit_fit(name, cycle, point, circuit)
    zf = Circuit(circuit).impedance(fd, fit.params) if fit.success else np.full(fd.size, np.nan + 0j)
    zf.flags.writeable = False
    fd.flags.writeable = False
    return zf, fd


@data.cached(maxsize=64)
def _cycle_values(name: str) -> tuple:
    """Measured cycle numbers of dataset ``name``."""
    return tuple(int(c) for c in data.load(name)["cycle"].values)


@data.cached(maxsize=1024)
def _point_label(name: str, point: int, cycle: int) -> str:
    ds = data.load(name)
    s = ds.sel(point=point)
    v = float(s["voltage"].sel(cycle=cycle)) if "voltage" in s.coords else float("nan")
    soc = float(s["soc"].sel(cycle=cycle)) if "soc" in s.coords else float("nan")
    d = int(s["direction"]) if "direction" in s.coords else 0
    return f"{v:.2f} V {_arrow(d)} {_dir_text(d)}, SOC {soc:.0f} %"


@data.cached(maxsize=1024)
def _point_median_label(name: str, point: int) -> str:
    """'#2: 1.50 V ↑ SOC 40 %' of a point (median voltage and SOC over the cycles)."""
    s = data.load(name).sel(point=point)
    v = float(np.nanmedian(s["voltage"].values)) if "voltage" in s.coords else float("nan")
    soc = float(np.nanmedian(s["soc"].values)) if "soc" in s.coords else float("nan")
    d = int(s["direction"]) if "direction" in s.coords else 0
    return f"#{point}: {v:.2f} V {_arrow(d)} SOC {soc:.0f} %"


@lru_cache(maxsize=256)
def _cycle_rows(cycles: tuple):
    """("cycle", yticks, rows) of a map over ``cycles`` (about 10 ticks)."""
    rows = tuple(cycles)
    step = max(1, int(math.ceil(len(rows) / 10)))
    return "cycle", [(i, str(c)) for i, c in enumerate(rows) if i % step == 0], rows


@data.cached(maxsize=256)
def _point_rows(name: str, cycle: int):
    """(y label, voltage ticks, rows) of a map over the points of ``cycle``."""
    ds = data.load(name)
    rows = tuple(int(p) for p in ds["point"].values)
    ticks = []
    for i, p in enumerate(rows):
        s = ds.sel(point=p, cycle=cycle)
        d = int(s["direction"]) if "direction" in s.coords else 0
        ticks.append((i, f"{float(s['voltage']):.2f} V {_arrow(d)}"))
    return "point (voltage, ↑ charge / ↓ discharge)", ticks, rows


def _underlay(plot, element):
    """HoloViews hook: draw the element's glyph below the data (level ``underlay``)."""
    r = plot.handles.get("glyph_renderer")
    if r is not None and r.level != "underlay":
        r.level = "underlay"


_ARRAY = ["array", "dictionary"]


#: minimum width of every plot (px), as pane layout and as HoloViews option (the same value)
_MIN_WIDTH = 300


@lru_cache(maxsize=64)
def _tmpl(name: str):
    """Empty, styled element ``name``: layers ``clone`` it with data, so options are processed once."""
    # framewise: the axes follow each new spectrum, DRT, map or track (without it they kept the first
    # frame's ranges and clipped e.g. a later cycle's larger arc); the panes' min_width, see main_view
    o = dict(theme.PLOT_OPTS, min_width=_MIN_WIDTH, framewise=True)
    bare = {k: v for k, v in o.items() if k != "tools"}  # annotations: no hover
    oi = theme.OKABE_ITO
    Zr, Zi, F = "Z' (Ω)", "-Z'' (Ω)", "f (Hz)"
    kk, tau, g = "KK residual (%)", "τ (s)", "γ (Ω)"
    kk_cmap = {"Δ real": oi[0], "Δ imag": oi[1]}
    ann = {"apply_ranges": False, "hooks": [_underlay]}  # shading/lines: no effect on the axes, drawn below the data
    specs = {
        "nyq_data": lambda: hv.Scatter([], Zr, [Zi, F], label="data").opts(
            color=oi[0], size=6, legend_position="bottom_right", **o),
        "nyq_fit": lambda: hv.Curve([], Zr, Zi, label="circuit fit").opts(color=oi[3], line_width=2, **o),
        "nyq_drt": lambda: hv.Curve([], Zr, Zi, label="DRT model").opts(
            color=oi[2], line_width=2, line_dash="dashed", **o),
        "bode_mod_data": lambda: hv.Scatter([], F, "|Z| (Ω)").opts(
            color=oi[0], size=5, logx=True, logy=True, title="Bode: modulus", **o),
        "bode_mod_fit": lambda: hv.Curve([], F, "|Z| (Ω)").opts(color=oi[3], line_width=2, logx=True, logy=True, **o),
        "bode_ph_data": lambda: hv.Scatter([], F, "-phase (°)").opts(
            color=oi[0], size=5, logx=True, title="Bode: phase", **o),
        "bode_ph_fit": lambda: hv.Curve([], F, "-phase (°)").opts(color=oi[3], line_width=2, logx=True, **o),
        # the ± threshold band; its dashed grey outline draws the threshold lines
        "kk_band": lambda: hv.HSpans([], vdims=["status"]).opts(
            fill_color=hv.dim("status").categorize({"passed": oi[2], "failed": oi[3]}), fill_alpha=0.07,
            line_color="grey", line_dash="dashed", line_width=1, line_alpha=1, **ann),
        "kk_lines_data": lambda: hv.Segments(([], [], [], [], []),
                                              [F, kk, "x1", "y1"], ["series"]).opts(
            color="series", cmap=kk_cmap, line_width=2, logx=True, padding=(0, 0.1), xlabel=F, ylabel=kk,
            show_legend=False, **bare),  # the legend comes from the points (one legend item per colour)
        "kk_points": lambda: hv.Scatter([], F, [kk, "series"]).opts(
            color="series", cmap=kk_cmap, size=4, logx=True, show_legend=True, legend_position="bottom_left", **o),
        "drt_curve": lambda: hv.Curve([], tau, g, label="γ(τ)").opts(
            color=oi[0], line_width=2.5, logx=True, **o),
        "drt_peaks": lambda: hv.Scatter([], tau, g, label="peaks").opts(
            color=oi[3], size=9, marker="triangle", logx=True, legend_position="top_left", **o),
        "drt_regions": lambda: hv.VSpans([], vdims=["color"]).opts(  # the τ axis spans the regions
            color="color", alpha=0.09, line_alpha=0, hooks=[_underlay]),
        "map_image": lambda: hv.Image(np.zeros((1, 1)), kdims=["log10 τ (s)", "cycle"], vdims=[g]).opts(
            cmap=theme.SEQUENTIAL, colorbar=True, clabel=g, responsive=True, height=340, min_width=_MIN_WIDTH, tools=["hover"],
            active_tools=["wheel_zoom"], fontscale=1.05, shared_axes=False, framewise=True),  # rows are an index: not linked
        "map_peaks": lambda: hv.Scatter([], "log10 τ (s)", "cycle").opts(
            color="white", line_color="black", size=4, alpha=0.8, marker="circle", responsive=True, height=340,
            shared_axes=False, framewise=True),
        "map_regions": lambda: hv.VLines([]).opts(color="white", line_dash="dashed", line_width=1, alpha=0.8, apply_ranges=False,
                                                     shared_axes=False),
        "map_marker": lambda: hv.HLine(np.nan).opts(color=oi[3], line_width=2, line_dash="dotted"),
        "peak_track": lambda: hv.Scatter([], "cycle", ["log10 τ_peak (s)", "R_peak (Ω)"]).opts(
            color="R_peak (Ω)", cmap=theme.SEQUENTIAL, colorbar=True, clabel="R_peak (Ω)", size=8, line_color="black",
            line_width=0.5, title="DRT peak positions (colour: peak resistance)", **o),
        "track_regions": lambda: hv.HSpans([], vdims=["color"]).opts(color="color", alpha=0.09, line_alpha=0, **ann),
        "track_marker": lambda: hv.VLine(np.nan).opts(color=oi[3], line_dash="dotted", line_width=2),
        # named like the data's axes so Panel links the x axis of both tracking plots (and KK with Bode)
        "region_lines": lambda: hv.Segments(([], [], [], [], []), ["cycle", "R (Ω)", "x1", "y1"], ["region"]).opts(
            color="region", line_width=2, show_legend=False, **bare),
        "region_points": lambda: hv.Scatter([], "cycle", ["R (Ω)", "region"]).opts(
            # legend outside the frame: inside, it covered the first cycles of the top line (T3)
            color="region", size=5, show_legend=True, legend_position="right",
            title="Region resistances (∫γ d ln τ) and R∞", **o),
    }
    el = specs[name]()
    if not isinstance(el, (hv.Image, hv.HLine, hv.VLine)):
        # frames hold plain numpy columns: cloning with a tuple/dict of arrays then skips the pandas
        # conversion (~20 % cheaper per element, measured), strings fall back to the dictionary interface
        el = el.clone(datatype=_ARRAY)  # the template's own interface comes first in its clones
    return el


def _dir_text(d) -> str:
    return "charge" if int(d) > 0 else ("discharge" if int(d) < 0 else "rest")


def _arrow(d) -> str:
    return "↑" if int(d) > 0 else ("↓" if int(d) < 0 else "·")


# --------------------------------------------------------------------------- the page
class DRTExplorer(pn.viewable.Viewer):
    """In situ impedance of a cell: circuit fit, Kramers-Kronig check, DRT and 2-D DRT maps."""

    dataset = param.Selector(default=None, objects=[], label="Cell",
                             doc="In situ EIS dataset (kind insitu_eis) of the cell shown.")
    cycle_range = param.Range(default=(1, 1), label="Cycle range",
                              doc="First and last cycle number of the 2-D map and of the tracked peaks/resistances.")
    cycle = param.Selector(default=None, objects=[], label="Cycle shown",
                           doc="Cycle number of the single spectrum, fit, KK and DRT (any measured cycle; "
                               "a cycle outside the cycle range extends the range to it).")
    point = param.Selector(default=None, objects=[], label="Point",
                           doc="Index of the measurement point within a cycle (a voltage / state of charge).")
    circuit = param.String(default=DEFAULT_CIRCUIT, label="Equivalent circuit",
                           doc="Circuit fitted to the spectrum, e.g. R0-p(R1,CPE1)-p(R2,CPE2)-W1.")
    lam_auto = param.Boolean(default=True, label="automatic λ",
                             doc="Choose the DRT regularisation parameter lambda automatically (per spectrum).")
    lam_method = param.Selector(default="gcv", objects=LAM_METHODS, label="λ criterion",
                                doc="Criterion for the automatic lambda: GCV, mGCV, L-curve or re-im cross-validation.")
    lam_log10 = param.Number(default=-3.0, bounds=(-7.0, 0.0), step=0.1, label="log₁₀ λ",
                             doc="log10 of the DRT regularisation parameter lambda (used when automatic λ is off).")
    inductance = param.Boolean(default=False, label="fit series inductance L",
                               doc="Include a series inductance in the DRT model (high-frequency inductive tails).")
    map_axis = param.Selector(default="cycle", objects=MAP_AXES, label="2-D map over",
                              doc="Rows of the 2-D DRT map: the selected cycles at this point, or the points of this cycle.")
    regions = param.String(default=DEFAULT_REGIONS, label="τ regions (s)",
                           doc="DRT regions integrated into resistances, 'name: lo-hi' in seconds, comma separated.")
    deconvolve = param.Boolean(default=False, label="Gaussian peak deconvolution (slower)",
                               doc="Measure DRT peaks by Gaussian deconvolution instead of splitting at the minima.")
    section = param.Selector(default="spectrum", objects=list(SECTIONS), label="Section",
                             doc="Section (tab) shown: 'spectrum' (Nyquist, Bode, circuit parameters, "
                                 "Kramers-Kronig), 'drt' (DRT of the spectrum and the 2-D DRT map) or 'tracks' "
                                 "(DRT peak positions and region resistances along the map's rows).")

    def __init__(self, dataset: str | None = None, **params):
        super().__init__(**params)
        # one stream per plot layer, triggered by _sync only when the layer's inputs (its key) change
        self._keys: dict = {}
        self._streams = {k: cls() for k, cls in _LAYER_STREAMS.items()}
        # the shown cycle/point on the map and the tracks: Bokeh Spans moved in place (see _marker_hook)
        self._spans: dict = {"map": [], "track": []}
        self._hooks = {kind: self._marker_hook(kind) for kind in self._spans}
        self._guard = False
        self.param.dataset.objects = data.names("insitu_eis")
        self._widgets = None
        self.param.watch(self._on_lam, ["lam_log10", "lam_auto"])
        self.param.watch(self._on_range, "cycle_range")
        self.param.watch(self._on_cycle, "cycle")
        self.param.watch(self._update_table, "section")
        self.param.watch(self._sync, self.url_params())
        self.dataset = dataset or (self.param.dataset.objects[0] if self.param.dataset.objects else None)
        if dataset is None or self.dataset == dataset:
            self._on_dataset()
        self._widgets = self._make_widgets()
        # a plain HTML table (a dozen rows): the browser sets it in ~1 ms, where a Tabulator rebuilt
        # its grid in ~19 ms of every cycle/point move (measured in Chromium's profiler); it keeps its
        # stylesheets (dashboard.live): re-sent at the first update, they made the browser re-lay out
        # the whole page (~0.15 s)
        self._table = LiveDataFrame(
            pd.DataFrame(columns=list(TABLE_COLUMNS)), index=False, na_rep="–", float_format="{:.2f}".format,
            sizing_mode="stretch_width", css_classes=["ssb-param-table"], margin=(4, 10),
        )
        self._sync()
        self._update_table()

    def _sync(self, *_events):
        """Recompute the layer keys; trigger the streams of those that changed, together.

        Each plot layer is a DynamicMap on one stream (see :meth:`_layer`); triggering all changed
        streams in one call makes every plot update once per user action, and HoloViews redraws
        only the sub-plots whose stream fired. The marker spans move in place (:meth:`_move_markers`)."""
        if self.dataset is None or self.cycle is None or self.point is None:
            return
        spec = (self.dataset, int(self.cycle), int(self.point))
        drt_ = spec + (self.lam, self.lam_method, bool(self.inductance))
        margs = self._map_args()
        keys = {"spec": spec, "fit": spec + (self.circuit,), "drt": drt_, "peaks": drt_ + (bool(self.deconvolve),),
                "regions": (self.regions,), "map": margs + (bool(self.deconvolve),),
                "tracks": margs + (self._region_tuple(), bool(self.deconvolve))}
        self._move_markers()
        changed = [k for k, v in keys.items() if self._keys.get(k) != v]
        if not changed:
            return
        self._keys = keys
        if "fit" in changed:
            self._update_table()
        for k in changed:
            self._streams[k].update(**{f"key_{k}": keys[k]})
        hv.streams.Stream.trigger([self._streams[k] for k in changed])

    def _styled(self, name: str, **opts):
        """Template ``name`` with extra options (hooks, colour map, ticks, a title), cached per page so
        that the options are processed once per distinct value, not once per frame. The cache keeps
        the 64 most recently used (titles change with the shown spectrum; the few fixed styles stay)."""
        cache = self.__dict__.setdefault("_styled_cache", {})
        key = (name, repr(sorted(opts.items())))
        el = cache.pop(key, None)
        if el is None:
            if len(cache) >= 64:
                cache.pop(next(iter(cache)))  # least recently used
            el = _tmpl(name).opts(clone=True, **opts)
        cache[key] = el  # (re)inserted last: most recently used
        return el

    def _marker_loc(self, kind: str):
        """Position of the shown cycle/point: map row index (``"map"``) or track x (``"track"``); None if outside."""
        if kind == "map":
            sel = self._selected_row(self._map_rows()[2])
            return None if sel is None else float(sel)
        x = self._marker_x()
        return None if not np.isfinite(x) else x

    def _marker_hook(self, kind: str):
        """HoloViews hook adding one dotted Bokeh ``Span`` at the shown cycle/point to the figure.

        The span is then moved by :meth:`_move_markers` (one property change) instead of redrawing
        the map or the tracks through HoloViews when only the shown cycle or point changes. The hook
        holds the page weakly: HoloViews keeps hooks in its global options tree, which must not keep
        a closed session's page alive.
        """
        from bokeh.models import Span

        page_ref = weakref.ref(self)

        def hook(plot, element):
            self = page_ref()
            if self is None:
                return
            fig = plot.state
            span = next((a for a in fig.center if isinstance(a, Span) and "ssb-marker" in a.tags), None)
            if span is None:
                span = Span(dimension="width" if kind == "map" else "height", line_color=theme.OKABE_ITO[3],
                            line_width=2, line_dash="dotted", tags=["ssb-marker"])
                fig.add_layout(span)
            spans = self._spans[kind]
            if not any(a is span for a in spans):
                spans.append(span)
                del spans[:-16]  # a pane shown again makes new figures; keep the recent ones
            loc = self._marker_loc(kind)
            if span.location != loc:
                span.location = loc

        return hook

    def _move_markers(self):
        for kind, spans in self._spans.items():
            if spans:
                loc = self._marker_loc(kind)
                for span in spans:
                    if span.location != loc:
                        span.location = loc

    def _layer(self, fn, key: str) -> hv.DynamicMap:
        """DynamicMap of the layer method ``fn`` redrawn when the layer key ``key`` changes."""
        def frame(**_key):
            return fn()

        return hv.DynamicMap(frame, streams=[self._streams[key]])

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "cycle_range", "cycle", "point", "circuit", "lam_auto", "lam_method",
                "lam_log10", "inductance", "map_axis", "regions", "deconvolve", "section"]

    @param.depends("dataset", watch=True)
    def _on_dataset(self):
        if self.dataset is None:
            return
        ds = data.load(self.dataset)
        cycles = [int(c) for c in ds["cycle"].values]
        points = [int(p) for p in ds["point"].values]
        self._guard = True
        try:
            self.param.cycle_range.bounds = (cycles[0], cycles[-1])
            self.param.point.objects = points
            self.param.cycle.objects = cycles
            upd = dict(cycle_range=(cycles[0], cycles[-1]), cycle=cycles[0],
                       point=self._default_point(ds, points),
                       circuit=str(ds.attrs.get("circuit", DEFAULT_CIRCUIT)),
                       regions=default_regions(self.dataset))
            self.param.update(**upd)
        finally:
            self._guard = False
        if self._widgets is not None:
            self._range_widget.param.update(start=cycles[0], end=max(cycles[-1], cycles[0] + 1))
            set_value(self._range_widget, tuple(self.cycle_range))
            self._point_widget.options = self._point_options()
            set_value(self._point_widget, self.point)
            self._cycle_widget.options = list(self.param.cycle.objects)
            set_value(self._cycle_widget, self.cycle)

    @staticmethod
    def _default_point(ds, points):
        """The point nearest 50 % SOC on charge (a mid-charge spectrum), else the first."""
        try:
            soc = np.nanmedian(np.asarray(ds["soc"].values, dtype=float), axis=0)
            d = np.asarray(ds["direction"].values) if "direction" in ds.coords else np.ones(len(points))
            score = np.abs(soc - 50) + np.where(d > 0, 0, 1000)
            return points[int(np.nanargmin(score))]
        except Exception:
            return points[0]

    def _on_range(self, event):
        """Keep ``cycle`` within the range: a range that leaves it out moves it to the nearest
        measured cycle inside.

        The cycle slider always offers every measured cycle of the cell: changing its options
        would make Panel re-create the slider in the browser on every range move (a model-graph
        change costing a document walk, and a handle that disappears under the user's pointer).
        """
        if self.dataset is None or self._guard:
            return
        inside = list(self.cycles)
        if inside and self.cycle not in inside:
            self.cycle = min(inside, key=lambda c: abs(c - (self.cycle or inside[0])))

    def _on_cycle(self, event):
        """A cycle picked outside the range extends the range to it (the map and tracks then show it)."""
        if self.dataset is None or self._guard or self.cycle is None:
            return
        lo, hi = self.cycle_range
        c = int(self.cycle)
        if not lo <= c <= hi:
            self.cycle_range = (min(lo, c), max(hi, c))

    def _on_lam(self, *events):
        """Keep the lambda slider and the "automatic" box consistent.

        A hand-moved slider means a fixed lambda (auto off); turning auto off starts the slider at
        the automatic lambda of the shown spectrum. Both changed together (a shared URL): keep both.
        """
        names = {e.name for e in events}
        if self._guard or names == {"lam_log10", "lam_auto"}:
            return
        if names == {"lam_log10"}:
            if self.lam_auto:
                # guarded: the "auto turned off" branch below must not move the slider the user
                # just moved back to the automatic lambda (it did, and the browser's slider then
                # showed a different value from the one used)
                self._guard = True
                try:
                    self.lam_auto = False
                finally:
                    self._guard = False
            return
        if self.lam_auto or self.dataset is None:
            return
        try:
            r = drt(self.dataset, self.cycle, self.point, "auto", self.lam_method, self.inductance)
        except SSBError:
            return
        self._guard = True
        try:
            self.lam_log10 = float(np.clip(round(math.log10(r.lam), 1), -7, 0))
        finally:
            self._guard = False

    @property
    def cycles(self) -> tuple:
        """Measured cycle numbers inside ``cycle_range`` (tuple of int)."""
        if self.dataset is None:
            return ()
        lo, hi = self.cycle_range
        return tuple(c for c in _cycle_values(self.dataset) if lo <= c <= hi)

    @property
    def lam(self):
        """The lambda passed to the analysis: ``"auto"`` or ``10**lam_log10`` (4 significant digits)."""
        return lam_key(self.lam_auto, self.lam_log10)

    def region_dict(self) -> dict:
        """The parsed τ regions (raises :class:`RegionError` on bad text)."""
        return parse_regions(self.regions)

    def point_label(self, point: int | None = None) -> str:
        """'1.90 V ↑ charge, SOC 67 %' for a point (voltage/SOC of the shown cycle)."""
        p = self.point if point is None else point
        c = self.cycle if self.cycle is not None else _cycle_values(self.dataset)[0]
        return _point_label(self.dataset, int(p), int(c))

    def _point_options(self) -> dict:
        ds = data.load(self.dataset)
        out = {}
        for p in self.param.point.objects:
            s = ds.sel(point=p)
            v = float(np.nanmedian(s["voltage"].values)) if "voltage" in s.coords else float("nan")
            soc = float(np.nanmedian(s["soc"].values)) if "soc" in s.coords else float("nan")
            d = int(s["direction"]) if "direction" in s.coords else 0
            out[f"#{p}: {v:.2f} V {_arrow(d)} SOC {soc:.0f} %"] = p
        return out

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self):
        ds = data.load(self.dataset)
        cycles = [int(c) for c in ds["cycle"].values]
        self._range_widget = throttled(self, "cycle_range", pn.widgets.IntRangeSlider, start=cycles[0],
                                            end=max(cycles[-1], cycles[0] + 1), step=1)
        self._cycle_widget = throttled(self, "cycle", pn.widgets.DiscreteSlider)
        self._point_widget = throttled(self, "point", pn.widgets.DiscreteSlider, options=self._point_options())
        self._lam_widget = throttled(self, "lam_log10", pn.widgets.FloatSlider, start=-7.0, end=0.0,
                                          step=0.1, format="0.0")
        circuit = pn.widgets.TextInput.from_param(self.param.circuit, css_classes=["ssb-w-circuit"])
        regions = pn.widgets.TextInput.from_param(self.param.regions, css_classes=["ssb-w-regions"])
        return {
            "dataset": pn.widgets.Select.from_param(self.param.dataset),
            "cycle_range": self._range_widget,
            "cycle": self._cycle_widget,
            "point": self._point_widget,
            "circuit": circuit,
            "lam_auto": pn.widgets.Checkbox.from_param(self.param.lam_auto, css_classes=["ssb-w-lam-auto"]),
            "lam_method": pn.widgets.Select.from_param(self.param.lam_method),
            "lam_log10": self._lam_widget,
            "inductance": pn.widgets.Checkbox.from_param(self.param.inductance),
            "map_axis": pn.widgets.RadioButtonGroup.from_param(self.param.map_axis, **theme.CHOICE_STYLE),
            "regions": regions,
            "deconvolve": pn.widgets.Checkbox.from_param(self.param.deconvolve),
        }

    def controls(self):
        """Sidebar controls."""
        w = self._widgets
        return pn.Column(
            w["dataset"],
            pn.pane.Markdown("**Spectra**", margin=(8, 10, 0, 10)),
            w["cycle_range"], w["cycle"], w["point"],
            pn.pane.Markdown("**Equivalent circuit**", margin=(8, 10, 0, 10)),
            w["circuit"],
            pn.pane.Markdown("**DRT**", margin=(8, 10, 0, 10)),
            pn.Row(w["lam_auto"], w["inductance"]), w["lam_method"], w["lam_log10"],
            pn.pane.Markdown("2-D map over", margin=(4, 10, 0, 10)), w["map_axis"],
            w["regions"], w["deconvolve"],
            sizing_mode="stretch_width",
        )

    # ------------------------------------------------------------------ helpers
    def _key(self):
        return self.dataset, int(self.cycle), int(self.point)

    def _drt(self):
        return drt(*self._key(), self.lam, self.lam_method, bool(self.inductance))

    def _map_args(self):
        """Cache key of the map: the cycles and point (axis "cycle") or the cycle (axis "point")."""
        if self.map_axis == "cycle":
            return (self.dataset, "cycle", self.cycles, int(self.point), -1, self.lam, self.lam_method,
                    bool(self.inductance))
        return (self.dataset, "point", (), -1, int(self.cycle), self.lam, self.lam_method, bool(self.inductance))

    # ------------------------------------------------------------------ read-outs
    @param.depends("dataset", "cycle", "point", "circuit")
    def fit_readout(self):
        """Spectrum identity, circuit-fit quality and Kramers-Kronig verdict."""
        head = (f"**{data.title(self.dataset)}** · cycle **{self.cycle}** · point #{self.point}: "
                f"**{self.point_label()}**")
        lines = [head]
        alert = None
        try:
            fit = circuit_fit(*self._key(), self.circuit)
            if fit.success:
                lines.append(f"**Circuit fit** `{self.circuit}`: χ² = {fit.chi2:.4g} (modulus weighting), converged")
            else:
                lines.append(f"**Circuit fit** `{self.circuit}`: failed")
                alert = f"Circuit fit failed: {fit.message}"
        except SSBError as exc:
            lines.append(f"**Circuit fit** `{self.circuit}`: not run")
            alert = f"Circuit: {exc}"
        try:
            kk = kk_check(*self._key())
            mx = float(np.max(np.abs(np.r_[kk.residuals_real, kk.residuals_imag])))
            verdict = (f'<span style="color:{theme.OKABE_ITO[2]};font-weight:600">passed</span>' if kk.passed
                       else f'<span style="color:{theme.OKABE_ITO[3]};font-weight:600">failed</span>')
            lines.append(f"**Kramers-Kronig** (Lin-KK, M = {kk.M}, μ = {kk.mu:.3f}): {verdict}, "
                         f"max |residual| = {100 * mx:.2f} % (threshold {100 * kk.threshold:.2f} %)")
        except SSBError as exc:
            lines.append("**Kramers-Kronig**: not run")
            alert = (alert + "; " if alert else "") + f"Kramers-Kronig: {exc}"
        md = pn.pane.Markdown("  \n".join(lines), css_classes=["ssb-readout", "ssb-readout-fit"],
                              sizing_mode="stretch_width", margin=(4, 10), stylesheets=READOUT_CSS)
        if alert:
            return pn.Column(md, pn.pane.Alert(alert, alert_type="danger"), sizing_mode="stretch_width")
        return md

    @param.depends("dataset", "cycle", "point", "lam_auto", "lam_log10", "lam_method", "inductance", "deconvolve")
    def drt_readout(self):
        """Lambda used, R_inf, polarisation resistance, peaks of the shown spectrum's DRT."""
        try:
            r = self._drt()
            pk = drt_peaks(*self._key(), self.lam, self.lam_method, bool(self.inductance), bool(self.deconvolve))
        except SSBError as exc:
            return pn.pane.Alert(f"DRT: {exc}", alert_type="danger")
        how = f"automatic, {_method_name(self.lam_method)}" if self.lam_auto else "fixed"
        taus = ", ".join(f"{t:.3g}" for t in pk["tau"]) if len(pk) else "–"
        lines = [
            f"**λ** = {r.lam:.3e} ({how}) · **R∞** = {r.R_inf:.2f} Ω"
            + (f" · **L** = {r.L:.3g} H" if self.inductance else "")
            + f" · **R_pol** = {r.R_pol:.2f} Ω · **R_total** = {r.R_total:.2f} Ω",
            f"**{len(pk)} peaks** at τ = {taus} s",
        ]
        return pn.pane.Markdown("  \n".join(lines), css_classes=["ssb-readout", "ssb-readout-drt"],
                                sizing_mode="stretch_width", margin=(4, 10), stylesheets=READOUT_CSS)

    # ------------------------------------------------------------------ table
    def _update_table(self, *_events):
        """Show the circuit parameters of the shown fit in the table, when its section is open (the
        table of a hidden section is filled when the section is opened)."""
        if getattr(self, "_table", None) is None or self.section != "spectrum":
            return
        new = self.param_table()
        if not new.equals(self._table.object):  # same numbers (e.g. back to a cached spectrum): no update
            self._table.object = new

    def param_table(self) -> pd.DataFrame:
        """Fitted parameters of the shown spectrum: value, standard error, relative error, unit."""
        cols = list(TABLE_COLUMNS)
        try:
            from analysis.eis import Circuit

            fit = circuit_fit(*self._key(), self.circuit)
            units = dict(zip(Circuit(self.circuit).param_names, Circuit(self.circuit).param_units))
        except SSBError:
            return pd.DataFrame(columns=cols)
        rows = []
        for n, v in fit.params.items():
            e = fit.stderr.get(n, float("nan"))
            rel = 100 * e / abs(v) if v and np.isfinite(e) else float("nan")
            rows.append((n, f"{v:.4g}", f"{e:.2g}" if np.isfinite(e) else "n/a",
                         round(rel, 2) if np.isfinite(rel) else None, UNIT_TEXT.get(units.get(n, ""), units.get(n, ""))))
        return pd.DataFrame(rows, columns=cols)

    # ------------------------------------------------------------------ plots
    # Layer methods (see the module docstring): main_view shows each as a DynamicMap on its layer key
    # (self._layer); the public plot methods compose them into static overlays (notebooks, tests).
    def _nyquist_data(self):
        f, z = spectrum(*self._key())
        zf = self._fit_curve(f)[0]
        # titled template cached per cycle (no option processing per frame)
        return hv.Overlay([self._styled("nyq_data", title=f"Nyquist · cycle {self.cycle}").clone((z.real, -z.imag, f)),
                           _tmpl("nyq_fit").clone((zf.real, -zf.imag))])

    def _nyquist_drt(self):
        zd = self._drt_curve()
        return _tmpl("nyq_drt").clone((zd.real, -zd.imag))

    def nyquist(self):
        """Nyquist plot: data, circuit fit and DRT model."""
        return self._nyquist_data() * self._nyquist_drt()

    def _fit_curve(self, f):
        """Circuit-fit impedance on a dense grid over the measured range (NaN when the fit failed)."""
        try:
            return _fit_impedance(*self._key(), self.circuit)
        except SSBError:
            fd = np.logspace(np.log10(f.min()), np.log10(f.max()), 200)
            return np.full(fd.size, np.nan + 0j), fd

    def _drt_curve(self):
        try:
            return np.asarray(self._drt().Z_fit)
        except SSBError:
            f, _ = spectrum(*self._key())
            return np.full(f.size, np.nan + 0j)

    def bode_modulus(self):
        """Bode |Z| against frequency with the circuit fit."""
        f, z = spectrum(*self._key())
        zf, fd = self._fit_curve(f)
        return hv.Overlay([_tmpl("bode_mod_data").clone((f, np.abs(z))), _tmpl("bode_mod_fit").clone((fd, np.abs(zf)))])

    def bode_phase(self):
        """Bode -phase against frequency with the circuit fit."""
        f, z = spectrum(*self._key())
        zf, fd = self._fit_curve(f)
        return hv.Overlay([_tmpl("bode_ph_data").clone((f, -np.degrees(np.angle(z)))),
                           _tmpl("bode_ph_fit").clone((fd, -np.degrees(np.angle(zf))))])

    def kk_plot(self):
        """Kramers-Kronig relative residuals (%) with the ± threshold band."""
        f, _ = spectrum(*self._key())
        try:
            kk = kk_check(*self._key())
            rr, ri, thr, ok = 100 * kk.residuals_real, 100 * kk.residuals_imag, 100 * kk.threshold, kk.passed
            ff = np.asarray(kk.freq)
        except SSBError:
            ff, rr, ri, thr, ok = f, np.full(f.size, np.nan), np.full(f.size, np.nan), 1.0, False
        n = ff.size
        verdict = "passed" if ok else "FAILED"
        title = f"Kramers-Kronig residuals: {verdict} (threshold ±{thr:.2g} %)"
        # the band and the titled template change only with the verdict and threshold: built once per value
        bands = self.__dict__.setdefault("_kk_bands", {})
        band = bands.get((thr, ok))
        if band is None:
            if len(bands) > 16:
                bands.clear()
            band = bands[(thr, ok)] = _tmpl("kk_band").clone([(-thr, thr, "passed" if ok else "failed")])
        paths = self._styled("kk_lines_data", title=title).clone(theme.line_segments(ff, [rr, ri], ["Δ real", "Δ imag"]))
        pts = _tmpl("kk_points").clone({"f (Hz)": np.r_[ff, ff], "KK residual (%)": np.r_[rr, ri],
                                        "series": np.repeat(np.array(["Δ real", "Δ imag"]), n)})
        return hv.Overlay([paths, pts, band])

    def _drt_curve_layer(self):
        try:
            r = self._drt()
            tau, g = np.asarray(r.tau), np.asarray(r.gamma)
            pk = drt_peaks(*self._key(), self.lam, self.lam_method, bool(self.inductance), bool(self.deconvolve))
            pt, ph = np.asarray(pk["tau"], float), np.asarray(pk["height"], float)
            title = f"DRT · λ = {r.lam:.2e} · R∞ = {r.R_inf:.1f} Ω · R_pol = {r.R_pol:.1f} Ω"
        except SSBError:
            tau, g, pt, ph, title = np.array([1e-6, 1.0]), np.full(2, np.nan), np.zeros(0), np.zeros(0), "DRT: error"
        return hv.Overlay([self._styled("drt_curve", title=title).clone((tau, g)), _tmpl("drt_peaks").clone((pt, ph))])

    def _drt_regions_layer(self):
        """Shaded τ regions (one VSpans element, coloured per region)."""
        return _tmpl("drt_regions").clone([(lo, hi, c) for lo, hi, c in self._region_rows()])

    def _region_rows(self):
        """(tau_lo s, tau_hi s, colour) of the τ regions; one NaN row when the text is invalid."""
        try:
            regs = self.region_dict()
        except SSBError:
            return [(np.nan, np.nan, REGION_COLORS[0])]
        return [(lo, hi, REGION_COLORS[i % len(REGION_COLORS)]) for i, (lo, hi) in enumerate(regs.values())]

    def drt_plot(self):
        """DRT of the shown spectrum with the τ regions shaded and the peaks marked."""
        return self._drt_curve_layer() * self._drt_regions_layer()

    def _map_layer(self):
        """The 2-D map image and its peaks (depends on the map's rows and lambda, not on the marker)."""
        ylab, yticks, rows = self._map_rows()
        try:
            lt, G, px, py = _map_arrays(*self._map_args(), self._region_tuple(), bool(self.deconvolve))
        except SSBError:
            lt, G, px, py = np.linspace(-6, 2, 3), np.full((max(len(rows), 1), 3), np.nan), np.zeros(0), np.zeros(0)
        # log10 tau is uniform (analysis.drt's output grid is a logspace) and rows are ordinal: an Image
        # (one 2-D array to the browser) instead of a QuadMesh (one quad per cell)
        dx = (lt[-1] - lt[0]) / max(lt.size - 1, 1)
        bounds = (lt[0] - dx / 2, -0.5, lt[-1] + dx / 2, G.shape[0] - 0.5)
        kd = ["log10 τ (s)", ylab]
        img = self._styled("map_image", yticks=yticks, title=self._map_title(rows), hooks=[theme.keep_y_axis_space, self._hooks["map"]]).clone(
            G[::-1], bounds=bounds, kdims=kd)
        return hv.Overlay([img, _tmpl("map_peaks").clone((px, py), kdims=kd[:1], vdims=kd[1:])])

    def _map_regions_layer(self):
        """Region boundaries (log10 τ) as dashed white lines (one VLines element)."""
        vals = sorted({math.log10(v) for lo, hi, _ in self._region_rows() for v in (lo, hi) if np.isfinite(v)})
        return _tmpl("map_regions").clone(vals or [np.nan])

    def _map_title(self, rows) -> str:
        """Title of the map: its rows (the point's median voltage/SOC over cycles) and the lambda."""
        if self.map_axis == "cycle" and rows:
            what = f"cycles {rows[0]}–{rows[-1]} · {_point_median_label(self.dataset, int(self.point))}"
        else:
            what = f"points of cycle {self.cycle}"
        lam_txt = f"λ auto ({_method_name(self.lam_method)})" if self.lam_auto else f"λ = {self.lam:.3g}"
        return f"2-D DRT · {what} · {lam_txt}"

    def _map_marker_layer(self):
        """The shown cycle (or point) as a dotted line across the map (static plots; the served page
        moves a Bokeh Span instead, see :meth:`_marker_hook`)."""
        loc = self._marker_loc("map")
        return _tmpl("map_marker").clone(np.nan if loc is None else loc)

    def drt_map_plot(self):
        """2-D DRT map: log10 τ on x, cycle (at this point) or point (of this cycle) on y, γ in colour."""
        return self._map_layer() * self._map_regions_layer() * self._map_marker_layer()

    def _map_rows(self):
        """(y label, yticks, row labels) of the map."""
        if self.map_axis == "cycle":
            return _cycle_rows(self.cycles)
        return _point_rows(self.dataset, int(self.cycle))

    def _selected_row(self, rows):
        cur = self.cycle if self.map_axis == "cycle" else self.point
        return rows.index(cur) if cur in rows else None

    def _region_tuple(self) -> tuple:
        try:
            return tuple((n, lo, hi) for n, (lo, hi) in self.region_dict().items())
        except SSBError:
            return (("all", 1e-12, 1e12),)

    def _track_x(self, rows):
        """x values and label of the tracking plots (cycle number, or point index with voltage ticks)."""
        if self.map_axis == "cycle":
            return np.asarray(rows, float), "cycle", None
        _, ticks, _ = self._map_rows()
        return np.arange(len(rows), dtype=float), "point", ticks

    def _marker_x(self) -> float:
        """x of the shown cycle (or point) in the tracking plots (NaN when outside the rows)."""
        _, _, rows = self._map_rows()
        i = self._selected_row(rows)
        if i is None:
            return float("nan")
        return float(rows[i]) if self.map_axis == "cycle" else float(i)

    def _peak_track_layer(self):
        _, _, rows = self._map_rows()
        x, xl, ticks = self._track_x(rows)
        try:
            peaks, _ = drt_tracks(*self._map_args(), self._region_tuple(), bool(self.deconvolve))
        except SSBError:
            peaks = pd.DataFrame(columns=["log10_tau", "row", "area"])
        rr = np.asarray(peaks["row"], int) if len(peaks) else np.zeros(0, int)
        px = x[rr] if rr.size else np.zeros(0)
        xo = {"xticks": ticks, "xrotation": 45} if ticks else {}
        return self._styled("peak_track", hooks=[theme.keep_y_axis_space, self._hooks["track"]], **xo).clone(
            (px, np.asarray(peaks["log10_tau"], float), np.asarray(peaks["area"], float)), kdims=[xl])

    def _peak_regions_layer(self):
        return _tmpl("track_regions").clone(
            [(math.log10(lo), math.log10(hi), c) if np.isfinite(lo) else (lo, hi, c) for lo, hi, c in self._region_rows()])

    def _track_marker_layer(self):
        """Dotted vertical line at the shown cycle (or point) in the tracking plots (static plots; the
        served page moves a Bokeh Span instead)."""
        return _tmpl("track_marker").clone(self._marker_x())

    def peak_track(self):
        """Peak positions (log10 τ) along the map's rows, coloured by peak resistance."""
        return self._peak_track_layer() * self._peak_regions_layer() * self._track_marker_layer()

    def _region_track_layer(self):
        _, _, rows = self._map_rows()
        x, xl, ticks = self._track_x(rows)
        try:
            series = _region_series(*self._map_args(), self._region_tuple(), bool(self.deconvolve))
        except SSBError:
            series = {"R∞": np.full(x.size, np.nan)}
        names = list(series)
        cmap = {n: (theme.OKABE_ITO[7] if n == "R∞" else REGION_COLORS[(i - 1) % len(REGION_COLORS)])
                for i, n in enumerate(names)}
        xo = {"xticks": ticks, "xrotation": 45} if ticks else {}
        paths = self._styled("region_lines", cmap=cmap).clone(theme.line_segments(x, list(series.values()), list(series)), kdims=[xl, "R (Ω)", "x1", "y1"])
        pts = self._styled("region_points", cmap=cmap, hooks=[theme.keep_y_axis_space, self._hooks["track"]], **xo).clone(
            {xl: np.tile(x, len(names)), "R (Ω)": np.concatenate(list(series.values())),
             "region": np.repeat(np.array(names, dtype=object), x.size)}, kdims=[xl])
        return hv.Overlay([paths, pts])

    def region_track(self):
        """Resistance of each τ region (integral of γ over ln τ) and R∞ along the map's rows."""
        return self._region_track_layer() * self._track_marker_layer()

    # ------------------------------------------------------------------ layout
    def main_view(self):
        """Main area: read-outs, Nyquist/Bode, parameter table, KK, DRT, 2-D map and tracks."""
        def plot(*layers):
            dm = self._layer(*layers[0])
            for fn, key in layers[1:]:
                dm = dm * self._layer(fn, key)
            # the templates carry the same min_width (_MIN_WIDTH): HoloViews re-applies its own option at
            # the first update, and a different value made the browser re-lay out every figure (~0.1 s each)
            return pn.pane.HoloViews(dm, sizing_mode="stretch_width", min_width=_MIN_WIDTH)

        card = dict(sizing_mode="stretch_width", collapsible=False, margin=(6, 4))
        spectrum = pn.Column(
            pn.Row(plot((self._nyquist_data, "fit"), (self._nyquist_drt, "drt")), plot((self.bode_modulus, "fit")),
                   plot((self.bode_phase, "fit")), sizing_mode="stretch_width"),
            pn.Row(pn.Card(self._table, title="Circuit parameters (value ± 1σ)", **card),
                   pn.Column(plot((self.kk_plot, "spec")), sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        drt_ = pn.Row(plot((self._drt_curve_layer, "peaks"), (self._drt_regions_layer, "regions")),
                      plot((self._map_layer, "map"), (self._map_regions_layer, "regions")),
                      sizing_mode="stretch_width")
        tracks = pn.Row(plot((self._peak_track_layer, "tracks"), (self._peak_regions_layer, "regions")),
                        plot((self._region_track_layer, "tracks")),
                        sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown(
                "## Impedance & DRT explorer\n"
                "In situ impedance of a cell across cycles and states of charge: live equivalent-circuit fit, "
                "Kramers-Kronig validity, distribution of relaxation times (DRT) and its evolution. "
                "Sample data are **synthetic** (they mimic studies S2–S4).", margin=(0, 10)),
            live(self.fit_readout),
            live(self.drt_readout),
            sections(self, "section", {"spectrum": (SECTIONS["spectrum"], spectrum), "drt": (SECTIONS["drt"], drt_),
                                       "tracks": (SECTIONS["tracks"], tracks)}),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")


def _method_name(method: str) -> str:
    return {v: k for k, v in LAM_METHODS.items()}.get(method, method)
