"""Summaries of real cycler files against the tester's own per-cycle capacities.

The tester's numbers are read with an independent library (pandas for the Arbin CSV export,
NewareNDA for NEWARE binaries, galvani for BioLogic .mpr); the dataset is read with
``analysis.io.read`` (skipped with a message while that reader is not importable).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cycling import half_cycles, summarize

pytestmark = pytest.mark.reference


def _read(path):
    io = pytest.importorskip("analysis.io", reason="analysis.io (instrument readers) is not importable yet")
    return io.read(path)


def test_arbin_csv_charge_capacity(ref_file):
    path = ref_file("cycling/arbin_beep_2017-05-09_test-TC-contact_CH33.csv")
    df = pd.read_csv(path)
    s = summarize(_read(path), cycles="file")
    # a single charge (CC then a lower-current step), no discharge
    assert s.sizes["cycle"] == 1 and s.attrs["first_direction"] == "charge"
    assert float(s["charge_capacity"][0]) == pytest.approx(1000 * df["Charge_Capacity"].max(), rel=1e-6)
    assert np.isnan(s["discharge_capacity"][0])


@pytest.mark.parametrize("name", ["neware_navani_test.nda", "neware_NewareNDA_Issue72_TestFile.nda",
                                  "neware_navani_test.ndax"])
def test_neware_per_cycle_capacities(ref_file, name):
    NewareNDA = pytest.importorskip("NewareNDA")
    path = ref_file(f"cycling/{name}")
    n = NewareNDA.read(str(path))
    run = (n["Step"] != n["Step"].shift()).cumsum()
    steps = n.groupby(run).agg(cycle=("Cycle", "first"), qc=("Charge_Capacity(mAh)", "max"),
                               qd=("Discharge_Capacity(mAh)", "max"))
    tester = steps.groupby("cycle")[["qc", "qd"]].sum()
    s = summarize(_read(path), cycles="file")
    for c, row in tester.iterrows():
        for var, val in (("charge_capacity", row.qc), ("discharge_capacity", row.qd)):
            ours = float(s[var].sel(cycle=c)) if c in s.cycle else np.nan
            if val == 0:
                assert np.isnan(ours) or ours == pytest.approx(0, abs=1e-9)
            else:
                assert ours == pytest.approx(val, rel=1e-4), (c, var)


def test_biologic_mpr_half_cycles(ref_file):
    galvani = pytest.importorskip("galvani")
    path = ref_file("cycling/biologic_navani_jdb11-1_c3_gcpl_5cycles_C09.mpr")
    m = pd.DataFrame(galvani.BioLogic.MPRfile(str(path)).data)
    q = m.groupby("half cycle")["Q charge/discharge/mA.h"].last()
    tester = np.abs(q.values[np.abs(q.values) > 1e-6])
    hc = half_cycles(_read(path))
    np.testing.assert_allclose(hc["capacity"].values, tester, rtol=1e-4)
    # the cell starts with a (partial) discharge: CE = charge/discharge
    s = summarize(_read(path))
    assert s.attrs["first_direction"] == "discharge" and s.attrs["ce_convention"] == "charge/discharge"
    assert s.sizes["cycle"] == 7
