"""Stack-pressure explorer in Chromium: cycle slider, zoom to full detail, read-outs equal the analysis."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import move_slider, open_section, plot_data, screenshot, wait_idle
from tests.ui.test_cycling import wait_changed

pytestmark = pytest.mark.ui


def _expected(cell: str, cycle: int):
    """Read-out numbers computed directly with the analysis functions for the same inputs."""
    import sample_data
    from analysis.cycling import summarize
    from analysis.pressure import align, correlate, per_cycle

    ds = sample_data.load(cell)
    pc = per_cycle(align(ds, sample_data.load(cell + "_pressure")))
    r = correlate(pc, summarize(ds, reference="max"), x="growth_pct")
    return (f"max growth (at end of discharge) = {pc.attrs['max_growth_pct']:.2f} %",
            f"Cycle {cycle}: breathing = {float(pc.breathing.sel(cycle=cycle)):.4f} MPa",
            f"Pearson r = {float(r.pearson_r):.3f}")


def _check(readout, cell, cycle):
    for s in _expected(cell, cycle):
        expect(readout).to_contain_text(s)


def _time_series(sigs):
    """Sources of the pressure and voltage time series (a ``Time (h)`` column)."""
    return [s for s in sigs if s.startswith("Time (h):") or "|Time (h):" in s]


def test_pressure_page_follows_slider_and_zoom(ui_page, app_url):
    page = ui_page
    page.goto(app_url + "?page=pressure")
    readout = page.locator(".ssb-readout").first
    _check(readout, "s2_lts_conventional", 1)
    wait_idle(page)
    before = plot_data(page)
    ts = _time_series(before)
    assert len(ts) >= 2, before
    # whole test shown: both series min-max decimated to at most 2 x 1200 points
    assert all(int(s.split(":")[1]) <= 2400 for s in ts)

    # the time series section: a cycle move moves the highlighted cycle (the read-out follows)
    move_slider(page, "cycle", "ArrowRight")
    _check(readout, "s2_lts_conventional", 2)
    screenshot(page, "pressure")

    # zoom into the pressure plot (wheel zooms time): the visible window is re-sampled in detail
    wait_idle(page)
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    for _ in range(6):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(80)
    zoomed = wait_changed(page, ts, _time_series)
    assert zoomed != ts, "zooming did not re-sample the time series"

    # the per-cycle section: breathing, growth, the cycle's pressure-voltage loop, correlation
    open_section(page, "Per cycle & correlation")
    cycles = plot_data(page)
    assert any(s.startswith("Breathing") for s in cycles), cycles
    move_slider(page, "cycle", "ArrowRight", times=3)
    _check(readout, "s2_lts_conventional", 5)
    assert wait_changed(page, cycles) != cycles, "plotted data did not change after moving the cycle slider"
    screenshot(page, "pressure_cycles")
    page.console.assert_clean()


def test_pressure_page_restores_shared_url(ui_page, app_url):
    page = ui_page
    page.goto(app_url + "?page=pressure&pressure.dataset=s2_lts_highloading&pressure.cycle=200")
    readout = page.locator(".ssb-readout").first
    _check(readout, "s2_lts_highloading", 200)
    expect(page.locator(".ssb-w-cycle")).to_contain_text("200")
    page.console.assert_clean()
