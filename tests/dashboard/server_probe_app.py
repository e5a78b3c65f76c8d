"""A tiny Panel app served by the server tests: who is logged in, which store opens, how many datasets."""
import panel as pn

from dashboard import access

try:
    _store = access.session_store()
    _where = "none" if _store is None else _store.name
    try:
        from analysis import store as _st

        _n = len(_st.open(_store).list()) if _store is not None and _store.exists() else 0
    except ImportError:
        _n = -1
except access.AccessDenied as exc:
    _where, _n = f"denied ({exc})", 0
_slider = pn.widgets.FloatSlider(name="probe lambda", start=0.0, end=1.0, step=0.01, value=0.5)
_readout = pn.pane.Markdown("readout 0.5")
_slider.param.watch(lambda e: setattr(_readout, "object", f"readout {e.new}"), "value_throttled")
pn.Column(pn.pane.Markdown(f"SSB-PROBE user={pn.state.user} store={_where} datasets={_n}"),
          _slider, _readout).servable()
