"""Read-outs that update in place.

A ``param.depends`` method placed directly in a layout is wrapped by Panel in a ``ParamMethod``
that *replaces* its pane on every change: the browser then rebuilds the DOM of the read-out and
re-lays-out the whole page (measured: about 1.5 s per slider move on the impedance page), and the
server walks the whole document to re-link models. :func:`live` keeps one set of panes and copies
the new text (and alert type) into them, so a change is a single ``text`` property update.

The kept panes are of the ``Live*`` classes below: Panel re-sends all properties of a Markdown or
HTML pane when its text changes, stylesheets included, and under a template the list it builds then
differs from the one the template gave at render (the design's Bootstrap sheets are added): the
browser then re-styled each read-out at the first slider move of every page (measured ~0.1 s per
read-out in Chromium, and the read-out's look changed). These panes keep the stylesheets they were
rendered with and update the rest.
"""
from __future__ import annotations

import panel as pn
import param

#: pane attributes copied from a freshly rendered pane into the persistent one
_COPY = ("object", "alert_type", "css_classes", "visible")


class _KeepStylesheets:
    """Mixin for Markdown/HTML panes: an update leaves the rendered model's stylesheets alone."""

    def _update(self, ref, model) -> None:
        self._raw_html = None
        props = self._get_properties(model.document)
        props.pop("stylesheets", None)
        model.update(**props)


class LiveMarkdown(_KeepStylesheets, pn.pane.Markdown):
    """Markdown read-out kept by :func:`live` (updates do not re-send its stylesheets)."""


class LiveHTML(_KeepStylesheets, pn.pane.HTML):
    """HTML read-out kept by :func:`live` (updates do not re-send its stylesheets)."""


class LiveAlert(_KeepStylesheets, pn.pane.Alert):
    """Alert kept by :func:`live` (updates do not re-send its stylesheets)."""


class LiveDataFrame(_KeepStylesheets, pn.pane.DataFrame):
    """HTML table of a DataFrame whose updates do not re-send its stylesheets (e.g. the impedance
    page's circuit-parameter table, updated at every cycle/point move)."""


_LIVE = {pn.pane.Markdown: LiveMarkdown, pn.pane.HTML: LiveHTML, pn.pane.Alert: LiveAlert}


def _kept(pane):
    """``pane`` as its ``Live*`` counterpart (same parameters), or unchanged for other types."""
    cls = _LIVE.get(type(pane))
    if cls is None:
        return pane
    values = {k: v for k, v in pane.param.values().items() if k != "name" and v is not pane.param[k].default}
    return cls(**values)


def _leaves(view) -> list:
    if isinstance(view, pn.layout.ListPanel):
        return list(view.objects)
    return [view if isinstance(view, pn.viewable.Viewable) else pn.panel(view)]


def _same_shape(old: list, new: list) -> bool:
    return len(old) == len(new) and all(type(a) is _LIVE.get(type(b), type(b)) and hasattr(a, "object")
                                        for a, b in zip(old, new))


def _render(method):
    """The read-out ``method`` evaluated (one place, so a benchmark can time the read-outs)."""
    return method()


def _morph(holder: pn.Column, view) -> None:
    new = _leaves(view)
    old = list(holder.objects)
    if _same_shape(old, new):
        for a, b in zip(old, new):
            changes = {k: getattr(b, k) for k in _COPY if k in a.param and k in b.param and getattr(a, k) != getattr(b, k)}
            if changes:
                a.param.update(**changes)
    else:  # the structure changed (e.g. an alert appeared): replace, which is rare
        holder[:] = [_kept(p) for p in new]


def live(method, shown: tuple[str, object] | None = None, **layout) -> pn.Column:
    """Show ``method`` (a ``param.depends`` method returning a pane or a Column of panes) in place.

    Parameters
    ----------
    method : bound method
        A method of a ``param.Parameterized`` page decorated with ``param.depends``; it returns a
        Markdown/HTML/Alert pane or a ``pn.Column`` of them.
    shown : (str, value), optional
        For a read-out inside one section (tab) of the page: the page parameter naming the shown
        section and this section's value. While another section is shown a change only marks the
        read-out out of date; it is brought up to date when its section is shown again. (A slider
        of another section then costs nothing here: e.g. a milling-parameter move on the trends tab
        no longer evaluates the what-if read-out, which follows the selection.)
    **layout
        Arguments of the holding ``pn.Column`` (default ``sizing_mode="stretch_width"``, no margin).

    Returns
    -------
    pn.Column
        One holder per page object and method (calling ``live`` again for the same method returns
        the same holder, so re-showing a page adds no watcher).
    """
    owner: param.Parameterized = method.__self__
    store = owner.__dict__.setdefault("_live_holders", {})
    name = method.__name__
    if name in store:
        return store[name]
    layout.setdefault("sizing_mode", "stretch_width")
    layout.setdefault("margin", 0)
    holder = pn.Column(**layout)
    _morph(holder, _render(method))
    deps = [d for d in method._dinfo.get("dependencies", ()) if isinstance(d, str) and "." not in d]
    stale = [False]

    def _refresh(*_events):
        if shown is not None and getattr(owner, shown[0]) != shown[1]:
            stale[0] = True  # hidden: brought up to date when its section is shown
            return
        stale[0] = False
        _morph(holder, _render(method))

    owner.param.watch(_refresh, deps)
    if shown is not None:
        def _on_show(event):
            if event.new == shown[1] and stale[0]:
                _refresh()

        owner.param.watch(_on_show, [shown[0]])
    store[name] = holder
    return holder
