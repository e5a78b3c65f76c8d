"""Server set-up script (``panel serve --setup dashboard/warmup.py``).

Runs once per server process before it accepts sessions: loads the sample data and fills the
analysis caches that the first page needs, so the first visitor does not wait for them.
"""
from __future__ import annotations


def warm() -> None:
    """Fill the caches of the default views (errors are ignored: warming is best effort)."""
    from dashboard import compute, data

    try:
        pellets = data.names("pellet_eis")
        for name in pellets[:1]:
            ds = data.load(name)
            circuit = ds.attrs.get("circuit", "L0-R0-CPE1")
            compute.pellet_results(name, circuit, "sigmaT")
            for prop in ("sigma_25C", "Ea"):
                try:
                    compute.property_model(name, circuit, "sigmaT", prop, "sintered")
                except Exception:
                    pass
        for kind in ("insitu_eis", "cycling", "pressure_log"):
            for name in data.names(kind):
                data.load(name)
    except Exception:  # pragma: no cover - never block the server start
        pass


warm()
