"""Project store: atomic validated imports, catalog, deduplication, failure injection, lazy loading."""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
import xarray as xr

from analysis import io as sio
from analysis import store
from analysis.errors import SSBError


def snapshot(root):
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "catalog.sqlite")
    with sqlite3.connect(root / "catalog.sqlite") as con:
        rows = con.execute("SELECT * FROM datasets ORDER BY id").fetchall()
    return files, rows


@pytest.fixture
def eis_file(tmp_path):
    f = np.logspace(4, -1, 20)
    z = 5 + 50 / (1 + 1j * f * 1e-2)
    p = tmp_path / "spectrum.csv"
    p.write_text("".join(f"{a:.17g},{b.real:.17g},{b.imag:.17g}\n" for a, b in zip(f, z)))
    return p


def test_ingest_list_load(tmp_path, eis_file):
    st = store.open(tmp_path / "st")
    e = st.ingest(eis_file, metadata={"sample": "LPSCl-1", "area_cm2": 0.785}, user="ana")
    assert e.created and e.kind == "eis" and e.user == "ana" and e.source_file == "spectrum.csv"
    assert e.sha256 == sio.sha256_file(eis_file) and e.reader == "generic-eis"
    assert [x.id for x in st.list()] == [e.id] and st.list("cycling") == []
    ds = st.load(e.id)
    ref = sio.read(eis_file)
    xr.testing.assert_allclose(ds[["z_real", "z_imag"]], ref[["z_real", "z_imag"]])
    assert ds.attrs["area_cm2"] == 0.785 and ds.attrs["sample"] == "LPSCl-1"
    assert ds.attrs["sha256"] == e.sha256 and ds.attrs["store_id"] == e.id
    assert (tmp_path / "st" / "data" / f"{e.id}.nc").is_file()
    assert list((tmp_path / "st" / "tmp").iterdir()) == []


def test_reimport_is_detected(tmp_path, eis_file):
    st = store.open(tmp_path / "st")
    a = st.ingest(eis_file)
    copy = tmp_path / "other_name.csv"
    copy.write_bytes(eis_file.read_bytes())
    b = st.ingest(copy)
    assert not b.created and b.id == a.id and len(st) == 1


def test_lazy_load(tmp_path, ref_file):
    st = store.open(tmp_path / "st")
    e = st.ingest(ref_file("cycling/neware_navani_test.ndax"))
    lazy = st.load(e.id, lazy=True)
    assert lazy["voltage"].chunks is not None  # dask-backed, nothing read yet
    eager = st.load(e.id, lazy=False)
    assert eager["voltage"].chunks is None
    np.testing.assert_array_equal(lazy["voltage"].values, eager["voltage"].values)
    lazy.close()
    assert eager.sizes["record"] == 1464 and eager["direction"].dtype == np.int8


def test_update_metadata(tmp_path, ref_file):
    st = store.open(tmp_path / "st")
    e = st.ingest(ref_file("cycling/neware_navani_test.ndax"), metadata={"active_mass_mg": 10.0})
    e2 = st.update_metadata(e.id, active_mass_mg=12.5, loading_mg_cm2=8.0, cathode="NCM811")
    assert e2.metadata == {"active_mass_mg": 12.5, "loading_mg_cm2": 8.0, "cathode": "NCM811"}
    assert st.load(e.id).attrs["active_mass_mg"] == 12.5
    assert st.update_metadata(e.id, cathode=None).metadata == {"active_mass_mg": 12.5, "loading_mg_cm2": 8.0}
    for bad in ({"active_mass_mg": -1}, {"area_cm2": "big"}, {"bad key": 1}, {"x": [1, 2]},
                {"active_mass_mg": float("nan")}):
        with pytest.raises(store.StoreError):
            st.update_metadata(e.id, **bad)


def test_bad_file_leaves_store_unchanged(tmp_path, eis_file, ref_file):
    st = store.open(tmp_path / "st")
    st.ingest(eis_file)
    before = snapshot(st.root)
    bad = tmp_path / "bad.csv"
    bad.write_text("1000,1,-1\n100,nan,-1\n")
    with pytest.raises(sio.ReadError):
        st.ingest(bad)
    with pytest.raises(store.StoreError):
        st.ingest(ref_file("cycling/neware_navani_test.ndax"), metadata={"active_mass_mg": 0})
    assert snapshot(st.root) == before


@pytest.mark.parametrize("where", ["to_netcdf", "replace", "insert"])
def test_injected_failures_leave_store_unchanged(tmp_path, eis_file, ref_file, monkeypatch, where):
    st = store.open(tmp_path / "st")
    st.ingest(eis_file)
    before = snapshot(st.root)

    def boom(*a, **k):
        raise OSError("injected failure")

    if where == "to_netcdf":
        monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    elif where == "replace":
        monkeypatch.setattr(os, "replace", boom)
    else:
        def bad_insert(self, con, entry):
            raise sqlite3.OperationalError("injected failure")

        monkeypatch.setattr(store.Store, "_insert", bad_insert)
    with pytest.raises(SSBError, match="not imported"):
        st.ingest(ref_file("cycling/neware_navani_test.ndax"))
    assert snapshot(st.root) == before
    monkeypatch.undo()
    assert st.ingest(ref_file("cycling/neware_navani_test.ndax")).created


def test_interrupted_import_leftovers_are_swept(tmp_path, eis_file):
    st = store.open(tmp_path / "st")
    e = st.ingest(eis_file)
    (st.root / "tmp" / "half.nc.part").write_bytes(b"partial")
    (st.root / "data" / "0123456789abcdef.nc").write_bytes(b"orphan")
    st2 = store.open(st.root)
    assert [x.id for x in st2.list()] == [e.id]
    assert sorted(p.name for p in (st.root / "data").iterdir()) == [f"{e.id}.nc"]
    assert list((st.root / "tmp").iterdir()) == []


def test_unknown_id(tmp_path):
    st = store.open(tmp_path / "st")
    with pytest.raises(store.StoreError, match="no dataset"):
        st.get("0123456789abcdef")
    with pytest.raises(store.StoreError, match="invalid dataset id"):
        st.load("../../etc")


def test_ingest_cli(tmp_path, eis_file, capsys):
    from analysis.cli import main

    d = tmp_path / "st"
    rc = main(["ingest", str(eis_file), "--store", str(d), "--meta", "area_cm2=0.5", "--meta", "sample=S1",
               "--user", "bob"])
    assert rc == 0
    assert "imported as" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("garbage\n")
    assert main(["ingest", str(eis_file), str(bad), "--store", str(d)]) == 1
    cap = capsys.readouterr()
    assert "already in the store" in cap.out and "bad.csv: unknown format" in cap.err
    (e,) = store.open(d).list()
    assert e.metadata == {"area_cm2": 0.5, "sample": "S1"} and e.user == "bob"


def test_ingest_bytes_upload(tmp_path, eis_file):
    st = store.open(tmp_path / "st")
    e = st.ingest_bytes(eis_file.read_bytes(), "my spectrum.csv", metadata={"sample": "A"}, user="u")
    assert e.created and e.source_file == "my spectrum.csv"
    assert st.load(e.id).attrs["source_file"] == "my spectrum.csv"
    before = snapshot(st.root)
    with pytest.raises(sio.ReadError, match="unsafe file name"):
        st.ingest_bytes(b"1,2,3\n", "../../x.csv")
    with pytest.raises(sio.ReadError):
        st.ingest_bytes(b"\x00garbage", "g.csv")
    assert snapshot(st.root) == before
