"""Physics-based simulators behind the synthetic sample data (and usable in tests).

* :mod:`analysis.simulate.impedance`: impedance spectra from equivalent-circuit elements with
  Arrhenius-activated resistances and realistic (proportional) noise.
* :mod:`analysis.simulate.cycling`: galvanostatic charge/discharge curves from an open-circuit
  voltage built of Gaussian dQ/dV components plus an overpotential, with capacity, coulombic
  efficiency, polarisation and peak positions that evolve per cycle.
* :mod:`analysis.simulate.pressure`: stack pressure from electrode breathing and irreversible
  growth, sampled by a separate logger (e.g. once a minute).

Everything is deterministic for a given ``numpy.random.Generator`` seed.
"""
from analysis.simulate.cycling import CellSpec, simulate_cell  # noqa: F401
from analysis.simulate.impedance import (  # noqa: F401
    KB_EV,
    add_noise,
    arrhenius_sigma,
    cpe,
    inductor,
    log_frequencies,
    warburg_open,
    warburg_semi_infinite,
    zarc,
)
from analysis.simulate.pressure import simulate_pressure_log  # noqa: F401
