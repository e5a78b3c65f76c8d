"""Widgets bound to page parameters through ``value_throttled``.

A slider drives its parameter only when released (``value_throttled``), so a drag does not
queue dozens of recomputations. Setting the parameter from Python (URL restore, another
control) updates the slider's ``value`` *and* ``value_throttled`` so that the next user move
always fires (works around panel issue #2675, where ``value_throttled`` goes stale).
"""
from __future__ import annotations

from contextlib import contextmanager

import panel as pn
import param


@contextmanager
def _models_frozen(doc):
    """Freeze ``doc``'s model graph; on exit recompute it only if it may have changed.

    Bokeh recomputes the set of document models (a walk over every model of the page, ~50-100 ms
    on the impedance page) whenever a freeze ends, even when the action only changed data
    (``ColumnDataSource.data``, text, ranges). A change that adds or removes models always goes
    through ``DocumentModelManager.invalidate`` (property values holding model references) or
    changes the roots, so we watch for those and skip the walk otherwise. Falls back to Bokeh's
    plain ``freeze`` if its internals differ from what this relies on.
    """
    mm = doc.models
    if not all(hasattr(mm, a) for a in ("_push_freeze", "_pop_freeze", "_freeze_count", "invalidate", "recompute")) \
            or mm._freeze_count > 0 or "invalidate" in vars(mm):  # unknown Bokeh, or already inside a batch
        with mm.freeze():
            yield
        return
    dirty = []
    real_invalidate = mm.invalidate
    roots = list(doc.roots)

    def invalidate():
        dirty.append(True)
        real_invalidate()

    mm.invalidate = invalidate
    mm._push_freeze()
    try:
        yield
    finally:
        del mm.invalidate
        changed = bool(dirty) or list(doc.roots) != roots
        own = vars(mm).get("recompute")  # an instance-level override (tests) must survive
        if not changed:
            mm.recompute = lambda: None  # the graph is unchanged: the walk would find the same models
        try:
            mm._pop_freeze()
        finally:
            if not changed:
                if own is None:
                    del mm.recompute
                else:
                    mm.recompute = own


@contextmanager
def batched():
    """Apply everything one user action causes as one batch.

    Holds the session's Bokeh document (all property changes go to the browser in one message)
    and freezes its model graph, so Bokeh recomputes the set of document models at most once per
    action instead of once per changed plot or read-out (that recomputation walks the whole page
    and was the largest server cost of a slider move), and not at all when the action only
    changed data. Outside a server session it does nothing.
    """
    doc = pn.state.curdoc
    if doc is None or not hasattr(doc, "models"):
        yield
        return
    with pn.io.hold(doc), _models_frozen(doc):
        yield


def set_value(w, value) -> None:
    """Set a widget's ``value`` and ``value_throttled`` (constant on some widgets) from Python.

    For composite sliders (DiscreteSlider) the inner slider's throttled value is refreshed too,
    so the next user move always produces an event.
    """
    with param.edit_constant(w):
        if "value_throttled" in w.param:
            w.param.update(value=value, value_throttled=value)
        else:
            w.value = value
    inner = getattr(w, "_slider", None)
    if inner is not None and "value_throttled" in inner.param:
        with param.edit_constant(inner):
            inner.value_throttled = inner.value


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
        IntSlider, IntRangeSlider...).
    **kw
        Extra widget arguments (``label``, ``options``, ``start``/``end``/``step``...). A
        DiscreteSlider without ``options`` uses the parameter's ``objects`` and follows them when
        they change; ``options`` may be a dict (label -> value).
    """
    p = obj.param[pname]
    if "name" in kw:  # Panel >= 1.10 calls the visible title `label` (`name` is deprecated)
        kw.setdefault("label", kw.pop("name"))
    kw.setdefault("label", p.label)
    follow_objects = widget_cls is pn.widgets.DiscreteSlider and "options" not in kw
    if follow_objects:
        kw["options"] = list(p.objects)
    kw.setdefault("css_classes", [f"ssb-w-{pname.replace('_', '-')}"])  # stable hook for browser tests
    value = getattr(obj, pname)
    w = widget_cls(value=tuple(value) if isinstance(value, (tuple, list)) else value, **kw)
    w.description = p.doc

    def _valid(v):
        return v in w.values if isinstance(w, pn.widgets.DiscreteSlider) else True

    def _to_param(event):
        new = tuple(event.new) if isinstance(event.new, list) else event.new
        if new is not None and new != getattr(obj, pname):
            with batched():
                setattr(obj, pname, new)

    def _to_widget(event):
        new = event.new
        if _valid(new) and (w.value != new or getattr(w, "value_throttled", new) != new):
            set_value(w, new)

    w.param.watch(_to_param, "value_throttled")
    obj.param.watch(_to_widget, pname)
    if follow_objects and isinstance(p, param.Selector):
        def _objects(*_):
            w.options = list(p.objects)
            if getattr(obj, pname) in w.values:
                set_value(w, getattr(obj, pname))

        obj.param.watch(_objects, pname, what="objects")
    return w
