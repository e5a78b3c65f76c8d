"""Every plot's axes show all of its data after a slider move (no data clipped by stale ranges),
every axis is labelled and the space for the y tick labels stays the same.

Each page section is rendered into a Bokeh document as in a served session; each main slider is
moved to the far end of its range (the biggest change of the plotted data), and every data glyph's
finite x/y values must lie inside its figure's ``Range1d``. Before the impedance page's templates
were made ``framewise``, its plots kept the first frame's ranges: cycle 40's Nyquist arc
(Z' up to 123 Ω) was cut at 104 Ω; the dQ/dV plot's y axis had no label.
"""
from __future__ import annotations

import importlib

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, GlyphRenderer, Plot, Range1d
from panel.io.state import set_curdoc

from dashboard.shell import PAGES
from dashboard.theme import Y_AXIS_SPACE
from dashboard.widgets import batched

#: (page, section, sliders): the sections and sliders of the latency benchmark
MOVES = [
    ("synthesis", "pellet", ["bmr", "frb_pct", "temperature_C"]),
    ("synthesis", "bode", ["bmr", "temperature_C"]),
    ("synthesis", "trends", ["bmr", "frb_pct"]),
    ("synthesis", "whatif", ["what_bmr", "what_frb_pct"]),
    ("impedance", "spectrum", ["cycle", "point"]),
    ("impedance", "drt", ["cycle", "point", "lam_log10", "cycle_range"]),
    ("impedance", "tracks", ["point", "cycle_range"]),
    ("cycling", "summary", ["cycle_range"]),
    ("cycling", "dqdv", ["cycle_range", "resolution_mV"]),
    ("pressure", "timeseries", ["cycle"]),
    ("pressure", "cycles", ["cycle"]),
]
#: glyphs that shade or mark a whole band of an axis (annotations; they do not set the axes)
ANNOTATIONS = {"VSpan", "HSpan", "VStrip", "HStrip"}


def _page(key):
    module, cls = {k: (m, c) for k, _, m, c in PAGES}[key]
    return getattr(importlib.import_module(module), cls)()


def _far(obj, name):
    """The value of ``name`` at the other end of its range from the current one."""
    par, cur = obj.param[name], getattr(obj, name)
    objs = getattr(par, "objects", None)
    if objs:
        objs = list(objs.values()) if isinstance(objs, dict) else list(objs)
        return objs[-1] if cur != objs[-1] else objs[0]
    if isinstance(cur, tuple):  # a range: shrink it to its first two cycles
        lo = par.bounds[0]
        return (lo, lo + 1)
    lo, hi = par.bounds
    return type(cur)(hi if cur != hi else lo)


def _field(spec):
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return spec.get("field")
    return getattr(spec, "field", None)


def clipped(doc) -> list[str]:
    """Data glyphs of ``doc`` with finite values outside their figure's x or y range."""
    out = []
    for fig in (m for m in doc.models if isinstance(m, Plot)):
        for r in fig.renderers:
            if not (isinstance(r, GlyphRenderer) and r.visible and isinstance(r.data_source, ColumnDataSource)):
                continue
            if type(r.glyph).__name__ in ANNOTATIONS:
                continue
            for ax, rng in (("x", fig.x_range), ("y", fig.y_range)):
                name = _field(getattr(r.glyph, ax, None))
                if not isinstance(rng, Range1d) or rng.start is None or name not in r.data_source.data:
                    continue
                try:
                    v = np.asarray(r.data_source.data[name], dtype=float)
                except (TypeError, ValueError):
                    continue
                v = v[np.isfinite(v)]
                if not v.size:
                    continue
                lo, hi = sorted((float(rng.start), float(rng.end)))
                tol = 1e-6 * (hi - lo)
                if v.min() < lo - tol or v.max() > hi + tol:
                    title = fig.title.text if fig.title is not None else ""
                    out.append(f"{title!r} {type(r.glyph).__name__}.{ax} ({name}): data "
                               f"[{v.min():.4g}, {v.max():.4g}] outside the axis [{lo:.4g}, {hi:.4g}]")
    return out


def unlabelled(doc) -> list[str]:
    """Figures of ``doc`` with an axis without a label, or whose space for the y tick labels is not
    the fixed one (:func:`dashboard.theme.keep_y_axis_space`: a changed space re-lays out the figure
    in the browser; HoloViews reset it to its own border at the second update of an overlay)."""
    out = []
    for fig in (m for m in doc.models if isinstance(m, Plot)):
        title = fig.title.text if fig.title is not None else ""
        for ax in ("xaxis", "yaxis"):
            if not all(a.axis_label for a in getattr(fig, ax)):
                out.append(f"{title!r}: {ax} without a label")
        if fig.min_border_left != Y_AXIS_SPACE:
            out.append(f"{title!r}: min_border_left {fig.min_border_left}, not {Y_AXIS_SPACE}")
    return out


@pytest.mark.parametrize("key,section,sliders", MOVES, ids=[f"{k}-{s}" for k, s, _ in MOVES])
def test_axes_cover_the_data_after_each_move(key, section, sliders):
    obj = _page(key)
    obj.section = section
    doc = Document()
    with set_curdoc(doc):
        doc.add_root(pn.Row(obj.controls(), obj.main_view()).get_root(doc))
    problems = [f"opened: {p}" for p in clipped(doc) + unlabelled(doc)]
    for name in sliders:
        new = _far(obj, name)
        with set_curdoc(doc), batched():
            setattr(obj, name, new)
        problems += [f"{name} = {new}: {p}" for p in clipped(doc) + unlabelled(doc)]
    assert not problems, "\n".join(problems)
