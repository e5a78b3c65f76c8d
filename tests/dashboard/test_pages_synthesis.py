"""Synthesis page object (no browser): read-outs equal the analysis functions' values."""
from __future__ import annotations

import numpy as np
import panel as pn
import pytest

import sample_data
from analysis.milling import burgio_preset
from analysis.pellets import arrhenius_table, conductivity_table, select_sample
from dashboard.pages.synthesis import SynthesisExplorer


@pytest.fixture(scope="module")
def s1_arr():
    ds = sample_data.load("s1_lpscb_pellets")
    return ds, arrhenius_table(conductivity_table(ds, ds.attrs["circuit"]))


def test_default_is_the_optimum_and_readout_matches(s1_arr):
    ds, arr = s1_arr
    page = SynthesisExplorer()
    assert page.dataset == "s1_lpscb_pellets"
    sid = select_sample(ds, frb_pct=10, bmr=80, state="sintered", mass_mg=100)
    assert page.sample == sid
    text = page.readout().object
    a = arr.sel(sample=sid)
    assert f"{float(a.Ea):.3f} ±" in text
    assert f"measured** = {float(a.sigma_25C) * 1e3:.2f} mS/cm" in text


def test_unmeasured_combination_says_so():
    page = SynthesisExplorer()
    page.param.update(frb_pct=20.0, bmr=80.0)
    assert page.sample is None
    assert "No pellet was measured" in page.readout().object
    for view in (page.nyquist, page.nyquist_hf, page.bode, page.arrhenius):
        pn.panel(view())  # renders without raising


def test_whatif_physics_and_model_labelled():
    page = SynthesisExplorer()
    page.param.update(what_rpm=650.0, what_bmr=60.0)
    want = burgio_preset("Fritsch P5", 50.0, 650.0, 10.0, "WC", frb_pct=10.0, bmr_value=60.0, time_h=16.0)
    text = page.whatif_readout().object
    assert f"g-force **{want.g_force:.1f} g**" in text
    assert f"dose **{want.dose_J_per_g / 1e3:.0f} kJ/g**" in text
    assert "Model estimate, not a measurement" in text
    pn.panel(page.model_map())


def test_impossible_mill_settings_give_a_sentence(monkeypatch):
    from dashboard import compute

    page = SynthesisExplorer()
    monkeypatch.setattr(compute, "mill_physics", lambda *a: "jar overfilled: 70 % of the jar volume is balls")
    text = page.whatif_readout().object
    assert "Mill settings impossible" in text and "overfilled" in text


def test_composition_series_dataset():
    page = SynthesisExplorer(dataset="s5_halide_pellets")
    assert "0.2" in page.sample or "x0.2" in page.sample
    assert "LZNC-x0.2" == page.sample
    pn.panel(page.trends())
    pn.panel(page.__panel__())


def test_switching_datasets_shows_the_sliders_each_one_varies():
    """Picking another dataset in the dropdown (S1 -> S5 -> S1): the page follows it and shows the
    sliders of the parameters that dataset varies (before, S1 -> S5 raised IndexError: S5 has no
    FRB/BMR, and the FRB slider was left with no option)."""
    from panel.io.state import set_curdoc

    from dashboard.widgets import batched

    page = SynthesisExplorer()
    doc = _served(page)

    def shown():
        return [w.label for w in page._widgets if w.visible and hasattr(w, "label")]

    with set_curdoc(doc), batched():
        page.dataset = "s5_halide_pellets"
    assert page.sample == "LZNC-x0.2"
    assert "Composition" in shown() and "Ball filling rate FRB (%)" not in shown()
    with set_curdoc(doc), batched():
        page.dataset = "s1_lpscb_pellets"
    assert page.sample == "FRB10-BMR80-S"
    assert "Ball filling rate FRB (%)" in shown() and "Composition" not in shown()
    frb = next(w for w in page._widgets if getattr(w, "label", "") == "Ball filling rate FRB (%)")
    assert frb.value == 10.0 and frb.options == [5.0, 10.0, 20.0]


def test_unit_cell_trend_follows_the_dataset_and_the_selection(s1_arr):
    """S1 has Rietveld lattice parameters: the trends get a unit-cell-volume column whose series and
    marked selection are the dataset's volumes (max at 10 % FRB, falling with BMR: study S1); the
    read-out names the selection's volume. S5 (no structural data) keeps two columns."""
    ds, _ = s1_arr
    page = SynthesisExplorer()
    page.param.update(frb_pct=10.0, bmr=40.0)
    assert page._trend_props() == ["sigma", "ea", "cell"]
    vol = {str(s): float(v) for s, v in zip(ds["sample"].values, ds["unit_cell_volume_A3"].values)}
    line = page._trend_marker("frb_pct", "cell").get(0)  # FRB series at BMR 40:1, sintered, 100 mg
    assert line.dimension_values(0).tolist() == [5.0, 10.0, 20.0]
    y = line.dimension_values(1)
    assert y.tolist() == [vol["FRB05-BMR40-S"], vol["FRB10-BMR40-S"], vol["FRB20-BMR40-S"]]
    assert np.argmax(y) == 1
    bmr_line = page._trend_marker("bmr", "cell").get(0).dimension_values(1)
    assert np.all(np.diff(bmr_line) < 0)
    mark = page._trend_marker("bmr", "cell").get(1)
    assert mark.dimension_values(1).tolist() == [vol[page.sample]]
    assert f"unit-cell volume** = {vol[page.sample]:.1f} Å³" in page.readout().object
    section = page.trends_section()
    assert len(section.objects) == 2 * 3 and section.ncols == 3
    s5 = SynthesisExplorer(dataset="s5_halide_pellets")
    assert s5._trend_props() == ["sigma", "ea"]
    assert s5.trends_section().ncols == 2 and "unit-cell" not in s5.readout().object


def test_rpm_and_milling_time_series_get_sliders_selection_and_trends(tmp_path, monkeypatch):
    """A user's pellet dataset that varies the mill speed and the milling time (study S3: LMA 550 rpm vs
    HMA 700 rpm): both become sliders, pick the pellet, and get trend rows; the what-if sliders follow."""
    from analysis import store
    from dashboard import data

    s1 = sample_data.load("s1_lpscb_pellets")
    ids = ["FRB10-BMR40-S", "FRB10-BMR20-S", "FRB10-BMR80-S", "FRB05-BMR40-S"]
    ds = s1.sel(sample=ids).assign_coords(
        bmr=("sample", [20.0] * 4), rpm=("sample", [550.0, 600.0, 700.0, 700.0]),
        milling_time_h=("sample", [12.0, 12.0, 12.0, 24.0]), frb_pct=("sample", [10.0] * 4))
    ds = ds.drop_vars(["lattice_a_angstrom", "unit_cell_volume_A3"])
    f = tmp_path / "rpm_series.nc"
    ds.to_netcdf(f, engine="h5netcdf")
    monkeypatch.setenv("SSB_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("SSB_AUTH", raising=False)
    data.clear()
    try:
        entry = store.open(tmp_path / "store").ingest(f)
        assert f"{data.STORE_PREFIX}{entry.id}" in data.names("pellet_eis")
        page = SynthesisExplorer(dataset=f"{data.STORE_PREFIX}{entry.id}")
        shown = [w.label for w in page._widgets if w.visible and hasattr(w, "label")]
        assert "Mill speed (rpm)" in shown and "Milling time (h)" in shown
        assert "Ball filling rate FRB (%)" not in shown  # one value only: no slider
        page.dataset = "s1_lpscb_pellets"  # the sliders follow the dataset picked
        shown = [w.label for w in page._widgets if w.visible and hasattr(w, "label")]
        assert "Ball filling rate FRB (%)" in shown and "Mill speed (rpm)" not in shown
        page.dataset = f"{data.STORE_PREFIX}{entry.id}"
        assert page._trend_axes() == ["rpm", "milling_time_h"]
        page.param.update(rpm=600.0, milling_time_h=12.0)
        assert page.sample == "FRB10-BMR20-S" and page.what_rpm == 600.0
        page.param.update(rpm=700.0, milling_time_h=24.0)
        assert page.sample == "FRB05-BMR40-S" and page.what_time_h == 24.0
        line = page._trend_marker("rpm", "sigma").get(0)  # the rpm series at 24 h: one pellet
        assert line.dimension_values(0).tolist() == [700.0]
        page.milling_time_h = 12.0
        line = page._trend_marker("rpm", "sigma").get(0)
        assert line.dimension_values(0).tolist() == [550.0, 600.0, 700.0]
        assert page._trend_props() == ["sigma", "ea"]
        assert {"rpm", "milling_time_h"} <= set(page.url_params())
    finally:
        data.clear()


def _served(page):
    """The page's Bokeh models in a document, as a served session builds them."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        doc.add_root(pn.Row(page.controls(), page.main_view()).get_root(doc))
    return doc


def _cds(doc):
    return {m.id: {k: list(map(str, v)) for k, v in m.data.items()} for m in doc.models
            if type(m).__name__ == "ColumnDataSource"}


def test_moves_update_plots_without_new_models():
    """Every main slider move (also to an unmeasured combination) re-renders in place: plotted data
    change, the set of Bokeh models does not (no model-graph walk per move), nothing raises."""
    from panel.io.state import set_curdoc

    from dashboard.widgets import batched

    page = SynthesisExplorer()
    doc = _served(page)
    moves = {"pellet": (("bmr", 40.0), ("frb_pct", 20.0), ("temperature_C", 55.0), ("bmr", 80.0)),
             "trends": (("bmr", 40.0), ("bmr", 80.0)),
             "whatif": (("what_bmr", 60.0), ("what_rpm", 650.0))}
    for section, section_moves in moves.items():  # each section (tab) is drawn when it is opened
        with set_curdoc(doc), batched():
            page.section = section
        ids = {m.id for m in doc.models}
        for pname, value in section_moves:
            before = _cds(doc)
            with set_curdoc(doc), batched():
                setattr(page, pname, value)
            if pname != "what_rpm":  # what_rpm only changes the physics read-out
                assert _cds(doc) != before, f"no plotted data changed after moving {pname} ({section})"
            refs = set()
            for root in doc.roots:
                refs |= {m.id for m in root.references()}
            assert refs == ids, f"moving {pname} added or removed Bokeh models ({section})"
    assert page.sample is None  # FRB 20 %, BMR 80:1 was not measured: the plots show empty data


def test_trends_move_rebuilds_only_what_changed_and_whatif_waits_for_its_tab(s1_arr, monkeypatch):
    """On the trends tab a BMR move: the pellets and the series along BMR stay the same element
    objects (HoloViews does not re-send them), the series along FRB and the selection follow; the
    what-if read-out (its sliders follow the selection) is not evaluated until its tab is opened,
    and then shows the moved selection."""
    from panel.io.state import set_curdoc

    from dashboard.widgets import batched

    _, arr = s1_arr
    page = SynthesisExplorer()
    page.section = "trends"
    doc = _served(page)
    frame = {(p, prop): page._trend_frame(p, prop) for p in ("bmr", "frb_pct") for prop in ("sigma", "ea")}
    from dashboard import live

    calls = []
    render = live._render
    monkeypatch.setattr(live, "_render", lambda m: (m.__name__ == "whatif_readout" and calls.append(1)) or render(m))
    with set_curdoc(doc), batched():
        page.bmr = 40.0
    assert calls == [], "the hidden what-if read-out was recomputed on a milling-parameter move"
    after = {k: page._trend_frame(*k) for k in frame}
    for prop in ("sigma", "ea"):
        old, new = frame[("bmr", prop)].values(), after[("bmr", prop)].values()
        assert all(a is b for a, b in zip(old[:-1], new[:-1])), "pellets or the line along BMR rebuilt"
        assert new[-1] is not old[-1]
        assert after[("frb_pct", prop)].values()[-2] is not frame[("frb_pct", prop)].values()[-2]
    sid = page.sample
    mark = after[("bmr", "sigma")].values()[-1]
    assert mark.dimension_values(1).tolist() == pytest.approx([float(arr.sel(sample=sid).sigma_25C) * 1e3])
    holder = page._live_holders["whatif_readout"]
    with set_curdoc(doc), batched():
        page.section = "whatif"
    assert len(calls) == 1
    assert "BMR 40:1" in holder[0].object


def test_views_keep_their_structure_for_unmeasured_pellets():
    """A DynamicMap must return the same kind of object every frame (measured or not)."""
    page = SynthesisExplorer()
    shapes = {v: (type(getattr(page, v)()), len(getattr(page, v)())) for v in
              ("nyquist", "nyquist_hf", "bode_modulus", "bode_phase", "arrhenius")}
    page.param.update(frb_pct=20.0, bmr=80.0)
    assert page.sample is None
    for v, shape in shapes.items():
        assert (type(getattr(page, v)()), len(getattr(page, v)())) == shape, v


def test_trend_marks_the_selection_at_its_measured_value(s1_arr):
    _, arr = s1_arr
    page = SynthesisExplorer()
    page.param.update(frb_pct=10.0, bmr=40.0)
    sid = page.sample
    mark = page._trend_marker("bmr", "sigma").get(1)
    assert mark.dimension_values(1).tolist() == pytest.approx([float(arr.sel(sample=sid).sigma_25C) * 1e3])
    line = page._trend_marker("bmr", "sigma").get(0)  # the BMR series at FRB 10 %, sintered, 100 mg
    assert line.dimension_values(0).tolist() == [20.0, 40.0, 80.0]
    pts = page._trend_data("bmr", "ea").get(1)  # every sintered pellet, named for the hover
    assert sid in pts.dimension_values("pellet").tolist()


def test_spectrum_view_matches_the_fit():
    from dashboard import compute

    page = SynthesisExplorer()
    sid, T = page.sample, page._T_K()
    _, Z, fit = compute.spectrum_fit(page.dataset, sid, T, page.circuit)
    v = compute.spectrum_view(page.dataset, sid, T, page.circuit)
    assert v["r"] == pytest.approx(fit.params["R0"])
    assert v["zr"] == pytest.approx(Z.real) and v["mzi"] == pytest.approx(-Z.imag)
    assert not v["zr"].flags.writeable  # shared by every session: read-only


def test_bad_circuit_is_reported_not_raised():
    from panel.io.state import set_curdoc

    from dashboard.widgets import batched

    page = SynthesisExplorer()
    doc = _served(page)
    with set_curdoc(doc), batched():
        page.circuit = "L0-R0-XX1"  # unknown element
    assert isinstance(page.readout(), pn.pane.Alert) and "XX1" in page.readout().object
    for view in (page.nyquist, page.nyquist_hf, page.bode, page.arrhenius, page.trends):
        pn.panel(view())
    with set_curdoc(doc), batched():
        page.circuit = "L0-R0-CPE1"
    assert "converged" in page.readout().object
