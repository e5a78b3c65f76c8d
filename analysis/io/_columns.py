"""Recognise instrument column headers and their units.

Column names differ between instruments ("freq/Hz", "Frequency (Hz)", "Freq", "Z'(a)",
"-Im(Z)/Ohm", "Zimag", "|Z|/Ohm", "Phase(Z)/deg", "Current(mA)", "Amps", ...). The functions
here map a header row onto the data model, with the scale factor to its units and, for the
imaginary part, the sign.
"""
from __future__ import annotations

import re

_UNIT_RE = re.compile(r"[/(\[]\s*([A-Za-zµμΩ°.·\-\^0-9%?]+)\s*[)\]]?\s*$")

_OHM = {"ohm": 1.0, "ohms": 1.0, "Ω": 1.0, "o": 1.0, "kohm": 1e3, "kΩ": 1e3, "kohms": 1e3,
        "mohm": 1e-3, "mΩ": 1e-3, "Mohm": 1e6, "MΩ": 1e6, "Gohm": 1e9, "GΩ": 1e9, "ohm.cm": None}
_HZ = {"hz": 1.0, "Hz": 1.0, "kHz": 1e3, "khz": 1e3, "mHz": 1e-3, "MHz": 1e6, "GHz": 1e9}
_ANGLE = {"deg": 1.0, "°": 1.0, "degree": 1.0, "degrees": 1.0, "rad": 57.29577951308232}
_TIME = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0,
         "hour": 3600.0, "hours": 3600.0, "ms": 1e-3, "d": 86400.0, "day": 86400.0}
_VOLT = {"v": 1.0, "V": 1.0, "volts": 1.0, "volt": 1.0, "mV": 1e-3, "mv": 1e-3}
_AMP_TO_MA = {"A": 1e3, "a": 1e3, "amps": 1e3, "amp": 1e3, "mA": 1.0, "ma": 1.0, "uA": 1e-3, "µA": 1e-3,
              "μA": 1e-3, "nA": 1e-6}
_AH_TO_MAH = {"Ah": 1e3, "A.h": 1e3, "A·h": 1e3, "ah": 1e3, "mAh": 1.0, "mA.h": 1.0, "mA·h": 1.0, "mah": 1.0,
              "uAh": 1e-3, "µAh": 1e-3, "μAh": 1e-3, "uA.h": 1e-3, "µA.h": 1e-3, "C": 1e3 / 3600.0, "mC": 1 / 3600.0}
_PRESSURE_TO_MPA = {"MPa": 1.0, "mpa": 1.0, "kPa": 1e-3, "kpa": 1e-3, "Pa": 1e-6, "pa": 1e-6, "bar": 0.1,
                    "mbar": 1e-4, "psi": 0.006894757293168361, "atm": 0.101325, "GPa": 1e3}


class UnitError(ValueError):
    """A column carries a unit the reader does not recognise."""


def unit_of(name: str) -> str | None:
    """Return the unit written in a column header (``"freq/Hz"`` -> ``"Hz"``), or None."""
    m = _UNIT_RE.search(name.strip())
    if not m:
        return None
    u = m.group(1).strip().rstrip(".")
    return u or None


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", name.strip().strip('"').lower())


def scale(name: str, table: dict, default: float, what: str) -> float:
    """Scale factor from the unit written in ``name`` to the data-model unit.

    Raises
    ------
    UnitError
        When a unit is written but is not one of ``table``.
    """
    u = unit_of(name)
    if u is None:
        return default
    if u in table:
        f = table[u]
    elif u.lower() in table:
        f = table[u.lower()]
    else:
        f = None
        # units such as "Ohm" / "OHM" / "Ohms"
        lu = u.lower()
        for k, v in table.items():
            if k.lower() == lu and (k[0] not in "mM" or k[0] == u[0]):
                f = v
                break
        if f is None:
            raise UnitError(f"column {name.strip()!r}: unit {u!r} is not a {what} unit")
    if f is None:
        raise UnitError(f"column {name.strip()!r}: unit {u!r} is not a {what} unit")
    return f


def _strip_unit(n: str) -> str:
    n = re.sub(r"[/(\[].*$", "", n) if not n.startswith(("re(", "im(", "-im(", "|z", "mod(", "phase(", "abs(")) else n
    return n


def eis_columns(names: list[str]) -> dict:
    """Map EIS column headers onto the data model.

    Parameters
    ----------
    names : list of str
        Header names as written in the file.

    Returns
    -------
    dict
        Keys among ``frequency``, ``z_real``, ``z_imag``, ``z_mod``, ``phase``, ``loop`` mapping to
        ``(index, factor)`` where ``factor`` converts to Hz / ohm (with the sign for ``z_imag``:
        ``-Im(Z)`` columns get a negative factor) / degrees.

    Raises
    ------
    UnitError
        A recognised column with an unknown unit.
    """
    out: dict[str, tuple[int, float]] = {}
    for i, raw in enumerate(names):
        n = _norm(raw)
        if not n:
            continue
        neg = n.startswith("-")
        b = n.lstrip("-")
        if "(y)" in b or "|y|" in b or b.startswith(("re(y", "im(y", "y'", "y_")):
            continue  # admittance columns
        key = None
        if re.match(r"^(freq|frequency|f)\b|^freq|^frequency|^f(/|\(|\[|$)", b) and "ampl" not in b:
            key = "frequency"
        elif re.match(r"^(im\(z\)|z''|z\"|zimag|z_imag|zim\b|zim[/(\[]|imag|imaginary|z''\(b\)|zi\b|zi[/(\[])", b) \
                or b.startswith(("z''", "im(z)", "zimag", "z_imag", "imag", "zim")):
            key = "z_imag"
        elif b.startswith(("re(z)", "zreal", "z_real", "zre", "real")) or re.match(r"^z'(?!')", b) \
                or re.match(r"^zr(\b|[/(\[])", b):
            key = "z_real"
        elif b.startswith(("|z|", "zmod", "z_mod", "mod(z)", "absz", "abs(z)", "modulus", "magnitude", "|z")) \
                or re.match(r"^abs\s*z", b) or b in ("z", "z/ohm", "z(ohm)", "mod", "zabs"):
            key = "z_mod"
        elif b.startswith(("phase(z)", "phase", "zphz", "theta", "phi", "zphase", "z_phase", "phz")):
            key = "phase"
        elif b in ("loop_index", "loop", "loopindex", "cyclenumber", "cycle", "spectrum", "spectrum_index", "sweep"):
            key = "loop"
        if key is None or key in out:
            continue
        if key == "frequency":
            f = scale(raw, _HZ, 1.0, "frequency")
        elif key in ("z_real", "z_imag", "z_mod"):
            f = scale(raw, _OHM, 1.0, "impedance")
            if neg:
                f = -f
        elif key == "phase":
            f = scale(raw, _ANGLE, 1.0, "angle")
            if neg:
                f = -f
        else:
            f = 1.0
        out[key] = (i, f)
    return out


#: cycling column patterns: key -> (regexes on the normalised name, unit table, default factor)
_CYC = {
    "time": ([r"^test_?time", r"^testtime", r"^total_?time", r"^totaltime", r"^cumulative_?time", r"^test\(sec\)",
              r"^test\(s", r"^elapsed", r"^time/s", r"^time[/(\[]", r"^time$", r"^t/s$", r"^time\b"], _TIME, 1.0),
    "voltage": ([r"^voltage", r"^volts", r"^ewe", r"^ecell", r"^potential", r"^cell_?voltage", r"^u/v", r"^v$",
                 r"^e/v", r"^v\(v\)", r"^vol"], _VOLT, 1.0),
    "current": ([r"^current", r"^amps", r"^i/", r"^i\(", r"^i$", r"^<i>/", r"^cur"], _AMP_TO_MA, 1.0),
    "cycle": ([r"^cycle_?index", r"^cycle_?number", r"^cyc#", r"^cycle$", r"^cycleindex", r"^cycle_?id", r"^cycle_?no",
               r"^cycle\b"], {}, 1.0),
    "step": ([r"^step_?index", r"^step$", r"^stepindex", r"^step_?number", r"^step_?no", r"^ns$"], {}, 1.0),
    "charge_capacity": ([r"^charge_?capacity", r"^chg\.?_?cap", r"^q_?charge", r"^chargecapacity"], _AH_TO_MAH, 1.0),
    "discharge_capacity": ([r"^discharge_?capacity", r"^dchg\.?_?cap", r"^q_?discharge", r"^dischargecapacity"],
                           _AH_TO_MAH, 1.0),
    "capacity": ([r"^capacity", r"^amp-hr", r"^cap\b", r"^q/", r"^cap/"], _AH_TO_MAH, 1.0),
    "temperature": ([r"^temperature", r"^temp", r"^t1\b", r"^aux_?temp", r"^t/°c", r"^t/c$", r"^t/k$"], {}, 1.0),
    "pressure": ([r"^pressure", r"^stack_?pressure", r"^p/", r"^p\(", r"^force_?pressure"], _PRESSURE_TO_MPA, 1.0),
    "status": ([r"^step_?type", r"^status", r"^state$", r"^mode$", r"^md$"], {}, 1.0),
    "datetime": ([r"^date_?time", r"^datetime", r"^timestamp", r"^date$", r"^realtime", r"^abs_?time", r"^dpt_?time",
                  r"^systime", r"^absolute_?time"], {}, 1.0),
}


def cycling_columns(names: list[str]) -> dict:
    """Map cycler column headers onto the data model.

    Parameters
    ----------
    names : list of str
        Header names as written in the file.

    Returns
    -------
    dict
        Key -> ``(index, factor)``; factors convert to s, V, mA, mAh, MPa. For ``temperature`` the
        factor is 1 and the unit (``"C"``/``"K"``/``"F"``) is returned under ``temperature_unit``.

    Raises
    ------
    UnitError
        A recognised column with an unknown unit.
    """
    out: dict = {}
    norm = [_norm(raw).replace(" ", "") for raw in names]
    used: set[int] = set()
    for key, (pats, table, default) in _CYC.items():
        hit = None
        for p in pats:  # patterns in priority order
            for i, n in enumerate(norm):
                if i in used or not n or not re.search(p, n):
                    continue
                if key == "time" and ("step" in n or "dpt" in n):
                    continue
                if key in ("capacity", "charge_capacity", "discharge_capacity") and (
                        "spec" in n or "/g" in n or "energy" in n):
                    continue
                hit = i
                break
            if hit is not None:
                break
        if hit is None:
            continue
        raw = names[hit]
        used.add(hit)
        if key == "temperature":
            u = (unit_of(raw) or "C").replace("°", "").replace("deg", "").strip().upper() or "C"
            if u not in ("C", "K", "F", "?"):
                raise UnitError(f"column {raw.strip()!r}: unit {u!r} is not a temperature unit")
            out["temperature_unit"] = "C" if u == "?" else u
            out[key] = (hit, 1.0)
        elif table:
            out[key] = (hit, scale(raw, table, default, key.replace("_", " ")))
        else:
            out[key] = (hit, 1.0)
    return out


def temperature_to_k(values, unit: str):
    """Convert temperatures in ``unit`` (``C``, ``K`` or ``F``) to kelvin."""
    if unit == "K":
        return values
    if unit == "F":
        return (values - 32.0) * 5.0 / 9.0 + 273.15
    return values + 273.15
