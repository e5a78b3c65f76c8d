"""Entry point for ``panel serve dashboard/app.py`` (what ``ssb-explorer serve`` runs)."""
import panel as pn

from dashboard.shell import App, skip_unused_mathjax

pn.extension("tabulator", notifications=True, throttled=True)
skip_unused_mathjax()  # the template made every page load 1.8 MB of MathJax it never uses
# no global loading indicator: it adds about a second to every update (measured in benchmarks/ui_latency.py)

app = App(sync_url=True)
app.template().servable(title="ssb-explorer")
