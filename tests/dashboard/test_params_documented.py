"""Every page is a Viewer whose public params are documented (panel-material-ui's rule)."""
from __future__ import annotations

import importlib

import panel as pn
import pytest

from dashboard.shell import PAGES


@pytest.mark.parametrize("key, title, module, cls", PAGES, ids=[p[0] for p in PAGES])
def test_page_params_have_docs(key, title, module, cls):
    mod = importlib.import_module(module)
    klass = getattr(mod, cls)
    assert issubclass(klass, pn.viewable.Viewer)
    missing = [n for n, p in klass.param.objects("existing").items()
               if n != "name" and not n.startswith("_") and not (p.doc or "").strip()]
    assert not missing, f"{cls}: public params without doc=: {missing}"
    for n in getattr(klass, "url_params", lambda self: [])(klass.__new__(klass)) if hasattr(klass, "url_params") else []:
        assert n in klass.param, f"{cls}.url_params names unknown param {n!r}"


def test_app_param_documented():
    from dashboard.shell import App

    assert all((p.doc or "").strip() for n, p in App.param.objects("existing").items() if n != "name")
