"""Widgets bound to page parameters through ``value_throttled``.

A slider drives its parameter only when released (``value_throttled``), so a drag does not
queue dozens of recomputations. Setting the parameter from Python (URL restore, another
control) updates the slider's ``value`` *and* ``value_throttled`` so that the next user move
always fires (works around panel issue #2675, where ``value_throttled`` goes stale).
"""
from __future__ import annotations

import weakref
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


#: ms Panel waits after a browser change before processing it (its default is 50 ms)
DEBOUNCE_MS = 10


def prompt(w) -> None:
    """Process the browser's changes of widget ``w`` (and of its inner slider) after
    :data:`DEBOUNCE_MS` instead of Panel's default 50 ms debounce.

    Panel waits after a browser change so that changes arriving together are processed together.
    A slider release sends ``value`` and ``value_throttled``, applied before the next event-loop
    turn, so a short wait keeps them together. Not zero: the server's reply to the browser's
    message must be written first; while that write is pending Panel cannot send the resulting
    patch as one message and Bokeh sends every changed property as a message of its own
    (measured on the impedance page: 20 messages instead of one, applied by the browser with
    repaints in between). ``_debounce`` is Panel's class attribute for this; an instance
    attribute overrides it.
    """
    for x in (w, getattr(w, "_slider", None)):
        if x is not None and hasattr(x, "_debounce"):
            x._debounce = DEBOUNCE_MS


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
    for x in (w, inner):
        if x is not None:
            _push_throttled(x)


def _push_throttled(x) -> None:
    """Write widget ``x``'s ``value_throttled`` into its Bokeh models too.

    Panel never sends ``value_throttled`` to the browser, so after a value set from Python the
    browser's model keeps the value of the user's last release. Releasing the handle at that same
    value again would then change nothing in the browser's model and send nothing: the move back
    to the previous value was lost (e.g. cycle 15 -> the range moved it to 20 -> back to 15).
    """
    v = getattr(x, "value_throttled", None)
    if v is None:
        return
    for model, _parent in list(getattr(x, "_models", {}).values()):
        if "value_throttled" not in model.properties():
            continue
        cur = model.value_throttled
        same = (tuple(cur) == tuple(v)) if isinstance(v, (tuple, list)) and isinstance(cur, (tuple, list)) else cur == v
        if not same:  # a read-only property in Bokeh's Python models: set as a patch would set it
            model.set_from_json("value_throttled", list(v) if isinstance(v, tuple) else v)


class ChoiceSlider(pn.widgets.DiscreteSlider):
    """A DiscreteSlider drawn as ONE Bokeh slider: the title shows the chosen option's label.

    Panel's DiscreteSlider draws a text box above an index slider and keeps the text in step with
    a JavaScript link. Building that link searches the whole page for both models (measured ~25 ms
    per slider when a session opens, more on large pages), and the browser sends every label
    change back to the server as a message of its own. Here the index slider shows its own value
    through a JavaScript tick formatter mapping the index to the option's label (the text box
    stays hidden), so the label needs no link and no message. Options, values,
    ``value_throttled`` and the inner ``_slider`` behave as in DiscreteSlider.
    """

    def _update_options(self, *events):
        if not self.options and self.value is not None:
            # nothing to choose (a dataset without this parameter): Panel's empty state ('-'); its own
            # code would index the empty option list
            with param.discard_events(self):
                self.value = None
        super()._update_options(*events)
        from bokeh.models import CustomJSTickFormatter
        from panel.links import Callback

        links = Callback.registry.get(self._slider)
        if links is not None and self._jslink in links:
            links.remove(self._jslink)  # the text box it drives is not drawn
        self._slider.param.update(
            label=self.label, show_value=True,
            format=CustomJSTickFormatter(args={"labels": self.value_labels()},
                                         code="const s = labels[tick]; return s === undefined ? '' : s"))
        # (no _update_style here: DiscreteSlider._update_options already called it, and this override,
        # for the new inner slider)

    def value_labels(self) -> list[str]:
        """The options as shown after the title: dict keys, strings as they are, numbers through
        ``formatter`` (as DiscreteSlider labels them)."""
        if isinstance(self.options, dict):
            return [str(k) for k in self.options]
        return [o if isinstance(o, str) else self.formatter % o for o in self.options]

    def _update_style(self, *events):
        super()._update_style(*events)
        self._text.visible = False  # the slider's own title shows the label
        if getattr(self, "_slider", None) is not None:
            self._slider.margin = self.margin  # no text box above: the slider takes the whole margin


def _choices(p: param.Parameter) -> list:
    """The options of a discrete slider for Selector ``p``: its objects without ``None`` (param adds
    ``None`` to the objects when the value is set to it, e.g. for a parameter the dataset lacks, and
    a slider cannot label it)."""
    return [o for o in p.objects if o is not None]


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
        IntSlider, IntRangeSlider...); a DiscreteSlider is made as a :class:`ChoiceSlider`.
    **kw
        Extra widget arguments (``label``, ``options``, ``start``/``end``/``step``...). A
        DiscreteSlider without ``options`` uses the parameter's ``objects`` and follows them when
        they change; ``options`` may be a dict (label -> value).
    """
    p = obj.param[pname]
    if "name" in kw:  # Panel >= 1.10 calls the visible title `label` (`name` is deprecated)
        kw.setdefault("label", kw.pop("name"))
    kw.setdefault("label", p.label)
    follow_objects = issubclass(widget_cls, pn.widgets.DiscreteSlider) and "options" not in kw
    if follow_objects:
        kw["options"] = _choices(p)
    kw.setdefault("css_classes", [f"ssb-w-{pname.replace('_', '-')}"])  # stable hook for browser tests
    if widget_cls is pn.widgets.DiscreteSlider:
        widget_cls = ChoiceSlider  # the same widget, without the label's JavaScript link
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

    prompt(w)
    w.param.watch(_to_param, "value_throttled")
    obj.param.watch(_to_widget, pname)
    if follow_objects and isinstance(p, param.Selector):
        def _objects(*_):
            w.options = _choices(p)
            if getattr(obj, pname) in w.values:
                set_value(w, getattr(obj, pname))

        obj.param.watch(_objects, pname, what="objects")
    return w


def sections(page: param.Parameterized, pname: str, content: dict) -> pn.Tabs:
    """Tabs showing one section of a page at a time, bound to the page parameter ``pname``.

    Parameters
    ----------
    page : param.Parameterized
        The page; ``page.param[pname]`` is a ``param.Selector`` whose objects are the keys of
        ``content`` (the section goes into the shared URL like any other parameter).
    pname : str
        Name of that parameter.
    content : dict
        Section key -> ``(title, panel object)``.

    Returns
    -------
    pn.Tabs
        Dynamic tabs: only the shown section is rendered in the browser, so a slider move updates
        the plots the user sees and not the ones in other sections (those are drawn from the
        current state when their tab is opened). Choosing a tab sets the parameter and setting the
        parameter from Python (URL restore) switches the tab.
    """
    keys = list(content)
    tabs = pn.Tabs(*[(title, obj) for title, obj in content.values()], dynamic=True,
                   active=keys.index(getattr(page, pname)) if getattr(page, pname) in keys else 0,
                   sizing_mode="stretch_width", css_classes=[f"ssb-sections-{pname.replace('_', '-')}"])

    def _to_param(event):
        key = keys[event.new] if 0 <= event.new < len(keys) else None
        if key is not None and key != getattr(page, pname):
            with batched():
                setattr(page, pname, key)

    prompt(tabs)
    tabs.param.watch(_to_param, "active")
    # one watcher per page and parameter, moving every live Tabs of that page (a page shown again
    # builds new Tabs; the old ones are released, hence the weak set)
    registry = page.__dict__.setdefault("_section_tabs", {})
    if pname not in registry:
        registry[pname] = weakref.WeakSet()

        def _to_tabs(event, tabsets=registry[pname]):
            for t in list(tabsets):
                idx = keys.index(event.new) if event.new in keys else None
                if idx is not None and t.active != idx:
                    t.active = idx

        page.param.watch(_to_tabs, pname)
    registry[pname].add(tabs)
    return tabs
