"""Stack-pressure alignment, per-cycle breathing/drift/growth, dP/dQ and correlation."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import analysis  # noqa: F401
from tests.analysis._cycling_synth import cell
from analysis.cycling import summarize
from analysis.errors import AnalysisError
from analysis.pressure import align, correlate, dp_dq, dp_dq_cycle, per_cycle


def _p_of_abs(t_abs):
    """A smooth 'true' pressure (MPa) as a function of seconds since 2024-03-01T10:00:00."""
    return 50.0 + 0.5 * np.sin(2 * np.pi * t_abs / 7200.0) + 1e-5 * t_abs


def _ten_second_record(n=2000):
    t = 10.0 * np.arange(n)
    return xr.Dataset({"time": ("record", t)}, attrs={"start_time": "2024-03-01T10:00:00"})


def test_align_minute_log_with_offset():
    cyc = _ten_second_record()
    offset = 95.0  # the logger was started 95 s after the cycler
    tl = 60.0 * np.arange(300)
    log = xr.Dataset({"time": ("record", tl), "pressure": ("record", _p_of_abs(tl + offset))},
                     attrs={"start_time": "2024-03-01T10:01:35"})
    out = align(cyc, log)
    assert out.attrs["pressure_offset_s"] == pytest.approx(offset)
    p = out["pressure"].values
    t = cyc["time"].values
    inside = (t >= offset) & (t <= offset + tl[-1])
    # linear interpolation of a smooth curve sampled every minute: error << breathing amplitude
    np.testing.assert_allclose(p[inside], _p_of_abs(t[inside]), atol=2e-3)
    assert np.isnan(p[t < offset - 90]).all()  # before the log started (beyond the tolerance)
    assert out["pressure"].attrs["units"] == "MPa"
    # a wrong offset would be detected: the unshifted log disagrees by far more
    wrong = align(cyc, log, offset_s=0.0)["pressure"].values
    assert np.nanmax(np.abs(wrong[inside] - _p_of_abs(t[inside]))) > 0.02


def test_align_timezones_and_gaps():
    cyc = _ten_second_record(600)
    cyc.attrs["start_time"] = "2024-03-01T12:00:00+02:00"  # = 10:00 UTC
    tl = np.r_[60.0 * np.arange(30), 60.0 * np.arange(60, 100)]  # a 30-minute gap in the log
    log = xr.Dataset({"time": ("record", tl), "pressure": ("record", _p_of_abs(tl))},
                     attrs={"start_time": "2024-03-01T10:00:00Z"})
    out = align(cyc, log)
    assert out.attrs["pressure_offset_s"] == 0.0
    t = cyc["time"].values
    gap = (t > 29 * 60 + 90) & (t < 60 * 60 - 90)
    assert np.isnan(out["pressure"].values[gap]).all()
    assert np.isfinite(out["pressure"].values[t < 29 * 60]).all()


def test_align_errors():
    cyc = _ten_second_record(10)
    log = xr.Dataset({"time": ("record", [0.0, 60.0]), "pressure": ("record", [1.0, 1.0])})
    with pytest.raises(AnalysisError, match="start_time"):
        align(cyc, log)
    log.attrs["start_time"] = "yesterday-ish"
    with pytest.raises(AnalysisError, match="ISO 8601"):
        align(cyc, log)
    with pytest.raises(AnalysisError, match="pressure"):
        align(cyc, log.drop_vars("pressure"))


def _pressure_cell(n_cycles=6, p0=10.0, breathing=0.4, growth_per_cycle=0.02):
    ds, truth = cell(n_cycles, n=300, rest_points=0)
    # pressure rises linearly with charge, falls on discharge, plus an irreversible growth
    cyc, dirn, q = ds.cycle.values, ds.direction.values, ds.capacity.values
    qc = np.array([truth[(c, 1)] for c in cyc])
    qd = np.array([truth[(c, -1)] for c in cyc])
    soc = np.where(dirn > 0, q / qc, 1 - q / qd)
    p = p0 + growth_per_cycle * (cyc - 1) + breathing * soc
    ds["pressure"] = ("record", p)
    return ds, truth


def test_per_cycle_breathing_drift_growth():
    ds, truth = _pressure_cell()
    s = per_cycle(ds)
    c = s.cycle.values
    np.testing.assert_allclose(s["p_max"], 10.0 + 0.02 * (c - 1) + 0.4, atol=1e-9)
    np.testing.assert_allclose(s["breathing"], 0.4 + 0.0 * c, atol=1e-3)
    np.testing.assert_allclose(s["drift"], 0.02 * (c - 1), atol=1e-3)
    np.testing.assert_allclose(s["growth_max_pct"], 100 * (0.02 * (c - 1) + 0.4) / 10.0, atol=1e-6)
    np.testing.assert_allclose(s["growth_pct"], 100 * 0.02 * (c - 1) / 10.0, atol=1e-3)
    assert s.attrs["p0_MPa"] == pytest.approx(10.0)
    assert s.attrs["max_growth_pct"] == pytest.approx(100 * 0.1 / 10, abs=1e-3)
    e = per_cycle(ds, reference_state="end_of_charge")
    np.testing.assert_allclose(e["p_ref"], 10.4 + 0.02 * (c - 1), atol=1e-3)
    assert ds.cycling.pressure_summary()["breathing"].equals(s["breathing"])


def test_dp_dq_linear_and_per_cycle():
    q = np.linspace(0, 2.0, 300)
    d = dp_dq(10 + 0.2 * q, q)
    np.testing.assert_allclose(d.isel(capacity=slice(20, -20)), 0.2, rtol=1e-3)
    ds, truth = _pressure_cell()
    d2 = dp_dq_cycle(ds, 2, "charge")
    np.testing.assert_allclose(d2.isel(capacity=slice(20, -20)), 0.4 / truth[(2, 1)], rtol=1e-2)
    d3 = ds.cycling.dp_dq(2, "discharge")
    assert float(d3.isel(capacity=150)) == pytest.approx(-0.4 / truth[(2, -1)], rel=1e-2)
    with pytest.raises(AnalysisError, match="no charge half-cycle in cycle 99"):
        dp_dq_cycle(ds, 99)


def test_correlate_growth_with_retention():
    ds, truth = cell(8, n=200, fade=0.02, rest_points=0)
    c = ds.cycle.values
    ds["pressure"] = ("record", 10 + 0.05 * (c - 1) + 0.1 * (ds.direction.values > 0))
    r = correlate(per_cycle(ds), summarize(ds, reference="first"))
    assert float(r["pearson_r"]) < -0.99 and float(r["spearman_rho"]) == pytest.approx(-1.0)
    assert int(r["n"]) == 8
    acc = ds.cycling.pressure_correlation()
    assert float(acc["spearman_rho"]) == pytest.approx(-1.0)
    with pytest.raises(AnalysisError, match="no variable"):
        correlate(per_cycle(ds), summarize(ds), x="nope")
    with pytest.raises(AnalysisError, match="no 'pressure'"):
        per_cycle(ds.drop_vars("pressure"))
