"""Impedance & DRT page object without a browser: state, read-outs and data against the analysis."""
from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from analysis.drt import compute_drt, drt_many, find_peaks, integrate_regions
from analysis.eis import fit_circuit, kramers_kronig
from dashboard import data
from dashboard.pages.impedance import DRTExplorer, RegionError, parse_regions

S2 = "s2_lts_insitu_eis"


def spectrum(name, cycle, point):
    s = data.load(name).sel(cycle=cycle, point=point)
    return s["frequency"].values, s["z_real"].values + 1j * s["z_imag"].values


def md_text(pane) -> str:
    if isinstance(pane, pn.Column):
        return "\n".join(md_text(p) for p in pane)
    return str(pane.object)


@pytest.fixture(scope="module")
def page():
    return DRTExplorer(dataset=S2)


def test_every_public_param_has_doc_and_label():
    for name, p in DRTExplorer.param.objects("existing").items():
        if name == "name":
            continue
        assert p.doc, f"param {name} has no doc"
        assert p.label, f"param {name} has no label"


def test_defaults_come_from_the_dataset(page):
    ds = data.load(S2)
    assert page.dataset == S2
    assert page.cycle_range == (1, 40)
    assert page.cycles == tuple(range(1, 41))
    assert page.cycle == 1
    assert page.point in ds["point"].values.tolist()
    regs = page.region_dict()
    v = np.asarray(ds.attrs["drt_regions_s"], float)
    assert list(regs) == ["T1", "T2", "T3"]
    assert np.allclose(np.ravel(list(regs.values())), v)
    s3 = DRTExplorer(dataset="s3_nmc811_insitu_eis")
    assert s3.circuit == data.load("s3_nmc811_insitu_eis").attrs["circuit"]
    assert set(page.url_params()) <= set(DRTExplorer.param)


def test_parse_regions():
    assert parse_regions("1e-7-1e-2, 1e-2-1, 1-1e3") == {"T1": (1e-7, 1e-2), "T2": (1e-2, 1.0), "T3": (1.0, 1e3)}
    assert parse_regions("gb: 1e-7..1e-4; ct: 0.1 to 10") == {"gb": (1e-7, 1e-4), "ct": (0.1, 10.0)}
    assert parse_regions("2E-3 - 5e+1", names=["X"]) == {"X": (2e-3, 50.0)}
    for bad in ["", "1e-2", "1-1e-3", "a:1-2, a:3-4", "__import__('os')", "1e-2-1, 5"]:
        with pytest.raises(RegionError):
            parse_regions(bad)


def test_fit_readout_and_table_equal_fit_circuit(page):
    page.param.update(cycle=3, point=4, circuit="R0-p(R1,CPE1)-p(R2,CPE2)-W1")
    f, z = spectrum(S2, 3, 4)
    fit = fit_circuit(f, z, page.circuit)
    kk = kramers_kronig(f, z)
    txt = md_text(page.fit_readout())
    assert f"χ² = {fit.chi2:.4g}" in txt
    mx = float(np.max(np.abs(np.r_[kk.residuals_real, kk.residuals_imag])))
    assert f"max |residual| = {100 * mx:.2f} %" in txt
    assert ("passed" if kk.passed else "failed") in txt
    tab = page._table.object
    assert list(tab["parameter"]) == list(fit.params)
    for _, row in tab.iterrows():
        assert float(row["value"]) == pytest.approx(fit.params[row["parameter"]], rel=1e-3)
        assert float(row["± 1σ"]) == pytest.approx(fit.stderr[row["parameter"]], rel=0.05)


def test_drt_readout_follows_lambda(page):
    page.param.update(cycle=5, point=3, lam_auto=True, lam_method="gcv")
    f, z = spectrum(S2, 5, 3)
    r = compute_drt(f, z, lam="auto", lam_method="gcv")
    txt = md_text(page.drt_readout())
    assert f"λ** = {r.lam:.3e}" in txt
    assert f"R∞** = {r.R_inf:.2f} Ω" in txt
    assert f"R_pol** = {r.R_pol:.2f} Ω" in txt
    pk = find_peaks(r, deconvolve=False)
    assert f"{len(pk)} peaks" in txt
    # a hand-moved lambda slider switches to a fixed lambda
    page.lam_log10 = -2.0
    assert page.lam_auto is False
    r2 = compute_drt(f, z, lam=1e-2)
    txt2 = md_text(page.drt_readout())
    assert f"λ** = {1e-2:.3e} (fixed)" in txt2
    assert f"R_pol** = {r2.R_pol:.2f} Ω" in txt2
    # switching auto back on and off again starts the slider at the automatic lambda
    page.lam_auto = True
    page.lam_auto = False
    assert page.lam_log10 == pytest.approx(round(math.log10(r.lam), 1))
    page.lam_auto = True


def test_drt_plot_is_the_compute_drt_curve(page):
    page.param.update(cycle=2, point=1, lam_auto=False)
    page.lam_log10 = -1.5
    f, z = spectrum(S2, 2, 1)
    r = compute_drt(f, z, lam=float(f"{10 ** -1.5:.4g}"))
    curve = [el for el in page.drt_plot() if isinstance(el, hv.Curve)][0]
    assert np.allclose(curve.dimension_values(1), r.gamma)
    page.lam_auto = True


def test_map_and_tracks_equal_drt_many(page):
    page.param.update(cycle_range=(10, 20), point=5, lam_auto=False, map_axis="cycle")
    page.lam_log10 = -3.0
    assert page.cycles == tuple(range(10, 21))
    assert page.cycle in page.cycles  # the shown cycle follows the range
    ds = data.load(S2)
    ref = drt_many(ds.sel(cycle=list(range(10, 21)), point=5), lam=1e-3)
    qm = [el for el in page.drt_map_plot() if isinstance(el, hv.Image)][0]
    G = qm.dimension_values(2, flat=False)
    assert G.shape == ref["gamma"].shape
    assert np.allclose(G, ref["gamma"].values, equal_nan=True)
    reg = integrate_regions(ref, page.region_dict())
    track = page.region_track()
    # one Segments element (the lines, coloured by "region") and one Scatter with the points
    seg = next(el for el in track if isinstance(el, hv.Segments))
    pts = next(el for el in track if isinstance(el, hv.Scatter))
    assert list(dict.fromkeys(pts.dimension_values("region"))) == ["R∞", "T1", "T2", "T3"]
    for n, ref_v in [("T1", reg["T1"].values), ("T2", reg["T2"].values), ("T3", reg["T3"].values),
                     ("R∞", ref["R_inf"].values)]:
        p = pts.select(region=n)
        assert np.allclose(p.dimension_values(0), np.arange(10, 21))
        assert np.allclose(p.dimension_values(1), ref_v)
        s = seg.select(region=n)  # the line joins consecutive points
        assert np.allclose(s.dimension_values(1), ref_v[:-1]) and np.allclose(s.dimension_values("y1"), ref_v[1:])
    # peaks of the tracks are the peaks of the map rows
    sc = [el for el in page.peak_track() if isinstance(el, hv.Scatter)][0]
    n_expected = sum(len(find_peaks(ref["tau"].values, gamma=g, deconvolve=False)) for g in ref["gamma"].values)
    assert len(sc) == n_expected
    # over points of one cycle
    page.map_axis = "point"
    qm = [el for el in page.drt_map_plot() if isinstance(el, hv.Image)][0]
    assert qm.dimension_values(2, flat=False).shape[0] == ds.sizes["point"]
    page.param.update(map_axis="cycle", lam_auto=True, cycle_range=(1, 40))


def test_range_outside_keeps_cycle_valid():
    p = DRTExplorer(dataset="s4_lis_insitu_eis")
    assert p.cycles == (1, 20, 200)
    p.cycle_range = (15, 200)
    assert p.cycles == (20, 200) and p.cycle == 20
    # the cycle slider keeps every measured cycle (its browser model is never re-created) ...
    slider = p._cycle_widget._slider
    assert p._cycle_widget.options == [1, 20, 200] and p._cycle_widget.value == 20
    # ... and picking a cycle outside the range extends the range to it
    p.cycle = 1
    assert p.cycle_range == (1, 200) and p.cycles == (1, 20, 200)
    p.cycle_range = (20, 20)
    assert p.cycle == 20 and p._cycle_widget.value == 20
    assert p._cycle_widget._slider is slider


def test_errors_are_shown_not_raised():
    p = DRTExplorer(dataset=S2)
    p.circuit = "R0-p(R1"
    out = p.fit_readout()
    assert isinstance(out, pn.Column) and isinstance(out[1], pn.pane.Alert)
    assert len(p._table.object) == 0
    p.regions = "not a region"
    for m in ("nyquist", "bode_modulus", "bode_phase", "drt_plot", "drt_map_plot", "peak_track", "region_track"):
        hv.render(getattr(p, m)())


def test_dataset_switch_and_render():
    p = DRTExplorer(dataset=S2)
    p.dataset = "s3_nmc811_insitu_eis"
    assert p.cycles == (1, 20, 40, 60, 80, 100) and p.point == 0
    assert p._range_widget.start == 1 and p._range_widget.end == 100
    f, z = spectrum("s3_nmc811_insitu_eis", 1, 0)
    fit = fit_circuit(f, z, p.circuit)
    assert list(p._table.object["parameter"]) == list(fit.params)
    root = pn.panel(p).get_root()
    assert root is not None


def test_a_move_redraws_only_the_layers_it_affects():
    """Each plot layer has its own stream: a slider move fires only the layers whose inputs changed."""
    p = DRTExplorer(dataset=S2)
    fired = []
    for k, s in p._streams.items():
        s.add_subscriber(lambda k=k, **_: fired.append(k))
    p.cycle = 2  # the map and the tracks only move their marker line
    assert set(fired) == {"spec", "fit", "drt", "peaks"}
    fired.clear()
    p.lam_log10 = -2.0  # circuit fit, KK and regions do not depend on lambda
    assert set(fired) == {"drt", "peaks", "map", "tracks"}
    fired.clear()
    p.cycle_range = (2, 40)  # the shown cycle (2) stays: only the map and the tracks
    assert set(fired) == {"map", "tracks"}
    fired.clear()
    p.regions = "T1: 1e-6-1e-2"
    assert set(fired) == {"regions", "tracks"}
    fired.clear()
    p.cycle = 2  # no change, nothing redrawn
    assert fired == []


def test_frames_reuse_their_styles_and_keep_titles():
    """Per-frame ``.opts(...)`` makes HoloViews process options again on every move (measured: ~20 %
    of a spectrum move's server CPU); frames instead clone templates cached per title. Revisiting a cycle gives
    frames with the same options id, and the titles still follow the data."""
    p = DRTExplorer(dataset=S2)

    def ids():
        nyq = p._nyquist_data().get(0)
        kk = p.kk_plot()
        drt = p._drt_curve_layer().get(0)
        img = p._map_layer().get(0)
        return [nyq.id, kk.get(0).id, kk.get(2).id, drt.id, img.id], (nyq, kk, drt, img)

    first, (nyq, kk, drt, img) = ids()
    title = lambda el: hv.Store.lookup_options("bokeh", el, "plot").kwargs.get("title")  # noqa: E731
    assert title(nyq) == f"Nyquist · cycle {p.cycle}"
    assert title(kk.get(0)).startswith("Kramers-Kronig residuals: ")
    assert title(drt).startswith("DRT · λ = ")
    assert title(img).startswith("2-D DRT · ")
    c0 = p.cycle
    p.cycle = c0 + 1
    moved, (nyq2, _, _, _) = ids()
    assert title(nyq2) == f"Nyquist · cycle {c0 + 1}" and moved[0] != first[0]
    p.cycle = c0
    assert ids()[0] == first  # the same styled templates again: no option processing
    for i in range(70):  # the cache is bounded and keeps what was used last
        p._styled("drt_curve", title=f"t{i}")
        nyq_id = p._nyquist_data().get(0).id
    assert len(p._styled_cache) == 64 and nyq_id == first[0]


def test_marker_spans_follow_the_shown_cycle_and_point():
    p = DRTExplorer(dataset=S2, section="drt")
    root = pn.panel(p).get_root()  # renders the DRT section's plots; their hooks add the marker spans
    assert len(p._spans["map"]) == 1 and not p._spans["track"]  # the tracks' section is not drawn yet
    p.section = "tracks"  # opening it draws the tracks (the map stays in the model graph, hidden)
    assert root is not None
    (map_span,), track_spans = p._spans["map"], p._spans["track"]
    assert len(track_spans) == 2
    assert map_span.location == p.cycles.index(p.cycle) and all(s.location == p.cycle for s in track_spans)
    p.cycle = 5
    assert map_span.location == 4.0 and all(s.location == 5.0 for s in track_spans)
    p.map_axis = "point"  # rows are now the points of cycle 5: the marker is the shown point's row
    points = data.load(S2)["point"].values.tolist()
    assert map_span.location == points.index(p.point) and all(s.location == points.index(p.point) for s in track_spans)
    p.param.update(map_axis="cycle", cycle_range=(10, 20))  # cycle 5 left the range: the cycle follows (10)
    assert p.cycle == 10 and map_span.location == 0.0


def test_parameter_table_filled_when_its_section_opens():
    """The table is only updated while the spectrum section is shown; opening it brings it up to date."""
    p = DRTExplorer(dataset=S2, section="drt")
    p.point = p.param.point.objects[3]
    assert len(p._table.object) == 0  # built while hidden: not filled
    p.section = "spectrum"
    assert list(p._table.object["parameter"]) == list(p.param_table()["parameter"]) and len(p._table.object) > 0
    before = p._table.object.copy()
    p.point = p.param.point.objects[4]
    assert not p._table.object.equals(before)


@pytest.mark.parametrize("section, param_name", [("spectrum", "cycle"), ("drt", "point"), ("tracks", "point")])
def test_first_move_does_not_resize_the_figures(section, param_name):
    """The plots' minimum width is also a HoloViews option: otherwise HoloViews re-applies its own
    (None) at the first update and the browser re-lays out every figure (~0.1 s each)."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    p = DRTExplorer(dataset=S2, section=section)
    doc = Document()
    with set_curdoc(doc):
        doc.add_root(pn.Row(p.controls(), p.main_view()).get_root(doc))
    figs = [m for m in doc.models if type(m).__name__ == "figure"]
    from dashboard.pages.impedance import _MIN_WIDTH

    assert figs and all(f.min_width == _MIN_WIDTH for f in figs)
    events = []
    doc.on_change(events.append)
    with set_curdoc(doc):
        setattr(p, param_name, getattr(p, param_name) + 1)
    assert any(getattr(e, "attr", None) == "data" for e in events), "the move did not update the plots"
    sizing = [(type(e.model).__name__, e.attr) for e in events
              if getattr(e, "attr", None) in ("min_width", "width", "min_height", "height", "sizing_mode")]
    assert not sizing, f"first update changed figure sizing: {sizing}"


def test_moving_the_lambda_slider_with_auto_on_keeps_the_moved_value():
    """A hand move of the λ slider turns automatic λ off and uses the moved value; the slider must not
    be sent back to the automatic λ on the way (the browser's slider then showed another value than
    the one used)."""
    from param import edit_constant

    p = DRTExplorer(dataset=S2, section="drt")
    assert p.lam_auto
    w = p._lam_widget
    seen = []
    w.param.watch(lambda e: seen.append(e.new), "value")
    moved = round(p.lam_log10 + 0.1, 1)
    with edit_constant(w):  # what a released slider handle does
        w.param.update(value=moved, value_throttled=moved)
    assert not p.lam_auto and p.lam_log10 == moved and p.lam == float(f"{10 ** moved:.4g}")
    assert seen == [moved], f"the slider was moved to {seen}"
