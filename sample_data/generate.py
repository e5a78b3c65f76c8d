"""Generators of the synthetic sample datasets, one function per study of ``docs/DOMAIN``.

Each function returns ``{name: xarray.Dataset}``; :func:`write_all` writes them as NetCDF
(h5netcdf, deterministic bytes). The numbers each dataset must reproduce are listed in its
``mimics`` attribute; ``tests/test_sample_data.py`` analyses the files with the project's own
code and checks them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from analysis.simulate import (
    CellSpec,
    add_noise,
    arrhenius_sigma,
    cpe,
    inductor,
    log_frequencies,
    simulate_cell,
    simulate_pressure_log,
    warburg_semi_infinite,
    zarc,
)

SEED = 20251106
T0C = 273.15


def _rng(tag: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, tag)) * 7919 + len(tag)])


def _prov(name: str, study: str, mimics: str, **extra) -> dict:
    return {
        "title": f"SYNTHETIC sample data: {name}",
        "synthetic": "true",
        "source_file": f"{name}.nc",
        "reader": "sample_data.generate",
        "sha256": "synthetic",
        "study": study,
        "mimics": mimics,
        "generator": "analysis.simulate (python -m sample_data)",
        "seed": SEED,
        **extra,
    }


def _z_vars(Z, dims):
    return {
        "z_real": (dims, Z.real.astype(np.float64), {"units": "ohm", "long_name": "Re(Z)"}),
        "z_imag": (dims, Z.imag.astype(np.float64), {"units": "ohm", "long_name": "Im(Z)"}),
    }


# ----------------------------------------------------------------------------------- pellets
S1_COMPOSITION = "Li5.5PS4.5Cl0.8Br0.7"
#: (id, FRB %, BMR, pellet mass mg, state, sigma(25 C) mS/cm, Ea eV, a (angstrom), particle um)
S1_SAMPLES = [
    ("FRB05-BMR40-AM", 5, 40, 100, "as-milled", 2.60, 0.360, 9.852, 20.0),
    ("FRB10-BMR40-AM", 10, 40, 100, "as-milled", 3.50, 0.350, 9.866, 3.0),
    ("FRB20-BMR40-AM", 20, 40, 100, "as-milled", 2.90, 0.370, 9.857, 3.0),
    ("FRB10-BMR20-AM", 10, 20, 100, "as-milled", 2.80, 0.372, 9.874, 3.2),
    ("FRB10-BMR80-AM", 10, 80, 100, "as-milled", 4.10, 0.340, 9.846, 2.8),
    ("FRB05-BMR40-S", 5, 40, 100, "sintered", 11.6, 0.270, 9.858, 20.0),
    ("FRB10-BMR40-S", 10, 40, 100, "sintered", 12.4, 0.352, 9.872, 3.0),
    ("FRB20-BMR40-S", 20, 40, 100, "sintered", 10.8, 0.3434, 9.861, 3.0),
    ("FRB10-BMR20-S", 10, 20, 100, "sintered", 11.0, 0.365, 9.880, 3.2),
    ("FRB10-BMR80-S", 10, 80, 100, "sintered", 13.3, 0.280, 9.851, 2.8),
    ("FRB10-BMR80-S-150mg", 10, 80, 150, "sintered", 13.6, 0.290, 9.851, 2.8),
    ("FRB10-BMR80-S-200mg", 10, 80, 200, "sintered", 13.9, 0.300, 9.851, 2.8),
]


def _pellet_spectra(freq, T_K, sigma25, Ea, t_cm, A_cm2, rng, L_H=2.0e-8, Q=2.5e-6, n=0.88,
                    noise=0.005):
    """Blocking-electrode pellet: wiring inductance + total ionic resistance + electrode CPE.

    Bulk and grain-boundary arcs of a fast conductor lie above 2 MHz (tau = R C_geo ~ 1e-10 s)
    and are not resolved, as in the real spectra of such pellets: the total resistance is the
    high-frequency intercept.
    """
    sig = arrhenius_sigma(T_K, sigma25, Ea)  # S/cm
    R = t_cm / (sig * A_cm2)
    Z = inductor(freq, L_H)[None, :] + R[:, None] + cpe(freq, Q, n)[None, :]
    return add_noise(Z, noise, rng)


def s1_pellets() -> dict[str, xr.Dataset]:
    """Study S1: LPSCB pellets of the FRB, BMR and pellet-mass series, as-milled and sintered."""
    rng = _rng("s1")
    freq = log_frequencies(2e6, 0.1, 10)
    T_C = np.array([-20, 0, 25, 35, 45, 55, 65, 75, 85], float)
    T_K = T_C + T0C
    area = np.pi * 0.5**2  # 10 mm die
    density = 1.70  # g/cm3 of the cold-pressed pellet
    Zs, thick = [], []
    for sid, frb, bmr, mass, state, s25, Ea, a, d50 in S1_SAMPLES:
        t_cm = round(mass / 1000 / (density * area), 4)
        thick.append(t_cm)
        Zs.append(_pellet_spectra(freq, T_K, s25 * 1e-3, Ea, t_cm, area, rng))
    Z = np.stack(Zs)
    col = lambda i: [s[i] for s in S1_SAMPLES]  # noqa: E731
    ds = xr.Dataset(
        _z_vars(Z, ("sample", "temperature", "frequency")),
        coords={
            "sample": ("sample", col(0), {"long_name": "sample id"}),
            "temperature": ("temperature", T_K, {"units": "K", "long_name": "temperature"}),
            "frequency": ("frequency", freq, {"units": "Hz", "long_name": "frequency"}),
            "composition": ("sample", [S1_COMPOSITION] * len(S1_SAMPLES), {"units": "1", "long_name": "composition"}),
            "thickness_cm": ("sample", np.array(thick), {"units": "cm", "long_name": "pellet thickness"}),
            "area_cm2": ("sample", np.full(len(S1_SAMPLES), round(area, 4)), {"units": "cm2", "long_name": "pellet area"}),
            "mass_mg": ("sample", np.array(col(3), float), {"units": "mg", "long_name": "pellet mass"}),
            "state": ("sample", col(4), {"units": "1", "long_name": "state (as-milled / sintered)"}),
            "frb_pct": ("sample", np.array(col(1), float), {"units": "%", "long_name": "filling rate of milling balls"}),
            "bmr": ("sample", np.array(col(2), float), {"units": "1", "long_name": "ball-to-material mass ratio"}),
            "rpm": ("sample", np.full(len(S1_SAMPLES), 500.0), {"units": "rpm", "long_name": "mill speed"}),
            "milling_time_h": ("sample", np.full(len(S1_SAMPLES), 16.0), {"units": "h", "long_name": "milling time"}),
            "ball_diameter_mm": ("sample", np.full(len(S1_SAMPLES), 10.0), {"units": "mm", "long_name": "ball diameter"}),
            "ball_material": ("sample", ["WC"] * len(S1_SAMPLES), {"units": "1", "long_name": "ball material"}),
            "jar_volume_ml": ("sample", np.full(len(S1_SAMPLES), 50.0), {"units": "mL", "long_name": "jar volume"}),
            "lattice_a_angstrom": ("sample", np.array(col(7)), {"units": "angstrom", "long_name": "cubic lattice parameter a (Rietveld)"}),
            "unit_cell_volume_A3": ("sample", np.round(np.array(col(7)) ** 3, 2), {"units": "angstrom3", "long_name": "unit-cell volume"}),
            "particle_size_um": ("sample", np.array(col(8)), {"units": "um", "long_name": "mean particle size"}),
        },
        attrs=_prov(
            "s1_lpscb_pellets", "S1",
            "Li5.5PS4.5Cl0.8Br0.7 pellets, FRB 5/10/20 % (BMR 40:1, assumed) and BMR 20/40/80:1 "
            "(10 % FRB), as-milled and sintered, pellet mass 100/150/200 mg; optimum 10 % FRB + 80:1: "
            "13.3 mS/cm, 0.28 eV (sigma*T Arrhenius form); as-milled peak 3.5 mS/cm at 10 % FRB; "
            "sintered 5 % FRB 0.27 eV, 20 % FRB 27.2 % higher; unit-cell volume max at 10 % FRB, "
            "decreasing with BMR. EIS 2 MHz..0.1 Hz, -20..85 C, blocking electrodes.",
            arrhenius_form="sigmaT", circuit="L0-R0-CPE1",
        ),
    )
    return {"s1_lpscb_pellets": ds}


#: (x, sigma(25 C) mS/cm, Ea eV, electronic conductivity S/cm or nan)
S5_SAMPLES = [
    (0.0, 0.52, 0.362, 8.11e-9),
    (0.1, 0.78, 0.341, np.nan),
    (0.2, 1.03, 0.327, 1.09e-9),
    (0.3, 0.86, 0.336, np.nan),
    (0.4, 0.63, 0.349, np.nan),
    (0.5, 0.41, 0.368, np.nan),
]


def _s5_formula(x: float) -> str:
    f = lambda v: f"{v:g}"  # noqa: E731
    return f"Li{f(2 - x)}Zr{f(1 - x)}Nb{f(x)}Cl6" if x else "Li2ZrCl6"


def s5_pellets() -> dict[str, xr.Dataset]:
    """Study S5: Li(2-x)Zr(1-x)NbxCl6 pellets (volcano of sigma vs x) and DC polarisation."""
    rng = _rng("s5")
    freq = log_frequencies(2e6, 0.1, 10)
    T_C = np.array([-20, -10, 0, 10, 25, 40, 55, 70, 80], float)
    T_K = T_C + T0C
    area = round(np.pi * 0.5**2, 4)
    t_cm = 0.055
    Z = np.stack([
        _pellet_spectra(freq, T_K, s * 1e-3, Ea, t_cm, area, rng, L_H=3e-8, Q=1.2e-6, n=0.86)
        for _, s, Ea, _ in S5_SAMPLES
    ])
    xs = np.array([s[0] for s in S5_SAMPLES])
    n = len(xs)
    sample_ids = [f"LZNC-x{x:.1f}" for x in xs]
    coords = {
        "sample": ("sample", sample_ids, {"long_name": "sample id"}),
        "temperature": ("temperature", T_K, {"units": "K", "long_name": "temperature"}),
        "frequency": ("frequency", freq, {"units": "Hz", "long_name": "frequency"}),
        "composition": ("sample", [_s5_formula(x) for x in xs], {"units": "1", "long_name": "composition"}),
        "nb_x": ("sample", xs, {"units": "1", "long_name": "Nb content x"}),
        "thickness_cm": ("sample", np.full(n, t_cm), {"units": "cm", "long_name": "pellet thickness"}),
        "area_cm2": ("sample", np.full(n, area), {"units": "cm2", "long_name": "pellet area"}),
        "mass_mg": ("sample", np.full(n, 100.0), {"units": "mg", "long_name": "pellet mass"}),
        "state": ("sample", ["as-milled"] * n, {"units": "1", "long_name": "state (as-milled / sintered)"}),
        "frb_pct": ("sample", np.full(n, np.nan), {"units": "%", "long_name": "filling rate of milling balls"}),
        "bmr": ("sample", np.full(n, np.nan), {"units": "1", "long_name": "ball-to-material mass ratio"}),
        "rpm": ("sample", np.full(n, np.nan), {"units": "rpm", "long_name": "mill speed"}),
        "milling_time_h": ("sample", np.full(n, np.nan), {"units": "h", "long_name": "milling time"}),
        "ball_diameter_mm": ("sample", np.full(n, 10.0), {"units": "mm", "long_name": "ball diameter"}),
        "ball_material": ("sample", ["ZrO2"] * n, {"units": "1", "long_name": "ball material"}),
        "jar_volume_ml": ("sample", np.full(n, 50.0), {"units": "mL", "long_name": "jar volume"}),
    }
    pellets = xr.Dataset(
        _z_vars(Z, ("sample", "temperature", "frequency")), coords=coords,
        attrs=_prov(
            "s5_halide_pellets", "S5",
            "Li(2-x)Zr(1-x)NbxCl6, x = 0..0.5: volcano-shaped sigma(25 C) with the optimum at x = 0.2, "
            "1.03 mS/cm and Ea 0.327 eV (about twice pristine); Squidstat EIS 2 MHz..0.1 Hz; "
            "milling speed/time/filling not stated in the paper (NaN).",
            arrhenius_form="sigmaT", circuit="L0-R0-CPE1",
        ),
    )
    # DC polarisation with ion-blocking electrodes: steady-state current at several voltages
    V = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    sel = [i for i, s in enumerate(S5_SAMPLES) if np.isfinite(s[3])]
    I = np.array([[S5_SAMPLES[i][3] * area / t_cm * v for v in V] for i in sel])  # A
    I = I * (1 + 0.01 * rng.standard_normal(I.shape)) + 2e-12  # 1 % noise + offset current
    dc = xr.Dataset(
        {"current_ss": (("sample", "voltage"), I, {"units": "A", "long_name": "steady-state current"})},
        coords={
            "sample": ("sample", [sample_ids[i] for i in sel], {"long_name": "sample id"}),
            "voltage": ("voltage", V, {"units": "V", "long_name": "applied voltage"}),
            "nb_x": ("sample", xs[sel], {"units": "1", "long_name": "Nb content x"}),
            "thickness_cm": ("sample", np.full(len(sel), t_cm), {"units": "cm", "long_name": "pellet thickness"}),
            "area_cm2": ("sample", np.full(len(sel), area), {"units": "cm2", "long_name": "pellet area"}),
        },
        attrs=_prov("s5_dc_polarisation", "S5",
                    "DC polarisation (ion-blocking): electronic conductivity 8.11e-9 S/cm (x = 0) and "
                    "1.09e-9 S/cm (x = 0.2) from the slope of I_ss against V"),
    )
    return {"s5_halide_pellets": pellets, "s5_dc_polarisation": dc}


# ---------------------------------------------------------------------------------- in situ
def _insitu(name, study, mimics, cycles, voltages, directions, freq, zfun, rng, noise=0.004, extra=None):
    cycles = np.asarray(cycles)
    P = len(voltages)
    Z = np.empty((len(cycles), P, freq.size), complex)
    soc = np.empty((len(cycles), P))
    V = np.empty((len(cycles), P))
    for i, c in enumerate(cycles):
        for j, (v, d) in enumerate(zip(voltages, directions)):
            z, s = zfun(int(c), float(v), int(d))
            Z[i, j] = add_noise(z, noise, rng)
            soc[i, j], V[i, j] = s, v
    coords = {
        "cycle": ("cycle", cycles, {"units": "1", "long_name": "cycle number"}),
        "point": ("point", np.arange(P), {"units": "1", "long_name": "measurement point within the cycle"}),
        "frequency": ("frequency", freq, {"units": "Hz", "long_name": "frequency"}),
        "voltage": (("cycle", "point"), V, {"units": "V", "long_name": "cell voltage at the spectrum"}),
        "soc": (("cycle", "point"), soc, {"units": "%", "long_name": "state of charge at the spectrum"}),
        "direction": ("point", np.asarray(directions, np.int8), {"units": "1", "long_name": "+1 on charge, -1 on discharge"}),
    }
    if extra:
        coords.update(extra)
    return xr.Dataset(_z_vars(Z, ("cycle", "point", "frequency")), coords=coords,
                      attrs=_prov(name, study, mimics))


#: Table S4 of study S3 (LMA-Cl0.8I0.6 | NCM811 cell), cycles 1/20/40/60/80/100, ohm.
S3_TABLE_S4 = {
    "cycle": [1, 20, 40, 60, 80, 100],
    "R_bulk": [73.26, 73.31, 78.37, 82.64, 82.65, 92.51],
    "R_i1": [26.31, 31.65, 32.51, 34.83, 39.06, 46.38],
    "R_i2": [27.89, 31.64, 33.28, 34.59, 37.85, 38.86],
    "R_i3": [19.65, 20.64, 22.17, 25.16, 27.61, 29.31],
}
S3_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)-W1"


def s3_insitu() -> dict[str, xr.Dataset]:
    """Study S3: EIS of the NCM811 | LMA-Cl0.8I0.6 | Li cell every 20 cycles (Table S4)."""
    rng = _rng("s3")
    freq = log_frequencies(1e6, 0.1, 10)
    tab = S3_TABLE_S4
    taus, ns = (1e-6, 1e-4, 1e-2), (0.90, 0.88, 0.85)

    def zfun(c, v, d):
        i = tab["cycle"].index(c)
        z = tab["R_bulk"][i] + warburg_semi_infinite(freq, 12.0 + 0.04 * c)
        for R, tau, n in zip((tab["R_i1"][i], tab["R_i2"][i], tab["R_i3"][i]), taus, ns):
            Q = tau**n / R
            z = z + R / (1 + R * Q * (1j * 2 * np.pi * freq) ** n)
        return z, 100.0

    ds = _insitu(
        "s3_nmc811_insitu_eis", "S3",
        f"Table S4 of study S3: circuit {S3_CIRCUIT} (R_bulk, R_i-1, R_i-2, R_i-3 with CPE n in 0.5..1), "
        "cycles 1/20/40/60/80/100 of NCM811 | LMA-Cl0.8I0.6 | Li, spectra at the charged state",
        tab["cycle"], [4.25], [1], freq, zfun, rng, noise=0.002,
    )
    ds.attrs["circuit"] = S3_CIRCUIT
    for k in ("R_bulk", "R_i1", "R_i2", "R_i3"):
        ds.attrs[f"table_s4_{k}_ohm"] = np.asarray(tab[k])
    return {"s3_nmc811_insitu_eis": ds}


def s2_insitu() -> dict[str, xr.Dataset]:
    """Study S2: in situ EIS of the high-loading LTS cell, 20 cycles at 0.1C then 20 at 0.5C."""
    rng = _rng("s2eis")
    freq = log_frequencies(1e6, 0.01, 8)
    v_ch = [0.9, 1.2, 1.5, 1.9, 2.2, 2.4]
    v_dis = [2.1, 1.8, 1.6, 1.3, 1.0]
    volts = v_ch + v_dis
    dirs = [1] * len(v_ch) + [-1] * len(v_dis)
    cycles = np.arange(1, 41)

    def zfun(c, v, d):
        soc = 100 * (v - 0.9) / 1.5
        # T1: bulk/grain boundary/electrode interfaces; T2: charge transfer; T3: diffusion
        R0 = 18.0 + 0.05 * c
        z1 = zarc(freq, 12.0 + 0.08 * c, 3e-4, 0.8)
        vmin = 1.9 if d > 0 else 1.6
        R2 = 25.0 + 60.0 * (v - vmin) ** 2 + 0.2 * c
        tau2 = 0.6 * 10 ** (-0.6 * soc / 100)
        R3 = (60.0 + 90.0 * (v - vmin) ** 2) * (1 + 0.012 * c)
        late = (d > 0) and v >= 2.2
        tau3 = 40.0 * 10 ** (-0.5 * soc / 100) * (10 ** (-0.4 * c / 40) if late else 1.0)
        z = R0 + z1 + zarc(freq, R2, tau2, 0.85) + zarc(freq, R3, tau3, 0.6)
        return z, soc

    ds = _insitu(
        "s2_lts_insitu_eis", "S2",
        "in situ EIS of the high-loading LTS/LPSCB/Li-In cell: 20 cycles at 0.1C then 20 at 0.5C; "
        "faint arc + dominant low-frequency (diffusion) feature; impedance falls 0.9->1.9 V and rises "
        "1.9->2.4 V on charge, falls down to 1.6 V and rises below on discharge; DRT T1 (<1e-2 s), "
        "T2 (charge transfer, 0.1-1 s), T3 (diffusion, >1 s) regions; T2/T3 move to shorter tau on "
        "charge; the late-charge low-frequency peak shifts to higher frequency and T3 grows with cycling",
        cycles, volts, dirs, freq, zfun, rng, noise=0.0025,
        extra={"c_rate": ("cycle", np.where(cycles <= 20, 0.1, 0.5), {"units": "1/h", "long_name": "C-rate"})},
    )
    ds.attrs["drt_regions_s"] = np.array([1e-7, 1e-2, 1e-2, 1.0, 1.0, 1e3])
    ds.attrs["drt_region_names"] = "T1,T2,T3"
    return {"s2_lts_insitu_eis": ds}


def s4_insitu() -> dict[str, xr.Dataset]:
    """Study S4: Li-S cell EIS during the 1st, 20th and 200th cycle (DRT contour maps)."""
    rng = _rng("s4eis")
    freq = log_frequencies(1e6, 1e-3, 6)
    volts = [2.2, 1.8, 1.4, 1.0, 0.6, 1.2, 1.8, 2.4]
    dirs = [-1] * 5 + [1] * 3

    def zfun(c, v, d):
        g = np.log10(c) / np.log10(200)  # 0 at cycle 1, 1 at cycle 200
        soc = 100 * (v - 0.5) / 2.0
        z = (8.0 + zarc(freq, 6.0, 1e-6, 0.9)  # grain boundary ~1e-6 s
             + zarc(freq, 10.0 + 4 * g, 0.3, 0.85)  # Li-In/SE interface 0.1..1 s
             + zarc(freq, 20.0 + 10 * g + 15 * (1 - soc / 100), 3.0, 0.8)  # cathode/SE 1..10 s
             + zarc(freq, 40.0 + 30 * g + 40 * abs(v - 1.5), 100.0, 0.75))  # charge transfer ~1e2 s
        return z, soc

    ds = _insitu(
        "s4_lis_insitu_eis", "S4",
        "S/KB@P | SE | Li-In cell: DRT peaks ~1e-6 s (grain boundary), 0.1..1 s (Li-In/SE), 1..10 s "
        "(cathode/SE), ~1e2 s (charge transfer); 1st, 20th and 200th cycle",
        [1, 20, 200], volts, dirs, freq, zfun, rng, noise=0.0025,
    )
    return {"s4_lis_insitu_eis": ds}


# ---------------------------------------------------------------------------------- cycling
def _lts_components(n_total: int, hump_cycles: float, hump_share: float = 0.10):
    """OCV components of Li2TiS3 vs Li-In (V), drifting down and fading with cycling."""

    def comps(c: int, d: int):
        shift = -0.00025 * (c - 1)
        fade = 1 - 0.35 * (c - 1) / max(n_total - 1, 1)
        hump = hump_share * max(0.0, 1 - (c - 1) / hump_cycles) if d < 0 else 0.0  # on reduction only
        return [
            (2.055 + shift, 0.060, 0.42 * fade),  # oxidation (1.8-2.4 V on charge)
            (1.655 + shift, 0.055, 0.30 * fade),  # reduction (1.4-1.8 V on discharge) / shoulder
            (1.25, 0.10, hump),  # broad reduction hump 1.0-1.4 V, fades over ~200 cycles
        ]

    return comps


def _cell_attrs(name, study, mimics, active_mg, frac, area, loading, cathode, electrolyte, anode,
                vmin, vmax, start, **extra):
    """Cell attributes; ``active_mg`` is the electrode composite mass, ``frac`` its active share."""
    return {
        **_prov(name, study, mimics, **extra),
        "active_mass_mg": active_mg, "active_fraction": frac, "area_cm2": area,
        "loading_mg_cm2": loading, "cathode": cathode, "electrolyte": electrolyte, "anode": anode,
        "voltage_min_V": vmin, "voltage_max_V": vmax, "start_time": start,
    }


def _ce_curve(n, ce1, ce10, ce_late):
    """CE (fraction) per cycle: ce1 in cycle 1, ce10 at cycle 10, relaxing to ce_late."""
    k = 9.0 / np.log((ce1 - ce_late) / (ce10 - ce_late))
    return ce_late + (ce1 - ce_late) * np.exp(-(n - 1) / k)


def s2_cells() -> dict[str, xr.Dataset]:
    """Study S2: conventional (200 cycles) and high-loading (400 cycles) LTS cells at 0.5C."""
    out = {}
    area = 0.785
    c_rate_basis = 500.0  # mAh/g taken as 1C
    # --- conventional: 6 mg composite, 60 % LTS
    n = np.arange(1, 201, dtype=float)
    d = np.where(n <= 62, 470.6 - 90.0 * (np.abs(62 - n) / 61) ** 2, 470.6 - 17.8 * (np.abs(n - 62) / 138) ** 1.3)
    ce = _ce_curve(n, 1.12, 1.003, 1.0)
    eta = 0.045 + 0.005 * np.minimum(n - 1, 99) / 99  # polarisation 0.09 -> 0.10 V at cycle 100
    act = 6.0 * 0.6
    spec = CellSpec(
        charge_mAh=d / ce * act / 1000, discharge_mAh=d * act / 1000, eta_V=eta,
        current_mA=np.full(n.size, 0.5 * c_rate_basis * act / 1000), components=_lts_components(200, 200, 0.0),
        v_min=0.9, v_max=2.4, first="charge", points=220, rest_s=300,
        attrs=_cell_attrs(
            "s2_lts_conventional", "S2",
            "conventional LTS cell (7.6 mg/cm2) at 0.5C: first discharge 380.6 mAh/g, CE 112 % in cycle 1 "
            "(discharge/charge, the cell starts with charge), 100.3 % at cycle 10, peak 470.6 mAh/g at "
            "cycle 62, 96.22 % retention at cycle 200 (vs the peak), polarisation 0.09 -> 0.10 V at cycle 100",
            6.0, 0.6, area, 7.6, "Li2TiS3:LPSCB:VGCF 60:35:5", "Li5.5PS4.5Cl0.8Br0.7", "Li-In",
            0.9, 2.4, "2025-01-06T09:00:00", c_rate_basis_mAh_g=c_rate_basis,
            retention_reference="maximum discharge capacity after the first (formation) cycle",
        ),
    )
    rng = _rng("s2conv")
    out["s2_lts_conventional"] = simulate_cell(spec, rng)
    out["s2_lts_conventional_pressure"] = simulate_pressure_log(
        out["s2_lts_conventional"], 5.0, 0.035, 2.1, rng, lts_step_MPa=0.004)
    # --- high loading: 11 mg composite (14 mg/cm2)
    n = np.arange(1, 401, dtype=float)
    rise = 320.0 + 16.0 / (1 + np.exp(-(n - 15) / 4)) + 12.4 / (1 + np.exp(-(n - 65) / 6))
    rise = rise - rise[84] + 348.4
    a_ = 33.9 / 115 ** 1.206
    d = np.where(n <= 85, rise, 348.4 - a_ * np.maximum(n - 85, 0) ** 1.206)
    d[0] = 384.4
    ce = _ce_curve(n, 1.138, 1.004, 1.0)
    ce = np.where(n > 250, ce - 0.002 * np.clip((n - 250) / 50, 0, 1), ce)  # 99.8 % by cycle 300
    eta = 0.050 + 0.025 * (n - 1) / 399
    act = 11.0 * 0.6
    comps = _lts_components(400, 200)

    def comps_hl(c, dd):
        base = comps(c, dd)
        low = -0.04 * max(0, c - 200) / 100  # lowered plateau by cycle 300
        return [(v + low, s, w) for v, s, w in base]

    spec = CellSpec(
        charge_mAh=d / ce * act / 1000, discharge_mAh=d * act / 1000, eta_V=eta,
        current_mA=np.full(n.size, 0.5 * c_rate_basis * act / 1000), components=comps_hl,
        v_min=0.9, v_max=2.4, first="charge", points=180, rest_s=300,
        attrs=_cell_attrs(
            "s2_lts_highloading", "S2",
            "high-loading LTS cell (14 mg/cm2) at 0.5C: first discharge 384.4 mAh/g, CE 113.8 % in cycle 1, "
            "two capacity-rise phases in the first 100 cycles, 314.5 mAh/g at cycle 200 = 90.3 % of the "
            "maximum 348.4 mAh/g (after the formation cycle), 67.2 % at cycle 400, CE 99.8 % and a lowered "
            "plateau by cycle 300; dQ/dV oxidation 1.8-2.4 V, reduction 1.4-1.8 V shifting lower and "
            "fading, a reduction hump at 1.0-1.4 V fading over ~200 cycles",
            11.0, 0.6, area, 14.0, "Li2TiS3:LPSCB:VGCF 60:35:5", "Li5.5PS4.5Cl0.8Br0.7", "Li-In",
            0.9, 2.4, "2025-02-03T10:30:00", c_rate_basis_mAh_g=c_rate_basis,
            retention_reference="maximum discharge capacity after the first (formation) cycle",
        ),
    )
    rng = _rng("s2hl")
    out["s2_lts_highloading"] = simulate_cell(spec, rng)
    out["s2_lts_highloading_pressure"] = simulate_pressure_log(
        out["s2_lts_highloading"], 5.0, 0.06, 3.6, rng, lts_step_MPa=0.006, growth_tau_cycles=120)
    for k in ("s2_lts_conventional_pressure", "s2_lts_highloading_pressure"):
        cell = k.replace("_pressure", "")
        growth = "2.1" if "conventional" in k else "3.6"
        out[k].attrs.update(_prov(
            k, "S2",
            f"stack pressure logged once a minute beside {cell}: rises on charge (Li-In lithiation), "
            f"falls on discharge, small steps from LTS; irreversible growth {growth} % of the initial "
            "pressure at the end of discharge of the last cycle", cell=cell))
    # --- rate capability (conventional): 0.1C, 0.5C, 1C, back to 0.2C, 5 cycles each
    rates = np.repeat([0.1, 0.5, 1.0, 0.2], 5)
    caps = np.repeat([483.1, 412.7, 263.6, 451.2], 5)
    act = 6.0 * 0.6
    spec = CellSpec(
        charge_mAh=caps / np.r_[1.10, np.full(19, 1.0)] * act / 1000, discharge_mAh=caps * act / 1000,
        eta_V=0.02 + 0.06 * rates, current_mA=rates * c_rate_basis * act / 1000,
        components=_lts_components(20, 200, 0.0), v_min=0.9, v_max=2.4, first="charge", points=160, rest_s=300,
        attrs=_cell_attrs(
            "s2_lts_rate", "S2",
            "rate capability of the conventional LTS cell: 483.1 / 412.7 / 263.6 mAh/g at 0.1C / 0.5C / 1C, "
            "back to 451.2 mAh/g at 0.2C (five cycles per rate)",
            6.0, 0.6, area, 7.6, "Li2TiS3:LPSCB:VGCF 60:35:5", "Li5.5PS4.5Cl0.8Br0.7", "Li-In",
            0.9, 2.4, "2025-01-02T09:00:00", c_rate_basis_mAh_g=c_rate_basis,
        ),
    )
    out["s2_lts_rate"] = simulate_cell(spec, _rng("s2rate"))
    return out


def s4_cells() -> dict[str, xr.Dataset]:
    """Study S4: Li-S cells (S/KB@P modulated vs S/KB reference), starting with discharge."""
    out = {}
    n = np.arange(1, 101, dtype=float)
    act = 1.2  # mg sulfur
    area = 0.785

    def comps(c, d):
        return [(1.45, 0.07, 0.55), (1.95, 0.08, 0.12)] if d < 0 else [(1.62, 0.07, 0.55), (2.05, 0.08, 0.12)]

    for name, caps, mimic in (
        ("s4_lis_modulated", 1578.9 * (1 - 0.001 * (n - 1) / 99),
         "S/KB@P cathode after a first discharge to the modulated 0 V cut-off: 1578.9 mAh/g, 99.9 % retention"),
        ("s4_lis_reference", 1489.0 - (1489.0 - 656.0) * ((n - 1) / 99) ** 0.8,
         "reference S/KB cathode: 1489 -> 656 mAh/g over 100 cycles"),
    ):
        spec = CellSpec(
            charge_mAh=caps / 0.998 * act / 1000, discharge_mAh=caps * act / 1000,
            eta_V=np.full(n.size, 0.06), current_mA=np.full(n.size, 0.1 * 1672 * act / 1000),
            components=comps, v_min=0.5, v_max=2.5, first="discharge", points=120, rest_s=600,
            attrs=_cell_attrs(name, "S4", mimic + "; the cell starts with discharge (CE = charge/discharge)",
                              act, 1.0, area, act / area, "S/KB@P", "Li6PS5Cl", "Li-In", 0.5, 2.5,
                              "2025-03-01T08:00:00", c_rate_basis_mAh_g=1672.0),
        )
        out[name] = simulate_cell(spec, _rng(name))
    return out


def s5_cells() -> dict[str, xr.Dataset]:
    """Study S5: LCO | LZNC | Li-In cells with x = 0 and x = 0.2, 100 cycles."""
    out = {}
    n = np.arange(1, 101, dtype=float)
    act = 10.0 * 0.7
    area = 0.785

    def comps(c, d):
        return [(3.90 - 0.62, 0.035, 0.55), (4.05 - 0.62, 0.03, 0.10)]

    for name, d1, ce1, ret, mimic in (
        ("s5_lco_x0", 118.16, 0.9235, 0.59, "x = 0: first discharge 118.16 mAh/g, CE 92.35 %, 59 % after 100 cycles"),
        ("s5_lco_x02", 127.4, 0.9519, 0.914, "x = 0.2: first discharge 127.4 mAh/g, CE 95.19 %, 91.4 % after 100 cycles"),
    ):
        caps = d1 * (1 - (1 - ret) * (n - 1) / 99)
        ce = _ce_curve(n, ce1, 0.996, 0.999)
        spec = CellSpec(
            charge_mAh=caps / ce * act / 1000, discharge_mAh=caps * act / 1000,
            eta_V=np.full(n.size, 0.03) + 0.03 * (1 - ret) * n / 100, current_mA=np.full(n.size, 0.1 * 140 * act / 1000),
            components=comps, v_min=2.5 - 0.62, v_max=4.2 - 0.62, first="charge", points=120, rest_s=600,
            attrs=_cell_attrs(name, "S5", "LCO cells (2.5-4.2 V vs Li, i.e. 1.88-3.58 V vs Li-In, 1C = 140 mAh/g); " + mimic,
                              10.0, 0.7, area, 10.0 / area, "LiCoO2 composite", _s5_formula(0.2 if "02" in name else 0.0),
                              "Li-In", 1.88, 3.58, "2025-04-07T09:00:00", c_rate_basis_mAh_g=140.0),
        )
        out[name] = simulate_cell(spec, _rng(name))
    return out


GENERATORS = (s1_pellets, s5_pellets, s3_insitu, s2_insitu, s4_insitu, s2_cells, s4_cells, s5_cells)


def build_all() -> dict[str, xr.Dataset]:
    """Every sample dataset, by name."""
    out = {}
    for g in GENERATORS:
        out.update(g())
    return out


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for k, v in ds.variables.items():
        if v.dtype.kind in "fiu" and v.size > 64:
            enc[k] = {"zlib": True, "complevel": 6, "shuffle": True}
    return enc


def write_all(out_dir: Path) -> list[Path]:
    """Write every sample dataset to ``out_dir`` atomically; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, ds in build_all().items():
        p = out_dir / f"{name}.nc"
        tmp = out_dir / f".{name}.nc.tmp"
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=_encoding(ds))
        tmp.replace(p)
        paths.append(p)
    return paths
