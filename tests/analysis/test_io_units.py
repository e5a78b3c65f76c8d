"""Reader behaviour on synthetic files built from known truth: units, signs, layouts, policies."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import io as sio
from analysis.io._common import half_cycle_capacity, half_cycle_ids
from analysis.io.pressure import join_pressure
from analysis.schema import validate

F = np.logspace(5, -1, 25)


def zarc(f, r0=10.0, r=100.0, tau=1e-3, phi=0.8):
    return r0 + r / (1 + (2j * np.pi * f * tau) ** phi)


Z = zarc(F)


def _check(ds, f=F, z=Z, rtol=1e-9):
    np.testing.assert_allclose(ds["frequency"].values, f, rtol=rtol)
    np.testing.assert_allclose(ds["z_real"].values, z.real, rtol=rtol)
    np.testing.assert_allclose(ds["z_imag"].values, z.imag, rtol=rtol)


def test_headerless_csv(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("".join(f"{f:.17g},{z.real:.17g},{z.imag:.17g}\n" for f, z in zip(F, Z)))
    ds = sio.read(p)
    _check(ds)
    validate(ds, "eis", strict=True)


def test_named_columns_units_and_minus_im(tmp_path):
    p = tmp_path / "b.txt"
    rows = "".join(f"{f / 1e3:.17g}\t{z.real / 1e3:.17g}\t{-z.imag * 1e3:.17g}\n" for f, z in zip(F, Z))
    p.write_text("# comment line\nFrequency (kHz)\tZ' (kOhm)\t-Z'' (mOhm)\n" + rows)
    _check(sio.read(p), rtol=1e-9)


def test_polar_degrees_and_radians(tmp_path):
    mod, ph = np.abs(Z), np.angle(Z, deg=True)
    p = tmp_path / "p.csv"
    p.write_text("freq/Hz,|Z|/Ohm,Phase(Z)/deg\n" + "".join(f"{f:.17g},{m:.17g},{a:.17g}\n" for f, m, a in zip(F, mod, ph)))
    ds = sio.read(p)
    _check(ds)
    assert ds.attrs["input_form"] == "polar"
    q = tmp_path / "q.csv"
    q.write_text("a,b,c\n" + "".join(f"{f:.17g},{m:.17g},{np.deg2rad(a):.17g}\n" for f, m, a in zip(F, mod, ph)))
    _check(sio.read(q, columns={"frequency": "a", "z_mod": "b", "phase_rad": "c"}))


def test_explicit_column_map_by_index(tmp_path):
    p = tmp_path / "m.dat"
    p.write_text("".join(f"{i} 7 {f:.17g} {z.real:.17g} {-z.imag:.17g}\n" for i, (f, z) in enumerate(zip(F, Z))))
    _check(sio.read(p, columns={"frequency": 2, "z_real": 3, "minus_z_imag": 4}))


def test_decimal_comma_semicolon(tmp_path):
    p = tmp_path / "de.csv"
    p.write_text("Frequenz/Hz;Re(Z)/Ohm;-Im(Z)/Ohm\n"
                 + "".join(f"{f:.10e};{z.real:.10e};{-z.imag:.10e}\n".replace(".", ",") for f, z in zip(F, Z)))
    _check(sio.read(p), rtol=1e-9)


def test_biologic_decimal_comma_mpt(tmp_path):
    hdr = ["EC-Lab ASCII FILE", "Nb header lines : 5", "", "Potentio Electrochemical Impedance Spectroscopy",
           "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\tcycle number\t"]
    rows = [f"{f:.7E}\t{z.real:.7E}\t{-z.imag:.7E}\t1,000000E+000\t".replace(".", ",") for f, z in zip(F, Z)]
    p = tmp_path / "comma.mpt"
    p.write_text("\n".join(hdr + rows) + "\n", encoding="cp1252")
    ds = sio.read(p)
    _check(ds, rtol=1e-6)
    assert ds.attrs["decimal_comma"] == 1


def test_unsorted_frequencies_are_sorted(tmp_path):
    idx = np.random.default_rng(0).permutation(F.size)
    p = tmp_path / "u.csv"
    p.write_text("".join(f"{F[i]:.17g},{Z[i].real:.17g},{Z[i].imag:.17g}\n" for i in idx))
    ds = sio.read(p)
    _check(ds)
    assert "sorted" in ds.attrs["note"]


def test_ascending_sweep_is_returned_high_to_low(tmp_path):
    p = tmp_path / "asc.csv"
    p.write_text("".join(f"{f:.17g},{z.real:.17g},{z.imag:.17g}\n" for f, z in zip(F[::-1], Z[::-1])))
    ds = sio.read(p)
    _check(ds)
    assert "note" not in ds.attrs


def test_repeated_sweeps_become_loops(tmp_path):
    p = tmp_path / "loops.csv"
    rows = ""
    for k in range(3):
        rows += "".join(f"{f:.17g},{(z * (1 + k)).real:.17g},{(z * (1 + k)).imag:.17g}\n" for f, z in zip(F, Z))
    p.write_text(rows)
    ds = sio.read(p)
    assert dict(ds.sizes) == {"loop": 3, "frequency": F.size}
    np.testing.assert_allclose(ds["z_real"].sel(loop=2).values, 3 * Z.real)


def test_detection_ignores_extension(tmp_path, ref_file):
    src = ref_file("eis/impedancepy_exampleDataGamry.DTA")
    p = tmp_path / "renamed.csv"
    p.write_bytes(src.read_bytes())
    assert sio.sniff(p) == "gamry-dta"
    q = tmp_path / "renamed.bin"
    q.write_bytes(ref_file("cycling/neware_navani_test.ndax").read_bytes())
    assert sio.read(q).sizes["record"] == 1464


def test_formats_listed():
    names = {f.name for f in sio.formats()}
    assert {"biologic-mpt", "biologic-mpr", "gamry-dta", "zview-z", "neware-nda", "arbin-res", "maccor-txt",
            "pressure-log", "generic-eis", "generic-cycling"} <= names


# ---- cycling ---------------------------------------------------------------------------------

def test_half_cycle_capacity_constant_current():
    t = np.arange(0, 7201, 60.0)  # 2 h
    i = np.where(t < 3600, 2.0, -1.0)  # 2 mA charge for 1 h, then 1 mA discharge
    d = np.sign(i).astype(int)
    cap = half_cycle_capacity(d, time_s=t, current_ma=i)
    np.testing.assert_allclose(cap[t == 3540][0], 2.0 * 3540 / 3600)
    np.testing.assert_allclose(cap[-1], 1.0 * (7200 - 3600) / 3600, rtol=1e-12)
    # instrument throughput that resets at each step (0 at the first record of the step) gives the same
    thr = np.where(t < 3600, 2.0 * t / 3600, 1.0 * (t - 3600) / 3600)
    np.testing.assert_allclose(half_cycle_capacity(d, throughput=thr), cap, rtol=1e-12, atol=1e-15)


def test_half_cycles_with_rests():
    d = np.array([0, 0, 1, 1, 0, 1, -1, -1, 0, 0, 1])
    np.testing.assert_array_equal(half_cycle_ids(d), [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])


def test_generic_cycling_csv_units(tmp_path):
    t = np.arange(0, 3601, 10.0)
    i = np.where(t < 1800, 0.5, -0.5)  # mA
    v = 3.5 + 1e-4 * t
    p = tmp_path / "cyc.csv"
    p.write_text("Time (h),Voltage (mV),Current (A),Temperature (°C),Pressure (kPa)\n"
                 + "".join(f"{a / 3600:.17g},{b * 1e3:.17g},{c / 1e3:.17g},25,5000\n" for a, b, c in zip(t, v, i)),
                 encoding="utf-8")
    ds = sio.read(p)
    assert ds.attrs["kind"] == "cycling"
    np.testing.assert_allclose(ds["time"].values, t, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ds["voltage"].values, v)
    np.testing.assert_allclose(ds["current"].values, i)
    np.testing.assert_allclose(ds["temperature"].values, 298.15)
    np.testing.assert_allclose(ds["pressure"].values, 5.0)
    assert ds["capacity"].values[t == 1790][0] == pytest.approx(0.5 * 1790 / 3600)
    assert ds["capacity"].values[-1] == pytest.approx(0.5 * 1800 / 3600, rel=1e-9)
    assert ds["time"].attrs["original_name"] == "Time (h)"


def test_pressure_log_and_join(tmp_path, ref_file):
    cyc = sio.read(ref_file("cycling/neware_navani_test.ndax"))
    start = pd.Timestamp(cyc.attrs["start_time"])
    ts = start + pd.to_timedelta(np.arange(0, 50000, 100), unit="s")
    p = tmp_path / "press.csv"
    p.write_text("Timestamp,Pressure (bar)\n" + "".join(f"{t.isoformat()},{100 + k * 0.01}\n"
                                                        for k, t in enumerate(ts)))
    log = sio.read(p)
    assert log.attrs["kind"] == "pressure_log"
    np.testing.assert_allclose(log["pressure"].values[:2], [10.0, 10.001])  # bar -> MPa
    out = join_pressure(cyc, log)
    # linear pressure ramp: 10 MPa + 1e-5 MPa/s * t
    np.testing.assert_allclose(out["pressure"].values, 10.0 + 1e-5 * cyc["time"].values, rtol=1e-9)
    validate(out, "cycling")


def test_pressure_log_elapsed_with_start_and_force(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("# start_time: 2024-05-01T10:00:00\nelapsed/min,force/kN\n0,1\n1,2\n")
    ds = sio.read(p, area_cm2=1.0)
    np.testing.assert_allclose(ds["time"].values, [0, 60])
    np.testing.assert_allclose(ds["pressure"].values, [10.0, 20.0])  # 1 kN on 1 cm2 = 10 MPa
    assert ds.attrs["start_time"] == "2024-05-01T10:00:00"


def test_cli_read(capsys, ref_file):
    from analysis.cli import main

    assert main(["read", str(ref_file("eis/impedancepy_exampleDataZPlot.z"))]) == 0
    out = capsys.readouterr().out
    assert "eis (zview-z" in out and "frequency=21" in out
    assert main(["read", "--list-formats"]) == 0
    assert main(["read", "/nonexistent/x.csv"]) == 1
    assert "file not found" in capsys.readouterr().err


def test_squidstat_and_nova_headers(tmp_path):
    p = tmp_path / "squid.csv"
    p.write_text("Elapsed Time (s),Frequency (Hz),Z' (Ohms),-Z'' (Ohms),Z (Ohms),Phase Angle (deg)\n"
                 + "".join(f"{k},{f:.17g},{z.real:.17g},{-z.imag:.17g},{abs(z):.17g},{np.angle(z, deg=True):.17g}\n"
                           for k, (f, z) in enumerate(zip(F, Z))))
    assert sio.sniff(p) == "squidstat-csv"
    _check(sio.read(p))
    q = tmp_path / "nova.txt"
    q.write_text("Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°)\n"
                 + "".join(f"{k};{f:.17g};{z.real:.17g};{-z.imag:.17g};{abs(z):.17g};{-np.angle(z, deg=True):.17g}\n"
                           for k, (f, z) in enumerate(zip(F, Z))), encoding="utf-8")
    _check(sio.read(q))


def test_original_columns_match_newarenda_provenance(ref_file, reference_data):
    import re

    text = (reference_data / "cycling" / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in ("neware_navani_test.ndax", "neware_NewareNDA_Issue72_TestFile.nda"):
        block = text.split(f"## {name}", 1)[1].split("\n## ", 1)[0]
        cols = re.search(r"parsed by NewareNDA\.read: rows=\d+, columns\(\d+\)=\[(.*)\]", block).group(1)
        expected = [c.strip().strip("'") for c in cols.split(",")]
        ds = sio.read(ref_file(f"cycling/{name}"))
        assert ds.attrs["original_columns"].split(", ") == expected
