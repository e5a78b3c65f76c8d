"""analysis.pellets helpers on small hand-made datasets (known answers)."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from analysis.errors import AnalysisError
from analysis.pellets import unit_cell_volume


def _pellets(**coords):
    return xr.Dataset(coords={"sample": ["a", "b", "c"], **coords})


def test_unit_cell_volume_from_the_volume_or_the_cubic_lattice_parameter():
    v = unit_cell_volume(_pellets(unit_cell_volume_A3=("sample", [960.0, np.nan, 958.5])))
    assert v.dims == ("sample",) and v.attrs["units"] == "angstrom3"
    np.testing.assert_array_equal(v.values, [960.0, np.nan, 958.5])
    a = np.array([9.852, 9.866, 9.880])
    v = unit_cell_volume(_pellets(lattice_a_angstrom=("sample", a)))
    np.testing.assert_allclose(v.values, a ** 3, rtol=1e-15)
    assert v.sel(sample="c") == pytest.approx(964.430272)  # 9.88^3
    # a stored volume wins over the lattice parameter (non-cubic phases store the volume)
    both = _pellets(lattice_a_angstrom=("sample", a), unit_cell_volume_A3=("sample", [1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(unit_cell_volume(both).values, [1.0, 2.0, 3.0])


def test_unit_cell_volume_absent_or_not_per_sample():
    assert unit_cell_volume(_pellets(frb_pct=("sample", [5.0, 10.0, 20.0]))) is None
    ds = _pellets().assign_coords(lattice_a_angstrom=9.86)
    with pytest.raises(AnalysisError, match="per sample"):
        unit_cell_volume(ds)
