"""Planetary ball-mill physics: g-force, ball filling, ball-to-material ratio, Burgio impact model.

Turns the settings a researcher types into a planetary mill (speed, balls, jar, powder, time)
into physical quantities that can be compared between mills and laboratories:

* centrifugal acceleration of the disk in multiples of g (:func:`g_force`; study S3, Table S1);
* filling rate of milling balls (FRB, %, **solid-volume basis**: the balls' own volume over the
  jar volume, not their bulk/poured volume) and ball-to-material mass ratio (BMR) with their
  inverses (:func:`frb_from_balls`, :func:`balls_from_frb`, :func:`bmr`, ...);
* the Burgio-Rojac impact model (:func:`burgio`, :func:`burgio_preset`): energy per impact,
  impact frequency, milling power and cumulative dose per gram of powder, with the detachment
  condition and an obstruction factor from the filling (:func:`obstruction_factor`).

Sign convention
---------------
Angular velocities are **absolute** (lab frame). ``speed_ratio`` is the jar's angular velocity
over the disk's in the lab frame, ``w_v / w_p``; a jar counter-rotating at the disk speed has
``speed_ratio = -1``. Manufacturers usually quote the *relative* transmission ratio (jar
rotation relative to the rotating disk, e.g. "1:-2"); the lab-frame ratio is then
``1 + relative`` (:func:`lab_speed_ratio`), so "1:-2" is ``-1`` in the lab frame.

All functions accept numpy arrays for ``rpm`` (and broadcast the other numeric inputs) so a
dashboard can evaluate a whole slider range in one call.

References
----------
M. Burgio, A. Iasonna, M. Magini, S. Martelli, F. Padella, "Mechanical alloying of the Fe-Zr
system. Correlation between input energy and end products", Il Nuovo Cimento D 13 (1991) 459.
M. Magini, A. Iasonna, F. Padella, "Ball milling: an experimental support to the energy
transfer evaluated by the collision model", Scripta Mater. 34 (1996) 13.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from analysis.errors import AnalysisError

__all__ = [
    "G_STANDARD",
    "BALL_DENSITIES_G_CM3",
    "RANDOM_CLOSE_PACKING",
    "JAR_INNER_RADIUS_MM",
    "MILL_PRESETS",
    "MillPreset",
    "BurgioResult",
    "MillingError",
    "g_force",
    "rpm_for_g_force",
    "angular_velocity",
    "lab_speed_ratio",
    "ball_volume_cm3",
    "ball_mass_g",
    "ball_density",
    "frb_from_balls",
    "balls_from_frb",
    "bmr",
    "powder_mass_from_bmr",
    "balls_from_bmr",
    "balls_from_total_mass",
    "obstruction_factor",
    "jar_radius_m",
    "detachment_limit",
    "burgio",
    "burgio_preset",
    "sample_milling_descriptors",
]

#: Standard acceleration of gravity (m/s2), CGPM 1901.
G_STANDARD = 9.80665

#: Typical densities of milling-ball materials (g/cm3). Approximate handbook/catalogue values:
#: yttria-stabilised ZrO2 5.9-6.1, cemented WC (WC-Co) 14.3-15.6 (pure WC 15.6), hardened
#: chromium steel 7.8-7.9 (stainless 7.9), agate 2.6-2.65, sintered Si3N4 3.2-3.3. Use the
#: supplier's value when you know it; pass it as ``density_g_cm3``.
BALL_DENSITIES_G_CM3: Mapping[str, float] = MappingProxyType(
    {"ZrO2": 6.0, "WC": 15.6, "steel": 7.8, "agate": 2.65, "Si3N4": 3.2}
)
_DENSITY_ALIASES = {
    "zro2": "ZrO2", "zirconia": "ZrO2", "ysz": "ZrO2",
    "wc": "WC", "tungsten carbide": "WC",
    "steel": "steel", "stainless steel": "steel", "hardened steel": "steel",
    "agate": "agate",
    "si3n4": "Si3N4", "silicon nitride": "Si3N4",
}

#: Solid-volume fraction of randomly close-packed equal spheres (~0.64): the largest FRB (%/100)
#: a jar can physically hold (ignoring wall effects, which lower it further for big balls).
RANDOM_CLOSE_PACKING = 0.64

#: Approximate inner radius (mm) of the standard planetary-mill jar sizes (mL). Catalogue-style
#: values (inner diameter of common Fritsch/Retsch jars); jars differ between makers and
#: materials, so measure yours and pass ``jar_radius_m`` for quantitative work.
JAR_INNER_RADIUS_MM: Mapping[float, float] = MappingProxyType(
    {12: 15.0, 20: 17.5, 45: 22.5, 50: 25.0, 80: 26.5, 125: 32.5, 250: 37.5, 500: 50.0}
)

#: Height-to-radius ratio used to estimate the radius of a jar volume not in the table
#: (cylinder; typical jars have h/r 1.2-1.5).
_JAR_ASPECT = 1.3


class MillingError(AnalysisError):
    """Impossible or inconsistent milling settings (message names the input and the reason)."""


@dataclass(frozen=True)
class MillPreset:
    """Geometry of a planetary mill model.

    Attributes
    ----------
    name : str
        Display name.
    disk_radius_m : float
        Effective radius of the sun disk (distance from disk axis to jar axis), m.
    relative_ratio : float
        Transmission ratio quoted by the maker: jar rotation per disk rotation *relative to the
        disk* (e.g. -2 for "1:-2").
    max_rpm : float
        Highest disk speed of the model, rpm.
    jar_volumes_ml : tuple of float
        Jar sizes offered for the model, mL.
    source : str
        Where the numbers come from and how approximate they are.
    """

    name: str
    disk_radius_m: float
    relative_ratio: float
    max_rpm: float
    jar_volumes_ml: tuple[float, ...]
    source: str

    @property
    def speed_ratio(self) -> float:
        """Jar/disk angular-velocity ratio in the lab frame (``1 + relative_ratio``)."""
        return 1.0 + self.relative_ratio


#: Named mill geometries. Values are approximate (manufacturer brochures as remembered, and the
#: effective radius quoted by study S3 for the P5); check them against your manual.
MILL_PRESETS: Mapping[str, MillPreset] = MappingProxyType(
    {
        "Fritsch P5": MillPreset(
            "Fritsch P5", 0.089, -2.0, 800.0, (80, 250, 500),
            "Pulverisette 5 premium line; effective disk radius 0.089 m as used in study S3 "
            "(Table S1); relative ratio 1:-2 assumed (classic line quotes 1:-2.19). Approximate.",
        ),
        "Fritsch P7 premium line": MillPreset(
            "Fritsch P7 premium line", 0.070, -2.0, 1100.0, (20, 45, 80),
            "Pulverisette 7 premium line brochure: effective sun-disk diameter 140 mm, "
            "transmission ratio 1:-2. Approximate.",
        ),
        "Retsch PM100": MillPreset(
            "Retsch PM100", 0.0705, -2.0, 650.0, (12, 25, 50, 80, 125, 250, 500),
            "Retsch PM 100 brochure: effective sun-wheel diameter 141 mm, speed ratio 1:-2. "
            "Approximate.",
        ),
        "Fritsch P6": MillPreset(
            "Fritsch P6", 0.0608, -1.82, 650.0, (80, 250, 500),
            "Pulverisette 6 classic line brochure: effective sun-disk diameter 121.6 mm, "
            "transmission ratio 1:-1.82. Approximate.",
        ),
    }
)


# --------------------------------------------------------------------------- helpers


def _as_float_array(value: Any, name: str, *, positive: bool = True, allow_zero: bool = False):
    """Convert ``value`` to a float ndarray and check it is finite (and positive)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MillingError(f"{name} must be a number or an array of numbers, got {value!r}") from exc
    if arr.size == 0:
        raise MillingError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise MillingError(f"{name} must be finite, got {value!r}")
    if positive:
        bad = arr < 0 if allow_zero else arr <= 0
        if np.any(bad):
            what = "non-negative" if allow_zero else "positive"
            raise MillingError(f"{name} must be {what}, got {value!r}")
    return arr


def _out(arr: np.ndarray):
    """Return a Python float for 0-d arrays, the array otherwise."""
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr


def _count(n: np.ndarray, integer: bool):
    """Ball count: nearest whole number (at least 1) as int/int array, or the exact real value."""
    if integer:
        n = np.maximum(np.rint(n), 1).astype(int)
        return int(n) if n.ndim == 0 else n
    return _out(n)


def angular_velocity(rpm) -> float | np.ndarray:
    """Angular velocity (rad/s) of a speed in revolutions per minute.

    Parameters
    ----------
    rpm : float or array_like
        Rotational speed, rpm (signed values allowed).

    Returns
    -------
    float or ndarray
        ``2*pi*rpm/60``, rad/s.
    """
    return _out(2.0 * np.pi * _as_float_array(rpm, "rpm", positive=False) / 60.0)


def lab_speed_ratio(relative_ratio: float) -> float:
    """Lab-frame jar/disk speed ratio from a maker's relative transmission ratio.

    Parameters
    ----------
    relative_ratio : float
        Jar revolutions per disk revolution measured in the rotating frame of the disk
        (the "1:-2" of a brochure is ``-2``).

    Returns
    -------
    float
        ``w_v / w_p`` in the lab frame, ``1 + relative_ratio`` (``-1`` for "1:-2").
    """
    return 1.0 + float(relative_ratio)


def g_force(rpm, radius_m) -> float | np.ndarray:
    """Centrifugal acceleration of a planetary-mill disk in multiples of g.

    ``GF = (2*pi*rpm/60)**2 * R / g`` with ``g = 9.80665 m/s2`` (study S3, Table S1:
    550 rpm at R = 0.089 m gives 30 g; 800 rpm gives 64 g).

    Parameters
    ----------
    rpm : float or array_like
        Disk speed, rpm (> 0).
    radius_m : float or array_like
        Effective disk radius (disk axis to jar axis), m (> 0).

    Returns
    -------
    float or ndarray
        Acceleration / g (dimensionless).
    """
    w = 2.0 * np.pi * _as_float_array(rpm, "rpm") / 60.0
    r = _as_float_array(radius_m, "radius_m")
    return _out(w**2 * r / G_STANDARD)


def rpm_for_g_force(g: float | np.ndarray, radius_m: float) -> float | np.ndarray:
    """Disk speed (rpm) that gives a centrifugal acceleration of ``g`` times gravity.

    Parameters
    ----------
    g : float or array_like
        Target acceleration in multiples of g (> 0).
    radius_m : float
        Effective disk radius, m (> 0).

    Returns
    -------
    float or ndarray
        Speed, rpm; inverse of :func:`g_force`.
    """
    gg = _as_float_array(g, "g")
    r = _as_float_array(radius_m, "radius_m")
    return _out(60.0 / (2.0 * np.pi) * np.sqrt(gg * G_STANDARD / r))


# --------------------------------------------------------------------- balls and filling


def ball_density(material: str | float) -> float:
    """Density (g/cm3) of a ball material name from :data:`BALL_DENSITIES_G_CM3`, or a number.

    Parameters
    ----------
    material : str or float
        Name ("ZrO2", "zirconia", "WC", "steel", "agate", "Si3N4", case-insensitive) or a
        density in g/cm3.

    Returns
    -------
    float
        Density, g/cm3.
    """
    if isinstance(material, str):
        key = _DENSITY_ALIASES.get(material.strip().lower())
        if key is None:
            raise MillingError(
                f"unknown ball material {material!r}; known: {', '.join(BALL_DENSITIES_G_CM3)} "
                "(or pass the density in g/cm3)"
            )
        return BALL_DENSITIES_G_CM3[key]
    return float(_as_float_array(material, "ball density"))


def ball_volume_cm3(ball_diameter_mm) -> float | np.ndarray:
    """Solid volume of one ball, cm3: ``pi*d**3/6``.

    Parameters
    ----------
    ball_diameter_mm : float or array_like
        Ball diameter, mm.

    Returns
    -------
    float or ndarray
        Volume, cm3.
    """
    d_cm = _as_float_array(ball_diameter_mm, "ball_diameter_mm") / 10.0
    return _out(np.pi * d_cm**3 / 6.0)


def ball_mass_g(ball_diameter_mm, density_g_cm3) -> float | np.ndarray:
    """Mass of one ball, g.

    Parameters
    ----------
    ball_diameter_mm : float or array_like
        Ball diameter, mm.
    density_g_cm3 : float, array_like or str
        Ball density, g/cm3, or a material name of :data:`BALL_DENSITIES_G_CM3`.

    Returns
    -------
    float or ndarray
        ``rho * pi * d**3 / 6``, g (10 mm ZrO2 at 6.0 g/cm3: 3.14 g).
    """
    rho = ball_density(density_g_cm3) if isinstance(density_g_cm3, str) else _as_float_array(
        density_g_cm3, "density_g_cm3")
    return _out(rho * np.asarray(ball_volume_cm3(ball_diameter_mm)))


def frb_from_balls(n_balls, ball_diameter_mm, jar_volume_ml) -> float | np.ndarray:
    """Filling rate of milling balls (FRB, %) on a **solid-volume basis**.

    ``FRB = N_b * (pi*d_b**3/6) / V_jar * 100``: the balls' own volume, not their poured (bulk)
    volume, which is larger by 1/0.6 or so. Ten 10 mm balls in a 50 mL jar give 10.5 %.

    Parameters
    ----------
    n_balls : float or array_like
        Number of balls (> 0).
    ball_diameter_mm : float or array_like
        Ball diameter, mm.
    jar_volume_ml : float or array_like
        Jar volume, mL (cm3).

    Returns
    -------
    float or ndarray
        FRB, % of the jar volume.
    """
    n = _as_float_array(n_balls, "n_balls")
    v = _as_float_array(jar_volume_ml, "jar_volume_ml")
    return _out(n * np.asarray(ball_volume_cm3(ball_diameter_mm)) / v * 100.0)


def balls_from_frb(frb_pct, ball_diameter_mm, jar_volume_ml, *, integer: bool = True):
    """Number of balls for a filling rate (solid-volume basis; inverse of :func:`frb_from_balls`).

    Parameters
    ----------
    frb_pct : float or array_like
        FRB, % (solid volume of the balls over the jar volume).
    ball_diameter_mm : float or array_like
        Ball diameter, mm.
    jar_volume_ml : float or array_like
        Jar volume, mL.
    integer : bool, default True
        Round to the nearest whole ball (at least 1); False returns the exact real number.

    Returns
    -------
    int, float or ndarray
        Number of balls.
    """
    f = _as_float_array(frb_pct, "frb_pct")
    v = _as_float_array(jar_volume_ml, "jar_volume_ml")
    if np.any(f / 100.0 > RANDOM_CLOSE_PACKING):
        raise MillingError(
            f"frb_pct {frb_pct!r} exceeds {RANDOM_CLOSE_PACKING * 100:.0f} %: balls cannot fill "
            "more than random close packing of the jar (FRB is on a solid-volume basis)"
        )
    n = f / 100.0 * v / np.asarray(ball_volume_cm3(ball_diameter_mm))
    return _count(n, integer)


def bmr(n_balls, ball_mass_g, powder_mass_g) -> float | np.ndarray:
    """Ball-to-material (powder) mass ratio: ``N_b * m_b / m_powder``.

    Parameters
    ----------
    n_balls : float or array_like
        Number of balls.
    ball_mass_g : float or array_like
        Mass of one ball, g (see :func:`ball_mass_g`).
    powder_mass_g : float or array_like
        Powder mass, g.

    Returns
    -------
    float or ndarray
        BMR (dimensionless; 80 means 80:1).
    """
    n = _as_float_array(n_balls, "n_balls")
    mb = _as_float_array(ball_mass_g, "ball_mass_g")
    mp = _as_float_array(powder_mass_g, "powder_mass_g")
    return _out(n * mb / mp)


def powder_mass_from_bmr(bmr_value, n_balls, ball_mass_g) -> float | np.ndarray:
    """Powder mass (g) giving a ball-to-material ratio with the given balls.

    Parameters
    ----------
    bmr_value : float or array_like
        Ball-to-material mass ratio (80 for 80:1).
    n_balls : float or array_like
        Number of balls.
    ball_mass_g : float or array_like
        Mass of one ball, g.

    Returns
    -------
    float or ndarray
        ``N_b * m_b / BMR``, g.
    """
    r = _as_float_array(bmr_value, "bmr")
    n = _as_float_array(n_balls, "n_balls")
    mb = _as_float_array(ball_mass_g, "ball_mass_g")
    return _out(n * mb / r)


def balls_from_bmr(bmr_value, ball_mass_g, powder_mass_g, *, integer: bool = True):
    """Number of balls for a ball-to-material ratio with a given powder mass.

    Parameters
    ----------
    bmr_value : float or array_like
        Ball-to-material mass ratio.
    ball_mass_g : float or array_like
        Mass of one ball, g.
    powder_mass_g : float or array_like
        Powder mass, g.
    integer : bool, default True
        Round to the nearest whole ball (at least 1).

    Returns
    -------
    int, float or ndarray
        ``BMR * m_powder / m_b``.
    """
    r = _as_float_array(bmr_value, "bmr")
    mb = _as_float_array(ball_mass_g, "ball_mass_g")
    mp = _as_float_array(powder_mass_g, "powder_mass_g")
    n = r * mp / mb
    return _count(n, integer)


def balls_from_total_mass(total_ball_mass_g, ball_diameter_mm, density_g_cm3, *, integer=True):
    """Number of balls in a charge weighed as a total mass (e.g. "135 g of 3 mm ZrO2 balls").

    Parameters
    ----------
    total_ball_mass_g : float
        Total mass of the balls, g.
    ball_diameter_mm : float
        Ball diameter, mm.
    density_g_cm3 : float or str
        Ball density, g/cm3, or material name.
    integer : bool, default True
        Round to the nearest whole ball.

    Returns
    -------
    int or float
        Number of balls (135 g of 3 mm ZrO2 at 6.0 g/cm3: about 1592).
    """
    m = _as_float_array(total_ball_mass_g, "total_ball_mass_g")
    n = m / np.asarray(ball_mass_g(ball_diameter_mm, density_g_cm3))
    return _count(n, integer)


def obstruction_factor(frb_pct, *, packing_fraction: float = RANDOM_CLOSE_PACKING,
                       exponent: float = 1.0) -> float | np.ndarray:
    """Obstruction factor ``phi_b`` of the Burgio model from the ball filling.

    Burgio et al. and Magini et al. introduced ``phi_b <= 1`` to account for balls hindering
    each other's free flight: it is 1 for a nearly empty jar and falls towards 0 as the jar fills
    (Magini measured the drop calorimetrically). We use the one-parameter form

    ``phi_b = 1 - (FRB / (100 * packing_fraction)) ** exponent``

    i.e. the filling degree ``n_v`` is the solid-volume FRB relative to the most the jar can
    hold (random close packing, 64 %). With ``exponent = 1`` a 10 % FRB gives 0.84 and 32 %
    (half full) gives 0.5. This is a transparent, monotone interpolation between the two known
    limits, not a fitted literature law: for absolute power, calibrate ``exponent`` (or pass your
    own ``obstruction``) against calorimetry of your mill.

    Parameters
    ----------
    frb_pct : float or array_like
        Filling rate of milling balls, % (solid-volume basis).
    packing_fraction : float, default 0.64
        Solid fraction of a jar packed full of balls.
    exponent : float, default 1.0
        Shape of the decrease (> 0; larger = obstruction sets in later).

    Returns
    -------
    float or ndarray
        ``phi_b`` in (0, 1].
    """
    f = _as_float_array(frb_pct, "frb_pct")
    if not (0 < packing_fraction <= 1):
        raise MillingError(f"packing_fraction must be in (0, 1], got {packing_fraction!r}")
    if not exponent > 0:
        raise MillingError(f"exponent must be positive, got {exponent!r}")
    nv = f / (100.0 * packing_fraction)
    if np.any(nv >= 1):
        raise MillingError(
            f"jar overfilled: FRB {frb_pct!r} % reaches the packing limit "
            f"{packing_fraction * 100:.0f} % (solid-volume basis); the balls cannot move"
        )
    return _out(1.0 - nv**exponent)


def jar_radius_m(jar_volume_ml: float, *, exact: bool = False) -> float:
    """Approximate inner radius (m) of a planetary-mill jar of a given volume.

    Standard sizes use :data:`JAR_INNER_RADIUS_MM`; other volumes are estimated as a cylinder
    with height = 1.3 x radius (typical jars). Measure your jar for quantitative work.

    Parameters
    ----------
    jar_volume_ml : float
        Jar volume, mL.
    exact : bool, default False
        If True, refuse volumes not in the table instead of estimating them.

    Returns
    -------
    float
        Inner radius, m.
    """
    v = float(_as_float_array(jar_volume_ml, "jar_volume_ml"))
    for vol, r_mm in JAR_INNER_RADIUS_MM.items():
        if math.isclose(v, vol, rel_tol=1e-9):
            return r_mm / 1000.0
    if exact:
        raise MillingError(
            f"jar_volume_ml {v:g} is not a standard size ({', '.join(f'{k:g}' for k in JAR_INNER_RADIUS_MM)} mL); "
            "pass the jar radius explicitly"
        )
    r_cm = (v / (_JAR_ASPECT * np.pi)) ** (1.0 / 3.0)
    return float(r_cm / 100.0)


def detachment_limit(disk_radius_m: float, jar_radius_m: float, ball_diameter_mm: float) -> float:
    """Largest ``|w_v/w_p|`` at which balls still detach from the jar wall (Burgio).

    Parameters
    ----------
    disk_radius_m : float
        Disk radius R_p, m.
    jar_radius_m : float
        Jar inner radius r_v, m.
    ball_diameter_mm : float
        Ball diameter, mm.

    Returns
    -------
    float
        ``sqrt(R_p / rho')`` with ``rho' = r_v - d_b/2``.
    """
    rho = float(jar_radius_m) - float(ball_diameter_mm) / 2000.0
    if rho <= 0:
        raise MillingError(
            f"ball_diameter_mm {ball_diameter_mm!r} does not fit a jar of radius "
            f"{jar_radius_m * 1000:g} mm"
        )
    return math.sqrt(float(disk_radius_m) / rho)


# ------------------------------------------------------------------------ Burgio model


@dataclass(frozen=True)
class BurgioResult:
    """Result of the Burgio impact model (:func:`burgio`).

    Array-valued fields have the broadcast shape of ``rpm`` (and the other array inputs).

    Attributes
    ----------
    rpm : float or ndarray
        Disk speed, rpm.
    ball_mass_g : float
        Mass of one ball, g.
    energy_per_impact_J : float or ndarray
        Kinetic energy released per ball impact, J.
    impact_frequency_Hz : float or ndarray
        Impacts per second per ball, Hz.
    power_W : float or ndarray
        Milling power ``phi_b * dE * N_b * f_b``, W.
    dose_J_per_g : float, ndarray or None
        Cumulative dose ``P * t / m_powder``, J/g; None unless powder mass and time are given.
    g_force : float or ndarray
        Centrifugal acceleration of the disk at the jar axis, multiples of g.
    detaches : bool
        Whether balls detach from the wall (``|w_v/w_p| < sqrt(R_p/rho')``).
    detachment_limit : float
        ``sqrt(R_p/rho')``.
    speed_ratio : float
        Jar/disk angular-velocity ratio in the lab frame.
    obstruction : float or ndarray
        Obstruction factor used.
    n_balls : float
        Number of balls.
    powder_mass_g, time_h : float or None
        As given.
    frb_pct : float or None
        Filling rate (solid-volume basis), when the jar volume is known.
    bmr : float or None
        Ball-to-material ratio, when the powder mass is given.
    inputs : dict
        The geometric inputs (disk and jar radius in m, ball diameter mm, density g/cm3, K).
    """

    rpm: Any
    ball_mass_g: float
    energy_per_impact_J: Any
    impact_frequency_Hz: Any
    power_W: Any
    dose_J_per_g: Any
    g_force: Any
    detaches: bool
    detachment_limit: float
    speed_ratio: float
    obstruction: Any
    n_balls: float
    powder_mass_g: float | None = None
    time_h: float | None = None
    frb_pct: float | None = None
    bmr: float | None = None
    inputs: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-Python dictionary (arrays as lists) for JSON output."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, np.generic):
                v = v.item()
            out[k] = v
        return out


def burgio(rpm, disk_radius_m, jar_radius_m, ball_diameter_mm, ball_density_g_cm3, n_balls,
           speed_ratio=-1.0, powder_mass_g=None, time_h=None, K=1.0, obstruction=1.0, *,
           jar_volume_ml=None, strict: bool = True) -> BurgioResult:
    """Burgio-Rojac impact model of a planetary ball mill.

    With ``w_p`` the disk and ``w_v = speed_ratio * w_p`` the jar angular velocity (lab frame),
    ``rho' = r_v - d_b/2`` and ``m_b = rho_b * pi * d_b**3 / 6``:

    * energy per impact ``dE = -m_b * rho' * (w_v**3 * rho' / w_p + w_p * w_v * R_p)``;
    * impact frequency per ball ``f_b = K * (w_p - w_v) / (2*pi)``;
    * power ``P = phi_b * dE * N_b * f_b`` (``phi_b`` = ``obstruction``);
    * dose ``E_cum = P * t / m_powder`` (J/g).

    Check value: R_p 70 mm, r_v 22.5 mm, one 10 mm ZrO2 ball (6.0 g/cm3), 600 rpm,
    ``speed_ratio=-1`` gives m_b 3.14 g, dE 19.0 mJ, f_b 20 Hz.

    Parameters
    ----------
    rpm : float or array_like
        Disk speed, rpm (> 0). Arrays are evaluated element-wise (vectorised).
    disk_radius_m : float
        Effective disk radius R_p (disk axis to jar axis), m.
    jar_radius_m : float
        Inner radius of the jar r_v, m.
    ball_diameter_mm : float
        Ball diameter d_b, mm.
    ball_density_g_cm3 : float or str
        Ball density, g/cm3, or a material name of :data:`BALL_DENSITIES_G_CM3`.
    n_balls : float
        Number of balls N_b.
    speed_ratio : float, default -1.0
        ``w_v / w_p`` in the lab frame (negative: jar counter-rotates). A maker's relative
        ratio "1:-2" is -1 here (:func:`lab_speed_ratio`).
    powder_mass_g : float, optional
        Powder mass, g (needed for the dose and the BMR).
    time_h : float, optional
        Milling time, h (needed for the dose).
    K : float, default 1.0
        Impact-frequency factor of Burgio (about 1).
    obstruction : float or array_like, default 1.0
        Obstruction factor ``phi_b`` in (0, 1] (see :func:`obstruction_factor`).
    jar_volume_ml : float, optional
        Jar volume, mL; enables the FRB and the overfill check.
    strict : bool, default True
        Raise :class:`MillingError` if the balls never detach; with False the result is
        returned with ``detaches=False`` (energies then describe no real impact).

    Returns
    -------
    BurgioResult
        Frozen dataclass with the quantities above.

    Raises
    ------
    MillingError
        Non-positive or non-finite inputs, a ball that does not fit the jar, an overfilled jar,
        a co-rotating jar (``speed_ratio >= 0``: no impacts in this model), balls that never
        detach (``|w_v/w_p| >= sqrt(R_p/rho')``), an obstruction outside (0, 1].
    """
    rpm_a = _as_float_array(rpm, "rpm")
    Rp = float(_as_float_array(disk_radius_m, "disk_radius_m"))
    rv = float(_as_float_array(jar_radius_m, "jar_radius_m"))
    db_mm = float(_as_float_array(ball_diameter_mm, "ball_diameter_mm"))
    rho_b = (ball_density(ball_density_g_cm3) if isinstance(ball_density_g_cm3, str)
             else float(_as_float_array(ball_density_g_cm3, "ball_density_g_cm3")))
    nb = float(_as_float_array(n_balls, "n_balls"))
    k = float(_as_float_array(K, "K"))
    phi = _as_float_array(obstruction, "obstruction")
    if np.any(phi > 1):
        raise MillingError(f"obstruction must be in (0, 1], got {obstruction!r}")
    try:
        ratio = float(speed_ratio)
    except (TypeError, ValueError) as exc:
        raise MillingError(f"speed_ratio must be a number, got {speed_ratio!r}") from exc
    if not math.isfinite(ratio) or ratio >= 0:
        raise MillingError(
            f"speed_ratio {speed_ratio!r}: the Burgio model needs a counter-rotating jar "
            "(w_v/w_p < 0 in the lab frame; a brochure ratio 1:-2 is -1 here)"
        )
    rho_p = rv - db_mm / 2000.0
    if rho_p <= 0:
        raise MillingError(
            f"ball_diameter_mm {db_mm:g} does not fit a jar of radius {rv * 1000:g} mm"
        )
    frb = None
    if jar_volume_ml is not None:
        frb = float(frb_from_balls(nb, db_mm, jar_volume_ml))
        if frb / 100.0 >= RANDOM_CLOSE_PACKING:
            raise MillingError(
                f"jar overfilled: {nb:g} balls of {db_mm:g} mm fill {frb:.1f} % of a "
                f"{float(jar_volume_ml):g} mL jar (solid volume); at most "
                f"{RANDOM_CLOSE_PACKING * 100:.0f} % fits"
            )
    limit = math.sqrt(Rp / rho_p)
    detaches = abs(ratio) < limit
    if strict and not detaches:
        raise MillingError(
            f"balls never detach: |w_v/w_p| = {abs(ratio):.3g} >= sqrt(R_p/rho') = {limit:.3g} "
            f"(R_p {Rp * 1000:g} mm, rho' {rho_p * 1000:g} mm); they roll with the wall "
            "and the impact model does not apply"
        )
    mp = tp = None
    if powder_mass_g is not None:
        mp = float(_as_float_array(powder_mass_g, "powder_mass_g"))
    if time_h is not None:
        tp = float(_as_float_array(time_h, "time_h", allow_zero=True))

    m_b_kg = rho_b * 1000.0 * np.pi * (db_mm / 1000.0) ** 3 / 6.0
    wp = 2.0 * np.pi * rpm_a / 60.0
    wv = ratio * wp
    dE = -m_b_kg * rho_p * (wv**3 * rho_p / wp + wp * wv * Rp)
    fb = k * (wp - wv) / (2.0 * np.pi)
    power = phi * dE * nb * fb
    dose = None
    if mp is not None and tp is not None:
        dose = _out(power * tp * 3600.0 / mp)
    return BurgioResult(
        rpm=_out(rpm_a),
        ball_mass_g=m_b_kg * 1000.0,
        energy_per_impact_J=_out(dE),
        impact_frequency_Hz=_out(fb),
        power_W=_out(power),
        dose_J_per_g=dose,
        g_force=_out(wp**2 * Rp / G_STANDARD),
        detaches=bool(detaches),
        detachment_limit=limit,
        speed_ratio=ratio,
        obstruction=_out(phi),
        n_balls=nb,
        powder_mass_g=mp,
        time_h=tp,
        frb_pct=frb,
        bmr=None if mp is None else nb * m_b_kg * 1000.0 / mp,
        inputs={"disk_radius_m": Rp, "jar_radius_m": rv, "ball_diameter_mm": db_mm,
                "ball_density_g_cm3": rho_b, "K": k, "jar_volume_ml": jar_volume_ml},
    )


def _preset(preset: str | MillPreset) -> MillPreset:
    if isinstance(preset, MillPreset):
        return preset
    if isinstance(preset, str):
        for name, p in MILL_PRESETS.items():
            if name.lower() == preset.strip().lower():
                return p
    raise MillingError(f"unknown mill preset {preset!r}; known: {', '.join(MILL_PRESETS)}")


def burgio_preset(preset: str | MillPreset, jar_volume_ml: float, rpm, ball_diameter_mm,
                  ball_density_g_cm3, n_balls=None, *, frb_pct=None, powder_mass_g=None,
                  bmr_value=None, time_h=None, K=1.0, obstruction="auto",
                  jar_radius_m_override: float | None = None, strict: bool = True) -> BurgioResult:
    """Burgio model for a named mill (:data:`MILL_PRESETS`) and a jar size.

    Give the balls as ``n_balls`` or ``frb_pct`` (solid-volume basis), and the powder as
    ``powder_mass_g`` or ``bmr_value``.

    Parameters
    ----------
    preset : str or MillPreset
        Mill name ("Fritsch P5", "Fritsch P7 premium line", "Retsch PM100", "Fritsch P6").
    jar_volume_ml : float
        Jar volume, mL; its inner radius comes from :func:`jar_radius_m` unless
        ``jar_radius_m_override`` is given.
    rpm : float or array_like
        Disk speed, rpm.
    ball_diameter_mm : float
        Ball diameter, mm.
    ball_density_g_cm3 : float or str
        Ball density, g/cm3, or a material name.
    n_balls : float, optional
        Number of balls (or give ``frb_pct``).
    frb_pct : float, optional
        Ball filling, % (solid volume); converted to a whole number of balls.
    powder_mass_g : float, optional
        Powder mass, g.
    bmr_value : float, optional
        Ball-to-material ratio; sets the powder mass when ``powder_mass_g`` is not given.
    time_h : float, optional
        Milling time, h.
    K : float, default 1.0
        Impact-frequency factor.
    obstruction : float or "auto", default "auto"
        ``phi_b``; "auto" uses :func:`obstruction_factor` of the FRB.
    jar_radius_m_override : float, optional
        Measured jar inner radius, m.
    strict : bool, default True
        See :func:`burgio`.

    Returns
    -------
    BurgioResult
        As :func:`burgio`, with ``frb_pct`` and (if the powder is known) ``bmr`` filled in.
    """
    p = _preset(preset)
    if n_balls is None and frb_pct is None:
        raise MillingError("give the balls as n_balls or frb_pct")
    if n_balls is None:
        n_balls = balls_from_frb(frb_pct, ball_diameter_mm, jar_volume_ml)
    rv = jar_radius_m(jar_volume_ml) if jar_radius_m_override is None else jar_radius_m_override
    mb = float(ball_mass_g(ball_diameter_mm, ball_density_g_cm3))
    if powder_mass_g is None and bmr_value is not None:
        powder_mass_g = float(powder_mass_from_bmr(bmr_value, n_balls, mb))
    frb = float(frb_from_balls(n_balls, ball_diameter_mm, jar_volume_ml))
    if isinstance(obstruction, str):
        if obstruction != "auto":
            raise MillingError(f"obstruction must be a number or 'auto', got {obstruction!r}")
        obstruction = obstruction_factor(frb)
    rpm_a = _as_float_array(rpm, "rpm")
    if np.any(rpm_a > p.max_rpm):
        raise MillingError(f"rpm {rpm!r} exceeds the {p.name} maximum of {p.max_rpm:g} rpm")
    return burgio(rpm_a if rpm_a.ndim else float(rpm_a), p.disk_radius_m, rv, ball_diameter_mm,
                  ball_density_g_cm3, n_balls, speed_ratio=p.speed_ratio,
                  powder_mass_g=powder_mass_g, time_h=time_h, K=K, obstruction=obstruction,
                  jar_volume_ml=jar_volume_ml, strict=strict)


def sample_milling_descriptors(samples, preset: str | MillPreset | None = None, *,
                               disk_radius_m: float | None = None, speed_ratio: float | None = None,
                               jar_radius_m_value: float | None = None, K: float = 1.0,
                               obstruction: str | float = "auto"):
    """Physical milling descriptors of every sample from its recorded mill settings.

    Reads the per-sample milling coordinates of the data model (``frb_pct``, ``bmr``, ``rpm``,
    ``milling_time_h``, ``ball_diameter_mm``, ``ball_material``, ``jar_volume_ml``) and
    evaluates the Burgio model for each sample, so that structure-property models can use the
    dose instead of (or next to) the raw settings.

    Parameters
    ----------
    samples : xarray.Dataset or mapping
        Per-sample values (e.g. a ``pellet_eis`` dataset; only the coordinates along
        ``sample`` are used) or a mapping of the names above to arrays.
    preset : str or MillPreset, optional
        Mill geometry; otherwise give ``disk_radius_m`` (and optionally ``speed_ratio``).
    disk_radius_m : float, optional
        Custom effective disk radius, m.
    speed_ratio : float, optional
        Lab-frame jar/disk speed ratio (default: the preset's, or -1).
    jar_radius_m_value : float, optional
        Measured jar inner radius, m (default: :func:`jar_radius_m` of each jar volume).
    K : float, default 1.0
        Impact-frequency factor.
    obstruction : float or "auto", default "auto"
        Obstruction factor, or from each sample's filling.

    Returns
    -------
    xarray.Dataset
        Along ``sample``: ``frb_pct`` (%), ``bmr``, ``n_balls``, ``ball_mass_g`` (g),
        ``powder_mass_g`` (g), ``g_force`` (g), ``energy_per_impact_J`` (J),
        ``impact_frequency_Hz`` (Hz), ``power_W`` (W), ``dose_J_per_g`` (J/g).
    """
    import xarray as xr

    needed = ("frb_pct", "bmr", "rpm", "milling_time_h", "ball_diameter_mm", "ball_material",
              "jar_volume_ml")
    missing = [n for n in needed if n not in samples]
    if missing:
        raise MillingError(f"samples lack the milling settings {missing}")
    vals = {n: np.atleast_1d(np.asarray(samples[n])) for n in needed}
    n_s = {v.size for v in vals.values()}
    if len(n_s) != 1:
        raise MillingError("milling settings have different lengths")
    p = _preset(preset) if preset is not None else None
    if p is None and disk_radius_m is None:
        raise MillingError("give a mill preset or disk_radius_m")
    Rp = disk_radius_m if disk_radius_m is not None else p.disk_radius_m
    ratio = speed_ratio if speed_ratio is not None else (p.speed_ratio if p else -1.0)
    rows = []
    for i in range(n_s.pop()):
        d = float(vals["ball_diameter_mm"][i])
        mat = vals["ball_material"][i]
        rho = ball_density(str(mat)) if isinstance(mat, (str, np.str_)) else float(mat)
        v = float(vals["jar_volume_ml"][i])
        n = balls_from_frb(float(vals["frb_pct"][i]), d, v)
        mb = float(ball_mass_g(d, rho))
        powder = float(powder_mass_from_bmr(float(vals["bmr"][i]), n, mb))
        frb = float(frb_from_balls(n, d, v))
        phi = obstruction_factor(frb) if obstruction == "auto" else float(obstruction)
        rv = jar_radius_m(v) if jar_radius_m_value is None else jar_radius_m_value
        r = burgio(float(vals["rpm"][i]), Rp, rv, d, rho, n, speed_ratio=ratio,
                   powder_mass_g=powder, time_h=float(vals["milling_time_h"][i]), K=K,
                   obstruction=phi, jar_volume_ml=v)
        rows.append((frb, r.bmr, n, mb, powder, r.g_force, r.energy_per_impact_J,
                     r.impact_frequency_Hz, r.power_W, r.dose_J_per_g))
    cols = np.array(rows, dtype=float).T
    names = [("frb_pct", "%"), ("bmr", "1"), ("n_balls", "1"), ("ball_mass_g", "g"),
             ("powder_mass_g", "g"), ("g_force", "g"), ("energy_per_impact_J", "J"),
             ("impact_frequency_Hz", "Hz"), ("power_W", "W"), ("dose_J_per_g", "J/g")]
    coords = {}
    if isinstance(samples, xr.Dataset) and "sample" in samples.dims:
        coords["sample"] = samples["sample"].values
    return xr.Dataset({n: ("sample", c, {"units": u}) for (n, u), c in zip(names, cols)},
                      coords=coords,
                      attrs={"model": "Burgio impact model", "speed_ratio_lab": ratio,
                             "disk_radius_m": Rp, "frb_basis": "solid volume (whole balls)"})
