"""Widgets bound to page parameters through ``value_throttled``.

A slider drives its parameter only when released (``value_throttled``), so a drag does not
queue dozens of recomputations. Setting the parameter from Python (URL restore, another
control) updates the slider's ``value`` *and* ``value_throttled`` so that the next user move
always fires (works around panel issue #2675, where ``value_throttled`` goes stale).
"""
from __future__ import annotations

import panel as pn
import param


def throttled(obj: param.Parameterized, pname: str, widget_cls=pn.widgets.DiscreteSlider, **kw):
    """Create ``widget_cls`` for ``obj.<pname>`` linked through ``value_throttled``.

    Parameters
    ----------
    obj : param.Parameterized
        The page holding the state.
    pname : str
        Parameter name.
    widget_cls : type
        A Panel slider class with ``value_throttled`` (DiscreteSlider, FloatSlider,
        IntSlider, RangeSlider...).
    **kw
        Extra widget arguments (``name``, ``options``, ``start``/``end``/``step``...).
    """
    p = obj.param[pname]
    if "name" in kw:  # Panel >= 1.10 calls the visible title `label` (`name` is deprecated)
        kw.setdefault("label", kw.pop("name"))
    kw.setdefault("label", p.label)
    if widget_cls is pn.widgets.DiscreteSlider and "options" not in kw:
        kw["options"] = list(p.objects)
    value = getattr(obj, pname)
    if isinstance(value, tuple):
        value = tuple(value)
    kw.setdefault("css_classes", [f"ssb-w-{pname.replace('_', '-')}"])  # stable hook for browser tests
    w = widget_cls(value=value, **kw)
    w.description = p.doc

    def _to_param(event):
        if event.new is not None and event.new != getattr(obj, pname):
            setattr(obj, pname, tuple(event.new) if isinstance(event.new, list) else event.new)

    def _to_widget(event):
        new = event.new
        if isinstance(w, pn.widgets.DiscreteSlider) and new not in w.options:
            return
        if w.value != new or getattr(w, "value_throttled", new) != new:
            set_value(w, new)

    w.param.watch(_to_param, "value_throttled")
    obj.param.watch(_to_widget, pname)
    return w


def set_value(w, value) -> None:
    """Set a widget's ``value`` and ``value_throttled`` (constant on some widgets) from Python.

    For composite sliders (DiscreteSlider) the inner slider's throttled value is refreshed too,
    so the next user move always produces an event.
    """
    with param.edit_constant(w):
        if hasattr(w, "value_throttled"):
            w.param.update(value=value, value_throttled=value)
        else:
            w.value = value
    inner = getattr(w, "_slider", None)
    if inner is not None and hasattr(inner, "value_throttled"):
        with param.edit_constant(inner):
            inner.value_throttled = inner.value


def options_follow(obj: param.Parameterized, pname: str, widget) -> None:
    """Keep a DiscreteSlider/Select's options equal to the parameter's ``objects``."""

    def _sync(*_):
        objs = list(obj.param[pname].objects)
        if isinstance(widget, pn.widgets.DiscreteSlider):
            widget.options = objs
        else:
            widget.options = objs
        val = getattr(obj, pname)
        if val in objs:
            set_value(widget, val)

    obj.param.watch(_sync, pname, what="objects")
