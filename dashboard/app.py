"""Entry point for ``panel serve dashboard/app.py`` (what ``ssb-explorer serve`` runs)."""
import panel as pn

from dashboard.shell import App

pn.extension("tabulator", notifications=True, throttled=True)
pn.config.loading_indicator = True  # panes being recomputed show a spinner instead of freezing

app = App(sync_url=True)
app.template().servable(title="ssb-explorer")
