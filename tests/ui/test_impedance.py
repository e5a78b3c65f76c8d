"""Impedance & DRT explorer in Chromium: load, move the cycle, point and lambda sliders;
plotted data and read-outs follow and equal what the analysis functions give."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import move_slider, open_section, plot_data, screenshot, wait_idle

pytestmark = pytest.mark.ui

DS = "s2_lts_insitu_eis"
#: a slider move recomputes fits, KK, DRT and a 2-D map and redraws eight plots; on a loaded 2-core
#: machine that can take several seconds (latency is measured in benchmarks/ui_latency.py, not here)
TIMEOUT = 45_000
CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-W1"


def _spectrum(cycle, point):
    import sample_data

    s = sample_data.load(DS).sel(cycle=cycle, point=point)
    return s["frequency"].values, s["z_real"].values + 1j * s["z_imag"].values


def _expected(cycle, point, lam="auto"):
    """The numbers the page must show, from the analysis functions on the same inputs."""
    import numpy as np

    from analysis.drt import compute_drt
    from analysis.eis import fit_circuit, kramers_kronig

    f, z = _spectrum(cycle, point)
    fit = fit_circuit(f, z, CIRCUIT)
    kk = kramers_kronig(f, z)
    r = compute_drt(f, z, lam=lam, lam_method="gcv")
    mx = float(np.max(np.abs(np.r_[kk.residuals_real, kk.residuals_imag])))
    return {
        "chi2": f"χ² = {fit.chi2:.4g}",
        "kk": f"max |residual| = {100 * mx:.2f} %",
        "lam": f"λ = {r.lam:.3e}",
        "rinf": f"R∞ = {r.R_inf:.2f} Ω",
        "rpol": f"R_pol = {r.R_pol:.2f} Ω",
        "head": f"cycle {cycle} · point #{point}",
        "params": [f"{v:.4g}" for v in fit.params.values()],  # as the parameter table shows them
    }


def _check(fit_ro, drt_ro, exp):
    for key in ("head", "chi2", "kk"):
        expect(fit_ro).to_contain_text(exp[key], timeout=TIMEOUT)
    for key in ("lam", "rinf", "rpol"):
        expect(drt_ro).to_contain_text(exp[key], timeout=TIMEOUT)


def test_impedance_page_follows_sliders(ui_page, app_url):
    page = ui_page
    page.goto(app_url + "?page=impedance")
    fit_ro = page.locator(".ssb-readout-fit").first
    drt_ro = page.locator(".ssb-readout-drt").first
    # default view: cell s2, cycles 1-40, cycle 1, point #2 (1.5 V on charge), automatic (GCV) lambda
    exp = _expected(1, 2)
    _check(fit_ro, drt_ro, exp)
    expect(drt_ro).to_contain_text("automatic, GCV")
    table = page.locator(".ssb-param-table").first
    for name, value in zip(("R0", "CPE2_n", "W1_A"), (exp["params"][0], exp["params"][6], exp["params"][-1])):
        expect(table).to_contain_text(name)
        expect(table).to_contain_text(value)
    wait_idle(page)
    before = plot_data(page)
    assert any(len(s) > 0 for s in before), "no plotted data found in the page"
    page.set_viewport_size({"width": 1500, "height": 2100})  # the whole page (the main area scrolls)
    wait_idle(page)
    screenshot(page, "impedance")
    page.set_viewport_size({"width": 1500, "height": 1000})

    # cycle range 1-40 -> 2-40: the map loses a row and the shown cycle moves into the range
    move_slider(page, "cycle_range", "ArrowRight")
    _check(fit_ro, drt_ro, _expected(2, 2))
    wait_idle(page)
    after_range = plot_data(page)
    assert after_range != before, "plotted data did not change after moving the cycle-range slider"

    # point #2 -> #3 (next voltage on charge)
    move_slider(page, "point", "ArrowRight")
    _check(fit_ro, drt_ro, _expected(2, 3))
    wait_idle(page)
    after_point = plot_data(page)
    assert after_point != after_range, "plotted data did not change after moving the point slider"

    # cycle shown 2 -> 3 (within the range)
    move_slider(page, "cycle", "ArrowRight")
    _check(fit_ro, drt_ro, _expected(3, 3))
    wait_idle(page)
    after_cycle = plot_data(page)
    assert after_cycle != after_point, "plotted data did not change after moving the cycle slider"

    # lambda slider -3.0 -> -2.9: automatic lambda switches off, DRT re-solved at 10**-2.9
    move_slider(page, "lam_log10", "ArrowRight")
    lam = float(f"{10 ** -2.9:.4g}")
    exp = _expected(3, 3, lam=lam)
    expect(drt_ro).to_contain_text("(fixed)", timeout=TIMEOUT)
    _check(fit_ro, drt_ro, exp)
    expect(page.locator(".ssb-w-lam-auto input")).not_to_be_checked()
    wait_idle(page)
    after_lam = plot_data(page)
    assert after_lam != after_cycle, "plotted data did not change after moving the lambda slider"

    # the DRT section: DRT with its regions and the 2-D map over the cycle range
    open_section(page, "DRT & 2-D map")
    page.wait_for_function("() => window.location.search.includes('impedance.section=drt')")
    drt_view = plot_data(page)
    assert drt_view != after_lam, "the DRT plots did not appear"
    page.set_viewport_size({"width": 1500, "height": 2100})
    wait_idle(page)
    screenshot(page, "impedance_drt")
    page.set_viewport_size({"width": 1500, "height": 1000})
    # cycle range 2-40 -> 3-40: the map loses a row, the shown cycle stays 3
    move_slider(page, "cycle_range", "ArrowRight")
    expect(page.locator(".ssb-w-cycle-range")).to_contain_text("3 .. 40")
    _check(fit_ro, drt_ro, exp)
    wait_idle(page)
    after_map = plot_data(page)
    assert after_map != drt_view, "the DRT map did not change after moving the cycle-range slider"

    # the tracks section: peak positions and region resistances along the map's rows (cycles 3-40)
    open_section(page, "Peak & region tracks")
    tracks = plot_data(page)
    assert tracks != after_map, "the track plots did not appear"
    screenshot(page, "impedance_tracks")
    move_slider(page, "point", "ArrowLeft")  # point #3 -> #2: the tracks follow the point
    _check(fit_ro, drt_ro, _expected(3, 2, lam=lam))
    wait_idle(page)
    assert plot_data(page) != tracks, "the tracks did not change after moving the point slider"

    page.console.assert_clean()


def test_impedance_view_restored_from_shared_url(ui_page, app_url):
    """A colleague opening a shared URL sees the same cycle range, point, lambda and map axis."""
    page = ui_page
    query = ("?page=impedance&impedance.cycle_range=%5B5%2C+30%5D&impedance.cycle=7&impedance.point=4"
             "&impedance.lam_log10=-2.5&impedance.lam_auto=false&impedance.map_axis=point&impedance.section=drt")
    page.goto(app_url + query)
    fit_ro = page.locator(".ssb-readout-fit").first
    drt_ro = page.locator(".ssb-readout-drt").first
    _check(fit_ro, drt_ro, _expected(7, 4, lam=float(f"{10 ** -2.5:.4g}")))
    expect(drt_ro).to_contain_text("(fixed)", timeout=TIMEOUT)
    expect(page.locator(".ssb-w-lam-auto input")).not_to_be_checked()
    expect(page.locator(".ssb-w-cycle-range")).to_contain_text("5 .. 30")
    expect(page.locator(".bk-tab.bk-active").first).to_contain_text("DRT & 2-D map")
    wait_idle(page)
    page.console.assert_clean()


RELAYOUT_JS = """
() => {
  window._relayout = [];
  // properties whose change makes the browser re-lay out a figure or re-style the page
  const watched = new Set(['inner_width', 'inner_height', 'outer_width', 'min_border_left', 'stylesheets']);
  for (const doc of Bokeh.documents) doc.on_change((e) => {
    if (e.model && watched.has(e.attr)) window._relayout.push(String(e.model.type) + '.' + e.attr);
  });
}
"""


def test_spectrum_moves_do_not_relayout(ui_page, app_url):
    """Cycle and point moves change data, axes and text, never a figure's layout or a stylesheet:
    y tick labels of changing width used to resize the plot frames (a browser re-layout ~80 ms after
    every move), and the parameter table re-sent its stylesheets at its first update (~0.15 s)."""
    page = ui_page
    page.goto(app_url + "?page=impedance")
    fit_ro = page.locator(".ssb-readout-fit").first
    drt_ro = page.locator(".ssb-readout-drt").first
    _check(fit_ro, drt_ro, _expected(1, 2))
    wait_idle(page)
    page.evaluate(RELAYOUT_JS)
    start = plot_data(page)
    for pname, cycle, point in (("point", 1, 3), ("cycle", 2, 3), ("cycle", 3, 3)):
        move_slider(page, pname, "ArrowRight")
        expect(fit_ro).to_contain_text(f"cycle {cycle} · point #{point}", timeout=TIMEOUT)
        wait_idle(page)
    assert plot_data(page) != start
    page.wait_for_timeout(500)  # a re-layout comes after the browser's next paint
    assert page.evaluate("() => window._relayout") == []
    page.console.assert_clean()
