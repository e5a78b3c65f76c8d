"""Every reference instrument file: row counts from PROVENANCE.md, values against independent parsers.

Independent parsers: numpy on the same text files (EIS), the libraries named in PROVENANCE
(NewareNDA, galvani, mdbtools, pandas) for the cycler files.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

from analysis import io as sio
from analysis.schema import validate


def require(condition: bool, reason: str) -> None:
    """Skip unless ``condition``; fail instead under CI (same rule as tests/conftest.py)."""
    if condition:
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)

pytestmark = pytest.mark.reference


def provenance_rows(reference_data, sub: str) -> dict[str, int]:
    """File name -> row/point count recorded in ``<sub>/PROVENANCE.md``."""
    text = (reference_data / sub / "PROVENANCE.md").read_text(encoding="utf-8")
    out: dict[str, int] = {}
    if sub == "cycling":
        for block in re.split(r"^## ", text, flags=re.M)[1:]:
            name = block.splitlines()[0].strip()
            m = re.search(r"rows=(\d+)", block)
            if m:
                out[name] = int(m.group(1))
    else:
        for line in text.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 4 and cells[1].endswith((".csv", ".DTA", ".mpt", ".z", ".txt", ".mpr")):
                m = re.search(r"(\d+) pts", line)
                if m:
                    out[cells[1]] = int(m.group(1))
    return out


# file -> (format, kind, dims). Counts not in PROVENANCE are checked against an independent parser below.
EIS_FILES = {
    "impedancepy_exampleData.csv": ("generic-eis", {"frequency": 66}),
    "impedancepy_exampleDataGamry.DTA": ("gamry-dta", {"frequency": 72}),
    "impedancepy_exampleDataBioLogic.mpt": ("biologic-mpt", {"frequency": 43}),
    "impedancepy_exampleDataZPlot.z": ("zview-z", {"frequency": 21}),
    "impedancepy_exampleDataAutolab.txt": ("autolab-txt", {"frequency": 41}),
    "impedancepy_exampleDataParstat.txt": ("parstat-txt", {"frequency": 31}),
    "pyDRTtools_LIB_data.txt": ("generic-eis", {"frequency": 107}),
    "pyDRTtools_synthetic_2ZARC0.csv": ("generic-eis", {"frequency": 81}),
    "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt": ("biologic-mpt", {"frequency": 79}),
    "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr": ("biologic-mpr", {"frequency": 79}),
    "hybriddrt_PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt": ("relaxis-txt", {"frequency": 79}),
    "hybriddrt_PEIS_SSB.mpr": ("biologic-mpr", {"frequency": 89}),
    "hybriddrt_Sample1_PEIS_EndOfDischarge.mpr": ("biologic-mpr", {"frequency": 86}),
    "hybriddrt_Sample2_PEIS_AtRest.csv": ("generic-eis", {"loop": 10, "frequency": 89}),
    "hybriddrt_EISGALV_EISTest3.DTA": ("gamry-dta", {"frequency": 71}),
}
CYCLING_FILES = {
    "arbin_beep_2017-05-09_test-TC-contact_CH33.csv": "arbin-csv",
    "arbin_cellpy_20160805_test001_45_cc_01.res": "arbin-res",
    "arbin_navani_arbin_example.res": "arbin-res",
    "arbin_navani_bs542_004_Channel_11.xlsx": "arbin-xlsx",
    "biologic_navani_00_test_04_MB_C01.mpr": "biologic-mpr",
    "biologic_navani_jdb11-1_c3_gcpl_5cycles_C09.mpr": "biologic-mpr",
    "biologic_pyprobe_Sample_data_biologic_CA1.txt": "biologic-mpt",
    "biologic_pyprobe_Sample_data_biologic_no_header.mpt": "biologic-mpt",
    "maccor_beep_PredictionDiagnostics_000151_test.052": "maccor-txt",
    "maccor_cellpy_maccor_002.txt": "maccor-txt",
    "neware_NewareNDA_Issue72_TestFile.nda": "neware-nda",
    "neware_NewareNDA_Issue94_Unit27_Example.ndax": "neware-nda",
    "neware_cellpy_IFE_BTS85_2_9_8_1.ndax": "neware-nda",
    "neware_export_cellpy_neware_uio.csv": "neware-csv",
    "neware_export_cellpy_nw_regular_export_ife_example.csv": "neware-csv",
    "neware_navani_test.nda": "neware-nda",
    "neware_navani_test.ndax": "neware-nda",
}
#: reference files that are not instrument data, refused with the reason in docs/formats.md
REFUSED = {
    "eis/hybriddrt_tutorials_sample_info.txt": "unknown format",
    "eis/hybriddrt_webinar_SSB_sample_info.txt": "unknown format",
    "eis/pyDRTtools_synthetic_2ZARC0_DRT-RR_result.csv": "unknown format",
}


def test_every_reference_file_is_covered(reference_data):
    listed = {f"eis/{k}" for k in EIS_FILES} | {f"cycling/{k}" for k in CYCLING_FILES} | set(REFUSED)
    present = {f"{p.parent.name}/{p.name}" for p in reference_data.glob("*/*") if p.name != "PROVENANCE.md"}
    assert present - listed == set(), "new reference files need a test entry"


@pytest.mark.parametrize("name", sorted(EIS_FILES))
def test_eis_reference_counts(ref_file, reference_data, name):
    fmt, sizes = EIS_FILES[name]
    p = ref_file(f"eis/{name}")
    assert sio.sniff(p) == fmt
    ds = sio.read(p, "eis")
    assert dict(ds.sizes) == sizes
    prov = provenance_rows(reference_data, "eis")
    if name in prov:
        assert ds.sizes["frequency"] == prov[name]
    validate(ds, "eis", strict=True)
    assert ds.attrs["source_file"] == name and ds.attrs["reader"] and len(ds.attrs["sha256"]) == 64
    assert np.all(np.diff(ds["frequency"].values) < 0)  # high to low


@pytest.mark.parametrize("name", sorted(CYCLING_FILES))
def test_cycling_reference_counts(ref_file, reference_data, name):
    p = ref_file(f"cycling/{name}")
    if name.endswith(".res"):
        import shutil

        require(shutil.which("mdb-export") is not None, "mdbtools (mdb-export) not installed")
    assert sio.sniff(p) == CYCLING_FILES[name]
    ds = sio.read(p, "cycling")
    prov = provenance_rows(reference_data, "cycling")
    if name in prov:
        assert ds.sizes["record"] == prov[name]
    validate(ds, "cycling", strict=True)
    assert set(np.unique(ds["direction"].values)) <= {-1, 0, 1}
    assert np.all(ds["capacity"].values >= 0)
    assert np.all(np.isfinite(ds["time"].values))
    assert ds.attrs["sha256"] == sio.sha256_file(p)


@pytest.mark.parametrize("rel", sorted(REFUSED))
def test_refused_reference_files(ref_file, rel):
    with pytest.raises(sio.ReadError, match=REFUSED[rel]):
        sio.read(ref_file(rel))


# ---- EIS values against numpy parsing of the same text ---------------------------------------

def _check(ds, f, z, rtol=1e-12):
    order = np.argsort(-f)
    np.testing.assert_allclose(ds["frequency"].values, f[order], rtol=rtol)
    np.testing.assert_allclose(ds["z_real"].values, z.real[order], rtol=rtol)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag[order], rtol=rtol)


def test_values_generic_csv(ref_file):
    p = ref_file("eis/impedancepy_exampleData.csv")
    a = np.genfromtxt(p, delimiter=",")
    _check(sio.read(p), a[:, 0], a[:, 1] + 1j * a[:, 2])


def test_values_whitespace_txt(ref_file):
    p = ref_file("eis/pyDRTtools_LIB_data.txt")
    a = np.loadtxt(p)
    ds = sio.read(p)
    _check(ds, a[:, 0], a[:, 1] + 1j * a[:, 2])
    assert (ds["z_imag"] > 0).any()  # the inductive tail keeps its sign


def test_values_indexed_csv(ref_file):
    p = ref_file("eis/pyDRTtools_synthetic_2ZARC0.csv")
    a = np.loadtxt(p, delimiter=",", skiprows=1)
    _check(sio.read(p), a[:, 1], a[:, 2] + 1j * a[:, 3])


@pytest.mark.parametrize("name", ["impedancepy_exampleDataBioLogic.mpt", "hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt"])
def test_values_biologic_mpt(ref_file, name):
    p = ref_file(f"eis/{name}")
    lines = p.read_bytes().decode("latin-1").splitlines()
    nh = int(re.search(r"Nb header lines\s*:\s*(\d+)", lines[1]).group(1))
    a = np.array([[float(x) for x in ln.split("\t")[:3]] for ln in lines[nh:] if ln.strip()])
    _check(sio.read(p), a[:, 0], a[:, 1] - 1j * a[:, 2])  # -Im(Z) column


def test_lpscl_mpt_and_mpr_identical(ref_file):
    a = sio.read(ref_file("eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpt"))
    b = sio.read(ref_file("eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C.mpr"))
    assert a.sizes == b.sizes
    # the .mpt prints 8 significant digits of the .mpr's float32 values
    for k in ("frequency", "z_real", "z_imag"):
        np.testing.assert_allclose(a[k].values, b[k].values, rtol=2e-7)


def test_values_gamry(ref_file):
    for name in ("impedancepy_exampleDataGamry.DTA", "hybriddrt_EISGALV_EISTest3.DTA"):
        p = ref_file(f"eis/{name}")
        lines = p.read_bytes().decode("latin-1").splitlines()
        k = next(i for i, ln in enumerate(lines) if ln.startswith("ZCURVE"))
        a = np.array([[float(x) for x in ln.split()] for ln in lines[k + 3:] if ln.startswith("\t") and ln.strip()])
        ds = sio.read(p)
        _check(ds, a[:, 2], a[:, 3] + 1j * a[:, 4])  # impedance.py's readGamry columns
    assert ds.attrs["technique"] == "galvanostatic"


def test_values_zplot(ref_file):
    p = ref_file("eis/impedancepy_exampleDataZPlot.z")
    lines = p.read_text(encoding="latin-1").splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.strip() == "End Comments")
    a = np.loadtxt(lines[k + 1:])
    _check(sio.read(p), a[:, 0], a[:, 4] + 1j * a[:, 5])


def test_values_autolab(ref_file):
    p = ref_file("eis/impedancepy_exampleDataAutolab.txt")
    a = np.loadtxt(p, delimiter=",", skiprows=11, encoding="utf-8-sig")
    _check(sio.read(p), a[:, 0], a[:, 4] + 1j * a[:, 5])


def test_values_parstat(ref_file):
    p = ref_file("eis/impedancepy_exampleDataParstat.txt")
    a = np.loadtxt(p, skiprows=1, delimiter="\t", usecols=range(8))
    a = a[a[:, 3] > 0]  # DC rows precede the EIS rows
    ds = sio.read(p)
    _check(ds, a[:, 3], a[:, 4] + 1j * a[:, 5])
    assert ds.attrs["skipped_rows"] > 0


def test_values_relaxis(ref_file):
    p = ref_file("eis/hybriddrt_PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt")
    a = np.loadtxt(p, skiprows=4, delimiter="\t", usecols=(0, 1, 2))
    _check(sio.read(p), a[:, 0], a[:, 1] + 1j * a[:, 2])


def test_values_hybrid_polar_loops(ref_file):
    p = ref_file("eis/hybriddrt_Sample2_PEIS_AtRest.csv")
    a = np.loadtxt(p, delimiter=",", skiprows=1)
    a = a[a[:, 1] > 0]  # end-of-loop rows have f = 0 and |Z| = 0
    ds = sio.read(p)
    assert ds.attrs["input_form"] == "polar"
    for loop in range(10):
        m = a[:, 6] == loop
        z = a[m, 2] * np.exp(1j * np.deg2rad(a[m, 3]))
        sub = ds.sel(loop=loop)
        _check(sub, a[m, 1], z, rtol=1e-9)


# ---- cycling values against the libraries named in PROVENANCE --------------------------------

@pytest.mark.parametrize("name", ["neware_navani_test.ndax", "neware_navani_test.nda",
                                  "neware_NewareNDA_Issue72_TestFile.nda", "neware_NewareNDA_Issue94_Unit27_Example.ndax"])
def test_neware_values_match_newarenda(ref_file, name):
    import NewareNDA

    p = ref_file(f"cycling/{name}")
    df = NewareNDA.read(str(p), log_level="CRITICAL")
    ds = sio.read(p)
    np.testing.assert_array_equal(ds["voltage"].values, df["Voltage"].to_numpy(dtype=float))
    np.testing.assert_array_equal(ds["current"].values, df["Current(mA)"].to_numpy(dtype=float))
    np.testing.assert_array_equal(ds["cycle"].values, df["Cycle"].to_numpy())
    # capacity at the end of every single-step half-cycle = NEWARE's own charge/discharge capacity
    q = (df["Charge_Capacity(mAh)"] + df["Discharge_Capacity(mAh)"]).to_numpy(dtype=float)
    ends = np.flatnonzero(np.r_[np.diff(df["Step"].to_numpy()) != 0, True])
    d = ds["direction"].values
    for e in ends:
        if d[e] != 0 and (e == 0 or True):
            start = e
            while start > 0 and df["Step"].iat[start - 1] == df["Step"].iat[e]:
                start -= 1
            prev = d[:start][d[:start] != 0]
            if prev.size == 0 or prev[-1] != d[e]:
                np.testing.assert_allclose(ds["capacity"].values[e], q[e], rtol=1e-5, atol=1e-6)
    # directions follow the status column
    st = df["Status"].astype(str).to_numpy()
    assert np.all(d[np.char.find(st.astype(str), "DChg") >= 0] == -1)
    assert np.all(d[st == "Rest"] == 0)
    # test time is monotonic
    assert np.all(np.diff(ds["time"].values) >= 0)


def test_neware_aux_temperature(ref_file):
    import NewareNDA

    p = ref_file("cycling/neware_NewareNDA_Issue94_Unit27_Example.ndax")
    df = NewareNDA.read(str(p), log_level="CRITICAL")
    ds = sio.read(p)
    np.testing.assert_allclose(ds["temperature"].values, df["T1"].to_numpy(dtype=float) + 273.15)
    assert "aux_t2" in ds


@pytest.mark.parametrize("name", ["biologic_navani_00_test_04_MB_C01.mpr",
                                  "biologic_navani_jdb11-1_c3_gcpl_5cycles_C09.mpr"])
def test_biologic_mpr_values_match_galvani(ref_file, name):
    from galvani import BioLogic

    p = ref_file(f"cycling/{name}")
    m = BioLogic.MPRfile(str(p))
    ds = sio.read(p)
    np.testing.assert_allclose(ds["voltage"].values, m.data["Ewe/V"].astype(float))
    np.testing.assert_allclose(ds["time"].values, m.data["time/s"].astype(float))
    if "I/mA" in m.data.dtype.names:
        np.testing.assert_allclose(ds["current"].values, m.data["I/mA"].astype(float))
    # capacity within the half-cycle = |Q charge/discharge| of EC-Lab
    q = np.abs(m.data["Q charge/discharge/mA.h"].astype(float))
    live = ds["direction"].values != 0
    np.testing.assert_allclose(ds["capacity"].values[live], q[live], rtol=1e-6, atol=1e-9)


def test_biologic_btlab_and_headerless(ref_file):
    p = ref_file("cycling/biologic_pyprobe_Sample_data_biologic_CA1.txt")
    lines = p.read_bytes().decode("latin-1").splitlines()
    nh = int(re.search(r"(\d+)", lines[1]).group(1))
    rows = [ln for ln in lines[nh:] if ln.strip()]
    ds = sio.read(p)
    assert ds.sizes["record"] == len(rows)
    hdr = lines[nh - 1].split("\t")
    a = np.array([[float(x) for x in r.split("\t")[: len(hdr) - 1]] for r in rows])
    np.testing.assert_allclose(ds["voltage"].values, a[:, hdr.index("Ecell/V")])
    assert "temperature" in ds  # the Temperature/°C auxiliary channel is kept (K)
    np.testing.assert_allclose(ds["temperature"].values, a[:, hdr.index(next(h for h in hdr if h.startswith("Temp")))]
                               + 273.15)
    p2 = ref_file("cycling/biologic_pyprobe_Sample_data_biologic_no_header.mpt")
    b = pd.read_csv(p2, sep="\t", encoding="latin-1", index_col=False)
    ds2 = sio.read(p2)
    assert ds2.sizes["record"] == len(b)
    np.testing.assert_allclose(ds2["current"].values, b["I/mA"].to_numpy(dtype=float))


def test_arbin_csv_values(ref_file):
    p = ref_file("cycling/arbin_beep_2017-05-09_test-TC-contact_CH33.csv")
    df = pd.read_csv(p)
    ds = sio.read(p)
    np.testing.assert_allclose(ds["current"].values, df["Current"].to_numpy() * 1e3)  # A -> mA
    np.testing.assert_allclose(ds["voltage"].values, df["Voltage"].to_numpy())
    np.testing.assert_allclose(ds["temperature"].values, df["Temperature"].to_numpy() + 273.15)


def test_arbin_res_values(ref_file):
    import shutil
    import subprocess
    from io import BytesIO

    require(shutil.which("mdb-export") is not None, "mdbtools (mdb-export) not installed")
    p = ref_file("cycling/arbin_navani_arbin_example.res")
    out = subprocess.run(["mdb-export", str(p), "Channel_Normal_Table"], capture_output=True, check=True).stdout
    df = pd.read_csv(BytesIO(out)).sort_values(["Test_ID", "Data_Point"])
    ds = sio.read(p)
    np.testing.assert_allclose(ds["voltage"].values, df["Voltage"].to_numpy())
    np.testing.assert_allclose(ds["current"].values, df["Current"].to_numpy() * 1e3)


def test_arbin_xlsx_values(ref_file):
    p = ref_file("cycling/arbin_navani_bs542_004_Channel_11.xlsx")
    ds = sio.read(p)
    xl = pd.ExcelFile(p)
    df = pd.concat([pd.read_excel(xl, sheet_name=s) for s in xl.sheet_names if s.startswith("Channel")],
                   ignore_index=True)
    np.testing.assert_allclose(ds["voltage"].values, df["Voltage(V)"].to_numpy())
    np.testing.assert_allclose(ds["time"].values, df["Test_Time(s)"].to_numpy())


def test_maccor_values(ref_file):
    p = ref_file("cycling/maccor_cellpy_maccor_002.txt")
    ds = sio.read(p)
    lines = p.read_bytes().decode("latin-1").splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("Rec\t"))
    df = pd.read_csv(p, sep="\t", skiprows=k, encoding="latin-1", index_col=False)
    np.testing.assert_allclose(ds["voltage"].values, df["Voltage [V]"].to_numpy())
    # test time in minutes in this export (checked against the clock column)
    assert ds.attrs["test_time_unit_from_clock"] == "min"
    np.testing.assert_allclose(ds["time"].values, df["TestTime"].to_numpy() * 60.0)
    sign = np.where(df["Md"].str.strip() == "D", -1, 1)
    live = df["Md"].str.strip().isin(["C", "D"]).to_numpy()
    np.testing.assert_allclose(ds["current"].values[live], (np.abs(df["Current [A]"]) * 1e3 * sign)[live])
    b = sio.read(ref_file("cycling/maccor_beep_PredictionDiagnostics_000151_test.052"))
    assert np.all(b["direction"].values == -1)  # state D throughout


def test_neware_csv_exports(ref_file):
    p = ref_file("cycling/neware_export_cellpy_neware_uio.csv")
    df = pd.read_csv(p)
    ds = sio.read(p)
    np.testing.assert_allclose(ds["voltage"].values, df["Voltage(V)"].to_numpy())
    np.testing.assert_allclose(ds["current"].values, df["Current(A)"].to_numpy() * 1e3)
    assert ds["time"].values[-1] == pd.to_timedelta(df["Cumulative Time"].iloc[-1]).total_seconds()
    p2 = ref_file("cycling/neware_export_cellpy_nw_regular_export_ife_example.csv")
    rec = [ln.split(",") for ln in p2.read_text().splitlines()[3:] if ln.startswith(",,")]
    ds2 = sio.read(p2)
    assert ds2.sizes["record"] == len(rec)
    np.testing.assert_allclose(ds2["voltage"].values, [float(r[6]) for r in rec])
    assert "temperature" in ds2


def test_large_ndax_matches_provenance(ref_file):
    ds = sio.read(ref_file("cycling/neware_cellpy_IFE_BTS85_2_9_8_1.ndax"))
    assert ds.sizes["record"] == 252951
    assert "temperature" in ds
    assert ds.attrs["auxiliary_channels"]
