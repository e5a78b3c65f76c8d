"""``drt_many``: DRTs of many spectra (in situ series, temperature series) as one Dataset.

Spectra that share a frequency grid share every matrix: the kernel, penalty and GSVD are
built once, GCV/mGCV scores of all spectra are one matrix product (lambda on a 50-per-decade
grid), and the spectra that share a lambda value share one regularised normal matrix, whose
non-negative QPs are solved together (:func:`analysis.drt.solve.nnqp_batch`).
"""
from __future__ import annotations

import numpy as np

from analysis.drt import lam as _lam
from analysis.drt.compute import DATA_MODES, _check_lam, _design_names, _rhs, compute_drt
from analysis.drt.core import DRTError, discretise, rbf_matrix
from analysis.drt.solve import nnqp_batch


def _as_complex(data, freq_dim):
    import xarray as xr

    if isinstance(data, xr.Dataset):
        if "z_real" not in data or "z_imag" not in data:
            raise DRTError("drt_many: the dataset needs variables 'z_real' and 'z_imag' (ohm)")
        z = data["z_real"] + 1j * data["z_imag"]
    elif isinstance(data, xr.DataArray):
        if not np.iscomplexobj(data.values):
            raise DRTError("drt_many: a DataArray input must hold the complex impedance (ohm)")
        z = data
    else:
        raise DRTError(f"drt_many: expected an xarray Dataset or complex DataArray, got {type(data).__name__}")
    if freq_dim not in z.dims:
        raise DRTError(f"drt_many: no {freq_dim!r} dimension in the input (dims {tuple(z.dims)})")
    if freq_dim not in z.coords:
        raise DRTError(f"drt_many: the {freq_dim!r} dimension needs a coordinate of frequencies (Hz)")
    return z


def _solve_block(A, P, AtA, p0, B, lams, signed):
    """Solve the non-negative problems of the columns of B (n, S) for lambdas (S,); X (p0+N, S)."""
    n_unk = A.shape[1]
    G = (A.T @ B).T
    C = np.ones(n_unk, bool)
    if signed:
        C[p0:] = False
    Pf = np.zeros((n_unk, n_unk))
    Pf[p0:, p0:] = P
    X = np.empty((lams.size, n_unk))
    ulam, inv = np.unique(lams, return_inverse=True)
    for k, lam in enumerate(ulam):  # spectra sharing a lambda share the matrix
        idx = np.flatnonzero(inv == k)
        X[idx] = nnqp_batch(AtA + lam * Pf, G[idx], C)
    return X.T


def drt_many(data, lam="auto", lam_method="gcv", order=1, rbf="gaussian", shape_coeff=0.5,
             inductance=False, data_part="complex", *, signed=False, capacitance=False, freq_dim="frequency",
             parallel=False, chunk_size=500, lam_bounds=_lam.LAM_BOUNDS):
    """DRT of every spectrum of an xarray object, as a map-ready Dataset (..., tau).

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        An ``eis`` / ``insitu_eis`` / ``pellet_eis`` dataset (``z_real``, ``z_imag`` in ohm)
        or a complex impedance DataArray, with a ``frequency`` dimension (Hz) and any others
        (cycle, point, temperature, sample...).
    lam : "auto" or float, default "auto"
        Regularisation parameter, or automatic per spectrum.
    lam_method : {"gcv", "mgcv", "lcurve", "re-im"}, default "gcv"
        Criterion for ``lam="auto"``; GCV and mGCV are vectorised over spectra.
    order, rbf, shape_coeff, inductance, signed, capacitance
        As in :func:`compute_drt`.
    data_part : {"complex", "real", "imag"}, default "complex"
        Which part of Z is fitted (``data`` of :func:`compute_drt`).
    freq_dim : str, default "frequency"
        Name of the frequency dimension.
    parallel : False or "dask", default False
        With "dask", blocks of ``chunk_size`` spectra are solved as dask tasks (threaded
        scheduler unless another is configured).
    chunk_size : int, default 500
        Spectra per dask task.
    lam_bounds : tuple of float
        Search range for automatic lambda.

    Returns
    -------
    xarray.Dataset
        ``gamma`` (ohm, dims (..., tau)), ``R_inf`` (ohm), ``L`` (H), ``C`` (F), ``lam`` over the other
        dimensions, with their coordinates (voltage, soc... when present) kept; spectra with
        missing values are computed on their valid points, all-NaN spectra give NaN. Plot
        ``gamma`` against log10(tau) and a cycle/time/voltage coordinate for a 2-D DRT map.

    Raises
    ------
    DRTError
        For an input without frequency dimension or impedance, or invalid options.
    """
    import xarray as xr

    if data_part not in DATA_MODES:
        raise DRTError(f"data_part must be one of {DATA_MODES}, got {data_part!r}")
    lam_value = _check_lam(lam)
    if lam_value is None and lam_method not in _lam.LAM_METHODS:
        raise DRTError(f"lam_method must be one of {_lam.LAM_METHODS}, got {lam_method!r}")
    if parallel not in (False, None, "dask"):
        raise DRTError(f"parallel must be False or 'dask', got {parallel!r}")
    z = _as_complex(data, freq_dim)
    other = [d for d in z.dims if d != freq_dim]
    z = z.transpose(*other, freq_dim)
    f_all = np.asarray(z[freq_dim].values, dtype=float)
    from analysis.drt.core import validate_spectrum

    validate_spectrum(f_all, np.ones(f_all.size, complex))
    shape = tuple(z.sizes[d] for d in other)
    Zs = np.asarray(z.values, dtype=complex).reshape(-1, f_all.size)
    S = Zs.shape[0]
    order_idx = np.argsort(-f_all, kind="stable")
    fs = f_all[order_idx]
    Zs = Zs[:, order_idx]
    disc = discretise(fs, shape_coeff, rbf, order)
    if capacitance and data_part == "real":
        capacitance = False
    A, AtA, p0 = _lam.design_for(disc, shape_coeff, rbf, order, data_part, inductance, capacitance)
    sel = None
    if lam_value is None:
        sel = _lam.selector_for(disc, shape_coeff, rbf, order, data_part, inductance, capacitance)[0]
    ok = np.all(np.isfinite(Zs), axis=1)
    idx_ok = np.flatnonzero(ok)
    B = np.stack([_rhs(Zs[j], data_part) for j in idx_ok], axis=1) if idx_ok.size else np.zeros((A.shape[0], 0))
    # lambda per spectrum
    if lam_value is not None:
        lams = np.full(idx_ok.size, lam_value)
    elif lam_method in ("gcv", "mgcv"):
        lams = _lam.choose_many(lam_method, sel, B, bounds=lam_bounds) if idx_ok.size else np.zeros(0)
    else:
        lams = np.empty(idx_ok.size)
        if lam_method == "re-im":
            sel_re, _, _ = _lam.selector_for(disc, shape_coeff, rbf, order, "real", False)
            sel_im, _, _ = _lam.selector_for(disc, shape_coeff, rbf, order, "imag", inductance, capacitance)
        for k, j in enumerate(idx_ok):
            reim = None
            if lam_method == "re-im":
                reim = (sel_re, sel_im, Zs[j].real, Zs[j].imag, disc.A_re, disc.A_im, 2 * np.pi * fs,
                        inductance, capacitance)
            lams[k] = _lam.choose(lam_method, sel, B[:, k], bounds=lam_bounds, reim=reim)[0]
    # solve
    P = np.asarray(disc.P)
    if parallel == "dask" and idx_ok.size > chunk_size:
        import dask

        tasks = [
            dask.delayed(_solve_block)(A, P, AtA, p0, B[:, a:a + chunk_size], lams[a:a + chunk_size], signed)
            for a in range(0, idx_ok.size, chunk_size)
        ]
        X = np.concatenate(dask.compute(*tasks), axis=1)
    else:
        X = _solve_block(A, P, AtA, p0, B, lams, signed) if idx_ok.size else np.zeros((A.shape[1], 0))
    n_t = disc.tau_fine.size
    gamma = np.full((S, n_t), np.nan)
    R_inf = np.full(S, np.nan)
    L = np.full(S, np.nan)
    lam_out = np.full(S, np.nan)
    gamma[idx_ok] = (disc.B_fine @ X[p0:]).T
    names = _design_names(data_part, inductance, capacitance)
    R_inf[idx_ok] = X[names.index("R_inf")] if "R_inf" in names else 0.0
    L[idx_ok] = X[names.index("L")] if "L" in names else 0.0
    Cap = np.full(S, np.nan)
    with np.errstate(divide="ignore"):
        Cap[idx_ok] = 1.0 / X[names.index("Cinv")] if "Cinv" in names else np.inf
    lam_out[idx_ok] = lams
    # spectra with some missing points: their own grid, output on the common tau grid
    for j in np.flatnonzero(~ok):
        good = np.isfinite(Zs[j])
        if good.sum() < 5:
            continue
        r = compute_drt(fs[good], Zs[j][good], lam=lam, lam_method=lam_method, order=order, rbf=rbf,
                        shape_coeff=shape_coeff, inductance=inductance, data=data_part, signed=signed,
                        capacitance=capacitance, kk=False, lam_bounds=lam_bounds)
        gamma[j] = rbf_matrix(disc.tau_fine, r.tau_basis, r.eps) @ r.x
        R_inf[j], L[j], Cap[j], lam_out[j] = r.R_inf, r.L, r.C, r.lam
    coords = {k: v for k, v in z.coords.items() if freq_dim not in v.dims}
    coords["tau"] = ("tau", np.array(disc.tau_fine), {"units": "s", "long_name": "relaxation time"})
    ds = xr.Dataset(
        {
            "gamma": ((*other, "tau"), gamma.reshape(*shape, n_t),
                      {"units": "ohm", "long_name": "DRT gamma(ln tau)"}),
            "R_inf": (tuple(other), R_inf.reshape(shape), {"units": "ohm", "long_name": "high-frequency resistance"}),
            "L": (tuple(other), L.reshape(shape), {"units": "H", "long_name": "series inductance"}),
            "C": (tuple(other), Cap.reshape(shape), {"units": "F", "long_name": "series capacitance (inf: none)"}),
            "lam": (tuple(other), lam_out.reshape(shape), {"units": "1", "long_name": "regularisation parameter"}),
        },
        coords=coords,
        attrs={
            "lam_method": lam_method if lam_value is None else "fixed",
            "order": order, "rbf": rbf, "shape_coeff": shape_coeff,
            "inductance": int(bool(inductance)), "capacitance": int(bool(capacitance)),
            "data_part": data_part, "signed": int(bool(signed)),
        },
    )
    if hasattr(data, "attrs") and "source_file" in data.attrs:
        ds.attrs["source_file"] = data.attrs["source_file"]
    return ds
