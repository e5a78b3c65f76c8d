"""Safe uploads: names, sizes, content sniffing, no overwrite, quota, failed imports leave nothing."""
from __future__ import annotations

import hashlib

import pytest

from dashboard.uploads import (
    ChunkedUpload, UploadError, UploadLimits, sanitize_filename, save_upload, sniff_content, usage_bytes,
)

MPT = ("EC-Lab ASCII FILE\nNb header lines : 3\n\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n"
       "1000\t10.0\t1.0\n100\t12.0\t3.0\n").encode()


class FakeStore:
    """Records ingest calls like analysis.store would (path, metadata, user)."""

    def __init__(self, fail: Exception | None = None):
        self.calls, self.fail = [], fail

    def __call__(self, store_dir, path, metadata, user):
        if self.fail:
            raise self.fail
        self.calls.append((store_dir, path, path.read_bytes(), metadata, user))
        return f"ds-{len(self.calls)}"


@pytest.mark.parametrize("raw, expected", [
    ("cell1.mpt", "cell1.mpt"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("/absolute/path/data.csv", "data.csv"),
    ("C:\\Users\\me\\run 3.nda", "run_3.nda"),
    ("...hidden", "hidden"),
    ("résumé µ.txt", "resume_.txt"),
])
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize("raw", ["a\x00b.mpt", "evil\n.csv", "..", "../", "/", "///..//", ""])
def test_hostile_names_refused(raw):
    with pytest.raises(UploadError):
        sanitize_filename(raw)


def test_overlong_name_is_shortened_keeping_extension():
    out = sanitize_filename("x" * 1000 + ".ndax", max_len=64)
    assert len(out) == 64 and out.endswith(".ndax")


def test_sniff():
    assert sniff_content(MPT) == "text"
    assert sniff_content(b"BIO-LOGIC MODULAR FILE\x1a   ") == "biologic-mpr"
    assert sniff_content(b"PK\x03\x04rest") .startswith("zip")
    assert sniff_content("Zeit;Spannung\n1,0;3,7\n".encode("latin-1")) == "text"
    assert sniff_content("\ufefffreq,re\n".encode("utf-16")) == "text (utf-16)"
    for bad in [b"", b"\x00\x01\x02\x03" * 100, bytes(range(256)) * 4]:
        with pytest.raises(UploadError):
            sniff_content(bad, "x.bin")


def test_save_upload_records_user_and_metadata(tmp_path):
    ing = FakeStore()
    res = save_upload(tmp_path, "../cell1.mpt", MPT, user="alice", metadata={"area_cm2": 1.0}, ingest=ing)
    assert res.filename == "cell1.mpt" and res.ingested == "ds-1" and not res.duplicate
    assert res.sha256 == hashlib.sha256(MPT).hexdigest() and res.size == len(MPT)
    store_dir, path, data, meta, user = ing.calls[0]
    assert user == "alice" and meta == {"area_cm2": 1.0} and data == MPT
    assert path.is_relative_to(tmp_path.resolve()) and path.parent.name == "alice"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".part")]


def test_same_name_never_overwrites(tmp_path):
    ing = FakeStore()
    r1 = save_upload(tmp_path, "run.mpt", MPT, user="alice", ingest=ing)
    other = MPT.replace(b"12.0", b"13.0")
    r2 = save_upload(tmp_path, "run.mpt", other, user="alice", ingest=ing)
    assert r1.path != r2.path and r2.filename == "run-2.mpt"
    assert r1.path.read_bytes() == MPT and r2.path.read_bytes() == other
    r3 = save_upload(tmp_path, "renamed.mpt", MPT, user="alice", ingest=ing)  # same bytes, other name
    assert not r3.duplicate  # different name is kept as its own file
    r4 = save_upload(tmp_path, "run.mpt", MPT, user="alice", ingest=ing)
    assert r4.duplicate and r4.path == r1.path


def test_users_are_separated(tmp_path):
    ing = FakeStore()
    a = save_upload(tmp_path, "x.mpt", MPT, user="alice", ingest=ing)
    b = save_upload(tmp_path, "x.mpt", MPT + b"1\t1\t1\n", user="../bob", ingest=ing)
    assert a.path.parent != b.path.parent and b.path.parent.parent == a.path.parent.parent


def test_too_large_and_quota(tmp_path):
    lim = UploadLimits(max_bytes=1000, quota_bytes=2500)
    ing = FakeStore()
    with pytest.raises(UploadError, match="too large"):
        save_upload(tmp_path, "big.mpt", MPT * 100, user="a", limits=lim, ingest=ing)
    body = MPT + b"#" * (900 - len(MPT)) + b"\n"
    save_upload(tmp_path, "1.mpt", body, user="a", limits=lim, ingest=ing)
    save_upload(tmp_path, "2.mpt", body + b"\n", user="a", limits=lim, ingest=ing)
    with pytest.raises(UploadError, match="quota exceeded"):
        save_upload(tmp_path, "3.mpt", body + b"\n\n", user="a", limits=lim, ingest=ing)
    assert usage_bytes(tmp_path, "a") == 2 * len(body) + 1
    save_upload(tmp_path, "3.mpt", body, user="b", limits=lim, ingest=ing)  # quota is per user


def test_chunked_upload_stops_early(tmp_path):
    up = ChunkedUpload(tmp_path, "big.nda", "a", UploadLimits(max_bytes=10_000))
    up.write(b"NEWARE" + b"\0" * 5000)
    with pytest.raises(UploadError, match="too large"):
        up.write(b"\0" * 6000)
    assert usage_bytes(tmp_path, "a") == 0
    assert not list((tmp_path / ".uploads" / "a").iterdir())


def test_unknown_content_refused_before_import(tmp_path):
    ing = FakeStore()
    with pytest.raises(UploadError, match="unknown content"):
        save_upload(tmp_path, "x.mpt", b"\x00\xff\x13\x37" * 50_000, user="a", ingest=ing)
    assert ing.calls == [] and usage_bytes(tmp_path, "a") == 0


def test_failed_import_leaves_nothing(tmp_path):
    from analysis.errors import SSBError

    ing = FakeStore(fail=SSBError("x.mpt: no frequency column (line 4)"))
    with pytest.raises(UploadError, match="not imported: x.mpt: no frequency column"):
        save_upload(tmp_path, "x.mpt", MPT, user="a", ingest=ing)
    assert usage_bytes(tmp_path, "a") == 0


@pytest.mark.reference
@pytest.mark.parametrize("rel", ["eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt",
                                 "eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr"])
def test_real_file_into_real_store(tmp_path, ref_file, rel):
    """A real instrument file goes through the real store; the catalog records the user."""
    store = pytest.importorskip("analysis.store")
    data = ref_file(rel).read_bytes()
    res = save_upload(tmp_path, "../../" + ref_file(rel).name, data, user="alice")
    assert res.ingested.user == "alice" and res.ingested.sha256 == res.sha256
    (entry,) = store.open(tmp_path).list()
    assert entry.user == "alice" and entry.source_file == ref_file(rel).name
    ds = store.open(tmp_path).load(entry.id)
    assert ds.sizes["frequency"] > 10
    # the same bytes again: recognised, nothing new
    again = save_upload(tmp_path, ref_file(rel).name, data, user="alice")
    assert again.duplicate and len(store.open(tmp_path).list()) == 1


def test_broken_file_into_real_store_leaves_it_unchanged(tmp_path):
    store = pytest.importorskip("analysis.store")
    bad = b"freq/Hz\tRe(Z)/Ohm\n1000\tabc\n"
    with pytest.raises(UploadError, match="not imported"):
        save_upload(tmp_path, "bad.mpt", bad, user="alice")
    assert store.open(tmp_path).list() == [] and usage_bytes(tmp_path, "alice") == 0
