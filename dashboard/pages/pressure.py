"""Stack-pressure explorer (study S2): pressure beside voltage, breathing, growth, link to fade.

A cell is paired with its pressure log through the log's ``cell`` attribute. The log is put
on the cell's clock with :func:`analysis.pressure.align`; per-cycle breathing and growth come
from :func:`analysis.pressure.per_cycle`, the link with capacity retention from
:func:`analysis.pressure.correlate`. Long time series are min-max decimated to about
``N_BINS`` bins of the visible x-range (a cached helper keyed on the rounded range, driven by
an ``hv.streams.RangeX`` stream), so zooming in shows every sample again. The long series do not
depend on the chosen cycle: its shading and its markers on the per-cycle plots are Highlights
(:class:`dashboard.pages.cycling.Highlight`, moved in place), so a cycle move re-renders only
the cycle's own pressure-voltage loop.
"""
from __future__ import annotations

from functools import lru_cache

import holoviews as hv
import numpy as np
import panel as pn
import param

from analysis.errors import SSBError
from dashboard import data, theme
from dashboard.live import live
from dashboard.pages.cycling import REF_LABELS, Highlight, Style, summary
from dashboard.widgets import sections, throttled

#: page sections (tabs): key -> title. Only the shown section is drawn (a session opens faster and a
#: move updates the plots the user sees); the cycle slider acts on both.
SECTIONS = {"timeseries": "Pressure & voltage vs time", "cycles": "Per cycle & correlation"}
#: number of x bins of the min-max decimation (each bin contributes its min and its max)
N_BINS = 1200
METRICS = {
    "growth_pct": "Irreversible growth vs P₀ (%)",
    "growth_max_pct": "Growth of P_max vs P₀ (%)",
    "breathing": "Breathing amplitude (MPa)",
    "drift": "Irreversible drift at the reference state (MPa)",
}
METRIC_SHORT = {"growth_pct": "irreversible growth", "growth_max_pct": "P_max growth",
                "breathing": "breathing amplitude", "drift": "irreversible drift"}
STATES = {"end_of_discharge": "end of discharge", "end_of_charge": "end of charge"}

if "Curve" not in dir(hv.opts):  # plain Python (tests, scripts): make hv.opts.<Element> available
    hv.Store.set_current_backend("bokeh")

#: styles set once (frames share them by id, see dashboard.pages.cycling.Style)
_CHARGE = Style(hv.Curve, color=theme.OKABE_ITO[3], line_width=2, framewise=True,  # each cycle on its own scale
                **theme.PLOT_OPTS)
_DISCHARGE = Style(hv.Curve, color=theme.OKABE_ITO[0], line_width=2, framewise=True, **theme.PLOT_OPTS)
_CYCLE_OVERLAY = hv.opts.Overlay(legend_position="top_left")
_CORR_OPTS = hv.opts.Points(framewise=True, color="Cycle", cmap=theme.SEQUENTIAL, colorbar=True, size=5,
                            colorbar_opts={"title": "cycle"}, **theme.PLOT_OPTS)
#: the chosen-cycle marker of the HoloViews overlays (breathing_plot...; the page uses Highlights)
_MARK_OPTS = (hv.opts.Scatter(color=theme.OKABE_ITO[1], size=12, marker="diamond", line_color="black"),
              hv.opts.Points(color=theme.OKABE_ITO[1], size=13, marker="diamond", line_color="black"))


# ---------------------------------------------------------------------------------- cached calls
def _pairs() -> tuple[tuple[str, str], ...]:
    """(cell, pressure log) pairs of the session's datasets."""
    return _pairs_of(data.store_dir(), data.generation())


@lru_cache(maxsize=8)
def _pairs_of(store: str | None, generation: int) -> tuple[tuple[str, str], ...]:
    """(cell, log) pairs of the sample data and ``store`` (``generation``: see :func:`data.generation`)."""
    out = []
    for log in data.names("pressure_log"):
        try:
            cell = data.load(log).attrs.get("cell")
        except Exception:  # an unreadable store entry must not break the page
            continue
        if cell:
            out.append((str(cell), log))
    return tuple(out)


def cells_with_pressure() -> list[str]:
    """Cycling datasets that have a pressure log (the log's ``cell`` attr names the cell)."""
    cyc = set(data.names("cycling"))
    return [c for c, _ in _pairs() if c in cyc]


def log_of(cell: str) -> str:
    """Name of the pressure log of cycling dataset ``cell``."""
    for c, log in _pairs():
        if c == cell:
            return log
    raise KeyError(f"no pressure log names {cell!r} in its 'cell' attribute")


@data.cached(maxsize=8)
def aligned(cell: str):
    """:func:`analysis.pressure.align` of ``cell`` with its pressure log."""
    from analysis.pressure import align

    return align(data.load(cell), data.load(log_of(cell)))


@data.cached(maxsize=16)
def pressure_summary(cell: str, reference_state: str):
    """:func:`analysis.pressure.per_cycle` of the aligned record."""
    from analysis.pressure import per_cycle

    return per_cycle(aligned(cell), reference_state=reference_state)


@data.cached(maxsize=64)
def correlation(cell: str, reference_state: str, metric: str, reference: str):
    """:func:`analysis.pressure.correlate` of ``metric`` with the capacity retention."""
    from analysis.pressure import correlate

    return correlate(pressure_summary(cell, reference_state), summary(cell, reference), x=metric, y="retention")


@data.cached(maxsize=8)
def series(cell: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Time series in hours: ``voltage`` (cell clock) and ``pressure`` (logger, shifted onto it)."""
    ds = data.load(cell)
    log = data.load(log_of(cell))
    off = float(aligned(cell).attrs["pressure_offset_s"])
    tv = np.asarray(ds["time"].values, dtype=float) / 3600.0
    tp = (np.asarray(log["time"].values, dtype=float) + off) / 3600.0
    out = {}
    for key, t, y in (("voltage", tv, np.asarray(ds["voltage"].values, dtype=float)),
                      ("pressure", tp, np.asarray(log["pressure"].values, dtype=float))):
        ok = np.isfinite(t) & np.isfinite(y)
        order = np.argsort(t[ok], kind="stable")
        out[key] = (t[ok][order], y[ok][order])
    return out


@data.cached(maxsize=8)
def detected(cell: str):
    """The aligned record with detected cycles (:func:`analysis.cycling.detect_half_cycles`)."""
    from analysis.cycling import detect_half_cycles

    return detect_half_cycles(aligned(cell))


@data.cached(maxsize=8)
def cycle_times(cell: str) -> dict[int, tuple[float, float]]:
    """Start and end (h) of every detected cycle."""
    d = detected(cell)
    t = np.asarray(d["time"].values, dtype=float) / 3600.0
    c = np.asarray(d["cycle"].values)
    m = c > 0
    t, c = t[m], c[m]
    out = {}
    if c.size:
        order = np.argsort(c, kind="stable")
        cs, ts = c[order], t[order]
        starts = np.r_[0, np.flatnonzero(np.diff(cs)) + 1]
        stops = np.r_[starts[1:], cs.size]
        for a, b in zip(starts, stops):
            out[int(cs[a])] = (float(ts[a:b].min()), float(ts[a:b].max()))
    return out


@data.cached(maxsize=64)
def cycle_records(cell: str, cycle: int) -> dict[str, np.ndarray]:
    """Voltage (V), aligned pressure (MPa) and direction (+1 charge, -1 discharge) of one cycle."""
    d = detected(cell)
    m = (np.asarray(d["cycle"].values) == cycle) & (np.asarray(d["direction"].values) != 0)
    return {k: np.asarray(d[k].values)[m] for k in ("voltage", "pressure", "direction")}


def minmax_decimate(t: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Keep the minimum and the maximum of each of ``n_bins`` consecutive chunks (in time order).

    Returns the input unchanged when it has fewer than ``2 * n_bins`` points, so a zoomed-in
    view shows every sample. Peaks and dips of a noisy record survive (unlike striding).
    """
    n = t.size
    if n <= 2 * n_bins:
        return t, y
    k = int(np.ceil(n / n_bins))
    pad = n_bins * k - n
    yy = np.pad(y, (0, pad), mode="edge").reshape(n_bins, k)
    base = np.arange(n_bins) * k
    i_min = np.minimum(base + yy.argmin(axis=1), n - 1)
    i_max = np.minimum(base + yy.argmax(axis=1), n - 1)
    idx = np.sort(np.concatenate([i_min, i_max]))
    return t[idx], y[idx]


@data.cached(maxsize=256)
def visible(cell: str, key: str, x0: float | None, x1: float | None, n_bins: int = N_BINS):
    """Decimated (t, y) of series ``key`` inside [x0, x1] h (None: everything), with one point of margin."""
    t, y = series(cell)[key]
    lo = 0 if x0 is None else max(int(np.searchsorted(t, x0)) - 1, 0)
    hi = t.size if x1 is None else min(int(np.searchsorted(t, x1)) + 1, t.size)
    return minmax_decimate(t[lo:hi], y[lo:hi], n_bins)


def _round_range(x_range) -> tuple[float | None, float | None]:
    if not x_range or x_range[0] is None or x_range[1] is None:
        return None, None
    a, b = float(x_range[0]), float(x_range[1])
    if not (np.isfinite(a) and np.isfinite(b)) or b <= a:
        return None, None
    step = (b - a) / 2000.0  # cache key: the range rounded to 1/2000 of its width
    return round(np.floor(a / step) * step, 9), round(np.ceil(b / step) * step, 9)


class PressureExplorer(pn.viewable.Viewer):
    """Stack pressure and voltage against time; per-cycle breathing and growth; link with capacity fade."""

    dataset = param.Selector(default=None, objects=[], label="Cell",
                             doc="Cycling dataset that has a pressure log (the log's 'cell' attribute names it).")
    cycle = param.Integer(default=1, bounds=(1, 1), label="Cycle",
                          doc="Cycle highlighted in the time series and marked in the per-cycle plots.")
    metric = param.Selector(default="growth_pct", objects=list(METRICS), label="Pressure quantity",
                            doc="Per-cycle pressure quantity correlated with the capacity retention.")
    reference_state = param.Selector(default="end_of_discharge", objects=list(STATES), label="Reference state",
                                     doc="State at which the irreversible drift and growth are read (end of discharge or of charge).")
    reference = param.Selector(default="max", objects=list(REF_LABELS), label="Retention reference",
                               doc="Capacity retention relative to the maximum (optionally after formation) "
                                   "or the first discharge capacity.")
    section = param.Selector(default="timeseries", objects=list(SECTIONS), label="Section",
                             doc="Section (tab) shown: 'timeseries' (pressure and voltage against time) or 'cycles' "
                                 "(breathing and growth per cycle, the cycle's pressure-voltage loop, correlation "
                                 "with capacity retention).")

    def __init__(self, dataset: str | None = None, **params):
        super().__init__(**params)
        self.param.dataset.objects = cells_with_pressure()
        self._cycle_widget = None
        self.dataset = dataset or (self.param.dataset.objects[0] if self.param.dataset.objects else None)
        self._on_dataset()
        self._widgets = self._make_widgets()
        self._make_highlights()

    # ------------------------------------------------------------------ state
    def url_params(self) -> list[str]:
        """Parameters that go into a shared URL."""
        return ["dataset", "cycle", "metric", "reference_state", "reference", "section"]

    @param.depends("dataset", watch=True)
    def _on_dataset(self):
        if self.dataset is None:
            return
        try:
            c = pressure_summary(self.dataset, self.reference_state)["cycle"].values
        except SSBError:
            return
        lo, hi = int(c.min()), int(c.max())
        self.param.cycle.bounds = (lo, hi)
        if not lo <= self.cycle <= hi:
            self.cycle = lo
        if self._cycle_widget is not None:
            self._cycle_widget.param.update(start=lo, end=max(hi, lo + 1))

    def _ps(self):
        return pressure_summary(self.dataset, self.reference_state)

    # ------------------------------------------------------------------ widgets
    def _make_widgets(self):
        lo, hi = self.param.cycle.bounds
        self._cycle_widget = throttled(self, "cycle", pn.widgets.IntSlider, start=lo, end=max(hi, lo + 1), step=1)
        return [
            pn.widgets.Select.from_param(self.param.dataset, name="Cell"),
            self._cycle_widget,
            pn.widgets.Select.from_param(self.param.metric, name="Pressure quantity (correlation)",
                                         options={v: k for k, v in METRICS.items()}),
            pn.widgets.RadioButtonGroup.from_param(self.param.reference_state, name="Reference state",
                                                   options={v: k for k, v in STATES.items()}, **theme.CHOICE_STYLE),
            pn.widgets.Select.from_param(self.param.reference, name="Retention reference",
                                         options={v: k for k, v in REF_LABELS.items()}),
        ]

    def controls(self):
        """Sidebar controls."""
        if not self.param.dataset.objects:
            return pn.pane.Alert("No cell has a pressure log (kind pressure_log with a 'cell' attribute).",
                                 alert_type="info")
        return pn.Column(*self._widgets, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ read-outs
    @param.depends("dataset", "cycle", "metric", "reference_state", "reference")
    def readout(self):
        """Max growth, breathing at the chosen cycle, correlation coefficient."""
        if self.dataset is None:
            return pn.pane.Alert("No cell with a pressure log.", alert_type="info")
        try:
            ps = self._ps()
            row = ps.sel(cycle=self.cycle)
            last = ps.isel(cycle=-1)
            lines = [
                f"**Initial stack pressure** P₀ = {ps.attrs['p0_MPa']:.3f} MPa · "
                f"**max growth** (at {STATES[self.reference_state]}) = {ps.attrs['max_growth_pct']:.2f} % · "
                f"growth in the last cycle ({int(last['cycle'])}) = {float(last['growth_pct']):.2f} % "
                f"(P_max: {float(last['growth_max_pct']):.2f} %)",
                f"**Cycle {self.cycle}**: breathing = {float(row['breathing']):.4f} MPa "
                f"(P_max {float(row['p_max']):.3f}, P_min {float(row['p_min']):.3f} MPa) · "
                f"growth = {float(row['growth_pct']):.2f} % · drift = {float(row['drift']):+.4f} MPa",
            ]
        except (SSBError, KeyError) as exc:
            return pn.pane.Alert(f"Cannot analyse the pressure of this cell: {exc}", alert_type="danger")
        try:
            r = correlation(self.dataset, self.reference_state, self.metric, self.reference)
            lines.append(f"**Correlation** of {METRIC_SHORT[self.metric]} with capacity retention: "
                         f"Pearson r = {float(r['pearson_r']):.3f} (p = {float(r['pearson_p']):.2g}), "
                         f"Spearman ρ = {float(r['spearman_rho']):.3f}, n = {int(r['n'])}")
        except SSBError as exc:
            lines.append(f"**Correlation**: {exc}")
        return pn.pane.Markdown("  \n".join(lines), css_classes=["ssb-readout"], sizing_mode="stretch_width")

    # ------------------------------------------------------------------ plots
    # The data of every plot that shows the chosen cycle depend only on the dataset and the
    # analysis settings (DynamicMaps: zoom survives); the chosen cycle is drawn by Highlights
    # (one Bokeh model per figure moved in place), so a cycle move re-renders only the cycle's
    # own pressure-voltage loop.
    def _make_highlights(self) -> None:
        marker = {"marker": "diamond", "fill_color": theme.OKABE_ITO[1], "line_color": "black"}
        cyc = ["dataset", "cycle", "reference_state"]
        self._hl_span = Highlight(self, ["dataset", "cycle"], self._cycle_bounds, "box",
                                  {"fill_color": theme.OKABE_ITO[1], "fill_alpha": 0.25})
        self._hl_breathing = Highlight(self, cyc, self._mark_point, "marker", {**marker, "size": 12},
                                       legend=self._mark_label, args=("breathing",))
        self._hl_growth = Highlight(self, cyc, self._mark_point, "marker", {**marker, "size": 12},
                                    legend=self._mark_label, args=("growth_pct",))
        self._hl_corr = Highlight(self, [*cyc, "metric", "reference"], self._correlation_point, "marker",
                                  {**marker, "size": 13})

    def _mark_label(self) -> str:
        return f"cycle {self.cycle}"

    def _cycle_bounds(self) -> tuple[float, float] | None:
        """Start and end (h) of the chosen cycle (None when it was not detected)."""
        return cycle_times(self.dataset).get(int(self.cycle)) if self.dataset else None

    def _mark_point(self, var: str) -> tuple[float, float] | None:
        """(cycle, value of per-cycle quantity ``var``) of the chosen cycle, or None."""
        ps = self._ps()
        i = np.flatnonzero(ps["cycle"].values == self.cycle)
        return (float(self.cycle), float(ps[var].values[i[0]])) if i.size else None

    def _correlation_point(self) -> tuple[float, float] | None:
        """(pressure quantity, retention) of the chosen cycle, or None."""
        ps, s = self._ps(), summary(self.dataset, self.reference)
        i = np.flatnonzero(ps["cycle"].values == self.cycle)
        j = np.flatnonzero(s["cycle"].values == self.cycle)
        if not (i.size and j.size):
            return None
        return float(ps[self.metric].values[i[0]]), float(s["retention"].values[j[0]])

    def _ts(self, key: str, ylabel: str, color: str, x_range):
        x0, x1 = _round_range(x_range)
        opts = {**theme.PLOT_OPTS, "height": 260, "tools": ["hover", "xwheel_zoom", "xpan"],
                "active_tools": ["xwheel_zoom", "xpan"],  # the wheel zooms time only
                "hooks": [theme.keep_y_axis_space, self._hl_span.hook]}  # the chosen cycle, shaded
        try:
            t, y = visible(self.dataset, key, x0, x1)
            tall = series(self.dataset)[key][0]
        except (SSBError, KeyError) as exc:
            return hv.Curve([], "Time (h)", ylabel).opts(title=f"{key}: {exc}", **opts)
        lo = 0 if x0 is None else np.searchsorted(tall, x0)
        hi = tall.size if x1 is None else np.searchsorted(tall, x1)
        shown = "all samples" if t.size >= (hi - lo) else f"min-max decimated: {t.size:,} of {hi - lo:,} samples"
        title = f"{'Stack pressure (logger)' if key == 'pressure' else 'Cell voltage'} · {shown}"
        return hv.Curve((t, y), "Time (h)", ylabel).opts(color=color, line_width=1.2, title=title, **opts)

    @param.depends("dataset")
    def pressure_ts(self, x_range=None):
        """Stack pressure (MPa) against time (h), decimated to the visible range; chosen cycle shaded."""
        return self._ts("pressure", "Pressure (MPa)", theme.OKABE_ITO[3], x_range)

    @param.depends("dataset")
    def voltage_ts(self, x_range=None):
        """Cell voltage (V) against time (h), decimated to the visible range; chosen cycle shaded."""
        return self._ts("voltage", "Voltage (V)", theme.OKABE_ITO[0], x_range)

    def _mark(self, var: str, ylabel: str) -> hv.Scatter:
        """The chosen cycle's value of ``var`` as a HoloViews marker (for :meth:`breathing_plot`...)."""
        try:
            pt = self._mark_point(var)
        except SSBError:
            pt = None
        return hv.Scatter([pt] if pt else [], "Cycle", ylabel, label=self._mark_label()).opts(*_MARK_OPTS)

    @param.depends("dataset", "reference_state")
    def breathing_line(self):
        """Breathing amplitude P_max - P_min (MPa) per cycle (the chosen cycle is a Highlight)."""
        yl = "Breathing P_max − P_min (MPa)"
        try:
            ps = self._ps()
        except SSBError as exc:
            return hv.Overlay([hv.Curve([], "Cycle", yl).opts(title=str(exc), **theme.PLOT_OPTS)])
        return hv.Overlay([hv.Curve((ps["cycle"].values, ps["breathing"].values), "Cycle", yl, label="breathing").opts(
            color=theme.OKABE_ITO[2], line_width=2, title="Breathing (reversible) amplitude per cycle",
            **theme.PLOT_OPTS)])

    def breathing_plot(self):
        """Breathing amplitude per cycle with the chosen cycle marked, as one HoloViews overlay."""
        return self.breathing_line() * self._mark("breathing", "Breathing P_max − P_min (MPa)")

    @param.depends("dataset", "reference_state")
    def growth_lines(self):
        """Growth (%) against the initial pressure per cycle: at the reference state and of P_max."""
        yl = "Growth vs P₀ (%)"
        try:
            ps = self._ps()
        except SSBError as exc:
            return hv.Overlay([hv.Curve([], "Cycle", yl).opts(title=str(exc), **theme.PLOT_OPTS)])
        c = ps["cycle"].values
        zero = hv.HLine(0).opts(color="grey", line_dash="dotted", line_width=1)
        g1 = hv.Curve((c, ps["growth_max_pct"].values), "Cycle", yl, label="P_max (with breathing)").opts(
            color=theme.OKABE_ITO[3], line_width=1.5, line_dash="dashed", title="Pressure growth per cycle",
            xlabel="Cycle", ylabel=yl, **theme.PLOT_OPTS)
        g2 = hv.Curve((c, ps["growth_pct"].values), "Cycle", yl,
                      label=f"at {STATES[self.reference_state]} (irreversible)").opts(
            color=theme.OKABE_ITO[0], line_width=2)
        return zero * g1 * g2

    def growth_plot(self):
        """Growth per cycle with the chosen cycle marked, as one HoloViews overlay."""
        return self.growth_lines() * self._mark("growth_pct", "Growth vs P₀ (%)")

    @param.depends("dataset", "cycle")
    def cycle_plot(self):
        """Pressure against voltage in the chosen cycle: charge and discharge branches (a breathing loop)."""
        xl, yl = "Voltage (V)", "Pressure (MPa)"
        try:
            r = cycle_records(self.dataset, int(self.cycle))
        except (SSBError, KeyError) as exc:
            r, err = {"voltage": np.array([]), "pressure": np.array([]), "direction": np.array([])}, f": {exc}"
        else:
            err = ""
        parts = []
        title = f"Cycle {self.cycle}: pressure against voltage{err}"  # shown from the first layer's options
        for sign, lab, style in ((1, "charge", _CHARGE), (-1, "discharge", _DISCHARGE)):
            m = (r["direction"] == sign) & np.isfinite(r["pressure"])
            parts.append(hv.Curve((r["voltage"][m], r["pressure"][m]), xl, yl, label=lab,
                                  id=style.titled(title) if sign == 1 else style.id))
        return hv.Overlay(parts)

    @param.depends("dataset", "metric", "reference_state", "reference")
    def correlation_points(self):
        """Capacity retention against the chosen pressure quantity, one point per cycle (cividis)."""
        xl = METRICS[self.metric]
        yl = "Capacity retention (%)"
        try:
            ps = self._ps()
            s = summary(self.dataset, self.reference)
        except SSBError as exc:
            return hv.Points([], [xl, yl], "Cycle").opts(_CORR_OPTS).opts(title=str(exc))
        common = np.intersect1d(ps["cycle"].values, s["cycle"].values)
        x = ps[self.metric].sel(cycle=common).values
        y = s["retention"].sel(cycle=common).values
        try:
            r = correlation(self.dataset, self.reference_state, self.metric, self.reference)
            title = f"Retention vs {METRIC_SHORT[self.metric]} (r = {float(r['pearson_r']):.3f}, " \
                    f"ρ = {float(r['spearman_rho']):.3f})"
        except SSBError as exc:
            title = f"Correlation: {exc}"
        return hv.Points((x, y, common), [xl, yl], "Cycle").opts(_CORR_OPTS).opts(title=title)

    def correlation_plot(self):
        """Retention against the pressure quantity with the chosen cycle marked, as one HoloViews overlay."""
        xl, yl = METRICS[self.metric], "Capacity retention (%)"
        try:
            pt = self._correlation_point()
        except SSBError:
            pt = None
        sel = hv.Points([pt] if pt else [], [xl, yl]).opts(*_MARK_OPTS[1:])
        return self.correlation_points() * sel

    def main_view(self):
        """Main area: read-outs above the sections (tabs): linked pressure/voltage time series; per-cycle
        plots and the correlation."""
        if self.dataset is None:
            return pn.pane.Alert("No cell has a pressure log: add a pressure_log dataset whose 'cell' attribute "
                                 "names a cycling dataset.", alert_type="info")
        dm_p = hv.DynamicMap(self.pressure_ts, streams=[hv.streams.RangeX()])
        dm_v = hv.DynamicMap(self.voltage_ts, streams=[hv.streams.RangeX()])
        # same x dimension in one layout: the two time axes are linked (zoom one, both follow)
        ts = (dm_p + dm_v).cols(1)

        def marked(method, hl, **overlay):
            dmap = hv.DynamicMap(method).opts(hv.opts.Overlay(hooks=[theme.keep_y_axis_space, hl.hook], **overlay),
                                              hv.opts.Points(hooks=[theme.keep_y_axis_space, hl.hook]))
            return hl.pane(dmap, sizing_mode="stretch_width")

        return pn.Column(
            pn.pane.Markdown("## Stack-pressure explorer\nIn situ stack pressure logged beside the cycling "
                             "(aligned by timestamps), its reversible breathing and irreversible growth per "
                             "cycle, and how they relate to capacity fade. Zoom the time axis to see every "
                             "logged sample. Sample data are **synthetic** (study S2)."),
            live(self.readout),
            sections(self, "section", {
                "timeseries": (SECTIONS["timeseries"], self._hl_span.pane(ts, sizing_mode="stretch_width")),
                "cycles": (SECTIONS["cycles"], pn.Column(
                    pn.Row(marked(self.breathing_line, self._hl_breathing, legend_position="top_left"),
                           marked(self.growth_lines, self._hl_growth, legend_position="bottom_right"),
                           sizing_mode="stretch_width"),
                    # not linked: the loop is on its own (framewise) scale, the time series keep theirs
                    pn.Row(pn.pane.HoloViews(hv.DynamicMap(self.cycle_plot).opts(_CYCLE_OVERLAY),
                                             sizing_mode="stretch_width", linked_axes=False),
                           marked(self.correlation_points, self._hl_corr), sizing_mode="stretch_width"),
                    sizing_mode="stretch_width"))}),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=320), self.main_view(), sizing_mode="stretch_width")
