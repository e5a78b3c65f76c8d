"""ssb-explorer dashboard: one ``pn.viewable.Viewer`` per page, all science in :mod:`analysis`.

In a notebook::

    import panel as pn
    pn.extension()
    from dashboard import SynthesisExplorer
    SynthesisExplorer()

Served: ``ssb-explorer serve`` (or ``make serve``) runs ``panel serve dashboard/app.py``.
"""
from __future__ import annotations

import importlib

#: public page classes -> module that defines them (imported lazily: importing the package
#: stays cheap and does not require every page to exist while the app is being built)
_PAGES = {
    "SynthesisExplorer": "dashboard.pages.synthesis",
    "DRTExplorer": "dashboard.pages.impedance",
    "CyclingExplorer": "dashboard.pages.cycling",
    "PressureExplorer": "dashboard.pages.pressure",
    "DataPage": "dashboard.pages.data",
    "App": "dashboard.shell",
}

__all__ = list(_PAGES)


def __getattr__(name: str):
    if name in _PAGES:
        return getattr(importlib.import_module(_PAGES[name]), name)
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
