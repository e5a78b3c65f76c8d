"""Data page (no browser): sample mode, uploads into a store, metadata editing, downloads."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import panel as pn
import pytest
import xarray as xr

import sample_data
from analysis import store
from dashboard import data
from dashboard.pages.data import DataPage, md_escape

EIS = "eis/impedancepy_exampleData.csv"
NDAX = "cycling/neware_navani_test.ndax"


@pytest.fixture
def no_store(monkeypatch):
    monkeypatch.delenv("SSB_STORE", raising=False)
    monkeypatch.delenv("SSB_AUTH", raising=False)
    data.clear()
    yield
    data.clear()


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    d = tmp_path / "store"
    monkeypatch.setenv("SSB_STORE", str(d))
    monkeypatch.delenv("SSB_AUTH", raising=False)
    data.clear()
    yield d
    data.clear()


@pytest.fixture
def imported(store_dir, ref_file):
    """A page with the EIS and NEWARE reference files imported (and their ids)."""
    page = DataPage()
    files = [ref_file(EIS), ref_file(NDAX)]
    res = page.import_files([(p.name, p.read_bytes()) for p in files])
    ids = [hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in files]
    return page, res, ids


def test_every_public_param_has_doc_and_label():
    for name, p in DataPage.param.objects().items():
        if name == "name":
            continue
        assert p.doc, f"{name} has no doc"
        assert p.label, f"{name} has no label"


def test_sample_mode_lists_and_exports_the_sample_data(no_store):
    page = DataPage(dataset="s2_lts_rate")
    assert page.store_dir is None
    assert set(sample_data.names()) <= set(page.param.dataset.objects)
    df = page._table.value
    assert list(df["name"]) == sample_data.names()
    row = df.set_index("name").loc["s2_lts_rate"]
    assert row["kind"] == "cycling" and row["study"] == "S2" and "rate capability" in row["mimics"]
    back = xr.open_dataset(io.BytesIO(page.dataset_netcdf()), engine="h5netcdf").load()
    xr.testing.assert_identical(back, sample_data.load("s2_lts_rate"))
    # importing without a store is refused with a sentence, not an exception
    [(ok, msg)] = page.import_files([("a.csv", b"1,2\n")])
    assert not ok and "--store" in msg
    pn.panel(page).get_root()  # renders
    assert "No project store" in page._header().object


def test_unknown_dataset_is_refused(no_store):
    with pytest.raises(KeyError, match="no dataset 'nope'"):
        DataPage(dataset="nope")


def test_table_selection_selects_the_dataset(no_store):
    page = DataPage()
    names = list(page._table.value["name"])
    page._table.selection = [names.index("s5_halide_pellets")]
    assert page.dataset == "s5_halide_pellets"
    assert page.fit_table == "conductivity"
    assert page._dl["fit"].filename == "s5_halide_pellets-conductivity.csv"


def test_uploads_give_one_result_per_file_and_reach_the_other_pages(imported, store_dir):
    page, res, (eis_id, ndax_id) = imported
    assert res[0] == (True, f"impedancepy_exampleData.csv: imported as eis dataset {eis_id}, "
                            "66 rows (frequency), reader generic-eis")
    assert res[1][0] and f"cycling dataset {ndax_id}, 1,464 rows (record)" in res[1][1]
    assert [type(a).__name__ for a in page._results] == ["Alert", "Alert"]
    entries = store.open(store_dir).list()
    assert {e.id for e in entries} == {eis_id, ndax_id} and {e.user for e in entries} == {"local"}
    assert set(page._table.value["id"]) == {ndax_id, eis_id}
    assert page.dataset == f"store:{ndax_id}" and page.fit_table == "cycle_summary"
    # data.clear() was called: the other pages see the new datasets
    assert f"store:{ndax_id}" in data.names("cycling") and f"store:{eis_id}" in data.names("eis")
    # the same file again: recognised, nothing new
    [(ok, msg)] = page.import_files([("neware_navani_test.ndax", (store_dir / ".uploads").rglob("*.ndax")
                                      .__next__().read_bytes())])
    assert ok and "already in the store" in msg
    assert len(store.open(store_dir).list()) == 2


@pytest.mark.parametrize("name, content, reason", [
    ("x.mpt", b"\x00\x01\x02garbage\xff", "x.mpt: unknown content (binary data of no supported instrument format)"),
    ("x.mpt", b"hello\nnot data\n", "x.mpt: not imported: unknown format"),
    ("empty.csv", b"", "empty.csv: the file is empty"),
    ("../../evil\x00.mpt", b"1,2\n", "contains a NUL byte"),
])
def test_bad_uploads_give_a_clear_sentence_and_leave_the_store_alone(store_dir, name, content, reason):
    page = DataPage()
    [(ok, msg)] = page.import_files([(name, content)])
    assert not ok and reason in msg and "Traceback" not in msg
    assert store.open(store_dir).list() == []
    assert page._results[0].alert_type == "danger"


def test_metadata_is_validated_and_persisted(imported, store_dir):
    page, _, (eis_id, ndax_id) = imported
    page.param.update(active_mass_mg=12.5, active_fraction=1.5)
    assert not page.save_metadata()
    assert "Active fraction must be at most 1" in page._meta_msg[0].object
    page.param.update(active_fraction=0.7, area_cm2=0.0)
    assert not page.save_metadata()
    assert "Electrode area must be a positive number (cm²)" in page._meta_msg[0].object
    assert store.open(store_dir).get(ndax_id).metadata == {}
    page.param.update(area_cm2=0.785, loading_mg_cm2=11.2)
    assert page.save_metadata()
    want = {"active_mass_mg": 12.5, "active_fraction": 0.7, "area_cm2": 0.785, "loading_mg_cm2": 11.2}
    assert store.open(store_dir).get(ndax_id).metadata == want
    assert page.load().attrs["active_mass_mg"] == 12.5
    assert "active_mass_mg=12.5" in page._table.value.set_index("id").loc[ndax_id, "metadata"]
    # clearing a field removes it
    page.loading_mg_cm2 = None
    assert page.save_metadata()
    assert "loading_mg_cm2" not in store.open(store_dir).get(ndax_id).metadata
    # a fresh page shows the stored values for the selected entry
    again = DataPage(dataset=f"store:{ndax_id}")
    assert (again.active_mass_mg, again.area_cm2, again.loading_mg_cm2) == (12.5, 0.785, None)


def test_downloads_use_the_edited_metadata(imported, store_dir):
    from analysis.cycling import summarize

    page, _, (eis_id, ndax_id) = imported
    page.param.update(active_mass_mg=10.0)
    assert page.save_metadata()
    ds = store.open(store_dir).load(ndax_id)
    fit = pd.read_csv(io.BytesIO(page.fit_table_csv()), comment="#")
    summ = summarize(ds)
    np.testing.assert_allclose(fit["discharge_capacity_specific (mAh/g)"], summ["discharge_capacity_specific"])
    # mAh/g = mAh / (10 mg * 1e-3 g/mg): the edited mass is used
    np.testing.assert_allclose(fit["discharge_capacity_specific (mAh/g)"], fit["discharge_capacity (mAh)"] / 0.010,
                               rtol=1e-6)
    csv = pd.read_csv(io.BytesIO(page.dataset_csv()), comment="#")
    np.testing.assert_allclose(csv["voltage (V)"], ds["voltage"].values)
    assert page._dl["nc"].filename == f"neware_navani_test-{ndax_id[:8]}.nc"
    # EIS entry: circuit fit table; no metadata editor
    page.dataset = f"store:{eis_id}"
    assert page.fit_table == "circuit_fit"
    assert "R1 (ohm)" in page.fit_table_csv().decode()
    assert "cycling dataset of the store" in page.metadata_editor().object


def test_a_failed_export_shows_the_reason_instead_of_raising(no_store):
    page = DataPage(dataset="s2_lts_rate")

    def boom():
        raise ValueError("disk full")

    out = page._guard("NetCDF export", "nc", boom)
    assert out.getvalue() == b"NetCDF export failed: disk full"
    assert page._dl["nc"].filename.endswith("-export-error.txt")
    assert "disk full" in page._message[0].object
    page._guard("NetCDF export", "nc", page.dataset_netcdf)
    assert page._dl["nc"].filename == "s2_lts_rate.nc" and not page._message.objects


def test_md_escape():
    assert md_escape("a_b*c`<x>") == r"a\_b\*c\`\<x\>"


@pytest.fixture
def local_dask():
    """The server's job module on an in-process Dask cluster (threads: quick to start in tests)."""
    pytest.importorskip("distributed")
    from dashboard import jobs

    jobs.configure(n_workers=1, processes=False, threads_per_worker=2)
    jobs.clear_cache()
    yield jobs
    jobs.shutdown()
    jobs.clear_cache()


def test_batch_drt_job_equals_the_direct_call_and_the_next_user_gets_it_cached(no_store, local_dask):
    from analysis.drt import drt_many

    name = data.names("insitu_eis")[0]
    page = DataPage(dataset=name)
    res = page.run_batch().result(timeout=300)
    direct = drt_many(data.load(name), lam="auto", lam_method="gcv")
    xr.testing.assert_allclose(res["gamma"], direct["gamma"])
    # a colleague asks for the same batch: served from the cache, with a summary and a download
    other = DataPage(dataset=name)
    job = other.run_batch()
    assert job.status == "cached"
    n = direct.sizes["cycle"] * direct.sizes["point"]
    assert f"DRT of {n} spectra" in other._batch_view.objects[1].object
    back = xr.open_dataset(other._dl["batch"].callback(), engine="h5netcdf").load()
    xr.testing.assert_allclose(back["gamma"], direct["gamma"])
    assert other._dl["batch"].filename == f"{name}-drt.nc"
    pn.panel(other).get_root()  # the page with its batch card renders


def test_batch_fit_job_refits_with_the_circuit_of_the_box(no_store, local_dask):
    from analysis.eis import fit_many

    name = data.names("insitu_eis")[0]
    page = DataPage(dataset=name, batch_action="fit", circuit="R0-p(R1,CPE1)-W1")
    res = page.run_batch().result(timeout=300)
    direct = fit_many(data.load(name), "R0-p(R1,CPE1)-W1")
    assert res.attrs["circuit"] == "R0-p(R1,CPE1)-W1"
    np.testing.assert_allclose(res["R1"].values, direct["R1"].values, rtol=1e-6)
    page.run_batch()  # cached now: the summary counts the converged fits
    n_ok, n = int(direct["success"].values.sum()), int(direct["success"].size)
    assert f"fitted to {n} spectra**: {n_ok} converged" in page._batch_view.objects[1].object


def test_batch_on_a_cycling_dataset_is_refused_with_a_sentence(no_store):
    page = DataPage(dataset=data.names("cycling")[0])
    assert page.run_batch() is None
    [alert] = page._batch_view.objects
    assert "batch jobs run on impedance datasets" in alert.object and "cycling" in alert.object


class _UploadEvent:
    """What Panel hands ``FileDropper._process_event`` for one chunk sent by the browser."""

    event_name = "upload_event"

    def __init__(self, name, chunk, k, n, mime="application/octet-stream"):
        self.data = {"name": name, "data": chunk, "chunk": k, "total_chunks": n, "type": mime}


def _drop(page, name, content: bytes, n_chunks: int):
    size = -(-len(content) // n_chunks)
    for k in range(n_chunks):
        page._upload._process_event(_UploadEvent(name, content[k * size:(k + 1) * size], k + 1, n_chunks))


def test_chunked_drop_zone_streams_to_disk_and_imports(store_dir, ref_file):
    raw = ref_file(NDAX).read_bytes()
    page = DataPage()
    _drop(page, "cell.ndax", raw, 5)
    [alert] = page._results.objects
    assert "cell.ndax: imported as cycling dataset" in alert.object and "1,464 rows" in alert.object
    assert page._upload.value == {}  # nothing kept in memory
    kept = store_dir / ".uploads" / "local" / "cell.ndax"
    assert kept.read_bytes() == raw
    e = store.open(store_dir).list()[0]
    assert page.dataset == f"store:{e.id}" and e.user == "local"


def test_chunked_drop_zone_refuses_while_the_bytes_arrive(store_dir, monkeypatch, ref_file):
    monkeypatch.setenv("SSB_MAX_UPLOAD_MB", "0.02")  # ~21 kB
    page = DataPage()
    raw = ref_file(NDAX).read_bytes()
    assert len(raw) > 30_000
    _drop(page, "big.ndax", raw, 10)
    [alert] = page._results.objects
    assert "big.ndax: too large" in alert.object
    _drop(page, "junk.mpr", b"\x00\x01garbage" * 1_000, 3)  # binary of no known format
    assert "junk.mpr: unknown content" in page._results.objects[-1].object
    assert store.open(store_dir).list() == []
    assert not [p for p in (store_dir / ".uploads").rglob("*") if p.is_file()]  # no part files left


def test_an_edited_active_mass_reaches_the_cycling_page(imported):
    """The cycling page's cached results are keyed on the dataset name: after a metadata edit
    they must be recomputed (specific capacity = mAh / active mass), not served from the cache."""
    from dashboard.pages.cycling import CyclingExplorer, summary

    page, _, (eis_id, ndax_id) = imported
    name = f"store:{ndax_id}"
    page.param.update(active_mass_mg=10.0)
    assert page.save_metadata()
    first = summary(name, "max")
    np.testing.assert_allclose(first["discharge_capacity_specific"], first["discharge_capacity"] / 0.010, rtol=1e-6)
    CyclingExplorer(dataset=name)  # shown once with 10 mg
    page.param.update(active_mass_mg=20.0)
    assert page.save_metadata()
    again = summary(name, "max")
    np.testing.assert_allclose(again["discharge_capacity_specific"], again["discharge_capacity"] / 0.020, rtol=1e-6)


def test_a_metadata_edit_by_another_server_process_is_seen(imported, store_dir, monkeypatch):
    """With several server processes only the one that saved the edit clears its caches; the others
    see the new revision in the catalog once theirs is older than ``REVISION_TTL_S``."""
    from dashboard.pages.cycling import summary

    _, _, (eis_id, ndax_id) = imported
    name = f"store:{ndax_id}"
    before = summary(name, "max")
    rev = data.revision(name)
    store.open(store_dir).update_metadata(ndax_id, active_mass_mg=5.0)  # elsewhere: no data.clear() here
    assert data.revision(name) == rev, "within the TTL the revision is not re-read"
    monkeypatch.setattr(data, "REVISION_TTL_S", 0.0)
    assert data.revision(name) != rev and "active_mass_mg" in data.revision(name)
    after = summary(name, "max")
    assert after is not before
    np.testing.assert_allclose(after["discharge_capacity_specific"], after["discharge_capacity"] / 0.005, rtol=1e-6)
    assert data.revision("s2_lts_rate") == ""  # sample data never change
