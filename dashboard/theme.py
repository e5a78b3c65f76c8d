"""Colours and plot defaults shared by the pages (colour-blind-safe palettes)."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh backend so .opts works anywhere)
import panel as pn

# Plots draw on plain canvases, not WebGL (HoloViews' default). Every plot here holds at most a few
# thousand points (long logs are decimated), where WebGL only adds cost: Bokeh draws all WebGL
# glyphs in one shared offscreen context and copies the result into each plot's canvas on every
# repaint (measured in Chromium: ~60 ms per slider move on the impedance page, ~40 % of the
# browser's work), and browsers without a GPU (remote desktops, headless) emulate WebGL in software.
# Process-wide: importing the dashboard in a notebook also draws that notebook's HoloViews plots on
# canvases (set ``hv.renderer('bokeh').webgl = True`` afterwards to undo).
hv.renderer("bokeh").webgl = False

#: Okabe-Ito palette (colour-blind safe), used for categorical series.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
ACCENT = "#0072B2"
#: sequential colormap for cycle-coloured curves and 2D maps (perceptually uniform, CVD-safe)
SEQUENTIAL = "cividis"
#: style of every button group choosing one option: the chosen button filled in the accent colour,
#: the others outlined (Panel's default style marks the choice by a shade that the dark theme makes
#: invisible: 39,44,48 against 43,48,53 in RGB)
CHOICE_STYLE = {"color": "primary", "variant": "outline"}


def current_theme() -> str:
    """``"dark"`` when the URL asks for ``?theme=dark``, else ``"default"`` (light)."""
    try:
        args = pn.state.session_args or {}
        if args.get("theme", [b""])[0].decode() == "dark":
            return "dark"
    except Exception:  # outside a server session
        pass
    return "default"


#: px kept left of every plot frame for the y tick labels and the axis label: with axes that follow
#: the data, tick labels change width ("80" -> "120"); a frame sized to them then moved at every
#: slider move (the browser re-laid out the figure, ~80 ms after each update, measured in Chromium)
Y_AXIS_SPACE = 72


def keep_y_axis_space(plot, element) -> None:
    """HoloViews hook: at least :data:`Y_AXIS_SPACE` px left of the plot frame.

    A hook rather than an option: HoloViews re-applies its own ``border`` (10 px on every side) to
    ``min_border_left`` whenever a frame's plot options change, and hooks run after that, so the
    value the browser sees never changes (one Bokeh property, set once)."""
    fig = plot.state
    if getattr(fig, "min_border_left", Y_AXIS_SPACE) != Y_AXIS_SPACE:
        fig.min_border_left = Y_AXIS_SPACE


PLOT_OPTS = dict(responsive=True, height=340, tools=["hover"], active_tools=["wheel_zoom"],
                 fontscale=1.05, show_grid=True, hooks=[keep_y_axis_space])
# Overlays too (process-wide, like the canvas setting above): an overlay applies its plot options after
# its layers' hooks ran, so only its own hook has the last word
hv.Store.options(backend="bokeh").Overlay = hv.Options("plot", hooks=[keep_y_axis_space])


def line_segments(x, ys, labels) -> tuple:
    """Columns ``(x0, y0, x1, y1, label)`` of ONE ``hv.Segments`` element drawing each row of ``ys``
    as a line through its points.

    Several lines as one vectorised glyph update much faster than a ``Path``/``Contours`` (HoloViews
    builds a Dataset per path on every update) or one ``Curve`` per line. Steps with a non-finite end
    are left out (a gap in the line).

    Parameters
    ----------
    x : array_like
        x of the points: shape ``(n,)`` shared by all lines, or ``(k, n)`` one row per line.
    ys : array_like
        y of the points, shape ``(k, n)`` (a sequence of ``k`` equal-length arrays).
    labels : sequence
        ``k`` labels, one per line (the value dimension that colours it).

    Returns
    -------
    tuple of numpy.ndarray
        Start x, start y, end x, end y and label of every drawn step.
    """
    labels = np.asarray(list(labels))
    if labels.size == 0:
        e = np.zeros(0)
        return e, e, e, e, labels
    ys = np.asarray(ys, dtype=float).reshape(labels.size, -1)
    xs = np.broadcast_to(np.asarray(x, dtype=float), ys.shape)
    x0, x1, y0, y1 = xs[:, :-1], xs[:, 1:], ys[:, :-1], ys[:, 1:]
    ok = np.isfinite(x0) & np.isfinite(x1) & np.isfinite(y0) & np.isfinite(y1)
    lab = np.broadcast_to(labels[:, None], x0.shape)[ok]
    return x0[ok], y0[ok], x1[ok], y1[ok], lab
