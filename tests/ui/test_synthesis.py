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


#: every plot title and every numeric data column of the page (values rounded to 0.01)
_TITLES_AND_COLUMNS_JS = """
() => {
  const titles = [], cols = [];
  for (const doc of (window.Bokeh && window.Bokeh.documents) || []) {
    for (const m of doc.all_models) {
      if (m.type === 'Title' || (m.text !== undefined && m.constructor.name === 'Title')) titles.push(String(m.text));
      if (m.data === undefined || m.selected === undefined) continue;
      for (const k of Object.keys(m.data)) {
        const v = Array.from(m.data[k] || []);
        if (v.length && v.every(x => typeof x === 'number')) cols.push(v.map(x => Math.round(x * 100) / 100));
      }
    }
  }
  return {titles, cols};
}
"""


def _vol(sample_id):
    import sample_data

    ds = sample_data.load("s1_lpscb_pellets")
    return float(ds["unit_cell_volume_A3"].sel(sample=sample_id))


def test_unit_cell_trends_follow_the_selection(ui_page, app_url):
    """The trends section draws the unit-cell volume against FRB and BMR (the dataset's volumes), the
    read-out names the selection's volume, and an FRB move changes both to the new pellet's."""
    page = ui_page
    page.goto(app_url + "?page=synthesis&synthesis.bmr=40.0&synthesis.section=trends")
    readout = page.locator(".ssb-readout").first
    sid = _expected_readout(10, 40)[0]
    expect(readout).to_contain_text(f"unit-cell volume = {_vol(sid):.1f} Å³")
    wait_idle(page)
    got = page.evaluate(_TITLES_AND_COLUMNS_JS)
    assert {"V_cell vs FRB (%)", "V_cell vs BMR (x:1)"} <= set(got["titles"]), got["titles"]
    frb_series = [round(_vol(s), 2) for s in ("FRB05-BMR40-S", "FRB10-BMR40-S", "FRB20-BMR40-S")]
    assert frb_series in got["cols"], "the FRB series of unit-cell volumes is not plotted"
    assert [round(_vol(sid), 2)] in got["cols"], "the selected pellet's volume is not marked"
    move_slider(page, "frb_pct", "ArrowRight")  # FRB 10 -> 20 at BMR 40
    sid2 = _expected_readout(20, 40)[0]
    expect(readout).to_contain_text(f"unit-cell volume = {_vol(sid2):.1f} Å³")
    wait_idle(page)
    assert [round(_vol(sid2), 2)] in page.evaluate(_TITLES_AND_COLUMNS_JS)["cols"]
    page.console.assert_clean()


def test_dark_theme_marks_the_chosen_button(ui_page, app_url):
    """In the dark theme the chosen option of a button group stands out from the others (with Panel's
    default style 'sintered' chosen differed from 'as-milled' by 4 levels of grey)."""
    page = ui_page
    page.goto(app_url + "?page=synthesis&theme=dark")
    expect(page.locator(".ssb-readout").first).to_contain_text(_expected_readout(10, 80)[0])

    def background(text):
        btn = page.locator("button", has_text=text).first
        expect(btn).to_be_visible()
        return btn.evaluate("b => getComputedStyle(b).backgroundColor")

    def rgb(css):
        return [int(float(x)) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3]]

    chosen, other = rgb(background("sintered")), rgb(background("as-milled"))
    assert max(abs(a - b) for a, b in zip(chosen, other)) >= 60, (chosen, other)
    page.console.assert_clean()


@pytest.fixture(scope="module")
def rpm_store_url(tmp_path_factory):
    """A dashboard serving a store that holds a pellet series over mill speed and milling time."""
    import sample_data
    from analysis import store
    from tests.ui.conftest import start_server

    d = tmp_path_factory.mktemp("rpm")
    s1 = sample_data.load("s1_lpscb_pellets")
    ds = s1.sel(sample=["FRB10-BMR40-S", "FRB10-BMR20-S", "FRB10-BMR80-S", "FRB05-BMR40-S"]).assign_coords(
        bmr=("sample", [20.0] * 4), frb_pct=("sample", [10.0] * 4), rpm=("sample", [550.0, 600.0, 700.0, 700.0]),
        milling_time_h=("sample", [12.0, 12.0, 12.0, 24.0]))
    f = d / "rpm_series.nc"
    ds.to_netcdf(f, engine="h5netcdf")
    entry = store.open(d / "store").ingest(f)
    proc, url = start_server(extra_env={"SSB_STORE": str(d / "store")})
    yield url, f"store:{entry.id}"
    proc.terminate()
    proc.wait(timeout=10)


def test_rpm_and_milling_time_sliders_pick_the_pellet(ui_page, rpm_store_url):
    """A series over mill speed and milling time (imported as NetCDF): both sliders appear, moving
    them picks the pellet measured there (its numbers as the analysis gives them) and the mill-speed
    trend row is drawn."""
    from analysis.pellets import arrhenius_table, conductivity_table

    import sample_data

    url, name = rpm_store_url
    s1 = sample_data.load("s1_lpscb_pellets")
    arr = arrhenius_table(conductivity_table(s1, s1.attrs["circuit"]), form="sigmaT")
    page = ui_page
    # the best pellet of the series opens first: FRB10-BMR80-S, here at 700 rpm, 12 h
    page.goto(url + f"?page=synthesis&synthesis.dataset={name}")
    readout = page.locator(".ssb-readout").first
    expect(readout).to_contain_text("FRB10-BMR80-S")
    for pname in ("rpm", "milling_time_h"):
        expect(page.locator(f".ssb-w-{pname.replace('_', '-')} .noUi-handle").first).to_be_visible()
    expect(page.locator(".ssb-w-frb-pct .noUi-handle").first).to_be_hidden()  # one FRB only: no slider
    move_slider(page, "rpm", "ArrowLeft")  # 700 -> 600 rpm, 12 h: FRB10-BMR20-S
    expect(readout).to_contain_text("FRB10-BMR20-S")
    expect(readout).to_contain_text(f"{float(arr.Ea.sel(sample='FRB10-BMR20-S')):.3f} ±")
    move_slider(page, "rpm", "ArrowRight")  # back to 700 rpm
    move_slider(page, "milling_time_h", "ArrowRight")  # 12 -> 24 h: FRB05-BMR40-S
    expect(readout).to_contain_text("FRB05-BMR40-S")
    page.wait_for_function("() => window.location.search.includes('synthesis.milling_time_h=24')")
    open_section(page, "Trends vs milling")
    titles = page.evaluate(_TITLES_AND_COLUMNS_JS)["titles"]
    assert {"σ vs mill speed (rpm)", "Ea vs milling time (h)"} <= set(titles), titles
    screenshot(page, "synthesis_rpm_series", doc=False)  # a temporary store: not a README picture
    page.console.assert_clean()
