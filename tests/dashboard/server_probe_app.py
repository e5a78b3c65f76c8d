"""A tiny Panel app served by the server tests: shows who is logged in and which store opens."""
import panel as pn

from dashboard import access

try:
    _store = access.session_store()
    _where = "none" if _store is None else _store.name
except access.AccessDenied as exc:
    _where = f"denied ({exc})"
pn.pane.Markdown(f"SSB-PROBE user={pn.state.user} store={_where}").servable()
