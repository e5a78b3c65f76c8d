"""Synthesis page object (no browser): read-outs equal the analysis functions' values."""
from __future__ import annotations

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
