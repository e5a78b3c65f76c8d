"""Shared helpers of the ``fit`` and ``kk`` commands: read a file into spectra."""
from __future__ import annotations

import numpy as np

from analysis.errors import AnalysisError


def load_spectra(path: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Read ``path`` into a list of ``(label, freq_Hz, Z_ohm)`` spectra.

    Uses :func:`analysis.io.read` (every supported instrument format); falls back to
    ``numpy.loadtxt`` for plain 2-3 column text (f, Z', Z'') when the readers are absent.
    """
    try:
        from analysis import io
    except ImportError:  # pragma: no cover - readers not installed
        io = None
    if io is not None:
        ds = io.read(path, "eis")
        z = ds["z_real"] + 1j * ds["z_imag"]
        other = [d for d in z.dims if d != "frequency"]
        f = np.asarray(ds["frequency"].values, dtype=float)
        if not other:
            return [("", f, np.asarray(z.values))]
        zz = z.transpose(*other, "frequency").stack(_s=other)
        out = []
        for k in range(zz.sizes["_s"]):
            sel = zz.isel(_s=k)
            lab = ", ".join(f"{d}={sel[d].values.item()}" for d in other)
            out.append((lab, f, np.asarray(sel.values)))
        return out
    try:  # pragma: no cover - fallback
        arr = np.loadtxt(path, delimiter="," if str(path).endswith(".csv") else None, ndmin=2)
    except ValueError as exc:  # pragma: no cover
        raise AnalysisError(f"{path}: cannot read as numeric columns f, Z', Z'' ({exc})") from None
    if arr.shape[1] < 3:  # pragma: no cover
        raise AnalysisError(f"{path}: expected 3 columns f, Z', Z'', found {arr.shape[1]}")
    return [("", arr[:, 0], arr[:, 1] + 1j * arr[:, 2])]  # pragma: no cover
