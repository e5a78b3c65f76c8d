"""xarray accessor ``ds.eis`` for impedance datasets of the data model.

Importing :mod:`analysis` registers it. Works on datasets of kind ``eis``, ``pellet_eis``
and ``insitu_eis`` (variables ``z_real``, ``z_imag`` in ohm, dimension ``frequency`` in Hz).

Examples
--------
>>> ds.eis.impedance()                       # complex DataArray (ohm)
>>> ds.eis.fit("R0-p(R1,CPE1)-W1")           # FitResult for one spectrum
>>> pellets.eis.fit("R0-CPE1")               # Dataset of parameters over sample x temperature
>>> ds.eis.kk()                              # KKResult (one spectrum) or Dataset of verdicts
>>> pellets.eis.conductivity()               # S/cm from the high-frequency intercept
>>> pellets.eis.conductivity("R0-p(R1,CPE1)-CPE2", resistance=["R0", "R1"])
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.errors import AnalysisError
from analysis.eis.fit import fit_circuit
from analysis.eis.kk import kramers_kronig
from analysis.eis.many import fit_many


@xr.register_dataset_accessor("eis")
class EISAccessor:
    """Impedance analysis on a dataset with ``z_real``, ``z_imag`` and a ``frequency`` dim."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _check(self):
        ds = self._ds
        missing = [v for v in ("z_real", "z_imag") if v not in ds.variables]
        if missing or "frequency" not in ds.dims:
            src = ds.attrs.get("source_file", "dataset")
            raise AnalysisError(
                f"{src}: ds.eis needs variables z_real, z_imag (ohm) and a 'frequency' dimension"
                + (f"; missing {', '.join(missing)}" if missing else "")
            )

    @property
    def _extra_dims(self) -> list[str]:
        return [d for d in self._ds["z_real"].dims if d != "frequency"]

    def impedance(self) -> xr.DataArray:
        """Complex impedance ``z_real + 1j z_imag`` (ohm) as a DataArray."""
        self._check()
        z = self._ds["z_real"] + 1j * self._ds["z_imag"]
        z.attrs = {"units": "ohm", "long_name": "impedance"}
        return z

    def fit(self, spec, **kw):
        """Fit an equivalent circuit.

        Parameters
        ----------
        spec : str
            Circuit string.
        **kw
            Passed to :func:`analysis.eis.fit_circuit` (single spectrum) or
            :func:`analysis.eis.fit_many` (extra dimensions).

        Returns
        -------
        FitResult or xarray.Dataset
            A FitResult when the dataset holds one spectrum, else the Dataset of parameters.
        """
        z = self.impedance()
        if not self._extra_dims:
            return fit_circuit(z["frequency"].values, z.values, spec, **kw)
        return fit_many(z, spec, **kw)

    def kk(self, **kw):
        """Lin-KK test (:func:`analysis.eis.kramers_kronig`).

        Returns
        -------
        KKResult or xarray.Dataset
            One result for a single spectrum; otherwise a Dataset with ``kk_passed``,
            ``kk_max_residual``, ``kk_M`` and ``kk_mu`` over the extra dimensions.
        """
        z = self.impedance()
        f = z["frequency"].values
        if not self._extra_dims:
            m = np.isfinite(z.values)
            return kramers_kronig(f[m], z.values[m], **kw)
        other = self._extra_dims
        zz = z.transpose(*other, "frequency")
        shape = zz.shape[:-1]
        flat = zz.values.reshape(-1, f.size)
        passed = np.zeros(flat.shape[0], bool)
        worst = np.full(flat.shape[0], np.nan)
        M = np.zeros(flat.shape[0], int)
        mu = np.full(flat.shape[0], np.nan)
        for i, row in enumerate(flat):
            m = np.isfinite(row)
            if m.sum() < 5:
                continue
            r = kramers_kronig(f[m], row[m], **kw)
            passed[i], worst[i], M[i], mu[i] = r.passed, r.max_residual, r.M, r.mu
        coords = {d: zz.coords[d] for d in zz.coords if "frequency" not in zz.coords[d].dims}
        return xr.Dataset(
            {
                "kk_passed": (other, passed.reshape(shape), {"long_name": "Lin-KK test passed"}),
                "kk_max_residual": (other, worst.reshape(shape), {"units": "1", "long_name": "largest |relative residual|"}),
                "kk_M": (other, M.reshape(shape), {"long_name": "number of RC elements"}),
                "kk_mu": (other, mu.reshape(shape), {"units": "1", "long_name": "Schoenleber mu"}),
            },
            coords=coords,
        )

    def resistance(self, spec=None, *, resistance=None, method: str = "auto", **kw) -> xr.DataArray:
        """Pellet resistance (ohm) per spectrum.

        Parameters
        ----------
        spec : str, optional
            Circuit to fit; the resistance is the sum of the parameters named in
            ``resistance`` (default: every plain resistor ``R*`` of the circuit).
            Without ``spec`` the high-frequency intercept is used
            (:func:`analysis.transport.hf_intercept` with ``method``).
        resistance : str or list of str, optional
            Parameter names to add up.
        method : str
            Intercept method when ``spec`` is None.
        """
        from analysis.eis.circuit import parse
        from analysis.transport import hf_intercept

        z = self.impedance()
        f = z["frequency"].values
        other = self._extra_dims
        zz = z.transpose(*other, "frequency")
        coords = {d: zz.coords[d] for d in zz.coords if "frequency" not in zz.coords[d].dims}
        if spec is not None:
            c = parse(spec)
            names = [resistance] if isinstance(resistance, str) else resistance
            if names is None:
                names = [lab for lab, t in c.elements if t == "R"]
            unknown = [n for n in names if n not in c.param_names]
            if unknown:
                raise AnalysisError(f"resistance: {', '.join(unknown)} not parameters of {c.spec}")
            if not other:
                r = fit_circuit(f, zz.values, c, **kw)
                val = sum(r.params[n] for n in names)
                return xr.DataArray(val, attrs={"units": "ohm", "long_name": "+".join(names)})
            res = fit_many(zz, c, **kw)
            out = sum(res[n] for n in names)
            out.attrs = {"units": "ohm", "long_name": "+".join(names)}
            return out
        flat = zz.values.reshape(-1, f.size)
        vals = np.full(flat.shape[0], np.nan)
        for i, row in enumerate(flat):
            m = np.isfinite(row)
            if m.sum() >= 3:
                vals[i] = hf_intercept(f[m], row[m], method=method)
        return xr.DataArray(vals.reshape(zz.shape[:-1]), dims=other, coords=coords,
                            attrs={"units": "ohm", "long_name": f"high-frequency intercept ({method})"})

    def conductivity(self, spec=None, *, resistance=None, method: str = "auto",
                     thickness_cm=None, area_cm2=None, **kw) -> xr.DataArray:
        """Ionic conductivity ``t / (R A)`` (S/cm) per spectrum.

        Parameters
        ----------
        spec, resistance, method, **kw
            How to get R, see :meth:`resistance` (default: high-frequency intercept).
        thickness_cm, area_cm2 : float or DataArray, optional
            Geometry; default the dataset's ``thickness_cm`` and ``area_cm2`` coordinates.

        Returns
        -------
        xarray.DataArray
            Conductivity in S/cm over the non-frequency dimensions.
        """
        ds = self._ds
        t = thickness_cm if thickness_cm is not None else ds.get("thickness_cm")
        a = area_cm2 if area_cm2 is not None else ds.get("area_cm2")
        if t is None or a is None:
            raise AnalysisError(
                f"{ds.attrs.get('source_file', 'dataset')}: conductivity needs pellet geometry; "
                "add thickness_cm and area_cm2 coordinates or pass them"
            )
        R = self.resistance(spec, resistance=resistance, method=method, **kw)
        if np.any(np.asarray(t) <= 0) or np.any(np.asarray(a) <= 0):
            raise AnalysisError("thickness_cm and area_cm2 must be > 0")
        sigma = t / (R * a)
        if isinstance(sigma, xr.DataArray):
            sigma.attrs = {"units": "S/cm", "long_name": "ionic conductivity"}
            sigma.name = "conductivity"
        return sigma
