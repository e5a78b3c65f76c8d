"""The ``ssb-explorer cycles`` command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.analysis._cycling_synth import cell
from analysis.cli import main


def test_cycles_on_netcdf(tmp_path, capsys):
    ds, truth = cell(3, n=200, attrs={"active_mass_mg": 6.0, "active_fraction": 0.6})
    nc = tmp_path / "cell.nc"
    ds.to_netcdf(nc)
    out = tmp_path / "summary.csv"
    assert main(["cycles", str(nc), "--out", str(out), "--reference", "first"]) == 0
    printed = capsys.readouterr().out
    assert "3 cycles" in printed and "discharge/charge" in printed
    df = pd.read_csv(out, index_col="cycle")
    np.testing.assert_allclose(df["discharge_capacity"], [truth[(c, -1)] for c in (1, 2, 3)], rtol=1e-5)
    np.testing.assert_allclose(df["discharge_capacity_specific"], df["discharge_capacity"] / 0.0036, rtol=1e-5)
    assert df["retention"].iloc[0] == pytest.approx(100.0)
    assert not (tmp_path / "summary.csv.tmp").exists()


def test_cycles_mass_option_and_errors(tmp_path, capsys):
    ds, _ = cell(2, n=100)
    nc = tmp_path / "c.nc"
    ds.to_netcdf(nc)
    assert main(["cycles", str(nc), "--mass-mg", "10", "--active-fraction", "0.5"]) == 0
    assert "discharge_capacity_specific [mAh/g]" in capsys.readouterr().out
    assert main(["cycles", str(tmp_path / "missing.nc")]) == 1
    assert "missing.nc" in capsys.readouterr().err
    assert main(["cycles", str(nc), "--reference", "best"]) == 1
    assert "--reference" in capsys.readouterr().err
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    assert main(["cycles", str(bad)]) == 1
    assert "bad.nc" in capsys.readouterr().err


def test_cycles_on_instrument_file(ref_file, capsys):
    pytest.importorskip("analysis.io", reason="analysis.io (instrument readers) is not importable yet")
    path = ref_file("cycling/neware_navani_test.ndax")
    assert main(["cycles", str(path)]) == 0
    assert "1 cycles" in capsys.readouterr().out
