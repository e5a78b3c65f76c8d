"""Data page in Chromium: uploads into a temporary store, validation messages, catalog table,
metadata editing persisted in the catalog, downloads equal to what the store and analysis give."""
from __future__ import annotations

import hashlib
import io
import subprocess

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from playwright.sync_api import expect

from tests.ui.conftest import screenshot, start_server

pytestmark = pytest.mark.ui

EIS = "eis/impedancepy_exampleData.csv"
NDAX = "cycling/neware_navani_test.ndax"


@pytest.fixture(scope="module")
def store_server(tmp_path_factory):
    """A dashboard served with ``SSB_STORE`` set to a fresh temporary store."""
    store_dir = tmp_path_factory.mktemp("store")
    proc, url = start_server(extra_env={"SSB_STORE": str(store_dir)})
    yield url, store_dir
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _id(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _download(page, css: str) -> bytes:
    with page.expect_download(timeout=90_000) as dl:
        page.locator(f"{css} button").first.click()
    path = dl.value.path()
    return open(path, "rb").read()


def test_upload_browse_edit_and_export(ui_page, store_server, ref_file):
    from analysis import store
    from analysis.cycling import summarize

    url, store_dir = store_server
    eis, ndax = ref_file(EIS), ref_file(NDAX)
    eis_id, ndax_id = _id(eis), _id(ndax)
    page = ui_page
    page.goto(url + "?page=data")
    expect(page.locator(".ssb-store-info")).to_contain_text("Project store")

    # two real instrument files at once: one validation result each, both in the catalog table
    page.locator(".ssb-upload input[type=file]").set_input_files([str(eis), str(ndax)])
    # (the drop zone sends each file in chunks; a file's line appears when its last chunk is in)
    ok = page.locator(".ssb-upload-ok")
    expect(ok).to_have_count(2, timeout=90_000)
    ok_eis = page.locator(".ssb-upload-ok", has_text="impedancepy_exampleData.csv")
    ok_ndax = page.locator(".ssb-upload-ok", has_text="neware_navani_test.ndax")
    expect(ok_eis).to_contain_text(f"impedancepy_exampleData.csv: imported as eis dataset {eis_id}")
    expect(ok_eis).to_contain_text("66 rows (frequency), reader generic-eis")
    expect(ok_ndax).to_contain_text(f"neware_navani_test.ndax: imported as cycling dataset {ndax_id}")
    expect(ok_ndax).to_contain_text("1,464 rows (record)")
    table = page.locator(".ssb-store-table")
    expect(table).to_contain_text(eis_id)
    expect(table).to_contain_text(ndax_id)
    expect(table).to_contain_text("neware_navani_test.ndax")
    st = store.open(store_dir)
    assert {e.id for e in st.list()} == {eis_id, ndax_id}
    assert st.get(ndax_id).user == "local"

    # a bad file: one clear sentence, no traceback, the store unchanged
    page.locator(".ssb-upload input[type=file]").set_input_files(
        files=[{"name": "x.mpt", "mimeType": "application/octet-stream", "buffer": b"\x00\x01\x02garbage\xff"}])
    err = page.locator(".ssb-upload-error")
    expect(err).to_have_count(1, timeout=60_000)
    expect(err).to_contain_text("x.mpt: unknown content (binary data of no supported instrument format)")
    assert "Traceback" not in err.inner_text()
    page.locator(".ssb-upload input[type=file]").set_input_files(
        files=[{"name": "x.mpt", "mimeType": "text/plain", "buffer": b"hello\nthis is not data\n"}])
    expect(err).to_have_count(2, timeout=60_000)  # the page lists the recent uploads, newest last
    expect(err.last).to_contain_text("x.mpt: not imported: unknown format", timeout=60_000)
    assert len(store.open(store_dir).list()) == 2

    # the cycling dataset (last imported) is selected: edit its cell metadata
    details = page.locator(".ssb-data-details")
    expect(details).to_contain_text(ndax_id)
    mass = page.locator(".ssb-meta-active-mass-mg input")
    area = page.locator(".ssb-meta-area-cm2 input")
    mass.fill("12.5")
    mass.press("Enter")
    area.fill("-1")
    area.press("Enter")
    page.locator(".ssb-meta-save button").click()
    expect(page.locator(".ssb-meta-error")).to_contain_text("Electrode area must be a positive number")
    assert store.open(store_dir).get(ndax_id).metadata == {}
    area.fill("0.785")
    area.press("Enter")
    page.locator(".ssb-meta-save button").click()
    expect(page.locator(".ssb-meta-ok")).to_contain_text(f"Saved for {ndax_id}")
    assert store.open(store_dir).get(ndax_id).metadata == {"active_mass_mg": 12.5, "area_cm2": 0.785}
    expect(table).to_contain_text("active_mass_mg=12.5")
    expect(details).to_contain_text("12.5 mg")
    page.locator(".ssb-store-info").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    screenshot(page, "data")

    # downloads equal what the store and the analysis functions give
    ds = store.open(store_dir).load(ndax_id)
    got = xr.open_dataset(io.BytesIO(_download(page, ".ssb-dl-netcdf")), engine="h5netcdf").load()
    np.testing.assert_allclose(got["voltage"].values, ds["voltage"].values)
    assert got.attrs["active_mass_mg"] == 12.5
    csv = pd.read_csv(io.BytesIO(_download(page, ".ssb-dl-csv")), comment="#")
    np.testing.assert_allclose(csv["voltage (V)"].to_numpy(), ds["voltage"].values, rtol=1e-9)
    fit = pd.read_csv(io.BytesIO(_download(page, ".ssb-dl-fit")), comment="#")
    summ = summarize(ds)
    np.testing.assert_allclose(fit["discharge_capacity (mAh)"].to_numpy(), summ["discharge_capacity"].values,
                               rtol=1e-9)
    np.testing.assert_allclose(fit["discharge_capacity_specific (mAh/g)"].to_numpy(),
                               summ["discharge_capacity_specific"].values, rtol=1e-9)
    html = _download(page, ".ssb-dl-html")
    assert html.lstrip().lower().startswith(b"<!doctype html") and b"Bokeh" in html
    from dashboard.export import image_export_status

    if image_export_status()[0]:
        assert _download(page, ".ssb-dl-png").startswith(b"\x89PNG\r\n\x1a\n")
    else:
        expect(page.locator(".ssb-export-note")).to_contain_text("HTML instead")

    # selecting the EIS row of the table selects that dataset (no metadata editor for EIS)
    table.get_by_text(eis_id).first.click()
    expect(details).to_contain_text(eis_id)
    expect(details).to_contain_text("impedancepy_exampleData.csv")
    expect(page.locator(".ssb-meta-hint")).to_be_visible()
    page.console.assert_clean()


def test_sample_data_without_store(ui_page, app_url):
    import sample_data

    page = ui_page
    page.goto(app_url + "?page=data&data.dataset=s5_halide_pellets")
    expect(page.locator(".ssb-no-store")).to_contain_text("No project store is configured")
    table = page.locator(".ssb-store-table")
    for n in ("s1_lpscb_pellets", "s2_lts_conventional", "s5_halide_pellets"):
        expect(table).to_contain_text(n)
    assert page.locator(".ssb-upload input[type=file]").count() == 0
    details = page.locator(".ssb-data-details")
    expect(details).to_contain_text("s5_halide_pellets")
    expect(details).to_contain_text("SYNTHETIC")
    expect(details).to_contain_text("S5")
    got = xr.open_dataset(io.BytesIO(_download(page, ".ssb-dl-netcdf")), engine="h5netcdf").load()
    xr.testing.assert_allclose(got, sample_data.load("s5_halide_pellets"))
    page.console.assert_clean()
