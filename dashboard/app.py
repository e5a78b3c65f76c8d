"""Entry point for ``panel serve dashboard/app.py`` (what ``ssb-explorer serve`` runs)."""
import panel as pn

from dashboard.shell import App, one_model_walk, skip_unused_mathjax

pn.extension("tabulator", notifications=True, throttled=True)
skip_unused_mathjax()  # the template made every page load 1.8 MB of MathJax it never uses
# no global loading indicator: it adds about a second to every update (measured in benchmarks/ui_latency.py)

app = App(sync_url=True)
with one_model_walk(pn.state.curdoc):  # one walk over the page's models instead of a dozen
    app.template().servable(title="ssb-explorer")
