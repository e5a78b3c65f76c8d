"""Throttled widgets: a slider drives its param on release; Python changes keep it in sync."""
from __future__ import annotations

import numpy as np
import panel as pn
import param
import pytest

from dashboard.widgets import set_value, throttled


class _State(param.Parameterized):
    x = param.Selector(default=10.0, objects=[5.0, 10.0, 20.0], doc="x")
    y = param.Number(default=0.5, bounds=(0, 1), doc="y")


def _user_release(w, value):
    """What the browser does when a slider is released: value then value_throttled."""
    inner = getattr(w, "_slider", None)
    if inner is not None:
        idx = w.values.index(value)
        inner.value = idx
        with param.edit_constant(inner):
            inner.value_throttled = idx
    else:
        w.value = value
        with param.edit_constant(w):
            w.value_throttled = value


def test_discrete_slider_roundtrip_and_stale_throttled_value():
    s = _State()
    w = throttled(s, "x")
    assert "ssb-w-x" in w.css_classes
    _user_release(w, 20.0)
    assert s.x == 20.0
    s.x = 10.0  # from Python (URL restore): the widget follows, throttled value included
    assert w.value == 10.0 and w._slider.value == 1 and w._slider.value_throttled == 1
    _user_release(w, 20.0)  # the move back to the earlier value must still fire (panel #2675)
    assert s.x == 20.0


def test_float_slider_acts_on_release():
    s = _State()
    w = throttled(s, "y", pn.widgets.FloatSlider, start=0, end=1, step=0.1)
    with param.edit_constant(w):
        w.value_throttled = 0.8  # the browser's release event
    assert s.y == 0.8
    s.y = 0.2
    assert w.value == 0.2 and w.value_throttled == 0.2
    set_value(w, 0.3)
    assert w.value_throttled == 0.3


def test_discrete_slider_follows_changed_objects_and_dict_options():
    s = _State()
    w = throttled(s, "x")
    s.param.x.objects = [1.0, 2.0, 20.0]
    s.x = 2.0
    assert w.values == [1.0, 2.0, 20.0] and w.value == 2.0
    labelled = throttled(s, "x", options={"one": 1.0, "two": 2.0, "twenty": 20.0})
    s.x = 20.0  # a value (not a label) of a dict-options slider must still reach the widget
    assert labelled.value == 20.0


class _Paged(param.Parameterized):
    section = param.Selector(default="a", objects=["a", "b", "c"], doc="section")


def test_sections_follow_the_parameter_both_ways():
    from dashboard.widgets import DEBOUNCE_MS, sections

    s = _Paged(section="b")
    tabs = sections(s, "section", {k: (k.upper(), pn.pane.Markdown(k)) for k in ("a", "b", "c")})
    assert tabs.dynamic and tabs.active == 1 and list(tabs._names) == ["A", "B", "C"]
    assert tabs._debounce == DEBOUNCE_MS < 50  # no 50 ms wait on a tab click
    tabs.active = 2  # the user picks a tab
    assert s.section == "c"
    s.section = "a"  # a shared URL or Python sets the section
    assert tabs.active == 0
    again = sections(s, "section", {k: (k, pn.pane.Markdown(k)) for k in ("a", "b", "c")})  # page shown again
    s.section = "b"
    assert tabs.active == again.active == 1
    del tabs, again
    import gc
    gc.collect()
    assert len(s._section_tabs["section"]) == 0  # released Tabs are not kept alive by the page


def test_throttled_slider_skips_panels_debounce():
    from dashboard.widgets import DEBOUNCE_MS

    s = _State()
    w = throttled(s, "x")
    assert w._slider._debounce == DEBOUNCE_MS and w._debounce == DEBOUNCE_MS


def _browser_release(model, value):
    """What a browser sends when the user releases a slider handle at ``value``: only the
    properties that differ from its own copy of the model."""
    if tuple(np.atleast_1d(model.value)) != tuple(np.atleast_1d(value)):
        model.value = value
    if tuple(np.atleast_1d(model.value_throttled)) != tuple(np.atleast_1d(value)):
        model.set_from_json("value_throttled", value)  # read-only in Python; the browser's patch sets it


class _Ranged(param.Parameterized):
    r = param.Range(default=(2, 5), bounds=(0, 10), doc="r")


#: (state, parameter, widget kwargs, user's value as the browser model holds it, parameter value then,
#:  value set from Python, browser model value then)
_MOVE_BACK = {
    "float": (_State, "y", dict(widget_cls=pn.widgets.FloatSlider, start=0, end=1, step=0.1), 0.8, 0.8, 0.2, 0.2),
    "discrete": (_State, "x", {}, 2, 20.0, 5.0, 0),  # the inner index slider of a DiscreteSlider
    "range": (_Ranged, "r", dict(widget_cls=pn.widgets.IntRangeSlider, start=0, end=10, step=1),
              (3, 7), (3, 7), (2, 5), (2, 5)),
}


@pytest.mark.parametrize("kind", list(_MOVE_BACK))
def test_move_back_after_a_python_set_still_fires(kind):
    """User releases at A; Python sets B (URL, another control); the user's release back at A must
    reach the parameter (the browser's value_throttled must not be left at A)."""
    from bokeh.document import Document
    from bokeh.models import Slider

    cls, pname, kw, user, param_user, py, model_py = _MOVE_BACK[kind]
    s = cls()
    w = throttled(s, pname, **kw)
    root = w.get_root(Document())
    model = root if kind != "discrete" else [m for m in root.select({"type": Slider})][0]
    _browser_release(model, user)
    assert getattr(s, pname) == param_user
    setattr(s, pname, py)
    assert tuple(np.atleast_1d(model.value)) == tuple(np.atleast_1d(model_py))
    assert tuple(np.atleast_1d(model.value_throttled)) == tuple(np.atleast_1d(model_py))
    _browser_release(model, user)
    assert getattr(s, pname) == param_user


def test_line_segments_draw_each_row_and_leave_gaps():
    from dashboard.theme import line_segments

    x = np.array([0.0, 1.0, 2.0, 3.0])
    ys = [[1.0, 2.0, np.nan, 4.0], [5.0, 6.0, 7.0, 8.0]]
    x0, y0, x1, y1, lab = line_segments(x, ys, ["a", "b"])
    # row a: steps 0-1 only (steps touching the NaN are gaps); row b: all three steps
    assert list(lab) == ["a", "b", "b", "b"]
    assert np.array_equal(x0, [0, 0, 1, 2]) and np.array_equal(x1, [1, 1, 2, 3])
    assert np.array_equal(y0, [1, 5, 6, 7]) and np.array_equal(y1, [2, 6, 7, 8])
    # one x row per line (dV/dQ curves have their own capacities)
    x0, _, x1, _, lab = line_segments([[0, 1], [10, 11]], [[1, 2], [3, 4]], [7, 9])
    assert np.array_equal(x0, [0, 10]) and np.array_equal(x1, [1, 11]) and np.array_equal(lab, [7, 9])
    assert all(len(c) == 0 for c in line_segments(np.zeros((0, 0)), np.zeros((0, 0)), []))


def test_choice_slider_shows_its_label_without_a_javascript_link():
    """A discrete slider is one Bokeh slider whose title shows the option's label through a JS tick
    formatter: no JavaScript link to a text box (Panel's DiscreteSlider builds one, searching the
    whole page when a session opens) and the text box is not drawn."""
    from bokeh.document import Document
    from bokeh.models import CustomJSTickFormatter, Div, Slider
    from panel.links import Callback

    from dashboard.widgets import ChoiceSlider

    s = _State()
    w = throttled(s, "x", label="Resolution (mV)")
    assert isinstance(w, ChoiceSlider)
    assert not Callback.registry.get(w._slider)
    root = w.get_root(Document())
    (slider,) = [m for m in root.select({"type": Slider})]
    assert slider.title == "Resolution (mV)" and slider.show_value and slider.value == 1
    assert isinstance(slider.format, CustomJSTickFormatter)
    assert slider.format.args["labels"] == ["5", "10", "20"]
    assert all(not d.visible for d in root.select({"type": Div}))
    # new options: the labels follow, still no link
    s.param.x.objects = [1.0, 2.5, 20.0]
    s.x = 2.5
    assert w._slider.format.args["labels"] == ["1", "2.5", "20"] and w._slider.value == 1
    assert not Callback.registry.get(w._slider)
    # dict options: the keys are the labels
    d = ChoiceSlider(label="Point", options={"2.10 V ↑": 0, "2.30 V ↓": 1}, value=1)
    assert d._slider.format.args["labels"] == ["2.10 V ↑", "2.30 V ↓"] and d._slider.value == 1
