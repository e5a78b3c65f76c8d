"""xarray accessor ``ds.drt``: DRT of the impedance spectra of an EIS dataset."""
from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.drt.core import DRTError


@xr.register_dataset_accessor("drt")
class DRTAccessor:
    """``ds.drt.compute(...)`` on datasets of kind ``eis`` / ``pellet_eis`` / ``insitu_eis``.

    Parameters
    ----------
    ds : xarray.Dataset
        Dataset with ``z_real`` and ``z_imag`` (ohm) over a ``frequency`` dimension (Hz).
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def compute(self, lam="auto", **kwargs):
        """DRT of the spectrum (or of every spectrum).

        Parameters
        ----------
        lam : "auto" or float, default "auto"
            Regularisation parameter.
        **kwargs
            Options of :func:`analysis.drt.compute_drt` (single spectrum) or
            :func:`analysis.drt.drt_many` (several); ``data`` is accepted for both.

        Returns
        -------
        DRTResult or xarray.Dataset
            A :class:`~analysis.drt.DRTResult` when ``frequency`` is the only dimension of
            ``z_real``, otherwise the (..., tau) Dataset of :func:`~analysis.drt.drt_many`.
        """
        ds = self._ds
        if "z_real" not in ds or "z_imag" not in ds or "frequency" not in ds.dims:
            raise DRTError("ds.drt needs 'z_real' and 'z_imag' (ohm) over a 'frequency' dimension")
        if ds["z_real"].dims == ("frequency",):
            from analysis.drt.compute import compute_drt

            return compute_drt(np.asarray(ds["frequency"].values), np.asarray(ds["z_real"].values)
                               + 1j * np.asarray(ds["z_imag"].values), lam=lam, **kwargs)
        from analysis.drt.batch import drt_many

        if "data" in kwargs:
            kwargs["data_part"] = kwargs.pop("data")
        kwargs.pop("kk", None)
        return drt_many(ds, lam=lam, **kwargs)
