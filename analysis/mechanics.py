"""Elastic moduli of an isotropic pellet from ultrasonic sound velocities (pulse-echo).

For an isotropic solid of density rho with longitudinal and shear velocities V_L and V_S:

* shear modulus ``G = rho * Vs**2``;
* Young's modulus ``E = rho * Vs**2 * (3*VL**2 - 4*Vs**2) / (VL**2 - Vs**2)``;
* bulk modulus ``B = rho * (VL**2 - 4/3 * Vs**2)``;
* Poisson's ratio ``nu = (VL**2 - 2*Vs**2) / (2*(VL**2 - Vs**2))`` (dimensionless, no rho).

They satisfy ``E = 2G(1+nu)`` and ``B = E / (3(1-2nu))``. Note that the supplementary text of
study S3 prints two of these wrongly (nu multiplied by rho, and B divided by
``VL**2 - Vs**2``); the forms above are the textbook ones (e.g. ASTM E494).

A physical isotropic solid needs ``B > 0`` and ``-1 < nu < 0.5``, i.e.
``VL > sqrt(4/3) * Vs``; anything else is a measurement error (swapped transducers, wrong
thickness, a wave mode misidentified) and is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.errors import AnalysisError

__all__ = ["ElasticModuli", "elastic_moduli", "velocities_from_moduli"]


@dataclass(frozen=True)
class ElasticModuli:
    """Isotropic elastic constants (scalars, or arrays of the broadcast input shape).

    Attributes
    ----------
    G : float or ndarray
        Shear modulus, Pa.
    E : float or ndarray
        Young's modulus, Pa.
    B : float or ndarray
        Bulk modulus, Pa.
    nu : float or ndarray
        Poisson's ratio (dimensionless).
    density_kg_m3, v_longitudinal_m_s, v_shear_m_s : float or ndarray
        The inputs.
    """

    G: Any
    E: Any
    B: Any
    nu: Any
    density_kg_m3: Any
    v_longitudinal_m_s: Any
    v_shear_m_s: Any

    @property
    def pugh_ratio(self):
        """Pugh's ratio B/G (> ~1.75 suggests ductile behaviour)."""
        return self.B / self.G

    def as_dict(self, unit: str = "Pa") -> dict:
        """Moduli as a dictionary; ``unit`` "Pa" or "GPa" for G, E, B."""
        scale = {"Pa": 1.0, "GPa": 1e-9}.get(unit)
        if scale is None:
            raise AnalysisError(f"unit must be 'Pa' or 'GPa', got {unit!r}")

        def conv(v):
            v = np.asarray(v)
            return v.item() if v.ndim == 0 else v.tolist()

        return {
            f"G_{unit}": conv(self.G * scale), f"E_{unit}": conv(self.E * scale),
            f"B_{unit}": conv(self.B * scale), "nu": conv(self.nu),
            "pugh_ratio": conv(self.pugh_ratio),
        }


def _arr(value, name):
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} must be a number or array of numbers, got {value!r}") from exc
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise AnalysisError(f"{name} must be finite numbers, got {value!r}")
    if np.any(a <= 0):
        raise AnalysisError(f"{name} must be positive, got {value!r}")
    return a


def _out(a):
    a = np.asarray(a)
    return float(a) if a.ndim == 0 else a


def elastic_moduli(density_kg_m3, v_longitudinal_m_s, v_shear_m_s) -> ElasticModuli:
    """Elastic moduli of an isotropic solid from its density and sound velocities.

    Parameters
    ----------
    density_kg_m3 : float or array_like
        Apparent (pellet) density, kg/m3 (1.64 g/cm3 = 1640 kg/m3).
    v_longitudinal_m_s : float or array_like
        Longitudinal wave velocity V_L, m/s.
    v_shear_m_s : float or array_like
        Shear (transverse) wave velocity V_S, m/s.

    Returns
    -------
    ElasticModuli
        G, E, B in Pa and nu. Example: rho 1640 kg/m3, Vs 2271 m/s, VL 4249 m/s gives
        G 8.46 GPa, nu 0.30, E 22.0 GPa, B 18.3 GPa.

    Raises
    ------
    AnalysisError
        Non-positive or non-finite inputs, or ``VL <= sqrt(4/3) * Vs`` (negative bulk modulus,
        Poisson's ratio <= -1: not a physical isotropic solid; check that the two velocities
        are not swapped).
    """
    rho = _arr(density_kg_m3, "density_kg_m3")
    vl = _arr(v_longitudinal_m_s, "v_longitudinal_m_s")
    vs = _arr(v_shear_m_s, "v_shear_m_s")
    try:
        rho, vl, vs = np.broadcast_arrays(rho, vl, vs)
    except ValueError as exc:
        raise AnalysisError(f"density and velocities have incompatible shapes: {exc}") from exc
    vl2, vs2 = vl**2, vs**2
    bad = vl2 <= 4.0 / 3.0 * vs2
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise AnalysisError(
            f"v_longitudinal_m_s {vl.ravel()[i]:g} m/s must exceed sqrt(4/3) x v_shear_m_s "
            f"({np.sqrt(4 / 3) * vs.ravel()[i]:g} m/s): otherwise the bulk modulus is negative "
            "and Poisson's ratio <= -1 (are the velocities swapped?)"
        )
    G = rho * vs2
    E = rho * vs2 * (3.0 * vl2 - 4.0 * vs2) / (vl2 - vs2)
    B = rho * (vl2 - 4.0 / 3.0 * vs2)
    nu = (vl2 - 2.0 * vs2) / (2.0 * (vl2 - vs2))
    return ElasticModuli(G=_out(G), E=_out(E), B=_out(B), nu=_out(nu),
                         density_kg_m3=_out(rho), v_longitudinal_m_s=_out(vl),
                         v_shear_m_s=_out(vs))


def velocities_from_moduli(density_kg_m3, G_Pa, nu) -> tuple[Any, Any]:
    """Sound velocities of an isotropic solid (inverse of :func:`elastic_moduli`).

    Parameters
    ----------
    density_kg_m3 : float or array_like
        Density, kg/m3.
    G_Pa : float or array_like
        Shear modulus, Pa.
    nu : float or array_like
        Poisson's ratio, in (-1, 0.5).

    Returns
    -------
    (v_longitudinal_m_s, v_shear_m_s) : tuple of float or ndarray
        Velocities, m/s.
    """
    rho = _arr(density_kg_m3, "density_kg_m3")
    g = _arr(G_Pa, "G_Pa")
    nu_a = np.asarray(nu, dtype=float)
    if not np.all((nu_a > -1) & (nu_a < 0.5)):
        raise AnalysisError(f"nu must lie in (-1, 0.5), got {nu!r}")
    vs = np.sqrt(g / rho)
    vl = vs * np.sqrt(2.0 * (1.0 - nu_a) / (1.0 - 2.0 * nu_a))
    return _out(vl), _out(vs)
