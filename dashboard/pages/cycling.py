"""Cycling & dQ/dV explorer (studies S2, S3, S5): per-cycle summaries, rate capability, dQ/dV peaks.

Every number comes from :mod:`analysis.cycling` and :mod:`analysis.dqdv`. The dQ/dV (or dV/dQ)
of *every* half-cycle of the chosen direction is computed once per (dataset, direction,
resolution) with :func:`analysis.dqdv.dqdv_cycles` and cached; moving the cycle-range slider
only slices that array, so a 400-cycle test stays responsive. More than ``MAX_CURVES`` selected
cycles are decimated for display (evenly spaced, first and last kept; the plot title says so).

Speed (one slider move): the selected range is shaded on the summary plots by a
:class:`Highlight` (one Bokeh box per figure moved in place, the summary data are not
re-rendered); the dQ/dV curves of the selected cycles are ONE Segments element (a single
Bokeh Segment glyph, one table: no per-curve HoloViews Dataset) with the tracked peaks and
windows in the same DynamicMap, and plot options are set once (:class:`Style`) instead of on
every frame.
"""
from __future__ import annotations

import re
import weakref

import holoviews as hv
import numpy as np
import panel as pn
import param

from analysis.errors import SSBError
from dashboard import data, theme
from dashboard.live import live
from dashboard.widgets import sections, throttled

if "Curve" not in dir(hv.opts):  # plain Python (tests, scripts): make hv.opts.<Element> available
    hv.Store.set_current_backend("bokeh")

#: page sections (tabs): key -> title
SECTIONS = {"summary": "Per-cycle summary", "dqdv": "dQ/dV & peaks"}
#: most dQ/dV curves drawn at once; larger selections are decimated, evenly spaced (stated in the
#: title). 24 curves coloured by cycle stay readable (more overlap into a band) and keep a move
#: cheap: HoloViews prepares each curve of the MultiLine separately (~1 ms of server time per curve
#: per move, measured), and each curve of ~1100 points is sent to the browser.
MAX_CURVES = 24
RESOLUTIONS_MV = [1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0]
REF_LABELS = {"max": "maximum", "max_after_formation": "maximum after formation", "first": "first cycle"}
_WINDOW_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:-|–|—|to|\.\.)\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


class Style:
    """Plot options of one element type, processed ONCE.

    ``.opts(...)`` on every frame of a DynamicMap (or on the DynamicMap, which re-applies them to
    each frame) costs 1-5 ms per move. A Style keeps one styled template element alive and frames
    are created with ``id=style.id``: they share its options tree, with no option processing.

    Parameters
    ----------
    element_type : type
        HoloViews element class (``hv.Contours``, ``hv.Scatter``...).
    **opts
        Its Bokeh plot and style options.
    """

    def __init__(self, element_type, **opts):
        self._template = element_type([]).opts(**opts)  # alive as long as the Style: its tree stays
        self.id = self._template.id
        self._titled: dict = {}

    def titled(self, title: str, **opts) -> int:
        """Options id of this style with the plot title ``title`` (and further options ``opts``, e.g.
        an axis label): processed once per distinct value (the 64 most recently used kept), where
        ``.opts(title=...)`` on each frame would process options per move."""
        key = (title, tuple(sorted(opts.items())))
        el = self._titled.pop(key, None)
        if el is None:
            if len(self._titled) >= 64:
                self._titled.pop(next(iter(self._titled)))  # least recently used
            el = self._template.opts(clone=True, title=title, **opts)
        self._titled[key] = el  # (re)inserted last: most recently used
        return el.id


#: styles of the derivative plot's layers (the curves' title: :meth:`Style.titled`)
_CURVES = Style(hv.Segments, color="Cycle", cmap=theme.SEQUENTIAL, colorbar=True, line_width=1.5,
                colorbar_opts={"title": "cycle"}, hover_tooltips=[("cycle", "@{Cycle}"), ("x", "$x"), ("y", "$y")],
                **{**theme.PLOT_OPTS, "height": 430})
_MARKS = Style(hv.Scatter, color=theme.OKABE_ITO[3], marker="x", size=7)
_WINDOWS = Style(hv.VSpans, color="grey", alpha=0.1, line_alpha=0)
_DERIV_OVERLAY = hv.opts.Overlay(legend_position="top_left")
#: tracked peaks against cycle: one Okabe-Ito colour per window (categorical: the first n colours)
_PEAK_OPTS = dict(framewise=True, color="window", cmap=theme.OKABE_ITO, show_legend=True, line_width=2,
                  **{k: v for k, v in theme.PLOT_OPTS.items() if k != "hooks"},  # hooks: see the styles below
                  hover_tooltips=[("peak window", "@{window}"), ("cycle", "$x{0}"), ("value", "$y")])


def _window_legend(location: str):
    """Plot hook of the tracked-peak plots: a legend entry per peak window, at ``location``.

    HoloViews gives Segments plots an empty legend and no ``legend_position``; the entry is Bokeh's
    ``legend_field`` on the ``window`` column, so the browser lists the windows present in the data
    after every update without the hook doing anything more."""
    def hook(plot, element):
        from bokeh.models import LegendItem

        renderer = plot.handles.get("glyph_renderer")
        for legend in plot.state.legend:
            if not legend.items and renderer is not None:
                legend.items = [LegendItem(label={"field": "window"}, renderers=[renderer])]
            if legend.location != location:
                legend.location = location
    return hook


_PEAK_POSITION = Style(hv.Segments, hooks=[theme.keep_y_axis_space, _window_legend("bottom_left")], **_PEAK_OPTS)
_PEAK_HEIGHT = Style(hv.Segments, hooks=[theme.keep_y_axis_space, _window_legend("top_right")], **_PEAK_OPTS)


def _segments(xs: np.ndarray, ys: np.ndarray, cycles: np.ndarray, kx: hv.Dimension, ky: hv.Dimension,
              title: str = "") -> hv.Segments:
    """One Segments element of the curves ``(xs[k], ys[k])`` (rows: cycles ``cycles[k]``).

    Columns: ``kx`` and ``ky`` (start of each step, named as the axes), ``x1``/``y1`` (its end,
    same ranges) and ``Cycle`` (colour, range = shown cycles); see :func:`dashboard.theme.line_segments`.
    """
    x0, y0, x1, y1, cyc = theme.line_segments(xs, ys, np.asarray(cycles, dtype=float))
    clim = (float(cycles.min()), float(max(cycles.max(), cycles.min() + 1))) if cycles.size else (0.0, 1.0)
    data = {kx.name: x0, ky.name: y0, "x1": x1, "y1": y1, "Cycle": cyc}
    kdims = [kx, ky, hv.Dimension("x1", range=kx.range), hv.Dimension("y1", range=ky.range)]
    # the y label is set: HoloViews labels a Segments plot's x axis only
    return hv.Segments(data, kdims, vdims=[hv.Dimension("Cycle", range=clim)],
                       id=_CURVES.titled(title, xlabel=kx.label, ylabel=ky.label),
                       datatype=["dictionary"])  # the columns as they are (no pandas frame built per move)


def _finite_range(values: np.ndarray, name: str, pad: float) -> hv.Dimension:
    """Dimension ``name`` whose range is the finite extent of ``values`` widened by ``pad`` of it
    on each side (what HoloViews' padding would give; unset when there is no finite value)."""
    v = np.asarray(values, dtype=float)
    fin = v[np.isfinite(v)]
    if not fin.size:
        return hv.Dimension(name)
    lo, hi = float(fin.min()), float(fin.max())
    d = pad * (hi - lo) if hi > lo else 0.5
    return hv.Dimension(name, range=(lo - d, hi + d))


# ---------------------------------------------------------------------------------- cached calls
@data.cached(maxsize=32)
def summary(name: str, reference: str):
    """:func:`analysis.cycling.summarize` of dataset ``name`` (retention vs ``reference``).

    ``reference="max_after_formation"`` is the maximum after the first (formation) cycle, how
    study S2 quotes retention. 1C comes from the cell's ``c_rate_basis_mAh_g`` when present
    (analysis.cycling.summarize reads it).
    """
    from analysis.cycling import summarize

    if reference == "max_after_formation":
        reference = "max_after_first"
    return summarize(data.load(name), reference=reference)


@data.cached(maxsize=16)
def rate(name: str):
    """:func:`analysis.cycling.rate_blocks` of dataset ``name``."""
    from analysis.cycling import rate_blocks

    return rate_blocks(summary(name, "max"))


@data.cached(maxsize=24)
def dqdv_all(name: str, direction: str, resolution_mV: float):
    """dQ/dV (mAh/V) of every ``direction`` half-cycle of ``name``: DataArray (cycle, voltage)."""
    from analysis.dqdv import dqdv_cycles

    return dqdv_cycles(data.load(name), None, direction, resolution_mV=resolution_mV)


@data.cached(maxsize=24)
def dvdq_all(name: str, direction: str, resolution_mV: float):
    """dV/dQ (V/mAh) of every ``direction`` half-cycle, with a 2-D ``capacity`` coordinate (mAh)."""
    from analysis.dqdv import dvdq_cycles

    return dvdq_cycles(data.load(name), None, direction, resolution_mV=resolution_mV)


@data.cached(maxsize=64)
def peaks(name: str, direction: str, resolution_mV: float, windows: tuple[tuple[float, float], ...]):
    """:func:`analysis.dqdv.track_peaks` over the whole test (windows follow the drifting peaks)."""
    from analysis.dqdv import track_peaks

    return track_peaks(dqdv_all(name, direction, resolution_mV), list(windows), direction=direction,
                       resolution_mV=resolution_mV)


@data.cached(maxsize=24)
def auto_windows(name: str, direction: str, resolution_mV: float) -> tuple[tuple[float, float], ...]:
    """Starting windows (V) around the main peaks of the first half-cycle.

    The up to three most prominent peaks (:func:`analysis.dqdv.find_peaks`, at least 0.15 V
    apart) each get a window of +-0.12 V, shrunk so that neighbouring windows do not overlap.
    """
    from analysis.dqdv import find_peaks

    da = dqdv_all(name, direction, resolution_mV)
    fp = find_peaks(da.isel(cycle=0), prominence=0.2)
    order = np.argsort(-fp["prominence"].values)
    chosen: list[float] = []
    for i in order:
        x = float(fp["position"].values[i])
        if np.isfinite(x) and all(abs(x - c) > 0.15 for c in chosen):
            chosen.append(x)
        if len(chosen) == 3:
            break
    chosen.sort()
    out = []
    for k, x in enumerate(chosen):
        lo = x - 0.12 if k == 0 else max(x - 0.12, (x + chosen[k - 1]) / 2)
        hi = x + 0.12 if k == len(chosen) - 1 else min(x + 0.12, (x + chosen[k + 1]) / 2)
        out.append((round(lo, 3), round(hi, 3)))
    return tuple(out)


def parse_windows(text: str) -> tuple[tuple[float, float], ...]:
    """Parse ``"1.8-2.4, 1.4-1.8"`` into ((1.8, 2.4), (1.4, 1.8)) (V); ValueError when malformed."""
    out = []
    for part in [p for p in re.split(r"[,;]", text or "") if p.strip()]:
        m = _WINDOW_RE.match(part)
        if not m:
            raise ValueError(f"peak window {part.strip()!r}: expected 'low-high' in V, e.g. 1.8-2.4")
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo > hi:
            lo, hi = hi, lo
        if hi - lo <= 0 or hi > 10:
            raise ValueError(f"peak window {part.strip()!r}: need 0 <= low < high <= 10 V")
        out.append((lo, hi))
    if not out:
        raise ValueError("no peak window given (type e.g. '1.8-2.4, 1.4-1.8' or 'auto')")
    if len(out) > 6:
        raise ValueError("at most 6 peak windows")
    return tuple(out)


def decimate_cycles(cycles: np.ndarray, max_n: int = MAX_CURVES) -> np.ndarray:
    """At most ``max_n`` evenly spaced entries of ``cycles`` (first and last kept)."""
    cycles = np.asarray(cycles)
    if cycles.size <= max_n:
        return cycles
    idx = np.unique(np.round(np.linspace(0, cycles.size - 1, max_n)).astype(int))
    return cycles[idx]


class Highlight:
    """A moving highlight (a shaded x-range or one marker) as ONE Bokeh model per figure, moved in place.

    HoloViews re-renders a whole overlay when any of its layers changes (ranges, options and the
    bookkeeping of every layer: 10-15 ms per plot), even when only a shaded range or a marker
    moves. A highlight that only moves is cheaper as a plain Bokeh model: :meth:`hook` (a
    HoloViews plot hook of the data layer, so the data keep their DynamicMap and their zoom)
    adds it to each figure once, and a watcher on ``deps`` sets its new position (in a served
    app it goes out with the slider's batch; in a notebook it is pushed through the comm).

    Parameters
    ----------
    owner : param.Parameterized
        The page whose parameters place the highlight.
    deps : list of str
        Parameters that move it.
    where : bound method
        ``where(*args)`` -> ``(x0, x1)`` (data units) of the shaded range (``kind="box"``) or
        ``(x, y)`` of the marker (``kind="marker"``); ``None`` hides it. Errors of the analysis
        (:class:`analysis.errors.SSBError`, KeyError, ValueError) hide it too. Held weakly (as
        ``legend``): the hook lives in HoloViews' global options store and must not keep a
        closed session's page alive.
    kind : {"box", "marker"}
        A :class:`bokeh.models.BoxAnnotation` spanning the plot height, or a scatter marker.
    style : dict
        Bokeh properties of the box or of the marker glyph (colours, alpha, marker, size).
    legend : bound method, optional
        ``legend()`` -> the marker's legend label (added to the plot's legend when it has one).
    args : tuple
        Extra arguments of ``where``.
    """

    def __init__(self, owner: param.Parameterized, deps: list[str], where, kind: str = "box",
                 style: dict | None = None, legend=None, args: tuple = ()):
        self._where, self._args = weakref.WeakMethod(where), tuple(args)
        self._legend = weakref.WeakMethod(legend) if legend is not None else None
        self._kind, self._style = kind, dict(style or {})
        self._models: list = []  # (weakref to the figure, box or marker renderer, legend item or None)
        self._panes: list = []  # weakrefs to the panes showing it (notebook pushes)
        self.tag = f"ssb-highlight-{id(self)}"
        owner.param.watch(self._move, list(deps))

    def _props(self) -> dict:
        where = self._where()
        try:
            w = where(*self._args) if where is not None else None
        except (SSBError, KeyError, ValueError, IndexError):
            w = None
        ok = w is not None and all(v is not None and np.isfinite(v) for v in w)
        if self._kind == "box":
            return {"left": float(w[0]), "right": float(w[1]), "visible": True} if ok else {"visible": False}
        return {"data": {"x": [float(w[0])], "y": [float(w[1])]} if ok else {"x": [], "y": []}}

    def _apply(self, model, legend_item, props: dict) -> None:
        if self._kind == "box":
            model.update(**props)
        else:
            model.data_source.data = props["data"]
            if legend_item is not None and self._label() is not None:
                legend_item.label = {"value": self._label()}

    def _label(self) -> str | None:
        fn = self._legend() if self._legend is not None else None
        return fn() if fn is not None else None

    def hook(self, plot, element) -> None:
        """HoloViews hook: put the highlight on ``plot``'s figure (once) at its current place."""
        from bokeh.models import BoxAnnotation, ColumnDataSource, LegendItem

        fig = plot.state
        self._models[:] = [e for e in self._models if e[0]() is not None]  # figures still alive
        entry = next((e for e in self._models if e[0]() is fig), None)
        if entry is None:
            if self._kind == "box":
                model = BoxAnnotation(level="underlay", line_alpha=0, tags=[self.tag], **self._style)
                fig.add_layout(model)
            else:
                model = fig.scatter("x", "y", source=ColumnDataSource({"x": [], "y": []}), **self._style)
                model.tags = [self.tag]
            entry = (weakref.ref(fig), model, None)
            self._models.append(entry)
        _, model, item = entry
        if self._kind == "marker" and self._label() is not None and fig.legend:
            legend = fig.legend[0]  # HoloViews rebuilds its legend on a re-render: add ours again
            if not any(model in it.renderers for it in legend.items):
                item = LegendItem(label={"value": self._label()}, renderers=[model])
                legend.items.append(item)
                self._models[self._models.index(entry)] = (entry[0], model, item)
        self._apply(model, item, self._props())

    def pane(self, obj, **kw) -> pn.pane.HoloViews:
        """``pn.pane.HoloViews(obj, **kw)``, remembered so notebook updates can be pushed."""
        p = pn.pane.HoloViews(obj, **kw)
        self._panes.append(weakref.ref(p))
        return p

    def _move(self, *_events) -> None:
        if not self._models:
            return
        props = self._props()
        for _, model, item in self._models:
            self._apply(model, item, props)
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:  # notebook: send through the comm
            from panel.io.notebook import push_notebook

            push_notebook(*[p for p in (r() for r in self._panes) if p is not None])


def _fmt_c(c: float) -> str:
    if not np.isfinite(c):
        return "?"
    return f"{c:.2g}C" if c < 1 else f"{c:.3g}C"


class CyclingExplorer(pn.viewable.Viewer):
    """Capacity, CE, retention, polarisation and rate capability; dQ/dV curves and tracked peaks."""

    dataset = param.Selector(default=None, objects=[], label="Cell",
                             doc="Cycling dataset (kind cycling) shown on the page.")
    reference = param.Selector(default="max", objects=["max", "max_after_formation", "first"],
                               label="Retention reference",
                               doc="Capacity retention relative to the maximum discharge capacity, the maximum "
                                   "after the first (formation) cycle, or the first cycle.")
    cycle_range = param.Range(default=(1, 1), bounds=(1, 1), label="Cycle range",
                              doc="First and last cycle (inclusive) whose dQ/dV curves are overlaid.")
    mode = param.Selector(default="dQ/dV", objects=["dQ/dV", "dV/dQ"], label="Derivative",
                          doc="Differential capacity dQ/dV (mAh/V) against voltage, or dV/dQ (V/mAh) against capacity.")
    direction = param.Selector(default="charge", objects=["charge", "discharge"], label="Half-cycle",
                               doc="Analyse the charge or the discharge half-cycles.")
    resolution_mV = param.Selector(default=5.0, objects=RESOLUTIONS_MV, label="Voltage resolution (mV)",
                                   doc="Smoothing of dQ/dV: FWHM of the Gaussian kernel in mV.")
    windows = param.String(default="auto", label="Peak windows (V)",
                           doc="Voltage windows of the tracked peaks, 'lo-hi' in V separated by commas "
                               "(e.g. '1.8-2.4, 1.4-1.8'), or 'auto' (main peaks of the first cycle).")
    section = param.Selector(default="summary", objects=list(SECTIONS), label="Section",
                             doc="Section (tab) shown: 'summary' (capacity, retention, CE, polarisation and "
                                 "rate capability per cycle) or 'dqdv' (dQ/dV or dV/dQ curves of the selected "
                                 "cycles and the tracked peaks).")

    def __init__(self, dataset: str | None = None, **params):
        super().__init__(**params)
        self.param.dataset.objects = data.names("cycling")
        self._range_widget = None
        self.dataset = dataset or (self.param.dataset.objects[0] if self.param.dataset.objects else None)
        self._on_dataset()
        self._widgets = self._make_widgets()
        # the selected range, shaded on the summary plots: moved in place, the data stay put
        self._range_shade = Highlight(self, ["cycle_range"], self._span_bounds, "box",
                                      {"fill_color": theme.OKABE_ITO[5], "fill_alpha": 0.15})

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "reference", "cycle_range", "mode", "direction", "resolution_mV", "windows", "section"]

    @param.depends("dataset", watch=True)
    def _on_dataset(self):
        if self.dataset is None:
            return
        try:
            cyc = self._cycles()
        except (SSBError, ValueError, KeyError):
            return  # the read-out and plots state the error
        if cyc.size == 0:
            return
        lo, hi = int(cyc.min()), int(cyc.max())
        self.param.cycle_range.bounds = (lo, hi)
        # a new cell shows all its cycles (a shared URL restores its own range after the dataset)
        self.cycle_range = (lo, hi)
        if self._range_widget is not None:
            self._range_widget.param.update(start=lo, end=max(hi, lo + 1))

    def _cycles(self) -> np.ndarray:
        return summary(self.dataset, self.reference)["cycle"].values

    def _summary(self):
        return summary(self.dataset, self.reference)

    def _range(self) -> tuple[int, int]:
        a, b = (int(round(v)) for v in self.cycle_range)
        return (a, b) if a <= b else (b, a)

    def effective_windows(self) -> tuple[tuple[float, float], ...]:
        """Peak windows in use (V): parsed from ``windows`` or found automatically."""
        if (self.windows or "").strip().lower() in ("", "auto"):
            return auto_windows(self.dataset, self.direction, float(self.resolution_mV))
        return parse_windows(self.windows)

    def _deriv(self):
        res = float(self.resolution_mV)
        if self.mode == "dV/dQ":
            return dvdq_all(self.dataset, self.direction, res)
        return dqdv_all(self.dataset, self.direction, res)

    def _peaks(self):
        return peaks(self.dataset, self.direction, float(self.resolution_mV), self.effective_windows())

    def _cap_var(self) -> tuple[str, str, str]:
        """(charge var, discharge var, unit) of the capacity shown (specific when available)."""
        s = self._summary()
        if "discharge_capacity_specific" in s:
            return "charge_capacity_specific", "discharge_capacity_specific", "mAh/g"
        return "charge_capacity", "discharge_capacity", "mAh"

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self):
        lo, hi = self.param.cycle_range.bounds
        self._range_widget = throttled(self, "cycle_range", pn.widgets.IntRangeSlider,
                                       start=lo, end=max(hi, lo + 1), step=1)
        return [
            pn.widgets.Select.from_param(self.param.dataset, name="Cell"),
            pn.widgets.Select.from_param(self.param.reference, name="Retention reference",
                                         options={v: k for k, v in REF_LABELS.items()}),
            pn.pane.Markdown("#### Differential capacity", margin=(10, 5, 0, 5)),
            self._range_widget,
            pn.widgets.RadioButtonGroup.from_param(self.param.mode, name="Derivative", **theme.CHOICE_STYLE),
            pn.widgets.RadioButtonGroup.from_param(self.param.direction, name="Half-cycle", **theme.CHOICE_STYLE),
            throttled(self, "resolution_mV", pn.widgets.DiscreteSlider, name="Voltage resolution (mV)"),
            pn.widgets.TextInput.from_param(self.param.windows, name="Peak windows (V)",
                                            placeholder="auto, or e.g. 1.8-2.4, 1.4-1.8",
                                            css_classes=["ssb-w-windows"]),
        ]

    def controls(self):
        """Sidebar controls."""
        return pn.Column(*self._widgets, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ read-outs
    @param.depends("dataset", "reference", "cycle_range", "direction", "resolution_mV", "windows")
    def readout(self):
        """Selected cycle range, capacity and retention at its last cycle, peak positions at its ends."""
        try:
            s = self._summary()
            a, b = self._range()
            cyc = s["cycle"].values
            sel = cyc[(cyc >= a) & (cyc <= b)]
            _, dvar, unit = self._cap_var()
            lines = [f"**Cycles** {a}–{b} ({sel.size} cycles)"]
            if sel.size:
                # numpy indexing of the cached summary (xarray .sel costs ~0.3 ms a call)
                i = int(np.flatnonzero(cyc == sel[-1])[0])
                ref = s.attrs.get("retention_reference_cycle")
                lines.append(f"**Discharge capacity, cycle {int(sel[-1])}** = {float(s[dvar].values[i]):.1f} {unit}"
                             f" · **retention** = {float(s['retention'].values[i]):.2f} % (vs cycle {ref}, "
                             f"{REF_LABELS[self.reference]}) · **CE** = {float(s['coulombic_efficiency'].values[i]):.2f} %")
        except SSBError as exc:
            return pn.pane.Alert(f"Cannot summarise this cell: {exc}", alert_type="danger")
        try:
            wins = self.effective_windows()
            tp = self._peaks()
            pk = []
            pc = tp["cycle"].values
            ps = pc[(pc >= a) & (pc <= b)]
            if ps.size:
                c0, c1 = int(ps[0]), int(ps[-1])
                pos = tp["position"].transpose("cycle", "peak").values
                i0, i1 = int(np.flatnonzero(pc == c0)[0]), int(np.flatnonzero(pc == c1)[0])
                for k, w in enumerate(wins[:pos.shape[1]]):
                    p0, p1 = float(pos[i0, k]), float(pos[i1, k])
                    pk.append(f"{w[0]:g}–{w[1]:g} V: {p0:.3f} V (cycle {c0}) → {p1:.3f} V (cycle {c1}),"
                              f" shift {1e3 * (p1 - p0):+.0f} mV")
            lines.append(f"**{self.direction.capitalize()} peaks** ({float(self.resolution_mV):g} mV): "
                         + ("; ".join(pk) if pk else "none in this range"))
        except (SSBError, ValueError) as exc:
            lines.append(f"**Peaks**: {exc}")
        return pn.pane.Markdown("  \n".join(lines), css_classes=["ssb-readout"], sizing_mode="stretch_width")

    @param.depends("windows", "dataset", "direction", "resolution_mV")
    def messages(self):
        """An alert when the peak windows cannot be parsed (else nothing)."""
        try:
            self.effective_windows()
        except ValueError as exc:
            return pn.pane.Alert(str(exc), alert_type="warning", sizing_mode="stretch_width")
        except SSBError as exc:
            return pn.pane.Alert(f"Peak windows: {exc}", alert_type="warning", sizing_mode="stretch_width")
        return pn.pane.Markdown("", height=0, margin=0)

    # ------------------------------------------------------------------ plots
    def _summary_or_error(self, ylabel: str):
        """(summary, None) or (None, an empty plot whose title states the error)."""
        try:
            return self._summary(), None
        except (SSBError, ValueError, KeyError) as exc:
            return None, (hv.Curve([], "Cycle", ylabel)).opts(
                title=f"Cannot summarise this cell: {exc}", **theme.PLOT_OPTS)

    def _span_bounds(self) -> tuple[float, float]:
        """x extent (cycle) of the shading of the selected cycle range on the summary plots."""
        a, b = self._range()
        return a - 0.5, b + 0.5

    @param.depends("dataset", "reference")
    def capacity_plot(self):
        """Charge and discharge capacity (specific when available) against cycle."""
        s, err = self._summary_or_error("Capacity")
        if err is not None:
            return err
        cvar, dvar, unit = self._cap_var()
        c = s["cycle"].values
        yl = f"Capacity ({unit})"
        ch = hv.Scatter((c, s[cvar].values), "Cycle", yl, label="charge").opts(
            color=theme.OKABE_ITO[3], size=4, marker="triangle", title="Capacity",
            **theme.PLOT_OPTS)
        di = hv.Scatter((c, s[dvar].values), "Cycle", yl, label="discharge").opts(color=theme.OKABE_ITO[0], size=4)
        return ch * di

    @param.depends("dataset", "reference")
    def ce_plot(self):
        """Coulombic efficiency (%) against cycle (convention in the axis label)."""
        s, err = self._summary_or_error("CE (%)")
        if err is not None:
            return err
        conv = s.attrs.get("ce_convention", "")
        yl = f"CE, {conv} (%)"
        sc = hv.Scatter((s["cycle"].values, s["coulombic_efficiency"].values), "Cycle", yl).opts(
            color=theme.OKABE_ITO[2], size=4, title="Coulombic efficiency", **theme.PLOT_OPTS)
        return hv.Overlay([sc])

    @param.depends("dataset", "reference")
    def retention_plot(self):
        """Capacity retention (%) against cycle, relative to the chosen reference."""
        s, err = self._summary_or_error("Retention (%)")
        if err is not None:
            return err
        ref = s.attrs.get("retention_reference_cycle")
        sc = hv.Curve((s["cycle"].values, s["retention"].values), "Cycle", "Retention (%)").opts(
            color=theme.OKABE_ITO[0], line_width=2, title=f"Retention vs cycle {ref} ({REF_LABELS[self.reference]})",
            **theme.PLOT_OPTS)
        line = hv.HLine(100).opts(color="grey", line_dash="dashed", line_width=1)
        return sc * line

    @param.depends("dataset", "reference")
    def polarisation_plot(self):
        """Polarisation (mean charge V - mean discharge V) against cycle."""
        s, err = self._summary_or_error("Polarisation (V)")
        if err is not None:
            return err
        c = s["cycle"].values
        yl = "Polarisation (V)"
        p1 = hv.Curve((c, s["polarisation"].values), "Cycle", yl, label="mean V (energy/capacity)").opts(
            color=theme.OKABE_ITO[4], line_width=2, title="Polarisation",
            **theme.PLOT_OPTS)
        p2 = hv.Curve((c, s["polarisation_mid"].values), "Cycle", yl, label="at half capacity").opts(
            color=theme.OKABE_ITO[1], line_width=1.5, line_dash="dashed")
        return p1 * p2

    @param.depends("dataset")
    def rate_plot(self):
        """Rate capability: mean discharge capacity of each block of equal C-rate (a note for one rate)."""
        try:
            rb = rate(self.dataset)
        except SSBError as exc:
            return pn.pane.Alert(f"Rate capability: {exc}", alert_type="warning")
        spec = "discharge_capacity_specific" in rb
        var = "discharge_capacity_specific" if spec else "discharge_capacity"
        unit = "mAh/g" if spec else "mAh"
        basis = rb.attrs.get("c_rate_basis") or summary(self.dataset, "max").attrs.get("c_rate_basis", "")
        nb = rb.sizes["block"]
        if nb < 2:
            return pn.pane.Markdown(
                f"**Rate capability**: this cell was cycled at a single rate "
                f"({_fmt_c(float(rb['c_rate'].values[0]))}, {float(rb['current'].values[0]):.3g} mA; {basis}).",
                sizing_mode="stretch_width")
        labels = [f"{_fmt_c(float(c))} (cycles {int(f)}–{int(l)})" for c, f, l in
                  zip(rb["c_rate"].values, rb["first_cycle"].values, rb["last_cycle"].values)]
        yl = f"Mean discharge capacity ({unit})"
        bars = hv.Bars((labels, rb[var].values, rb["current"].values), "C-rate", [yl, "Current (mA)"]).opts(
            color=theme.OKABE_ITO[0], alpha=0.85, bar_width=0.6, tools=["hover"], responsive=True, height=300,
            fontscale=1.05, title=f"Rate capability: {nb} blocks of equal C-rate ({basis})")
        return pn.pane.HoloViews(bars, sizing_mode="stretch_width")

    def _deriv_dims(self) -> tuple[str, str]:
        """(x label, y label) of the derivative plot in the current mode."""
        return ("Capacity (mAh)", "dV/dQ (V/mAh)") if self.mode == "dV/dQ" else ("Voltage (V)", "dQ/dV (mAh/V)")

    def _shown_cycles(self, cyc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(selected, shown) cycles of the range: at most ``MAX_CURVES`` shown, evenly spaced."""
        a, b = self._range()
        sel = cyc[(cyc >= a) & (cyc <= b)]
        return sel, decimate_cycles(sel)

    def _curves_and_marks(self) -> list:
        """[curves, tracked peaks] of the selected cycles.

        The curves are ONE Segments element: every step between consecutive points of every shown
        cycle, coloured by its ``Cycle`` value (one Bokeh ``Segment`` glyph, columns ``x0 y0 x1 y1
        Cycle``). A ``Contours`` element (a path per cycle) draws the same picture, but HoloViews
        builds a Dataset per path on every update (~1 ms each, 24 ms for 24 curves); Segments is
        one table. Gaps (NaN, e.g. a constant-voltage step) simply have no segment. The peaks are
        one Scatter (dQ/dV mode only). The dimension ranges are set from the plotted arrays, so
        HoloViews does not scan the data again.
        """
        a, b = self._range()
        xl, yl = self._deriv_dims()
        try:
            da = self._deriv()
        except SSBError as exc:
            empty = _segments(np.empty((0, 0)), np.empty((0, 0)), np.array([]), hv.Dimension(xl), hv.Dimension(yl),
                              title=f"{self.mode}: {exc}")
            return [empty, hv.Scatter([], xl, yl, label="tracked peaks", id=_MARKS.id)]
        cyc = da["cycle"].values
        sel, show = self._shown_cycles(cyc)
        idx = np.searchsorted(cyc, show)  # cycles are sorted: rows of the cached whole-test array
        ys = np.asarray(da.values[idx], dtype=float)
        if self.mode == "dV/dQ":
            xs = np.asarray(da["capacity"].values[idx], dtype=float)
        else:
            xs = np.broadcast_to(np.asarray(da["voltage"].values, dtype=float), ys.shape)
        title = f"{self.mode}, {self.direction}, cycles {a}–{b}"
        if show.size < sel.size:
            title += f" (showing {show.size} of {sel.size}, evenly spaced)"
        title += f" · {float(self.resolution_mV):g} mV"
        kx, ky = _finite_range(xs, xl, 0.1), _finite_range(ys, yl, 0.07)
        curves = _segments(xs, ys, show, kx, ky, title=title)
        return [curves, self._peak_marks(show, kx, ky)]

    def _peak_marks(self, show: np.ndarray, kx, ky):
        """Scatter of the tracked peaks (position, height) in the shown cycles (dQ/dV mode only)."""
        px = py = np.array([])
        if self.mode != "dV/dQ":
            try:
                tp = self._peaks()
                tc = tp["cycle"].values
                idx = np.searchsorted(tc, show[np.isin(show, tc)])
                ok = tp["is_peak"].values[idx]
                px = np.where(ok, tp["position"].values[idx], np.nan).ravel()
                py = np.where(ok, tp["height"].values[idx], np.nan).ravel()
            except (SSBError, ValueError):
                pass
        return hv.Scatter((px, py), kx, ky, label="tracked peaks", id=_MARKS.id)

    def _peak_windows(self):
        """The peak windows (V), shaded (dQ/dV mode; empty in dV/dQ mode)."""
        xl, _ = self._deriv_dims()
        wins = ()
        if self.mode != "dV/dQ":
            try:
                wins = self.effective_windows()
            except (SSBError, ValueError):
                pass
        return hv.VSpans([tuple(w) for w in wins], kdims=[xl, "x1"], id=_WINDOWS.id)

    @param.depends("dataset", "cycle_range", "mode", "direction", "resolution_mV", "windows")
    def derivative_plot(self):
        """dQ/dV (or dV/dQ) curves of the selected cycles coloured by cycle (cividis), the tracked
        peaks and the peak windows: three elements with their styles set once (:class:`Style`),
        so any change is one plot update of three glyphs."""
        return hv.Overlay([self._peak_windows(), *self._curves_and_marks()]).opts(_DERIV_OVERLAY)

    def _peak_curves(self, var: str, ylabel: str, title: str) -> hv.Segments:
        """Tracked ``var`` against cycle, one line per peak window (Okabe-Ito by window), drawn as ONE
        Segments element (:func:`dashboard.theme.line_segments`; a gap where a cycle has no peak).

        A fixed plot structure whatever the number of windows, and an update is one glyph's columns.
        The lines were a Contours element (a path per window) before: HoloViews built a Dataset per
        path several times per update, ~20 ms per plot and move, for 2-3 paths (measured).
        Columns: ``cycle``/``c1`` (x, labelled Cycle), ``value``/``v1`` (y, labelled ``ylabel``),
        ``window`` (the peak window, e.g. ``1.55–1.85 V``: colour and legend)."""
        labels, rows, c, err = [], [], np.zeros(0), ""
        try:
            wins = self.effective_windows()
            tp = self._peaks()
            c = tp["cycle"].values.astype(float)
            ok = tp["is_peak"].transpose("cycle", "peak").values
            val = np.where(ok, tp[var].transpose("cycle", "peak").values, np.nan)
            for k, w in enumerate(wins[:val.shape[1]]):
                labels.append(f"{w[0]:g}–{w[1]:g} V")
                rows.append(val[:, k])
        except (SSBError, ValueError) as exc:
            err = f": {exc}"
        x0, y0, x1, y1, lab = theme.line_segments(c, np.array(rows).reshape(len(rows), c.size), labels)
        style = _PEAK_POSITION if var == "position" else _PEAK_HEIGHT
        kx = _finite_range(c, "cycle", 0.05)
        ky = _finite_range(np.array(rows), "value", 0.05)
        kx.label, ky.label = "Cycle", ylabel
        data = {"cycle": x0, "value": y0, "c1": x1, "v1": y1, "window": lab}
        kdims = [kx, ky, hv.Dimension("c1", range=kx.range), hv.Dimension("v1", range=ky.range)]
        return hv.Segments(data, kdims, vdims=[hv.Dimension("window", label="Peak window")], id=style.titled(title + err),
                           datatype=["dictionary"])

    @param.depends("dataset", "direction", "resolution_mV", "windows")
    def peak_position_plot(self):
        """Tracked peak position (V) against cycle, one Okabe-Ito colour per peak window."""
        return self._peak_curves("position", "Peak position (V)", f"{self.direction.capitalize()} peak position")

    @param.depends("dataset", "direction", "resolution_mV", "windows")
    def peak_height_plot(self):
        """Tracked peak height (mAh/V) against cycle, one Okabe-Ito colour per peak window."""
        return self._peak_curves("height", "Peak height (mAh/V)", f"{self.direction.capitalize()} peak height")

    def main_view(self):
        """Main area: read-outs above the sections (tabs): per-cycle summaries with rate capability;
        dQ/dV and tracked peaks."""
        def dm(m):
            return pn.pane.HoloViews(hv.DynamicMap(m), sizing_mode="stretch_width")

        def ranged(m, legend=None):
            # the summary data (a DynamicMap: zoom survives) carry the cycle-range shading as a
            # Highlight: a range move only moves the shading, the data are not re-rendered
            shade = self._range_shade
            opts = {"hooks": [theme.keep_y_axis_space, shade.hook], **({"legend_position": legend} if legend else {})}
            return shade.pane(hv.DynamicMap(m).opts(hv.opts.Overlay(**opts)), sizing_mode="stretch_width")

        return pn.Column(
            pn.pane.Markdown("## Cycling & dQ/dV explorer\nPer-cycle capacity, coulombic efficiency, retention "
                             "and polarisation; rate capability; differential capacity of the selected cycles "
                             "with redox peaks tracked across the whole test. Sample data are **synthetic** "
                             "(studies S2, S4, S5)."),
            live(self.readout),
            live(self.messages),
            sections(self, "section", {
                "summary": (SECTIONS["summary"], pn.Column(
                    pn.Row(ranged(self.capacity_plot, "bottom_left"), ranged(self.retention_plot),
                           sizing_mode="stretch_width"),
                    pn.Row(ranged(self.ce_plot), ranged(self.polarisation_plot, "top_left"), sizing_mode="stretch_width"),
                    pn.panel(self.rate_plot, sizing_mode="stretch_width"),
                    sizing_mode="stretch_width")),
                "dqdv": (SECTIONS["dqdv"], pn.Column(
                    pn.Row(dm(self.derivative_plot), sizing_mode="stretch_width"),
                    pn.Row(dm(self.peak_position_plot), dm(self.peak_height_plot), sizing_mode="stretch_width"),
                    sizing_mode="stretch_width"))}),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")
