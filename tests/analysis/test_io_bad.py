"""The bad-input corpus (tests/data/bad): each file gives a ReadError with the expected reason."""
from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest

from analysis import io as sio

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
ROWS = list(csv.DictReader(open(BAD / "EXPECTATIONS.csv", encoding="utf-8")))


def test_corpus_is_large_and_complete():
    assert len(ROWS) >= 40
    files = {p.name for p in BAD.iterdir() if p.name not in ("EXPECTATIONS.csv", "make_bad_corpus.py")}
    assert files == {r["file"] for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_bad_file_gives_read_error(row):
    opts = json.loads(row["options"]) if row["options"] else {}
    kw = {"name": row["name"]} if row["name"] else {}
    with pytest.raises(sio.ReadError) as info:
        sio.read(BAD / row["file"], **kw, **opts)
    msg = str(info.value)
    assert re.search(row["reason"], msg), msg
    # the message names the file (or the upload) and is one line
    assert "\n" not in msg
    if not row["name"]:
        assert msg.startswith(row["file"] + ":")
    assert isinstance(info.value, ValueError)


def test_bad_upload_names_via_read_bytes():
    data = (BAD / "traversal_name.csv").read_bytes()
    for name in ("../x.csv", "a/b.csv", "..", "x\x00.csv", "C:\\evil\\x.csv", ""):
        with pytest.raises(sio.ReadError, match="unsafe file name"):
            sio.read_bytes(data, name)
    ds = sio.read_bytes(data, "fine name.csv")
    assert ds.attrs["source_file"] == "fine name.csv"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(sio.ReadError, match="file not found"):
        sio.read(tmp_path / "nope.csv")
    with pytest.raises(sio.ReadError, match="not a regular file"):
        sio.read(tmp_path)


def test_gigantic_line_default_limit(tmp_path):
    p = tmp_path / "huge.csv"
    p.write_bytes(b"1000,1,-1\n" + b"7" * 1_200_000 + b"\n")
    with pytest.raises(sio.ReadError, match=r"line longer than 1000000 characters .*\(line 2\)"):
        sio.read(p)


def test_real_deflate_zip_bomb(tmp_path):
    """A genuine bomb (40 MB of zeros deflated ~1000x) is refused from the zip directory alone."""
    p = tmp_path / "bomb.ndax"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.ndc", b"\0" * 40_000_000)
    assert p.stat().st_size < 100_000
    with pytest.raises(sio.ReadError, match="zip bomb"):
        sio.read(p)
    with pytest.raises(sio.ReadError, match="zip bomb"):
        sio.read(p, max_uncompressed=1_000_000)


def test_kind_mismatch(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("1000,1,-1\n100,2,-2\n")
    with pytest.raises(sio.ReadError, match="holds eis data, not cycling"):
        sio.read(p, "cycling")


def test_mdbtools_missing_message(monkeypatch):
    import shutil

    from analysis.io import arbin

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(sio.ReadError, match="needs mdbtools"):
        arbin.read_res(BAD / "fake_res.res")
