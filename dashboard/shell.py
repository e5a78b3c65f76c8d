"""The multi-page application: one template, a page selector, page state in the URL."""
from __future__ import annotations

import importlib
from contextlib import contextmanager

import panel as pn
import param

from dashboard import theme

#: (key, title, module, class). Pages are imported when first shown.
PAGES = [
    ("synthesis", "Synthesis explorer", "dashboard.pages.synthesis", "SynthesisExplorer"),
    ("impedance", "Impedance & DRT", "dashboard.pages.impedance", "DRTExplorer"),
    ("cycling", "Cycling & dQ/dV", "dashboard.pages.cycling", "CyclingExplorer"),
    ("pressure", "Stack pressure", "dashboard.pages.pressure", "PressureExplorer"),
    ("data", "Data", "dashboard.pages.data", "DataPage"),
]


def skip_unused_mathjax() -> bool:
    """Stop the served page from loading Bokeh's MathJax bundle (1.8 MB of JavaScript) for no use.

    Panel adds ``bokeh-mathjax`` to a server page whenever one of the document's *roots* is a
    Panel HTML model, and every template has one (its empty ``js_area``), so each page load paid
    for downloading and compiling MathJax. The dashboard's text uses Unicode (λ, χ², Ω), never TeX:
    the check is narrowed to HTML roots that contain a TeX delimiter. Returns False (and changes
    nothing) if this Panel version has no such check.
    """
    from panel.io import resources

    check = getattr(resources, "_panel_use_mathjax", None)
    if check is None or getattr(check, "_ssb_narrowed", False):
        return check is not None
    from panel.models.markup import HTML as PanelHTML

    def _html_root_with_tex(roots) -> bool:
        return any(isinstance(r, PanelHTML) and any(d in (r.text or "") for d in ("$$", "\\(", "\\["))
                   for r in roots)

    _html_root_with_tex._ssb_narrowed = True
    resources._panel_use_mathjax = _html_root_with_tex
    return True


@contextmanager
def one_model_walk(doc):
    """Render into ``doc`` with Bokeh's model graph walked once, at the end, instead of per root.

    Bokeh recomputes the set of document models (a walk over every model reachable from the
    roots, attaching each to the document) whenever a root is added or a model property holding
    models changes; rendering the template into a new session's document did that about a dozen
    times, over a growing page. Inside this block the walk is deferred to the end (Bokeh's own
    ``freeze``), so a model created and attached during the render costs one walk. Measured on new
    sessions in one process, alternating with and without (median of 8 each): synthesis trends
    1069 -> 672 ms, impedance spectrum 796 -> 633 ms, pressure 647 -> 594 ms.

    While frozen the models have no document yet, so Panel cannot share one stylesheet model per
    URL across the page (its cache is per document) and creates one per component; before the
    walk the copies are replaced by one model per URL, registered in Panel's per-document cache,
    so the page sent to the browser is the same as without the block. Does nothing without a
    document or when Bokeh's model manager lacks the methods relied on.
    """
    mm = getattr(doc, "models", None)
    if mm is None or not all(hasattr(mm, a) for a in ("_push_freeze", "_pop_freeze")):
        yield
        return
    mm._push_freeze()
    try:
        yield
    finally:
        try:
            _share_stylesheets(doc)
        finally:
            mm._pop_freeze()


def _share_stylesheets(doc) -> None:
    """Make every model of ``doc`` use one ``ImportedStyleSheet`` per URL (Panel's per-document cache)."""
    from bokeh.models import ImportedStyleSheet
    from panel.io.state import state

    cache = getattr(state, "_stylesheets", None)
    if cache is None:
        return
    shared = dict(cache.get(doc, {}))
    for root in doc.roots:
        for m in root.references():
            sheets = m.stylesheets if "stylesheets" in m.properties() else None
            if not sheets:
                continue
            new = [shared.setdefault(s.url, s) if isinstance(s, ImportedStyleSheet) and s.url else s
                   for s in sheets]
            if any(a is not b for a, b in zip(new, sheets)):
                m.stylesheets = new
    cache[doc] = shared


def available_pages() -> list[tuple[str, str, str, str]]:
    """The pages whose module can be imported (all of them in a complete install)."""
    out = []
    for entry in PAGES:
        try:
            importlib.import_module(entry[2])
        except ModuleNotFoundError as exc:
            if exc.name == entry[2]:
                continue
            raise
        out.append(entry)
    return out


class App(pn.viewable.Viewer):
    """The served dashboard: a template with a page selector; each page a Viewer."""

    page = param.Selector(default="synthesis", objects=["synthesis"], doc="Key of the page shown.")

    def __init__(self, sync_url: bool = False, **params):
        pages = available_pages()
        self._entries = {key: (title, mod, cls) for key, title, mod, cls in pages}
        self.param.page.objects = list(self._entries)
        super().__init__(**params)
        self._instances: dict[str, pn.viewable.Viewer] = {}
        self._nav = pn.widgets.RadioBoxGroup(
            options={title: key for key, (title, _, _) in self._entries.items()},
            value=self.page, label="Page", inline=False, css_classes=["ssb-nav"],
        )
        self._nav.link(self, value="page", bidirectional=True)
        self._main = pn.Column(sizing_mode="stretch_both")
        self._sidebar = pn.Column(sizing_mode="stretch_width")
        self._sync = bool(sync_url) and pn.state.location is not None
        if self._sync:
            # restores ?page=... from a shared URL (and triggers _show_page when it differs)
            pn.state.location.sync(self, {"page": "page"})
        if not self._main.objects:
            self._show_page()

    def page_object(self, key: str) -> pn.viewable.Viewer:
        """Return (creating it on first use) the Viewer of page ``key``."""
        if key not in self._instances:
            _, mod, cls = self._entries[key]
            obj = getattr(importlib.import_module(mod), cls)()
            self._instances[key] = obj
            if getattr(self, "_sync", False) and hasattr(obj, "url_params"):
                # page state <-> URL query (?<key>.<param>=...), so a shared link restores the view
                pn.state.location.sync(obj, {p: f"{key}.{p}" for p in obj.url_params()})
        return self._instances[key]

    @param.depends("page", watch=True)
    def _show_page(self):
        obj = self.page_object(self.page)
        self._main[:] = [obj.main_view() if hasattr(obj, "main_view") else obj]
        controls = obj.controls() if hasattr(obj, "controls") else pn.Column()
        self._sidebar[:] = [pn.pane.Markdown("### Pages"), self._nav, pn.layout.Divider(), controls]

    def template(self) -> pn.template.BaseTemplate:
        """The served template (Bootstrap, light or dark from ``?theme=dark``).

        Bootstrap rather than Fast/Material: those load web fonts from a CDN, and a lab server
        may have no internet (the browser console would fill with errors).

        No header busy spinner: Panel drives it from one process-wide ``busy`` flag, so on a group
        server every user's spinner would turn whenever anyone computes, and each of those
        toggles is a message to every open session. Long jobs show their own progress bar.
        """
        tmpl = pn.template.BootstrapTemplate(
            title="ssb-explorer",
            sidebar=[self._sidebar],
            main=[self._main],
            theme=theme.current_theme(),
            header_background=theme.ACCENT,
            sidebar_width=330,
            busy_indicator=None,
        )
        return tmpl

    def __panel__(self):
        return pn.Row(pn.Column(self._sidebar, width=330), self._main, sizing_mode="stretch_width")
