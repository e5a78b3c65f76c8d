"""The ``ds.cycling`` accessor of cycling datasets (registered when :mod:`analysis` is imported).

Thin wrappers around :mod:`analysis.cycling`, :mod:`analysis.dqdv` and :mod:`analysis.pressure`
so that a dashboard or notebook can write ``ds.cycling.summary()``,
``ds.cycling.dqdv(range(1, 50), "discharge", resolution_mV=10)`` or
``ds.cycling.track_peaks([(1.4, 1.8)])``.
"""
from __future__ import annotations

import xarray as xr

from analysis import cycling as _cy
from analysis import dqdv as _dq
from analysis import pressure as _pr


@xr.register_dataset_accessor("cycling")
class CyclingAccessor:
    """Cycling analysis of a ``cycling`` dataset (see :mod:`analysis.schema`)."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def detect(self, **kwargs) -> xr.Dataset:
        """Dataset with re-detected ``cycle``/``direction``/``capacity`` (see :func:`analysis.cycling.detect_half_cycles`)."""
        return _cy.detect_half_cycles(self._ds, **kwargs)

    def half_cycles(self, **kwargs) -> xr.Dataset:
        """Table of half-cycles (see :func:`analysis.cycling.half_cycles`)."""
        return _cy.half_cycles(self._ds, **kwargs)

    def summary(self, reference="max", ce_convention: str = "auto", **kwargs) -> xr.Dataset:
        """Per-cycle summary over ``cycle`` (see :func:`analysis.cycling.summarize`)."""
        return _cy.summarize(self._ds, reference=reference, ce_convention=ce_convention, **kwargs)

    def rate_blocks(self, rtol: float = 0.1, **kwargs) -> xr.Dataset:
        """Blocks of equal C-rate (see :func:`analysis.cycling.rate_blocks`)."""
        return _cy.rate_blocks(self._ds, rtol=rtol, **kwargs)

    def dqdv(self, cycles=None, direction="charge", resolution_mV: float = 5.0, grid=None, **kwargs) -> xr.DataArray:
        """dQ/dV (mAh/V) over ``(cycle, voltage)`` (see :func:`analysis.dqdv.dqdv_cycles`)."""
        return _dq.dqdv_cycles(self._ds, cycles, direction, resolution_mV, grid, **kwargs)

    def dvdq(self, cycles=None, direction="charge", resolution_mV: float = 5.0, **kwargs) -> xr.DataArray:
        """dV/dQ (V/mAh) over ``(cycle, voltage)`` (see :func:`analysis.dqdv.dvdq_cycles`)."""
        return _dq.dvdq_cycles(self._ds, cycles, direction, resolution_mV, **kwargs)

    def track_peaks(self, windows, cycles=None, direction="charge", resolution_mV: float = 5.0, **kwargs) -> xr.Dataset:
        """Peak position/height/width/area per cycle (see :func:`analysis.dqdv.track_peaks`)."""
        return _dq.track_peaks(self._ds, windows, cycles=cycles, direction=direction,
                               resolution_mV=resolution_mV, **kwargs)

    def align_pressure(self, pressure_log: xr.Dataset, tolerance_s: float | None = None, **kwargs) -> xr.Dataset:
        """This dataset with a logger's pressure interpolated onto it (see :func:`analysis.pressure.align`)."""
        return _pr.align(self._ds, pressure_log, tolerance_s, **kwargs)

    def pressure_summary(self, reference_state: str = "end_of_discharge", **kwargs) -> xr.Dataset:
        """Per-cycle pressure breathing, drift and growth (see :func:`analysis.pressure.per_cycle`)."""
        return _pr.per_cycle(self._ds, reference_state, **kwargs)

    def dp_dq(self, cycle: int, direction="charge", resolution_mAh: float | None = None) -> xr.DataArray:
        """dP/dQ (MPa/mAh) of one half-cycle (see :func:`analysis.pressure.dp_dq_cycle`)."""
        return _pr.dp_dq_cycle(self._ds, cycle, direction, resolution_mAh)

    def pressure_correlation(self, x: str = "growth_pct", y: str = "retention", **summary_kwargs) -> xr.Dataset:
        """Correlation of pressure growth with capacity retention (see :func:`analysis.pressure.correlate`)."""
        return _pr.correlate(_pr.per_cycle(self._ds), _cy.summarize(self._ds, **summary_kwargs), x, y)
