"""ssb-explorer science package.

Pure numpy/scipy/xarray: readers turn instrument files into the project's xarray data model
(see ``docs/data-model.md`` and :mod:`analysis.schema`), and the analysis modules work only on
that model. Nothing here imports Panel or Bokeh, keeps global state or prints.

Importing :mod:`analysis` registers the xarray accessors (``ds.eis``, ``ds.drt``,
``ds.cycling``...) of the modules that provide them.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Modules whose import registers an xarray accessor. Missing ones are skipped so that the
# package stays importable while parts are being built.
_ACCESSOR_MODULES = (
    "analysis.eis.accessor",  # ds.eis
    "analysis.drt.accessor",  # ds.drt
    "analysis.cycling_accessor",  # ds.cycling
)

for _name in _ACCESSOR_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a module is absent
        if not (_exc.name or "").startswith("analysis."):
            raise
del _name
