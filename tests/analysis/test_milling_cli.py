"""Tests of the ``ssb-explorer milling`` command."""
from __future__ import annotations

import json

import pytest

from analysis.cli import main


def test_milling_json_check_values(capsys):
    rc = main(["milling", "--rpm", "600", "--disk-radius-mm", "70", "--jar-radius-mm", "22.5",
               "--ball-mm", "10", "--ball-material", "ZrO2", "--n-balls", "1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ball_mass_g"] == pytest.approx(3.1416, abs=1e-4)
    assert out["energy_per_impact_J"] == pytest.approx(0.0190, abs=5e-5)
    assert out["impact_frequency_Hz"] == pytest.approx(20.0)


def test_milling_table_preset_s3(capsys):
    rc = main(["milling", "--rpm", "550", "700", "--preset", "Fritsch P5", "--jar-ml", "80",
               "--ball-mm", "3", "--ball-total-g", "135", "--powder-g", "6.75", "--time-h", "12"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "BMR 20:1" in out and "dose (kJ/g)" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("550", "700"))]
    assert [round(float(r[1])) for r in rows] == [30, 49]  # Table S1 g-force


def test_milling_errors_are_one_line(capsys):
    rc = main(["milling", "--rpm", "600", "--disk-radius-mm", "70", "--jar-radius-mm", "22.5",
               "--n-balls", "1", "--speed-ratio", "-3"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "never detach" in err and "Traceback" not in err
    assert main(["milling", "--rpm", "600", "--jar-ml", "45", "--n-balls", "1"]) == 1
    assert "--preset or --disk-radius-mm" in capsys.readouterr().err


def test_milling_list_presets(capsys):
    assert main(["milling", "--list-presets"]) == 0
    assert "Retsch PM100" in capsys.readouterr().out
