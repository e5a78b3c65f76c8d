"""In-place read-outs (dashboard.live) and one-batch slider updates (dashboard.widgets.batched)."""
from __future__ import annotations

import panel as pn
import param
from bokeh.document import Document
from panel.io.state import set_curdoc

from dashboard.live import live
from dashboard.widgets import batched, throttled


class _Page(param.Parameterized):
    x = param.Integer(default=1, bounds=(0, 10), doc="x")
    fail = param.Boolean(default=False, doc="show an alert")
    calls = 0

    @param.depends("x", "fail")
    def readout(self):
        type(self).calls += 1
        md = pn.pane.Markdown(f"x = **{self.x}**", css_classes=["ssb-readout"])
        if self.fail:
            return pn.Column(md, pn.pane.Alert("broken", alert_type="danger"))
        return md


def test_live_updates_the_same_pane_in_place():
    p = _Page()
    holder = live(p.readout)
    pane = holder[0]
    p.x = 7
    assert holder[0] is pane, "the read-out pane must be kept (replacing it re-lays-out the page)"
    assert pane.object == "x = **7**"
    assert "ssb-readout" in pane.css_classes


def test_live_follows_a_change_of_structure_and_back():
    p = _Page()
    holder = live(p.readout)
    p.fail = True
    assert len(holder) == 2 and isinstance(holder[1], pn.pane.Alert)
    alert = holder[1]
    p.x = 3
    assert holder[1] is alert and holder[0].object == "x = **3**"
    p.fail = False
    assert len(holder) == 1 and holder[0].object == "x = **3**"


def test_live_is_one_holder_and_one_watcher_per_method():
    p = _Page()
    a = live(p.readout)
    n_watchers = sum(len(w) for w in p.param.watchers.get("x", {}).values())
    b = live(p.readout)  # showing the page again
    assert a is b
    assert sum(len(w) for w in p.param.watchers.get("x", {}).values()) == n_watchers
    _Page.calls = 0
    p.x = 4
    assert _Page.calls == 1, "one recomputation per change"


def test_batched_recomputes_the_document_models_once():
    doc = Document()
    p = _Page()
    layout = pn.Column(live(p.readout), *[pn.pane.Markdown(str(i)) for i in range(5)])
    with set_curdoc(doc):
        doc.add_root(layout.get_root(doc))
    calls = []
    orig = doc.models.recompute

    def counting():
        calls.append(1)
        return orig()

    doc.models.recompute = counting
    w = throttled(p, "x", pn.widgets.IntSlider, start=0, end=10)
    with set_curdoc(doc), batched():
        p.fail = True  # adds a model (the alert) ...
        p.x = 5        # ... and changes text
        assert not calls, "no recomputation while the batch is open"
    assert len(calls) == 1
    assert w.value == 5


def test_batched_is_a_no_op_outside_a_session():
    p = _Page()
    with batched():
        p.x = 2
    assert p.x == 2


def test_batched_skips_the_model_walk_when_only_data_changed():
    doc = Document()
    p = _Page()
    holder = live(p.readout)
    with set_curdoc(doc):
        doc.add_root(pn.Column(holder).get_root(doc))
    calls = []
    orig = doc.models.recompute
    doc.models.recompute = lambda: (calls.append(1), orig())[1]
    with set_curdoc(doc), batched():
        p.x = 6  # text only
    assert not calls, "a text change must not walk the document"
    with set_curdoc(doc), batched():
        p.fail = True  # a new model (the alert) must be attached to the document
    assert len(calls) == 1
    models = [m for m, _ in holder[1]._models.values()]
    assert models and all(doc.get_model_by_id(m.id) is m for m in models), "the new model is in the document"


def test_live_readout_in_a_template_keeps_its_stylesheets():
    """Under a template, a read-out update must send its text, not a new stylesheet list: Panel's
    plain Markdown pane re-sends the design's sheets at its first update, and the browser then
    re-styles the read-out (a visible change and ~0.1 s per read-out at the first slider move)."""
    p = _Page()
    holder = live(p.readout)
    doc = Document()
    with set_curdoc(doc):
        pn.template.BootstrapTemplate(main=[holder]).server_doc(doc)
    model = next(m for m in doc.models if "ssb-readout" in (getattr(m, "css_classes", None) or []))
    before = list(model.stylesheets)
    events = []
    doc.on_change(events.append)
    for x in (5, 6):
        with set_curdoc(doc):
            p.x = x
    changed = {getattr(e, "attr", None) for e in events}
    assert "text" in changed
    assert "stylesheets" not in changed, "a text update re-sent the read-out's stylesheets"
    assert list(model.stylesheets) == before
    assert "x = <strong>6</strong>" in model.text.replace("&lt;", "<").replace("&gt;", ">")


class _Sections(param.Parameterized):
    x = param.Integer(default=1, bounds=(0, 10), doc="x")
    section = param.Selector(default="a", objects=["a", "b"], doc="shown section")
    calls = 0

    @param.depends("x")
    def readout(self):
        type(self).calls += 1
        return pn.pane.Markdown(f"x = **{self.x}**")


def test_live_readout_of_a_hidden_section_waits_until_it_is_shown():
    p = _Sections()
    holder = live(p.readout, shown=("section", "b"))
    assert holder[0].object == "x = **1**"  # drawn once at creation (the tab may be opened first)
    _Sections.calls = 0
    p.x = 2
    p.x = 3
    assert _Sections.calls == 0, "a read-out in a hidden section must not be recomputed on every move"
    p.section = "b"
    assert _Sections.calls == 1 and holder[0].object == "x = **3**"
    p.x = 4  # shown: follows at once
    assert _Sections.calls == 2 and holder[0].object == "x = **4**"
    p.section = "a"
    p.section = "b"  # nothing changed while hidden: no recomputation
    assert _Sections.calls == 2
