"""Colours and plot defaults shared by the pages (colour-blind-safe palettes)."""
from __future__ import annotations

import holoviews as hv
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


def current_theme() -> str:
    """``"dark"`` when the URL asks for ``?theme=dark``, else ``"default"`` (light)."""
    try:
        args = pn.state.session_args or {}
        if args.get("theme", [b""])[0].decode() == "dark":
            return "dark"
    except Exception:  # outside a server session
        pass
    return "default"


PLOT_OPTS = dict(responsive=True, height=340, tools=["hover"], active_tools=["wheel_zoom"],
                 fontscale=1.05, show_grid=True)
