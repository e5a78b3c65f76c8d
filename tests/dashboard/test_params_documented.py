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


@pytest.mark.parametrize("key, title, module, cls", PAGES, ids=[p[0] for p in PAGES])
def test_choice_buttons_show_the_choice(key, title, module, cls):
    """Every one-of-several button group marks the chosen option in the accent colour (Panel's default
    style shades it so little that the dark theme hides which state or direction is chosen)."""
    from dashboard import theme

    page = getattr(importlib.import_module(module), cls)()
    groups = page.__panel__().select(pn.widgets.RadioButtonGroup)
    for g in groups:
        assert (g.button_type, g.button_style) == (theme.CHOICE_STYLE["color"], theme.CHOICE_STYLE["variant"]), \
            f"{cls}: button group {g.name!r} keeps the default style"
    if key in ("synthesis", "impedance", "cycling", "pressure"):
        assert groups, f"{cls}: no button group found (the test would check nothing)"
