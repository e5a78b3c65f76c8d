"""Structure-property maps: Gaussian-process regression of a per-sample property on descriptors.

A researcher has a handful of samples, each with milling descriptors (FRB, BMR, dose, rpm...)
and measured properties (ionic conductivity, activation energy, lattice parameter). This module
fits a model that predicts the property *between* the samples, with an uncertainty, so a map
shows where the next sample is worth making.

Model
-----
Gaussian-process regression (Rasmussen & Williams, *Gaussian Processes for Machine Learning*,
2006), written with numpy/scipy (no scikit-learn) so it is small, fast for the tens of samples
of a lab, and exactly documented:

* Descriptors are standardised (zero mean, unit standard deviation over the training samples;
  descriptors listed in ``log_descriptors`` are log10-transformed first, e.g. BMR). The target is
  standardised too; with ``log_y=True`` (recommended for conductivity) the model works on
  ``log10(y)``.
* Kernel (``kernel="rbf"``, default): ``k(x, x') = s_f**2 * exp(-0.5 * sum_d (x_d - x'_d)**2 /
  l_d**2)`` - a constant times an anisotropic squared-exponential (one length-scale per
  descriptor, in standardised units) - plus white noise ``s_n**2`` on the diagonal, plus the
  known measurement variances ``y_err**2`` if given. ``kernel="matern52"`` uses the Matern 5/2
  form ``s_f**2 (1 + sqrt(5) r + 5 r**2 / 3) exp(-sqrt(5) r)`` with the same anisotropic
  distance ``r``. The prior mean is the training mean (zero after standardisation).
* Hyperparameters (``s_f``, ``l_d``, ``s_n``) maximise the log marginal likelihood
  (scipy.optimize SLSQP with bounds and analytic gradients, several deterministic starts) within
  bounds that keep a model of a few samples sensible: length-scales 0.3..30 and ``s_f``
  0.05..10 (standardised units), ``s_n`` 1e-3..1. By default (``hyperprior=True``) weak
  log-normal priors are added (:data:`HYPERPRIOR`, i.e. a MAP estimate): with five samples the
  bare likelihood often explains everything as noise.
* Leave-one-out predictions use the closed form of R&W eq. 5.12 (``mu_i = y_i - [K^-1 y]_i /
  [K^-1]_ii``, ``var_i = 1 / [K^-1]_ii``), with the hyperparameters of the full fit: the usual,
  slightly optimistic, GP LOO.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy import linalg, optimize

from analysis.errors import AnalysisError

__all__ = ["KERNELS", "HYPERPRIOR", "GPModel", "LOOResult", "MonotonicityReport", "fit_property"]

KERNELS = ("rbf", "matern52")

_BOUNDS = {"sf": (0.05, 10.0), "l": (0.3, 30.0), "sn": (1e-3, 1.0)}

#: Bounded optimiser for the hyperparameters. SLSQP reaches the same optimum as L-BFGS-B here
#: and is several times faster for the handful of parameters of these models.
_OPT_METHOD = "SLSQP"


@dataclass(frozen=True)
class LOOResult:
    """Leave-one-out predictions of a :class:`GPModel` (model space: log10(y) if ``log_y``).

    Attributes
    ----------
    y : ndarray
        Observed values (model space).
    mean, std : ndarray
        LOO predictive mean and standard deviation of each sample (std includes the noise).
    residual : ndarray
        ``y - mean``.
    z : ndarray
        ``residual / std``.
    rmse : float
        Root-mean-square LOO residual (model-space units).
    fraction_within_2sigma : float
        Fraction of samples with ``|z| <= 2``.
    """

    y: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    residual: np.ndarray
    z: np.ndarray
    rmse: float
    fraction_within_2sigma: float

    def within(self, k: float = 2.0) -> np.ndarray:
        """Boolean array: is each sample within ``k`` sigma of its LOO prediction?"""
        return np.abs(self.z) <= k


@dataclass(frozen=True)
class MonotonicityReport:
    """Monotonicity of the predicted mean along one descriptor.

    Attributes
    ----------
    descriptor : str
        Descriptor scanned.
    direction : str
        "increasing", "decreasing" or "non-monotone".
    monotone : bool
        True for increasing or decreasing.
    grid : ndarray
        Descriptor values scanned (data range).
    mean : ndarray
        Predicted mean along ``grid`` (model space).
    at : dict
        Values at which the other descriptors were held.
    data_direction : str or None
        The direction of the measured data along the descriptor among samples that share the
        other descriptors' values (None if fewer than two such samples).
    """

    descriptor: str
    direction: str
    monotone: bool
    grid: np.ndarray
    mean: np.ndarray
    at: dict
    data_direction: str | None


def _direction(values: np.ndarray, tol: float = 0.0) -> str:
    d = np.diff(values)
    if d.size == 0:
        return "non-monotone"
    if np.all(d >= -tol):
        return "increasing"
    if np.all(d <= tol):
        return "decreasing"
    return "non-monotone"


def _kernel_matrix(kind: str, X1: np.ndarray, X2: np.ndarray, sf: float, ls: np.ndarray):
    D = (X1[:, None, :] - X2[None, :, :]) / ls
    r2 = np.einsum("ijk,ijk->ij", D, D)
    if kind == "rbf":
        return sf**2 * np.exp(-0.5 * r2)
    r = np.sqrt(np.maximum(r2, 0.0))
    s5 = math.sqrt(5.0) * r
    return sf**2 * (1.0 + s5 + 5.0 * r2 / 3.0) * np.exp(-s5)


class GPModel:
    """Fitted Gaussian-process model of one property (see the module docstring).

    Use :func:`fit_property` to create one. Attributes ``descriptors`` (names), ``log_y``,
    ``kernel``, ``hyperparameters`` (dict, standardised units) and ``log_marginal_likelihood``
    describe the fit; ``X_train``/``y_train`` hold the data in original units (y in model space).
    """

    def __init__(self, names, X, y, y_var, kernel, log_y, log_descriptors, y_name, hyper, lml):
        self.descriptors: tuple[str, ...] = tuple(names)
        self.kernel = kernel
        self.log_y = bool(log_y)
        self.log_descriptors = tuple(log_descriptors)
        self.y_name = y_name
        self.X_train = X  # original units
        self.y_train = y  # model space (log10 if log_y)
        self._y_var = y_var  # model-space measurement variance
        Xt = self._transform(X)
        self._x_mean = Xt.mean(axis=0)
        sd = Xt.std(axis=0)
        self._x_std = np.where(sd > 0, sd, 1.0)
        self._y_mean = float(y.mean())
        ysd = float(y.std())
        self._y_std = ysd if ysd > 0 else 1.0
        self._Z = (Xt - self._x_mean) / self._x_std
        self._t = (y - self._y_mean) / self._y_std
        self._set_hyper(hyper)
        self.log_marginal_likelihood = lml
        self.hyperprior = False

    # ---------------------------------------------------------------- internals
    def _transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        for i, n in enumerate(self.descriptors):
            if n in self.log_descriptors:
                if np.any(X[:, i] <= 0):
                    raise AnalysisError(f"descriptor {n!r} is log-transformed and must be positive")
                X[:, i] = np.log10(X[:, i])
        return X

    def _set_hyper(self, theta: np.ndarray) -> None:
        self._theta = np.asarray(theta, float)
        sf, ls, sn = _unpack(self._theta)
        K = _kernel_matrix(self.kernel, self._Z, self._Z, sf, ls)
        K[np.diag_indices_from(K)] += sn**2 + self._y_var / self._y_std**2 + 1e-10
        self._L = linalg.cho_factor(K, lower=True)
        self._alpha = linalg.cho_solve(self._L, self._t)
        self._K = K
        self.hyperparameters = {
            "signal_std": float(sf),
            "length_scales": {n: float(v) for n, v in zip(self.descriptors, ls)},
            "noise_std": float(sn),
            "units": "standardised descriptors and target",
        }

    def _as_matrix(self, X) -> np.ndarray:
        if isinstance(X, Mapping) or isinstance(X, xr.Dataset):
            cols = []
            for n in self.descriptors:
                if n not in X:
                    raise AnalysisError(f"prediction input lacks descriptor {n!r}")
                cols.append(np.asarray(X[n], dtype=float).ravel())
            lens = {c.size for c in cols}
            if len(lens) != 1:
                raise AnalysisError("prediction descriptors have different lengths")
            M = np.column_stack(cols)
        else:
            M = np.asarray(X, dtype=float)
            if M.ndim == 1:
                M = M.reshape(-1, len(self.descriptors)) if len(self.descriptors) > 1 else M[:, None]
            if M.ndim != 2 or M.shape[1] != len(self.descriptors):
                raise AnalysisError(
                    f"X must have {len(self.descriptors)} columns ({', '.join(self.descriptors)}), "
                    f"got shape {M.shape}")
        if not np.all(np.isfinite(M)):
            raise AnalysisError("prediction descriptors contain NaN or infinite values")
        return M

    # ------------------------------------------------------------------- public
    def predict(self, X, *, include_noise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation.

        Parameters
        ----------
        X : array_like of shape (n, n_descriptors), or mapping name -> array
            Descriptor values in original units (columns in the order of ``descriptors``).
        include_noise : bool, default False
            Add the fitted white-noise variance (the spread of a *new measurement*) to the
            latent-function variance.

        Returns
        -------
        mean, std : ndarray
            In model space: log10(y) if ``log_y`` else y units.
        """
        M = self._as_matrix(X)
        Z = (self._transform(M) - self._x_mean) / self._x_std
        sf, ls, sn = _unpack(self._theta)
        Ks = _kernel_matrix(self.kernel, Z, self._Z, sf, ls)
        mu = Ks @ self._alpha
        v = linalg.solve_triangular(self._L[0], Ks.T, lower=True)
        var = sf**2 - np.einsum("ij,ij->j", v, v)
        if include_noise:
            var = var + sn**2
        var = np.maximum(var, 0.0)
        return mu * self._y_std + self._y_mean, np.sqrt(var) * self._y_std

    def predict_interval(self, X, k: float = 2.0, **kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Central value and ``k``-sigma band in the property's own units.

        Parameters
        ----------
        X : array_like or mapping
            As :meth:`predict`.
        k : float, default 2
            Width of the band in standard deviations.
        **kw
            Passed to :meth:`predict`.

        Returns
        -------
        centre, lower, upper : ndarray
            ``10**mean`` (the median) and ``10**(mean -/+ k std)`` if ``log_y``, otherwise
            ``mean`` and ``mean -/+ k std``.
        """
        mu, sd = self.predict(X, **kw)
        if self.log_y:
            return 10**mu, 10 ** (mu - k * sd), 10 ** (mu + k * sd)
        return mu, mu - k * sd, mu + k * sd

    def loo(self) -> LOOResult:
        """Closed-form leave-one-out predictions (R&W eq. 5.12), model space.

        Returns
        -------
        LOOResult
            LOO mean, std (including noise), residuals, z-scores, RMSE, fraction within 2 sigma.
        """
        Kinv = linalg.cho_solve(self._L, np.eye(self._t.size))
        d = np.diag(Kinv)
        mu = self._t - self._alpha / d
        sd = np.sqrt(1.0 / d)
        mean = mu * self._y_std + self._y_mean
        std = sd * self._y_std
        res = self.y_train - mean
        z = res / std
        return LOOResult(y=self.y_train.copy(), mean=mean, std=std, residual=res, z=z,
                         rmse=float(np.sqrt(np.mean(res**2))),
                         fraction_within_2sigma=float(np.mean(np.abs(z) <= 2.0)))

    def _fill(self, at: Mapping[str, float] | None) -> dict:
        at = dict(at or {})
        unknown = set(at) - set(self.descriptors)
        if unknown:
            raise AnalysisError(f"unknown descriptor(s) {sorted(unknown)}; model has {self.descriptors}")
        for i, n in enumerate(self.descriptors):
            at.setdefault(n, float(np.median(self.X_train[:, i])))
        return at

    def predict_grid(self, *, at: Mapping[str, float] | None = None, k: float = 2.0,
                     **axes: Sequence[float]) -> xr.Dataset:
        """Predictions over a grid of descriptor values, for maps.

        Parameters
        ----------
        at : mapping, optional
            Values of the descriptors that are not grid axes (default: training median).
        k : float, default 2
            Width of the ``lower``/``upper`` band in standard deviations.
        **axes : sequence of float
            One 1-D array of values per grid descriptor, e.g. ``frb_pct=np.linspace(5, 20, 50),
            bmr=np.geomspace(20, 80, 40)``.

        Returns
        -------
        xarray.Dataset
            Dimensions = the axes in the given order; variables ``mean`` and ``std`` (model
            space), ``value``, ``lower``, ``upper`` (property units; 10** of the log model if
            ``log_y``). Attributes describe the model, kernel, hyperparameters and LOO RMSE.
        """
        if not axes:
            raise AnalysisError("give at least one grid axis, e.g. frb_pct=[...]")
        for n in axes:
            if n not in self.descriptors:
                raise AnalysisError(f"unknown grid axis {n!r}; model descriptors: {self.descriptors}")
        fixed = self._fill({k_: v for k_, v in (at or {}).items() if k_ not in axes})
        grids = [np.asarray(v, dtype=float).ravel() for v in axes.values()]
        if any(g.size == 0 for g in grids):
            raise AnalysisError("grid axes must not be empty")
        mesh = np.meshgrid(*grids, indexing="ij")
        cols = {}
        for n in self.descriptors:
            if n in axes:
                cols[n] = mesh[list(axes).index(n)].ravel()
            else:
                cols[n] = np.full(mesh[0].size, fixed[n])
        mu, sd = self.predict(cols)
        shape = mesh[0].shape
        dims = list(axes)
        centre, lo, hi = (10**mu, 10 ** (mu - k * sd), 10 ** (mu + k * sd)) if self.log_y else (
            mu, mu - k * sd, mu + k * sd)
        space = f"log10({self.y_name})" if self.log_y else self.y_name
        ds = xr.Dataset(
            {
                "mean": (dims, mu.reshape(shape), {"long_name": f"predicted {space}"}),
                "std": (dims, sd.reshape(shape), {"long_name": f"std of {space}"}),
                "value": (dims, centre.reshape(shape), {"long_name": f"predicted {self.y_name} (model estimate)"}),
                "lower": (dims, lo.reshape(shape), {"long_name": f"{self.y_name} - {k:g} sigma"}),
                "upper": (dims, hi.reshape(shape), {"long_name": f"{self.y_name} + {k:g} sigma"}),
            },
            coords={n: (n, g) for n, g in zip(dims, grids)},
            attrs={
                "model": "Gaussian-process regression (model estimate)",
                "kernel": self.kernel,
                "log_y": int(self.log_y),
                "property": self.y_name,
                "fixed": str({n: fixed[n] for n in self.descriptors if n not in axes}),
                "hyperparameters": str(self.hyperparameters),
                "loo_rmse": self.loo().rmse,
            },
        )
        return ds

    def monotonicity(self, descriptor: str, *, at: Mapping[str, float] | None = None,
                     n: int = 64, tol: float | None = None) -> MonotonicityReport:
        """Is the predicted mean monotone along ``descriptor`` over the data range?

        Parameters
        ----------
        descriptor : str
            Descriptor to scan (from its smallest to its largest training value).
        at : mapping, optional
            Values of the other descriptors (default: training median).
        n : int, default 64
            Number of grid points.
        tol : float, optional
            Allowed step against the trend (model-space units; default 5 % of the smallest
            predictive std along the scan: wiggles far inside the uncertainty are ignored).

        Returns
        -------
        MonotonicityReport
            Direction of the prediction and of the data (samples sharing the other values).
        """
        if descriptor not in self.descriptors:
            raise AnalysisError(f"unknown descriptor {descriptor!r}; model has {self.descriptors}")
        i = self.descriptors.index(descriptor)
        fixed = self._fill({k_: v for k_, v in (at or {}).items() if k_ != descriptor})
        lo, hi = float(self.X_train[:, i].min()), float(self.X_train[:, i].max())
        if descriptor in self.log_descriptors:
            grid = np.geomspace(lo, hi, n)
        else:
            grid = np.linspace(lo, hi, n)
        cols = {d: (grid if d == descriptor else np.full(n, fixed[d])) for d in self.descriptors}
        mu, sd = self.predict(cols)
        # wiggles far below the model's own uncertainty are not a change of direction
        tol = 0.05 * float(np.min(sd)) + 1e-9 * self._y_std if tol is None else tol
        direction = _direction(mu, tol)
        # data along the descriptor among samples sharing the other descriptors' fixed values
        others = [j for j in range(len(self.descriptors)) if j != i]
        sel = np.ones(self.X_train.shape[0], bool)
        for j in others:
            sel &= np.isclose(self.X_train[:, j], fixed[self.descriptors[j]])
        data_dir = None
        xs = self.X_train[sel, i]
        ux = np.unique(xs)
        if ux.size >= 2:  # replicates at the same value are averaged
            data_dir = _direction(np.array([self.y_train[sel][xs == u].mean() for u in ux]))
        return MonotonicityReport(descriptor=descriptor, direction=direction,
                                  monotone=direction != "non-monotone", grid=grid, mean=mu,
                                  at={d: fixed[d] for d in self.descriptors if d != descriptor},
                                  data_direction=data_dir)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return (f"GPModel({self.y_name} ~ {', '.join(self.descriptors)}; kernel={self.kernel}, "
                f"log_y={self.log_y}, n={self.y_train.size})")


def _unpack(theta: np.ndarray):
    e = np.exp(theta)
    return e[0], e[1:-1], e[-1]


#: Weak log-normal hyperpriors (median, sigma of the natural log) used when ``hyperprior=True``.
HYPERPRIOR = {"signal_std": (1.0, 1.0), "length_scale": (1.0, 1.0), "noise_std": (0.1, 1.5)}


def _neg_log_prior(theta):
    """Negative log of the weak log-normal hyperprior and its gradient (log parameters)."""
    meds = np.log(np.r_[HYPERPRIOR["signal_std"][0],
                        np.full(theta.size - 2, HYPERPRIOR["length_scale"][0]),
                        HYPERPRIOR["noise_std"][0]])
    sig = np.r_[HYPERPRIOR["signal_std"][1], np.full(theta.size - 2, HYPERPRIOR["length_scale"][1]),
                HYPERPRIOR["noise_std"][1]]
    u = (theta - meds) / sig
    return float(0.5 * u @ u), u / sig


def _neg_lml(theta, kind, Z, t, extra_var, prior=False):
    """Negative log marginal likelihood (plus prior) and its analytic gradient."""
    sf, ls, sn = _unpack(theta)
    D2 = ((Z[:, None, :] - Z[None, :, :]) / ls) ** 2  # (n, n, d)
    r2 = D2.sum(axis=2)
    if kind == "rbf":
        Kf = sf**2 * np.exp(-0.5 * r2)
        dl = Kf[:, :, None] * D2
    else:
        r = np.sqrt(np.maximum(r2, 0.0))
        e = np.exp(-math.sqrt(5.0) * r)
        Kf = sf**2 * (1.0 + math.sqrt(5.0) * r + 5.0 * r2 / 3.0) * e
        dl = (sf**2 * 5.0 / 3.0 * (1.0 + math.sqrt(5.0) * r) * e)[:, :, None] * D2
    K = Kf.copy()
    K[np.diag_indices_from(K)] += sn**2 + extra_var + 1e-10
    try:
        c = linalg.cho_factor(K, lower=True)
    except linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    a = linalg.cho_solve(c, t)
    f = float(0.5 * t @ a + np.log(np.diag(c[0])).sum() + 0.5 * t.size * math.log(2 * math.pi))
    W = linalg.cho_solve(c, np.eye(t.size)) - np.outer(a, a)  # K^-1 - a a^T
    g = np.empty_like(theta)
    g[0] = 0.5 * np.sum(W * 2.0 * Kf)
    g[1:-1] = 0.5 * np.einsum("ij,ijk->k", W, dl)
    g[-1] = 0.5 * np.trace(W) * 2.0 * sn**2
    if prior:
        fp, gp = _neg_log_prior(theta)
        f, g = f + fp, g + gp
    return f, g


def _descriptor_table(descriptors) -> tuple[list[str], np.ndarray]:
    if isinstance(descriptors, xr.Dataset):
        names = list(descriptors.data_vars) or [c for c in descriptors.coords if c not in descriptors.dims]
        items = {n: descriptors[n].values for n in names}
    elif isinstance(descriptors, Mapping):
        items = {str(k): np.asarray(v) for k, v in descriptors.items()}
    else:
        raise AnalysisError("descriptors must be an xarray Dataset or a mapping name -> array")
    if not items:
        raise AnalysisError("descriptors is empty")
    cols = []
    for n, v in items.items():
        try:
            a = np.asarray(v, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise AnalysisError(f"descriptor {n!r} is not numeric") from exc
        if not np.all(np.isfinite(a)):
            raise AnalysisError(f"descriptor {n!r} contains NaN or infinite values")
        cols.append(a)
    if len({c.size for c in cols}) != 1:
        raise AnalysisError("descriptors have different lengths: " +
                            ", ".join(f"{n}={c.size}" for n, c in zip(items, cols)))
    return list(items), np.column_stack(cols)


def fit_property(descriptors, y, y_err=None, kernel: str = "rbf", *, log_y: bool = False,
                 log_descriptors: Sequence[str] = (), y_name: str = "y",
                 hyperprior: bool = True, n_restarts: int = 4) -> GPModel:
    """Fit a Gaussian-process model of a per-sample property against descriptors.

    Parameters
    ----------
    descriptors : xarray.Dataset or mapping of str -> array_like
        One value per sample for each descriptor (e.g. ``{"frb_pct": [...], "bmr": [...]}``, or
        a Dataset whose data variables are the descriptors along a ``sample`` dimension).
    y : array_like
        Property of each sample (e.g. conductivity in mS/cm, Ea in eV).
    y_err : array_like, optional
        One-sigma measurement uncertainty of ``y`` (same units); added to the diagonal. With
        ``log_y`` it is converted to log10 space as ``y_err / (y ln 10)``.
    kernel : {"rbf", "matern52"}, default "rbf"
        Covariance function (module docstring).
    log_y : bool, default False
        Model ``log10(y)`` (use for conductivities; y must be positive).
    log_descriptors : sequence of str, default ()
        Descriptors to log10-transform before standardising (ratios such as BMR).
    y_name : str, default "y"
        Name of the property, for labels.
    hyperprior : bool, default True
        Maximise the log marginal likelihood plus weak log-normal hyperpriors
        (:data:`HYPERPRIOR`: length-scales and signal std around 1, noise std around 0.1 in
        standardised units) instead of the bare likelihood. With the five to ten samples of a
        milling study the bare likelihood often prefers "everything is noise" (a flat model);
        the weak prior keeps the fit informative and barely matters with more data.
    n_restarts : int, default 4
        Deterministic optimiser starts (length-scales 0.5, 1, 2, 4, 8, 16 standardised units,
        each with noise std 0.1 and 0.5 unless ``y_err`` is given).

    Returns
    -------
    GPModel
        With ``predict``, ``predict_interval``, ``loo``, ``predict_grid`` and ``monotonicity``.

    Raises
    ------
    AnalysisError
        Fewer than 3 samples, lengths that differ, NaN, non-positive y with ``log_y``, unknown
        kernel or log descriptor.
    """
    if kernel not in KERNELS:
        raise AnalysisError(f"unknown kernel {kernel!r}; choose one of {KERNELS}")
    names, X = _descriptor_table(descriptors)
    for n in log_descriptors:
        if n not in names:
            raise AnalysisError(f"log descriptor {n!r} is not among the descriptors {names}")
    try:
        yy = np.asarray(y, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise AnalysisError("y must be numeric") from exc
    if yy.size != X.shape[0]:
        raise AnalysisError(f"y has {yy.size} values but descriptors have {X.shape[0]} samples")
    if yy.size < 3:
        raise AnalysisError(f"need at least 3 samples to fit a property model, got {yy.size}")
    if not np.all(np.isfinite(yy)):
        raise AnalysisError("y contains NaN or infinite values")
    if y_err is None:
        var = np.zeros_like(yy)
    else:
        e = np.asarray(y_err, dtype=float).ravel()
        if e.size == 1:
            e = np.full_like(yy, float(e[0]))
        if e.size != yy.size or not np.all(np.isfinite(e)) or np.any(e < 0):
            raise AnalysisError("y_err must be finite, non-negative and one value per sample")
        var = e**2
    if log_y:
        if np.any(yy <= 0):
            raise AnalysisError("log_y needs a strictly positive property (e.g. conductivity)")
        var = var / (yy * math.log(10)) ** 2
        yy = np.log10(yy)
    # standardisation (as done in GPModel) for the optimiser
    model0 = GPModel(names, X, yy, var, kernel, log_y, log_descriptors, y_name,
                     np.zeros(len(names) + 2), float("nan"))
    Z, t = model0._Z, model0._t
    extra = var / model0._y_std**2
    d = len(names)
    bounds = [tuple(np.log(_BOUNDS["sf"]))] + [tuple(np.log(_BOUNDS["l"]))] * d + [
        tuple(np.log(_BOUNDS["sn"]))]
    best = None
    starts = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0][: max(1, n_restarts)]
    for l0 in starts:
        for sn0 in (0.1,) if y_err is not None else (0.1, 0.5):
            x0 = np.log(np.r_[1.0, np.full(d, l0), sn0])
            res = optimize.minimize(_neg_lml, x0, args=(kernel, Z, t, extra, hyperprior),
                                    jac=True, method=_OPT_METHOD, bounds=bounds)
            if best is None or res.fun < best.fun:
                best = res
    model0._set_hyper(best.x)
    model0.log_marginal_likelihood = -_neg_lml(best.x, kernel, Z, t, extra)[0]
    model0.hyperprior = bool(hyperprior)
    return model0
