"""Regenerate the bad-input corpus (deterministic): ``python tests/data/bad/make_bad_corpus.py``.

Every file here is small, synthetic and hostile or malformed in one way; ``EXPECTATIONS.csv``
lists for each file the reason (a regular expression) that ``analysis.io.read`` must give in
its ``ReadError``, and optionally the upload ``name`` and reader ``options`` (JSON) to use.
"""
from __future__ import annotations

import csv
import io
import json
import random
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = "".join(f"{f:.6g},{1 + 10 / (1 + f):.6g},{-5 * f / (1 + f * f):.6g}\n"
               for f in (1e4, 1e3, 1e2, 10, 1, 0.1))
MPT_HDR = "EC-Lab ASCII FILE\nNb header lines : {n}\n\nPotentio Electrochemical Impedance Spectroscopy\n"


def mpt(cols: list[str], rows: list[str], extra_header: int = 0) -> str:
    pre = ["", "Potentio Electrochemical Impedance Spectroscopy", ""] + ["x : y"] * extra_header
    n = 2 + len(pre) + 1
    return "\n".join(["EC-Lab ASCII FILE", f"Nb header lines : {n}"] + pre + ["\t".join(cols) + "\t"] + rows) + "\n"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


def fake_huge_zip() -> bytes:
    """A zip whose directory declares a 4 GiB member stored in a few bytes (a zip bomb's signature)."""
    raw = bytearray(zip_bytes({"data.ndc": b"\0" * 1000}))
    huge = 0xFFFFFFF0
    # patch the uncompressed size in the local header (offset 22) and the central directory (offset 24)
    struct.pack_into("<I", raw, 22, huge)
    cd = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 24, huge)
    return bytes(raw)


def cases() -> list[tuple[str, bytes, str, str, dict, str]]:
    """(file, content, reason regex, upload name, options, note)."""
    rnd = random.Random(6)
    c: list[tuple[str, bytes, str, str, dict, str]] = []

    def add(name, content, reason, note, upload="", options=None):
        if isinstance(content, str):
            content = content.encode("utf-8")
        c.append((name, content, reason, upload, options or {}, note))

    add("empty.csv", b"", "empty", "zero bytes")
    add("blank_lines.csv", "\n\n   \n\t\n", "contains no text|no table", "only whitespace")
    add("binary_garbage.csv", bytes(rnd.randrange(256) for _ in range(2000)) + b"\0\0",
        "binary|unknown", "random bytes with NULs named .csv")
    add("wrong_delimiter.csv", GOOD.replace(",", "|"), "unknown format|no table", "pipe-separated")
    add("one_column.csv", "1000\n100\n10\n1\n", "unknown format|no table", "a single column")
    add("two_columns.csv", "1000,1\n100,2\n10,3\n", r"only 2 numeric column", "f and Z' only")
    add("header_only.csv", "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n", "unknown format|no table", "header, no rows")
    add("missing_zimag.csv", "freq/Hz,Re(Z)/Ohm,foo\n" + GOOD, r"missing impedance column", "no Im(Z) column")
    add("missing_frequency.csv", "Zreal,Zimag,Zmod\n" + GOOD, r"no frequency column", "no frequency column")
    add("nan_value.csv", GOOD.replace("1.90909", "nan", 1) if "1.90909" in GOOD else "1000,nan,-1\n100,2,-1\n10,3,-1\n",
        r"NaN or infinite", "a NaN in Re(Z)")
    add("inf_value.csv", "1000,1,-1\n100,inf,-1\n10,3,-1\n", r"NaN or infinite", "an inf in Re(Z)")
    add("nan_frequency.csv", "1000,1,-1\nnan,2,-1\n10,3,-1\n", r"frequency is NaN", "NaN frequency")
    add("negative_frequency.csv", "1000,1,-1\n-100,2,-1\n10,3,-1\n", r"frequency must be > 0", "negative frequency")
    add("zero_frequency.csv", "1000,1,-1\n0,2,-1\n10,3,-1\n", r"frequency must be > 0", "0 Hz with an impedance")
    add("duplicate_frequency.csv", "1000,1,-1\n100,2,-1\n100,2.1,-1.1\n10,3,-1\n", r"duplicate frequency",
        "the same frequency twice (policy: rejected; unsorted files are sorted instead)")
    add("text_in_number.csv", "1000,1,-1\n100,abc,-1\n10,3,-1\n", r"not a number", "text where a number is expected")
    add("ragged_row.csv", "1000,1,-1\n100,2\n10,3,-1\n", r"expected 3 columns", "a short row")
    add("mixed_units_header.csv", "freq/Hz,Z'/Ohm,Z''/F\n" + GOOD, r"not a impedance unit|not an? impedance unit",
        "Z'' in farad")
    add("mixed_units_rows.csv", "freq,Z',Z''\n1 kHz,1,-1\n100 Hz,2,-1\n", r"unknown format|no table|not a number",
        "units written inside the cells")
    add("bad_frequency_unit.csv", "freq/rpm,Re(Z)/Ohm,-Im(Z)/Ohm\n" + GOOD, r"not a frequency unit", "rpm")
    add("non_utf8_header_missing_voltage.txt",
        b"Today's Date 10/10/2019  Comment: \xff\xfe\xb5\x04\n"
        b"Rec#\tCyc#\tStep\tTest (Sec)\tAmps\tState\n1\t1\t1\t0.0\t0.1\tC\n",
        r"missing Maccor column", "cp1252/garbage bytes in a Maccor header, no voltage column")
    add("gigantic_line.csv", "1000,1,-1\n" + "9" * 20000 + "\n", r"line longer than", "one 20 kB line",
        options={"max_line": 10000})
    add("zip_bomb.ndax", fake_huge_zip(), r"zip bomb", "directory declares a 4 GiB member")
    add("zip_slip.ndax", zip_bytes({"../../evil.ndc": b"x" * 100, "data.ndc": b"y"}), r"unsafe member name",
        "member name with ../")
    add("zip_truncated.ndax", zip_bytes({"data.ndc": bytes(rnd.randrange(256) for _ in range(3000))})[:1500], r"not a valid .ndax",
        "zip cut in the middle")
    add("ndax_not_neware.ndax", zip_bytes({"hello.txt": b"hello"}), r"damaged or unsupported NEWARE",
        "valid zip without NEWARE content")
    add("nda_truncated.nda", b"NEWARE" + bytes(rnd.randrange(256) for _ in range(300)),
        r"damaged or unsupported NEWARE|no data records", "NEWARE signature then garbage")
    add("mpr_truncated.mpr", b"BIO-LOGIC MODULAR FILE\x1a                         \x00\x00\x00\x00" + b"MODULEx" * 20,
        r"damaged or unsupported .mpr", "BioLogic signature then garbage")
    add("fake_res.res", b"\x00\x01\x00\x00Standard Jet DB\x00" + bytes(rnd.randrange(256) for _ in range(3000)),
        r"not a readable Arbin .res|needs mdbtools", "Access signature then garbage")
    add("fake_workbook.xlsx", zip_bytes({"[Content_Types].xml": b"<junk", "xl/workbook.xml": b"<junk"}),
        r"damaged or unsupported Excel", "zip that claims to be a workbook")
    add("traversal_name.csv", GOOD, r"unsafe file name", "valid data uploaded as ../../etc/passwd.csv",
        upload="../../etc/passwd.csv")
    add("control_char_name.csv", GOOD, r"unsafe file name", "upload name with a newline", upload="evil\nname.csv")
    add("mpt_bad_header_count.mpt", "EC-Lab ASCII FILE\nNb header lines : 999\n\nfreq/Hz\n", r"header says 999",
        "header count beyond the file")
    add("mpt_missing_count.mpt", "EC-Lab ASCII FILE\nsomething else\n", r"missing 'Nb header lines'",
        "no header count")
    add("mpt_missing_columns.mpt", mpt(["freq/Hz", "Re(Z)/Ohm", "|Z|/Ohm"], ["1000\t1\t1", "100\t2\t2"]),
        r"impedance column\(s\) \['-Im\(Z\)/Ohm'\] missing", "EIS .mpt without -Im(Z)")
    add("mpt_no_rows.mpt", mpt(["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"], []), r"no data rows", "header only")
    add("mpt_text_cell.mpt", mpt(["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"], ["1000\t1\t1", "100\tERR\t2"]),
        r"not a number", "a text cell")
    add("gamry_no_zcurve.DTA", "EXPLAIN\nTAG\tEISPOT\nTITLE\tLABEL\tx\tTest\n", r"no ZCURVE", "no impedance table")
    add("gamry_empty_table.DTA", "EXPLAIN\nTAG\tEISPOT\nZCURVE\tTABLE\n\tPt\tTime\tFreq\tZreal\tZimag\n"
        "\t#\ts\tHz\tohm\tohm\n", r"no data rows|truncated", "table header without rows")
    add("gamry_bad_value.DTA", "EXPLAIN\nTAG\tEISPOT\nZCURVE\tTABLE\n\tPt\tTime\tFreq\tZreal\tZimag\n"
        "\t#\ts\tHz\tohm\tohm\n\t0\t1\t1000\t5\t-1\n\t1\t2\t100\tx5\t-2\n", r"not a number", "text in Zreal")
    add("zplot_no_end.z", "ZPLOT2 ASCII\n  Data Points: 3\n1000\t0\t0\t1\t5\t-1\n", r"End Comments",
        "no End Comments line")
    add("autolab_truncated.txt", '"Z60W Data File: Version 1.1"\n0,2,0,1,0.1,10000\n41\n'
        '"  Freq (Hz)    Ampl     Bias   Time(Sec)   Z\'(a)    Z\'\'(b)    GD   Err   Range"\n'
        "10000,0,0,0,0.0137,0.0071,0,0,0\n7498.9,0,0,0,0.0134,0.0052,0,0,0\n",
        r"announces 41 points", "count says 41, 2 rows present")
    add("relaxis_no_rows.txt", "RelaxIS 3.0 Spectrum export\nDate: x\nData: Frequency\tData: Z'\tData: Z''\n"
        "DC=0\tModel\n", r"no data rows", "no rows")
    add("maccor_no_header.txt", "Today's Date 10/10/2019\nsome text\n", r"no Maccor record header",
        "Maccor preamble only")
    add("neware_nested_orphan.csv", "Cycle Index,Chg. Cap.(Ah)\n,Step Index,Step Number,Step Type\n"
        ",,DataPoint,Time,Total Time,Current(A),Voltage(V)\n,,1,00:00:00,00:00:00,0,3.2\n",
        r"before any cycle/step row", "record row without its cycle row")
    add("arbin_missing_voltage.csv", "Data_Point,Test_Time,Current,Cycle_Index\n1,0,0.1,1\n2,1,0.1,1\n",
        r"missing cycler column\(s\) \['voltage'\]", "Arbin CSV without voltage")
    add("cycling_bad_time.csv", "time/s,voltage/V,current/mA\n0,3.0,1\nabc,3.1,1\n2,3.2,1\n",
        r"unknown format|time is not a number|not a number", "text in the time column")
    add("cycling_unit.csv", "time/fortnight,voltage/V,current/mA\n0,3.0,1\n1,3.1,1\n", r"not a time unit",
        "unknown time unit")
    add("pressure_force_no_area.csv", "timestamp,force/N\n2024-01-01T00:00:00,100\n2024-01-01T00:00:10,101\n",
        r"pass area_cm2", "force without an area")
    add("pressure_bad_timestamp.csv", "timestamp,pressure/MPa\n2024-01-01T00:00:00,10\nnot-a-date,11\n",
        r"unreadable timestamp", "a broken timestamp")
    add("pressure_backwards.csv", "timestamp,pressure/MPa\n2024-01-01T00:00:10,10\n2024-01-01T00:00:00,11\n",
        r"time goes backwards", "timestamps out of order")
    add("too_large.csv", GOOD, r"larger than the limit", "size limit (max_size=64 bytes)", options={"max_size": 64})
    add("prose.txt", "This is a letter.\nIt has no table in it at all.\n", r"unknown format", "plain prose")
    add("utf16_garbage.csv", "\ufeffhello\u2603 world\n".encode("utf-16"), r"unknown format|no table|contains no text",
        "UTF-16 text without a table")
    return c


def main() -> None:
    rows = []
    for name, content, reason, upload, options, note in cases():
        (HERE / name).write_bytes(content)
        rows.append({"file": name, "reason": reason, "name": upload, "options": json.dumps(options) if options else "",
                     "note": note})
    with open(HERE / "EXPECTATIONS.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "reason", "name", "options", "note"])
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
