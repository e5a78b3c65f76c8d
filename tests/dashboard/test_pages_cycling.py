"""Cycling & dQ/dV and stack-pressure page objects without a browser: state, views and read-outs
against the analysis functions called directly with the same inputs."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from analysis.cycling import rate_blocks, summarize
from analysis.dqdv import dqdv_cycles, dvdq_cycles, track_peaks
from analysis.pressure import align, correlate, per_cycle
from dashboard import data
from dashboard.pages import cycling as cyc_mod
from dashboard.pages import pressure as pr_mod
from dashboard.pages.cycling import CyclingExplorer, decimate_cycles, parse_windows
from dashboard.pages.pressure import PressureExplorer, minmax_decimate

HL = "s2_lts_highloading"
WIN = ((1.55, 1.85), (1.95, 2.25))


def text(pane) -> str:
    return str(pane.object)


def opt(element, name):
    for group in ("plot", "style"):
        v = hv.Store.lookup_options("bokeh", element, group).kwargs.get(name)
        if v is not None:
            return v
    return None


def elements(overlay, kind):
    """The elements of type ``kind`` in ``overlay``, in order."""
    return [e for e in overlay if isinstance(e, kind)]


@pytest.fixture(scope="module")
def page():
    return CyclingExplorer(dataset=HL)


@pytest.fixture(scope="module")
def ppage():
    return PressureExplorer()


# ------------------------------------------------------------------------------------ cycling
@pytest.mark.parametrize("klass", [CyclingExplorer, PressureExplorer])
def test_every_public_param_has_doc_and_label(klass):
    for name, p in klass.param.objects("existing").items():
        if name == "name":
            continue
        assert (p.doc or "").strip(), f"{klass.__name__}.{name} has no doc"
        assert p.label, f"{klass.__name__}.{name} has no label"
    assert set(klass.url_params(klass.__new__(klass))) <= set(klass.param)


def test_defaults_and_dataset_change():
    p = CyclingExplorer()
    assert p.dataset == data.names("cycling")[0]
    n = summarize(data.load(p.dataset))["cycle"].values
    assert p.cycle_range == (int(n.min()), int(n.max()))
    p.cycle_range = (5, 7)
    p.dataset = HL  # a new cell shows all of its cycles
    assert p.cycle_range == (1, 400)
    assert p.param.cycle_range.bounds == (1, 400)
    assert p._range_widget.end == 400


def test_parse_windows():
    assert parse_windows("1.8-2.4, 1.4-1.8") == ((1.8, 2.4), (1.4, 1.8))
    assert parse_windows(" 2.4 – 1.8 ; .5-1") == ((1.8, 2.4), (0.5, 1.0))
    for bad in ("", "abc", "1.8", "2-2", "1-20", "1e3-2", "1.8-2.4, x-1", "__import__('os')-1"):
        with pytest.raises(ValueError):
            parse_windows(bad)


def test_decimate_cycles():
    c = np.arange(1, cyc_mod.MAX_CURVES + 1)  # up to MAX_CURVES: all shown
    assert np.array_equal(decimate_cycles(c), c)
    d = decimate_cycles(np.arange(1, 401))
    assert d.size == cyc_mod.MAX_CURVES and d[0] == 1 and d[-1] == 400 and np.all(np.diff(d) > 0)


def test_readout_equals_analysis(page):
    page.param.update(windows="1.55-1.85, 1.95-2.25", cycle_range=(10, 250), resolution_mV=7.5,
                      direction="charge", reference="max")
    ds = data.load(HL)
    s = summarize(ds, reference="max").sel(cycle=250)
    tp = track_peaks(dqdv_cycles(ds, None, "charge", resolution_mV=7.5), list(WIN))
    md = text(page.readout())
    assert "**Cycles** 10–250 (241 cycles)" in md
    assert f"cycle 250** = {float(s.discharge_capacity_specific):.1f} mAh/g" in md
    assert f"**retention** = {float(s.retention):.2f} %" in md
    for pk in tp.peak.values:
        a = float(tp.position.sel(cycle=10, peak=pk))
        b = float(tp.position.sel(cycle=250, peak=pk))
        assert f"{a:.3f} V (cycle 10) → {b:.3f} V (cycle 250)" in md
    # the peaks shift to lower voltage with cycling (study S2)
    assert np.all(tp.position.sel(cycle=250).values < tp.position.sel(cycle=10).values)


def test_retention_after_formation_reproduces_study_s2(page):
    page.param.update(reference="max_after_formation", cycle_range=(1, 200))
    assert "retention** = 90.27 %" in text(page.readout())  # S2: 90.3 % at cycle 200
    page.cycle_range = (1, 400)
    assert "retention** = 67.20 %" in text(page.readout())  # S2: 67.2 % at cycle 400
    assert "vs cycle 85" in text(page.readout())
    page.reference = "max"


def _check_curve(seg, cycle: int, xl: str, yl: str, x: np.ndarray, y: np.ndarray) -> None:
    """The Segments element holds exactly the steps of curve (x, y) of ``cycle`` whose ends are finite."""
    ok = np.isfinite(x) & np.isfinite(y)
    both = ok[:-1] & ok[1:]
    c = seg.dimension_values("Cycle") == cycle
    assert c.sum() == both.sum() > 10
    for col, want in ((xl, x[:-1]), (yl, y[:-1]), ("x1", x[1:]), ("y1", y[1:])):
        assert np.allclose(seg.dimension_values(col)[c], want[both]), col


def test_dqdv_overlay_is_a_slice_of_the_whole_test(page):
    page.param.update(mode="dQ/dV", direction="charge", resolution_mV=5.0, cycle_range=(3, 22),
                      windows="1.55-1.85, 1.95-2.25")  # 20 cycles: all drawn
    ov = page.derivative_plot()
    seg = ov.Segments.I
    assert list(np.unique(seg.dimension_values("Cycle"))) == list(range(3, 23))
    ref = dqdv_cycles(data.load(HL), None, "charge", resolution_mV=5.0)
    for c in (3, 22):
        _check_curve(seg, c, "Voltage (V)", "dQ/dV (mAh/V)", ref["voltage"].values, ref.sel(cycle=c).values)
    # tracked peaks of the shown cycles are marked; windows drawn
    assert len(ov.Scatter.Tracked_peaks) == 20 * 2
    assert len(ov.VSpans.I) == 2
    assert opt(seg, "cmap") == "cividis"


def test_large_selection_is_decimated_and_says_so(page):
    page.param.update(mode="dQ/dV", cycle_range=(1, 400))
    ov = page.derivative_plot()
    assert np.unique(ov.Segments.I.dimension_values("Cycle")).size == cyc_mod.MAX_CURVES == 24
    assert "showing 24 of 400" in opt(ov.Segments.I, "title")


def test_dvdq_mode(page):
    page.param.update(mode="dV/dQ", cycle_range=(100, 104), direction="discharge")
    ov = page.derivative_plot()
    ref = dvdq_cycles(data.load(HL), None, "discharge", resolution_mV=5.0)
    for c in (100, 104):
        _check_curve(ov.Segments.I, c, "Capacity (mAh)", "dV/dQ (V/mAh)", ref["capacity"].sel(cycle=c).values,
                     ref.sel(cycle=c).values)
    page.param.update(mode="dQ/dV", direction="charge")


def test_derivative_error_draws_an_empty_plot_with_the_reason(page, monkeypatch):
    from analysis.errors import SSBError

    def fail():
        raise SSBError("no half-cycle with enough points")

    monkeypatch.setattr(page, "_deriv", fail)
    ov = page.derivative_plot()
    assert len(ov.Segments.I) == 0 and len(ov.Scatter.Tracked_peaks) == 0
    assert "no half-cycle with enough points" in opt(ov.Segments.I, "title")
    hv.render(ov)  # draws (empty) instead of raising


def test_frames_reuse_styles_per_title(page):
    """A frame's title comes from a style cached per title (no option processing per move):
    the same view gives the same options id, another range another id with its own title."""
    page.param.update(cycle_range=(10, 60), resolution_mV=5.0, mode="dQ/dV", windows="auto")
    a = page.derivative_plot().Segments.I
    assert page.derivative_plot().Segments.I.id == a.id
    page.cycle_range = (10, 61)
    b = page.derivative_plot().Segments.I
    assert b.id != a.id
    assert "cycles 10–61" in opt(b, "title") and "cycles 10–60" in opt(a, "title")
    assert opt(b, "colorbar") is True  # the style's own options stay
    style = cyc_mod._CURVES
    for i in range(70):
        style.titled(f"t{i}")
    assert len(style._titled) == 64  # bounded


def test_peak_plots_follow_track_peaks(page):
    page.param.update(windows="1.55-1.85, 1.95-2.25", resolution_mV=5.0, direction="charge")
    tp = track_peaks(dqdv_cycles(data.load(HL), None, "charge", resolution_mV=5.0), list(WIN))
    labels = ["1.55–1.85 V", "1.95–2.25 V"]
    for el, var in ((page.peak_position_plot(), "position"), (page.peak_height_plot(), "height")):
        assert isinstance(el, hv.Segments)
        win = el.dimension_values("window")
        assert sorted(np.unique(win)) == labels
        for k, label in enumerate(labels):
            # one step per pair of consecutive cycles that both have a peak in the window, from
            # track_peaks' value at the first cycle to its value at the next one
            ok = tp.is_peak.values[:, k]
            both = ok[:-1] & ok[1:]
            m = win == label
            assert np.array_equal(el.dimension_values("cycle")[m], tp.cycle.values[:-1][both])
            assert np.allclose(el.dimension_values("value")[m], tp[var].values[:-1, k][both])
            assert np.allclose(el.dimension_values("v1")[m], tp[var].values[1:, k][both])
    # three windows: still one element (the DynamicMap keeps a fixed structure)
    page.windows = "1.0-1.4, 1.55-1.85, 1.95-2.25"
    el = page.peak_position_plot()
    assert isinstance(el, hv.Segments) and len(np.unique(el.dimension_values("window"))) == 3


def test_peak_plots_list_the_windows_in_their_legend(page):
    """Segments plots have no legend of their own: the hook adds one entry per window (a Bokeh
    ``legend_field`` on the window column) at the style's position."""
    from bokeh.models import Legend

    page.param.update(windows="1.55-1.85, 1.95-2.25", resolution_mV=5.0, direction="charge")
    for el, where in ((page.peak_position_plot(), "bottom_left"), (page.peak_height_plot(), "top_right")):
        fig = hv.render(el)
        (legend,) = fig.select(Legend)
        (item,) = legend.items
        assert item.label.field == "window" and legend.location == where
        source = item.renderers[0].data_source
        assert sorted(set(source.data["window"])) == ["1.55–1.85 V", "1.95–2.25 V"]


def test_auto_windows_bracket_the_main_peaks(page):
    page.param.update(windows="auto", resolution_mV=5.0, direction="charge")
    wins = page.effective_windows()
    assert len(wins) == 2
    tp = track_peaks(dqdv_cycles(data.load(HL), None, "charge", resolution_mV=5.0), list(wins))
    assert tp.is_peak.sel(cycle=1).all()
    assert any(lo < 1.72 < hi for lo, hi in wins) and any(lo < 2.1 < hi for lo, hi in wins)


def test_bad_windows_warn_and_never_raise(page):
    page.windows = "2.4-abc"
    msg = page.messages()
    assert isinstance(msg, pn.pane.Alert) and "low-high" in msg.object
    assert "low-high" in text(page.readout())
    hv.render(page.derivative_plot())
    hv.render(page.peak_position_plot())
    page.windows = "auto"
    assert not isinstance(page.messages(), pn.pane.Alert)


def test_summary_plots_use_the_analysis_summary(page):
    page.reference = "first"
    s = summarize(data.load(HL), reference="first")
    ret = page.retention_plot().Curve.I
    assert np.allclose(ret.dimension_values(1), s.retention.values, equal_nan=True)
    ce = elements(page.ce_plot(), hv.Scatter)[0]
    assert np.allclose(ce.dimension_values(1), s.coulombic_efficiency.values, equal_nan=True)
    cap = page.capacity_plot()
    assert np.allclose(cap.Scatter.discharge.dimension_values(1), s.discharge_capacity_specific.values)
    pol = page.polarisation_plot()
    assert np.allclose(elements(pol, hv.Curve)[0].dimension_values(1), s.polarisation.values, equal_nan=True)
    page.reference = "max"


def test_rate_capability_blocks():
    p = CyclingExplorer(dataset="s2_lts_rate")
    pane = p.rate_plot()
    bars = pane.object
    rb = rate_blocks(summarize(data.load("s2_lts_rate")))
    assert list(bars.dimension_values(0)) == ["0.1C (cycles 1–5)", "0.5C (cycles 6–10)",
                                             "1C (cycles 11–15)", "0.2C (cycles 16–20)"]
    assert np.allclose(bars.dimension_values(1), rb.discharge_capacity_specific.values)
    # study S2: 483.1 / 412.7 / 263.6 mAh/g at 0.1C / 0.5C / 1C, back to 451.2 mAh/g at 0.2C
    assert np.allclose(bars.dimension_values(1), [483.1, 412.7, 263.6, 451.2], atol=0.06)
    one = CyclingExplorer(dataset="s2_lts_conventional").rate_plot()
    assert isinstance(one, pn.pane.Markdown) and "single rate (0.5C" in one.object


def test_notebook_rendering():
    p = CyclingExplorer(dataset="s5_lco_x02")
    assert p.__panel__().get_root() is not None


# ------------------------------------------------------------------------------------ pressure
def test_cells_with_pressure_logs():
    assert pr_mod.cells_with_pressure() == ["s2_lts_conventional", "s2_lts_highloading"]
    assert pr_mod.log_of(HL) == "s2_lts_highloading_pressure"
    with pytest.raises(KeyError):
        pr_mod.log_of("s5_lco_x0")


def _expected_pressure(cell, cycle, metric="growth_pct", reference="max"):
    a = align(data.load(cell), data.load(cell + "_pressure"))
    pc = per_cycle(a)
    r = correlate(pc, summarize(data.load(cell), reference=reference), x=metric)
    return pc, r


def test_pressure_readout_equals_analysis(ppage):
    ppage.param.update(dataset=HL, cycle=123, metric="growth_pct")
    pc, r = _expected_pressure(HL, 123)
    md = text(ppage.readout())
    assert f"**max growth** (at end of discharge) = {pc.attrs['max_growth_pct']:.2f} %" in md
    assert f"breathing = {float(pc.breathing.sel(cycle=123)):.4f} MPa" in md
    assert f"Pearson r = {float(r.pearson_r):.3f}" in md
    assert f"Spearman ρ = {float(r.spearman_rho):.3f}" in md
    ppage.metric = "breathing"
    _, r2 = _expected_pressure(HL, 123, "breathing")
    assert f"Pearson r = {float(r2.pearson_r):.3f}" in text(ppage.readout())
    ppage.metric = "growth_pct"


def test_pressure_dataset_change_resets_cycle_bounds(ppage):
    ppage.param.update(dataset=HL, cycle=350)
    assert ppage.param.cycle.bounds == (1, 400)
    ppage.dataset = "s2_lts_conventional"
    assert ppage.param.cycle.bounds == (1, 200) and ppage.cycle == 1
    assert ppage._cycle_widget.end == 200
    ppage.dataset = HL


def test_per_cycle_plots(ppage):
    ppage.param.update(dataset=HL, cycle=40)
    pc, r = _expected_pressure(HL, 40)
    b = ppage.breathing_plot()
    assert np.allclose(elements(b, hv.Curve)[0].dimension_values(1), pc.breathing.values)
    assert float(elements(b, hv.Scatter)[0].dimension_values(1)[0]) == pytest.approx(float(pc.breathing.sel(cycle=40)))
    g = ppage.growth_plot()
    assert np.allclose(elements(g, hv.Curve)[1].dimension_values(1), pc.growth_pct.values, equal_nan=True)
    c = ppage.correlation_plot()
    assert len(elements(c, hv.Points)[0]) == int(r.n)
    assert f"r = {float(r.pearson_r):.3f}" in opt(elements(c, hv.Points)[0], "title")
    assert float(elements(c, hv.Points)[1].dimension_values(0)[0]) == pytest.approx(float(pc.growth_pct.sel(cycle=40)))


def test_minmax_decimation_keeps_extremes():
    rng = np.random.default_rng(3)
    t = np.arange(100_003, dtype=float)
    y = rng.normal(size=t.size)
    y[54_321] = 50.0
    y[7] = -40.0
    td, yd = minmax_decimate(t, y, 500)
    assert td.size <= 1000 and np.all(np.diff(td) >= 0)
    assert yd.max() == 50.0 and yd.min() == -40.0
    assert set(td.tolist()) <= set(t.tolist())
    small = minmax_decimate(t[:800], y[:800], 500)
    assert small[0].size == 800  # few points: everything is shown


def test_time_series_decimated_overall_full_detail_on_zoom(ppage):
    ppage.dataset = HL
    full = ppage.voltage_ts()
    curve = full
    n_all = data.load(HL).sizes["record"]
    assert len(curve) <= 2 * pr_mod.N_BINS < n_all
    assert "min-max decimated" in opt(full, "title")
    zoom = ppage.voltage_ts(x_range=(100.0, 110.0))
    t = data.load(HL)["time"].values / 3600
    inside = ((t >= 100.0) & (t <= 110.0)).sum()
    assert inside <= len(zoom) <= inside + 2
    assert "all samples" in opt(zoom, "title")
    # the logger pressure is put on the cell's clock (offset from the start_time attrs)
    a = align(data.load(HL), data.load(HL + "_pressure"))
    tp, p = pr_mod.series(HL)["pressure"]
    assert np.interp(50.0, tp, p) == pytest.approx(
        np.interp(50.0 * 3600, a["time"].values, a["pressure"].values), abs=2e-3)


def test_pressure_notebook_rendering():
    assert PressureExplorer(dataset="s2_lts_conventional").__panel__().get_root() is not None


def test_cycle_plot_is_the_aligned_record_of_that_cycle(ppage):
    from analysis.cycling import detect_half_cycles

    ppage.param.update(dataset=HL, cycle=77)
    d = detect_half_cycles(align(data.load(HL), data.load(HL + "_pressure")))
    m = (d.cycle.values == 77) & (d.direction.values == 1) & np.isfinite(d.pressure.values)
    ch = elements(ppage.cycle_plot(), hv.Curve)[0]
    assert np.allclose(ch.dimension_values(0), d.voltage.values[m])
    assert np.allclose(ch.dimension_values(1), d.pressure.values[m])
    # the loop spans (almost) the whole breathing of that cycle (rests between the branches excluded)
    loop = np.concatenate([c.dimension_values(1) for c in elements(ppage.cycle_plot(), hv.Curve)])
    pc, _ = _expected_pressure(HL, 77)
    b = float(pc.breathing.sel(cycle=77))
    assert 0.9 * b <= np.ptp(loop) <= b + 1e-12


def test_cycle_range_only_moves_the_shading(page):
    page.cycle_range = (20, 60)
    assert page._span_bounds() == (19.5, 60.5)
    # the tracked-peak plots (rescaled when the windows change) do not redraw when the range moves
    deps = page.param.method_dependencies("peak_position_plot")
    assert "cycle_range" not in {d.name for d in deps}
    # nor do the per-cycle summaries: the shading (moved in place) is all that follows the range
    for m in ("capacity_plot", "ce_plot", "retention_plot", "polarisation_plot"):
        assert "cycle_range" not in {d.name for d in page.param.method_dependencies(m)}, m


def test_page_layers_render_and_follow_the_range(page):
    """The served layout: summaries x shading and windows x curves are overlays of DynamicMaps."""
    from bokeh.document import Document
    from bokeh.models import BoxAnnotation, Segment

    page.param.update(mode="dQ/dV", direction="charge", cycle_range=(10, 20), windows="1.55-1.85, 1.95-2.25",
                      section="summary")
    doc = Document()
    doc.add_root(page.main_view().get_root(doc))
    boxes = [m for m in doc.models if isinstance(m, BoxAnnotation) and m.fill_alpha == 0.15]
    assert len(boxes) == 4 and {(b.left, b.right) for b in boxes} == {(9.5, 20.5)}
    # sections are dynamic tabs: the dQ/dV plots are drawn when their section is opened
    assert not [m for m in doc.models if isinstance(m, Segment)]
    page.section = "dqdv"
    lines = [m for m in doc.models if isinstance(m, Segment)]
    assert lines
    page.cycle_range = (30, 45)
    assert {(b.left, b.right) for b in boxes} == {(29.5, 45.5)}
    cds = [m for m in doc.models if getattr(m, "data", None) is not None and "Cycle" in m.data]
    assert any(sorted(set(np.asarray(m.data["Cycle"]).tolist())) == list(range(30, 46)) for m in cds)


def test_pressure_cycle_move_only_moves_the_highlights(ppage):
    """Served layout: the time series and per-cycle data do not depend on ``cycle``; the shading
    and the markers (Bokeh models moved in place) follow it with the analysis values."""
    from bokeh.document import Document
    from bokeh.models import BoxAnnotation

    for m in ("pressure_ts", "voltage_ts", "breathing_line", "growth_lines", "correlation_points"):
        assert "cycle" not in {d.name for d in ppage.param.method_dependencies(m)}, m
    ppage.param.update(dataset=HL, cycle=10, metric="growth_pct", reference_state="end_of_discharge",
                       section="timeseries")
    doc = Document()
    doc.add_root(ppage.main_view().get_root(doc))
    boxes = [m for m in doc.models if isinstance(m, BoxAnnotation) and m.fill_alpha == 0.25]
    assert len(boxes) == 2
    ppage.section = "cycles"  # the per-cycle section (tabs: drawn when shown)
    markers = [m for m in doc.models if any(str(t).startswith("ssb-highlight") for t in (m.tags or []))
               and hasattr(m, "data_source")]
    assert len(markers) == 3
    ppage.cycle = 42
    t0, t1 = pr_mod.cycle_times(HL)[42]
    assert {(b.left, b.right) for b in boxes} == {(t0, t1)}
    pc, _ = _expected_pressure(HL, 42)
    ys = sorted(m.data_source.data["y"][0] for m in markers)
    assert float(pc.breathing.sel(cycle=42)) in ys and float(pc.growth_pct.sel(cycle=42)) in ys
    assert all(m.data_source.data["x"][0] in (42.0, float(pc.growth_pct.sel(cycle=42))) for m in markers)
