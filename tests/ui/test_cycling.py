"""Cycling & dQ/dV explorer in Chromium: sliders move, plotted data and read-outs follow the analysis."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import move_slider, open_section, plot_data, screenshot, wait_idle

pytestmark = pytest.mark.ui


def wait_changed(page, before, select=lambda sigs: sigs, timeout: float = 40.0):
    """Plotted data once it differs from ``before`` (a loaded server may answer late)."""
    import time

    end = time.time() + timeout
    cur = select(plot_data(page))
    while cur == before and time.time() < end:
        page.wait_for_timeout(250)
        cur = select(plot_data(page))
    wait_idle(page)
    return select(plot_data(page))

CELL = "s2_lts_highloading"
WINDOWS = "1.55-1.85, 1.95-2.25"


def _expected(first: int, last: int, resolution_mV: float = 5.0, direction: str = "charge"):
    """Read-out numbers computed directly with the analysis functions for the same inputs."""
    import sample_data
    from analysis.cycling import summarize
    from analysis.dqdv import dqdv_cycles, track_peaks

    ds = sample_data.load(CELL)
    s = summarize(ds, reference="max").sel(cycle=last)
    tp = track_peaks(dqdv_cycles(ds, None, direction, resolution_mV=resolution_mV),
                     [(1.55, 1.85), (1.95, 2.25)])
    pos = [(f"{float(tp.position.sel(cycle=first, peak=p)):.3f} V (cycle {first})",
            f"{float(tp.position.sel(cycle=last, peak=p)):.3f} V (cycle {last})") for p in tp.peak.values]
    return (f"{float(s.discharge_capacity_specific):.1f} mAh/g", f"retention = {float(s.retention):.2f} %", pos)


CURVE_CYCLES_JS = """
() => {
  for (const doc of Bokeh.documents) for (const m of doc.all_models)
    if (m.data !== undefined && m.data.Cycle !== undefined && m.data.x1 !== undefined)
      return Array.from(new Set(Array.from(m.data.Cycle))).sort((a, b) => a - b);
  return [];
}
"""


def _curve_cycles(page) -> list[float]:
    """Cycles drawn in the dQ/dV overlay (the Segment source's distinct ``Cycle`` values)."""
    return page.evaluate(CURVE_CYCLES_JS)


def _check_readout(readout, first, last, resolution_mV=5.0):
    cap, ret, pos = _expected(first, last, resolution_mV)
    expect(readout).to_contain_text(f"Cycles {first}–{last} ({last - first + 1} cycles)")
    expect(readout).to_contain_text(f"cycle {last} = {cap}")
    expect(readout).to_contain_text(ret)
    expect(readout).to_contain_text(f"({resolution_mV:g} mV)")
    for a, b in pos:
        expect(readout).to_contain_text(f"{a} → {b}")


def test_cycling_page_follows_sliders(ui_page, app_url):
    page = ui_page
    page.goto(app_url + f"?page=cycling&cycling.dataset={CELL}&cycling.section=dqdv")
    readout = page.locator(".ssb-readout").first
    expect(readout).to_contain_text("Cycles 1–400 (400 cycles)")
    page.locator(".ssb-w-windows input").fill(WINDOWS)
    page.locator(".ssb-w-windows input").press("Enter")
    _check_readout(readout, 1, 400)
    wait_idle(page)
    before = plot_data(page)
    # 400 selected cycles: the overlay is decimated to 24 curves (one Segment source, 24 cycles)
    shown = _curve_cycles(page)
    assert len(shown) == 24 and shown[0] == 1 and shown[-1] == 400, shown
    assert any(len(s) > 0 for s in before), "no plotted data found in the page"

    # lower handle of the cycle range 1 -> 2: read-outs and the dQ/dV overlay change
    move_slider(page, "cycle_range", "ArrowRight")
    _check_readout(readout, 2, 400)
    after = wait_changed(page, before)
    assert after != before, "plotted data did not change after moving the cycle range"

    # upper handle 400 -> 399
    upper = page.locator(".ssb-w-cycle-range .noUi-handle").nth(1)
    upper.focus()
    upper.press("ArrowLeft")
    _check_readout(readout, 2, 399)
    wait_idle(page)
    after2 = plot_data(page)  # (the 24 evenly spaced curves may start with the same cycles as before)

    # smoothing 5 -> 7.5 mV: peak positions follow track_peaks at the new resolution
    move_slider(page, "resolution_mV", "ArrowRight")
    _check_readout(readout, 2, 399, 7.5)
    assert wait_changed(page, after2) != after2, "plotted data did not change after moving the resolution slider"
    screenshot(page, "cycling")
    plot_data_dqdv = plot_data(page)

    # the per-cycle summary section: capacity, retention, CE, polarisation and rate capability
    open_section(page, "Per-cycle summary")
    summary = plot_data(page)
    assert summary != plot_data_dqdv and any(":400:" in sig for sig in summary), \
        sorted(s[:40] for s in summary)  # per-cycle series of all 400 cycles
    screenshot(page, "cycling_summary")
    page.console.assert_clean()


def test_cycling_bad_windows_show_a_warning(ui_page, app_url):
    page = ui_page
    page.goto(app_url + "?page=cycling")
    expect(page.locator(".ssb-readout").first).to_contain_text("Cycles 1–")
    page.locator(".ssb-w-windows input").fill("2.4-abc")
    page.locator(".ssb-w-windows input").press("Enter")
    expect(page.get_by_text("expected 'low-high' in V").first).to_be_visible()
    page.console.assert_clean()
