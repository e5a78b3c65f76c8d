"""Fit one circuit to many spectra: warm-started chains fitted in lock-step.

Why this layout
---------------
Neighbouring spectra (successive temperatures, cycles, states of charge) have nearly the
same parameters, so the previous spectrum's result is an excellent start: a warm-started
Levenberg-Marquardt fit converges in a few iterations. A single sequential chain would
still pay the Python overhead of every iteration once per spectrum; instead the flattened
spectra are cut into ``n_chains`` contiguous chains that advance together, one spectrum per
chain per step, as one batched LM problem (:func:`analysis.eis.fit._lm`). Each chain starts
with a full automatic multi-start fit of its first spectrum; a warm-started fit that fails
or is much worse than its predecessor is redone from the automatic guess.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.errors import AnalysisError
from analysis.eis.circuit import Circuit, parse
from analysis.eis.fit import (
    WEIGHTINGS,
    _lm,
    _prepare_problem,
    _Problem,
    _to_u,
    fit_circuit,
)


def _as_complex(data) -> xr.DataArray:
    if isinstance(data, xr.Dataset):
        if "z_real" not in data or "z_imag" not in data:
            raise AnalysisError("fit_many: the Dataset needs variables 'z_real' and 'z_imag' (ohm)")
        da = data["z_real"] + 1j * data["z_imag"]
    elif isinstance(data, xr.DataArray):
        da = data
        if not np.iscomplexobj(da.values):
            raise AnalysisError("fit_many: the DataArray must hold complex impedance (z_real + 1j*z_imag)")
    else:
        raise AnalysisError(f"fit_many: expected an xarray DataArray or Dataset, got {type(data).__name__}")
    if "frequency" not in da.dims:
        raise AnalysisError(f"fit_many: impedance needs a 'frequency' dimension, has {da.dims}")
    return da


def fit_many(data, spec, p0=None, bounds=None, fixed=None, weighting="modulus", *,
             chain_length: int = 32, max_iter: int = 200, keep_fit: bool = False) -> xr.Dataset:
    """Fit ``spec`` to every spectrum of ``data`` along all dimensions except ``frequency``.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        Complex impedance (ohm) with a ``frequency`` dimension (Hz), or a dataset of the data
        model with ``z_real``/``z_imag``. Any number of other dimensions; NaN points are
        ignored (spectra of different lengths can be NaN-padded).
    spec : str or Circuit
        Circuit string, e.g. ``"R0-p(R1,CPE1)-W1"``.
    p0 : dict or sequence, optional
        Start for the first spectrum of every chain (default: automatic multi-start guess).
    bounds, fixed, weighting
        As in :func:`analysis.eis.fit_circuit`.
    chain_length : int
        Spectra per warm-started chain (neighbours along the last non-frequency dimension
        follow each other). Shorter chains = more automatic restarts (more robust, slower).
    max_iter : int
        Iteration cap per fit.
    keep_fit : bool
        Also return the fitted impedance ``z_fit_real``/``z_fit_imag`` (ohm).

    Returns
    -------
    xarray.Dataset
        One variable per parameter (natural units, ``units`` attribute) and ``<name>_stderr``,
        plus ``chi2``, ``red_chi2``, ``success`` and ``n_iter``, over the non-frequency
        dimensions of ``data`` with their coordinates. Attributes ``circuit`` and ``weighting``.
    """
    circuit = spec if isinstance(spec, Circuit) else parse(spec)
    if weighting not in WEIGHTINGS:
        raise AnalysisError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    da = _as_complex(data)
    other = [d for d in da.dims if d != "frequency"]
    da = da.transpose(*other, "frequency")
    freq = np.asarray(da["frequency"].values, dtype=float)
    shape = tuple(da.sizes[d] for d in other)
    N = int(np.prod(shape)) if shape else 1
    F = freq.size
    Zall = np.asarray(da.values, dtype=complex).reshape(N, F)
    if np.any(~np.isfinite(freq)) or np.any(freq <= 0):
        raise AnalysisError("fit_many: frequencies must be finite and > 0 Hz")

    fixed = dict(fixed or {})
    free, fixed_vals, lo, hi, lo_u, hi_u, P0 = _prepare_problem(circuit, p0, bounds, fixed)
    Pn, Pf = circuit.n_params, free.size

    valid = np.isfinite(Zall) & (Zall != 0)
    Zs = np.where(valid, Zall, 1.0)
    if weighting == "modulus":
        wr = wi = np.where(valid, 1.0 / np.abs(Zs), 0.0)
    elif weighting == "unity":
        wr = wi = valid.astype(float)
    else:
        with np.errstate(divide="ignore"):
            wr = np.where(valid, 1.0 / np.abs(Zs.real), 0.0)
            wi = np.where(valid, 1.0 / np.abs(Zs.imag), 0.0)
        wr[~np.isfinite(wr)] = 0.0
        wi[~np.isfinite(wi)] = 0.0
    nvalid = valid.sum(axis=1)
    w = 2 * np.pi * freq

    out_p = np.full((N, Pn), np.nan)
    out_se = np.full((N, Pn), np.nan)
    out_chi2 = np.full(N, np.nan)
    out_ok = np.zeros(N, bool)
    out_it = np.zeros(N, int)
    U_last = np.full((N, Pf), np.nan)

    def single(i, start=None):
        m = valid[i]
        r = fit_circuit(freq[m], Zall[i, m], circuit, p0=start if start is not None else P0, bounds=bounds,
                        fixed=fixed, weighting=weighting, max_iter=max_iter)
        if np.all(np.isfinite(list(r.params.values()))):
            out_p[i] = [r.params[n] for n in circuit.param_names]
            out_se[i] = [r.stderr[n] for n in circuit.param_names]
            out_chi2[i] = r.chi2
            out_ok[i] = r.success
            out_it[i] = r.n_iter
            U_last[i] = _to_u(out_p[i][None], free, circuit.param_kinds)[0]
        return r

    L = max(1, int(chain_length))
    heads = np.arange(0, N, L)
    for h in heads:
        single(h)
    dof = np.maximum(2 * nvalid - Pf, 1)
    for k in range(1, L):
        rows = heads + k
        prev = rows - 1
        take = rows < N
        rows, prev = rows[take], prev[take]
        if rows.size == 0:
            break
        warm = np.isfinite(U_last[prev]).all(axis=1) & (nvalid[rows] * 2 > Pf)
        cold = rows[~warm & (nvalid[rows] * 2 > Pf)]
        rw, pw = rows[warm], prev[warm]
        if rw.size:
            prob = _Problem(circuit, w, Zs[rw], (wr[rw], wi[rw]), free, np.nan_to_num(fixed_vals), lo_u, hi_u)
            U, cost, n_it, conv, _, J = _lm(prob, U_last[pw].copy(), max_iter=max_iter)
            Pfull, V = prob.to_nat(U)
            Jn = J / np.where(prob.logmask, V, 1.0)[:, None, :]
            A = np.einsum("bkp,bkq->bpq", Jn, Jn)
            d = np.sqrt(np.maximum(np.einsum("bpp->bp", A), 1e-300))
            with np.errstate(all="ignore"):
                try:
                    inv = np.linalg.inv(A / (d[:, :, None] * d[:, None, :])) / (d[:, :, None] * d[:, None, :])
                except np.linalg.LinAlgError:
                    inv = np.stack([np.linalg.pinv(a) for a in A])
                s2 = cost / dof[rw]
                var = np.einsum("bpp->bp", inv) * s2[:, None]
            ok = conv & np.isfinite(cost) & np.all(np.isfinite(var) & (var >= 0), axis=1)
            out_p[rw] = Pfull
            se = np.zeros((rw.size, Pn))
            se[:, free] = np.sqrt(np.abs(var))
            out_se[rw] = se
            out_chi2[rw] = cost
            out_ok[rw] = ok
            out_it[rw] = n_it
            U_last[rw] = U
            # warm start went astray: redo from the automatic guess and keep the better fit
            red_prev = out_chi2[pw] / dof[pw]
            worse = ~ok | (cost / dof[rw] > 4.0 * red_prev)
            for i in rw[worse]:
                old = (out_p[i].copy(), out_se[i].copy(), out_chi2[i], out_ok[i], out_it[i], U_last[i].copy())
                single(i)
                if not (out_chi2[i] < old[2]) and np.isfinite(old[2]) and old[3]:
                    out_p[i], out_se[i], out_chi2[i], out_ok[i], out_it[i], U_last[i] = old
        for i in cold:
            single(i)

    coords = {d: da.coords[d] for d in da.coords if "frequency" not in da.coords[d].dims}
    dims = tuple(other)
    ds = xr.Dataset(coords=coords)
    for j, name in enumerate(circuit.param_names):
        attrs = {"units": circuit.param_units[j], "long_name": name}
        ds[name] = (dims, out_p[:, j].reshape(shape), attrs)
        ds[name + "_stderr"] = (dims, out_se[:, j].reshape(shape), {"units": circuit.param_units[j],
                                                                        "long_name": f"standard error of {name}"})
    ds["chi2"] = (dims, out_chi2.reshape(shape), {"units": "1", "long_name": f"weighted chi-square ({weighting})"})
    ds["red_chi2"] = (dims, (out_chi2 / dof).reshape(shape), {"units": "1", "long_name": "reduced chi-square"})
    ds["success"] = (dims, out_ok.reshape(shape), {"long_name": "fit converged"})
    ds["n_iter"] = (dims, out_it.reshape(shape), {"long_name": "Levenberg-Marquardt iterations"})
    if keep_fit:
        good = np.isfinite(out_p).all(axis=1)
        Zf = np.full((N, F), np.nan + 0j)
        if good.any():
            Zf[good] = circuit.evaluate(out_p[good], w, jacobian=False)[0]
        fdims = dims + ("frequency",)
        ds = ds.assign_coords(frequency=da["frequency"])
        ds["z_fit_real"] = (fdims, Zf.real.reshape(shape + (F,)), {"units": "ohm", "long_name": "Re(Z) of the fit"})
        ds["z_fit_imag"] = (fdims, Zf.imag.reshape(shape + (F,)), {"units": "ohm", "long_name": "Im(Z) of the fit"})
    ds.attrs.update(circuit=circuit.spec, weighting=weighting, chain_length=L)
    return ds
