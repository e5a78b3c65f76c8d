"""Synthesis explorer in Chromium: load, move sliders, plotted data and read-outs follow."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.ui.conftest import move_slider, open_section, plot_data, screenshot, wait_idle

pytestmark = pytest.mark.ui


def _expected_readout(frb, bmr, state="sintered", mass=100.0):
    """What the analysis functions give for the same inputs (the number the page must show)."""
    from analysis.pellets import arrhenius_table, conductivity_table, select_sample
    import sample_data

    ds = sample_data.load("s1_lpscb_pellets")
    sid = select_sample(ds, frb_pct=frb, bmr=bmr, state=state, mass_mg=mass)
    arr = arrhenius_table(conductivity_table(ds, ds.attrs["circuit"]), form="sigmaT")
    a = arr.sel(sample=sid)
    return sid, f"{float(a.Ea):.3f}", f"{float(a.sigma_25C) * 1e3:.2f}"


def test_synthesis_page_loads_and_follows_sliders(ui_page, app_url):
    page = ui_page
    page.goto(app_url)
    readout = page.locator(".ssb-readout").first
    sid, ea, sig = _expected_readout(10, 80)
    expect(readout).to_contain_text(sid)
    expect(readout).to_contain_text(f"{ea} ±")
    expect(readout).to_contain_text(f"σ(25 °C), measured** = {sig}".replace("**", ""))
    wait_idle(page)
    before = plot_data(page)
    assert any(len(s) > 0 for s in before), "no plotted data found in the page"
    screenshot(page, "synthesis")

    # BMR 80 -> 40: the sample, its numbers and the plotted spectrum change
    move_slider(page, "bmr", "ArrowLeft")
    sid2, ea2, sig2 = _expected_readout(10, 40)
    expect(readout).to_contain_text(sid2)
    expect(readout).to_contain_text(f"{ea2} ±")
    wait_idle(page)
    after = plot_data(page)
    assert after != before, "plotted data did not change after moving the BMR slider"

    # FRB 10 -> 20 (BMR 40): another measured pellet
    move_slider(page, "frb_pct", "ArrowRight")
    sid3, ea3, _ = _expected_readout(20, 40)
    expect(readout).to_contain_text(sid3)
    expect(readout).to_contain_text(f"{ea3} ±")
    wait_idle(page)
    after_frb = plot_data(page)
    assert after_frb != after

    # the trends section: every pellet against each milling parameter, the selection marked
    open_section(page, "Trends vs milling")
    page.wait_for_function("() => window.location.search.includes('synthesis.section=trends')")
    trends = plot_data(page)
    assert trends != after_frb, "the trend plots did not appear"
    screenshot(page, "synthesis_trends")
    move_slider(page, "frb_pct", "ArrowLeft")  # FRB 20 -> 10 (BMR 40): the marked selection moves
    expect(readout).to_contain_text(_expected_readout(10, 40)[0])
    wait_idle(page)
    assert plot_data(page) != trends, "trend plots did not follow the FRB slider"
    page.console.assert_clean()


def test_shared_url_restores_the_view(ui_page, app_url):
    page = ui_page
    page.goto(app_url + "?page=synthesis&synthesis.frb_pct=20.0&synthesis.bmr=40.0&synthesis.temperature_C=55.0"
              "&synthesis.section=trends")
    readout = page.locator(".ssb-readout").first
    sid, ea, _ = _expected_readout(20, 40)
    expect(readout).to_contain_text(sid)
    expect(readout).to_contain_text("σ(55 °C)")
    expect(page.locator(".bk-tab.bk-active").first).to_contain_text("Trends vs milling")
    # moving a slider writes the new state into the URL, ready to share
    move_slider(page, "frb_pct", "ArrowLeft")
    expect(readout).to_contain_text(_expected_readout(10, 40)[0])
    page.wait_for_function("() => window.location.search.includes('synthesis.frb_pct=10')")
    page.console.assert_clean()


def test_whatif_mill_physics_and_model(ui_page, app_url):
    """Issue 9: the what-if sliders turn into physics numbers and a labelled model estimate."""
    from analysis.milling import burgio_preset

    page = ui_page
    page.goto(app_url + "?page=synthesis")
    open_section(page, "What-if model")
    box = page.locator(".ssb-model-readout").first
    expect(box).to_contain_text("Model estimate, not a measurement")
    expect(box).to_contain_text("g-force 24.9 g")
    wait_idle(page)
    before = plot_data(page)
    move_slider(page, "what_rpm", "ArrowRight", times=3)  # 500 -> 530 rpm
    want = burgio_preset("Fritsch P5", 50.0, 530.0, 10.0, "WC", frb_pct=10.0, bmr_value=80.0, time_h=16.0)
    expect(box).to_contain_text(f"g-force {want.g_force:.1f} g")
    expect(box).to_contain_text(f"energy per impact {want.energy_per_impact_J * 1e3:.1f} mJ")
    expect(box).to_contain_text(f"dose {want.dose_J_per_g / 1e3:.0f} kJ/g")
    move_slider(page, "what_bmr", "ArrowLeft", times=30)  # 80 -> 50: the model point moves
    expect(box).to_contain_text("BMR 50:1")
    wait_idle(page)
    assert plot_data(page) != before
    screenshot(page, "synthesis_whatif")
    page.console.assert_clean()


def test_page_does_not_load_mathjax(ui_page, app_url):
    """The served page loads no MathJax bundle (1.8 MB of JavaScript): the dashboard's text uses no
    TeX, and Panel would otherwise add it for the template's empty ``js_area``
    (:func:`dashboard.shell.skip_unused_mathjax`)."""
    page = ui_page
    page.goto(app_url)
    _, ea, _ = _expected_readout(10, 80)
    expect(page.locator(".ssb-readout").first).to_contain_text(f"{ea} ±")
    wait_idle(page)
    scripts = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert any("bokeh" in s and ".js" in s for s in scripts), f"resource list not readable: {scripts}"
    assert not [s for s in scripts if "mathjax" in s.lower()], "the page loaded MathJax"
