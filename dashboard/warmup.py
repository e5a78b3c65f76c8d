"""Server set-up script (``panel serve --setup dashboard/warmup.py``).

Runs once per server process before it accepts sessions: builds every page once on its
default dataset and evaluates its views, so the analysis caches (circuit fits, DRT maps,
dQ/dV of every cycle, pressure alignment, structure-property models) are filled before the
first visitor arrives. Best effort: an error only leaves a cache cold.
"""
from __future__ import annotations

import importlib
import time


def warm(budget_s: float = 60.0) -> list[str]:
    """Build each page and call its views; returns the names of the pages warmed."""
    from dashboard.shell import available_pages

    t0 = time.monotonic()
    done = []
    for key, _title, module, cls in available_pages():
        if time.monotonic() - t0 > budget_s:
            break
        try:
            page = getattr(importlib.import_module(module), cls)()
            for name in dir(page):
                if name.startswith("_"):
                    continue
                meth = getattr(page, name, None)
                if callable(meth) and hasattr(meth, "_dinfo"):
                    try:
                        meth()
                    except Exception:
                        pass
            done.append(key)
        except Exception:  # pragma: no cover - never block the server start
            continue
    return done


warm()
