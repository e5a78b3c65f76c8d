"""The served application shell: rendering a page into a session's document."""
from __future__ import annotations

import json
import re
from collections import Counter

import panel as pn
import pytest
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.models import ImportedStyleSheet
from panel.io.state import set_curdoc

from dashboard.shell import App, available_pages, one_model_walk
from dashboard.warmup import _discard, render_once

pn.extension("tabulator", notifications=True, throttled=True)


def _render(page: str, section: str | None, walk_once: bool, count_walks: bool = False):
    """Render ``page`` (``section``) in the served template into a new document, as a session does."""
    doc = Document()
    walks = []
    if count_walks:
        real = doc.models.recompute

        def counted():
            walks.append(len(doc.roots))
            real()

        doc.models.recompute = counted
    with set_curdoc(doc):
        app = App(page=page)
        if section is not None:
            app.page_object(page).section = section
        tmpl = app.template()
        if walk_once:
            with one_model_walk(doc):
                tmpl.server_doc(doc)
        else:
            tmpl.server_doc(doc)
    return doc, walks


def _canonical(doc):
    """The document's JSON (parsed) with what differs between two renders of the same page made
    equal: model ids (renamed in order of appearance, also inside strings such as ``__ref:p123``),
    Panel's numbered component names (``Column07251``), Python object ids (``main-1401982298``) and
    random hex ids."""
    names: dict[str, str] = {}

    def fix(x):
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        if isinstance(x, str):
            x = re.sub(r"\bp\d+\b", lambda m: names.setdefault(m.group(0), f"m{len(names)}"), x)
            x = re.sub(r"\b([A-Za-z]+)\d{5}\b", r"\1#", x)
            x = re.sub(r"\b[0-9a-f]{32}\b", "#", x)  # uuid4().hex (e.g. Tabulator style ids)
            return re.sub(r"\d{12,}", "#", x)
        if isinstance(x, int) and not isinstance(x, bool) and x > 10**11:
            return 0
        return x

    return fix(json.loads(serialize_json(doc.to_json())))


@pytest.mark.parametrize("page,section", [("synthesis", "trends"), ("impedance", "spectrum"), ("pressure", None)])
def test_one_model_walk_sends_the_same_page(page, section):
    """Deferring Bokeh's model walk to the end of the render must not change what the browser gets:
    same models (one stylesheet model per URL, as Panel's per-document cache gives), same JSON."""
    plain, _ = _render(page, section, walk_once=False)
    once, _ = _render(page, section, walk_once=True)
    try:
        assert Counter(type(m).__name__ for m in once.models) == Counter(type(m).__name__ for m in plain.models)
        sheets = [m for m in once.models if isinstance(m, ImportedStyleSheet)]
        assert len({s.url for s in sheets}) == len(sheets), "one stylesheet model per URL"
        assert all(m.document is once for m in once.models)
        assert _canonical(plain) == _canonical(once)
    finally:
        _discard(plain)
        _discard(once)


def test_one_model_walk_walks_the_page_once():
    """Without the block Bokeh walks the growing page for every root added (the cost it removes)."""
    plain, walks_plain = _render("synthesis", "trends", walk_once=False, count_walks=True)
    once, walks_once = _render("synthesis", "trends", walk_once=True, count_walks=True)
    try:
        assert len(walks_plain) > 3
        assert len(walks_once) == 1 and walks_once[0] == len(once.roots)
    finally:
        _discard(plain)
        _discard(once)


def test_one_model_walk_without_a_document_does_nothing():
    with one_model_walk(None):
        pass


def test_server_warm_up_renders_every_section_and_importing_it_does_nothing():
    """The warm-up swallows errors (it must never block a server start), so a section that stopped
    rendering would only show as a slow first visit: check that every section of every page renders."""
    import importlib

    import dashboard.warmup as w

    assert w.__name__ == "dashboard.warmup"  # imported: no warm-up ran (run() is for the setup script)
    want = []
    for key, _t, module, cls in available_pages():
        page_cls = getattr(importlib.import_module(module), cls)
        secs = list(page_cls.param["section"].objects) if "section" in page_cls.param else [None]
        want += [key if s is None else f"{key}@{s}" for s in secs]
    assert "pressure@cycles" in want and "data" in want
    assert render_once() == want


def _sections():
    import importlib

    out = []
    for key, _t, module, cls in available_pages():
        page_cls = getattr(importlib.import_module(module), cls)
        out += [(key, s) for s in (list(page_cls.param["section"].objects) if "section" in page_cls.param else [None])]
    return out


@pytest.mark.parametrize("page,section", _sections())
def test_every_section_passes_bokeh_validation(page, section):
    """The served app skips Bokeh's per-session document validation (every session builds the same
    page): it is done here once per section instead. Errors fail; of the warnings only empty layouts
    (placeholders of the data page that fill on upload) are expected."""
    from bokeh.core.validation.check import check_integrity

    doc, _ = _render(page, section, walk_once=True)
    try:
        refs = set()
        for root in doc.roots:
            refs |= root.references()
        issues = check_integrity(refs)
        assert issues.error == []
        assert {w.name for w in issues.warning} <= {"EMPTY_LAYOUT"}
    finally:
        _discard(doc)


def test_warm_up_turns_per_session_validation_off_unless_asked(monkeypatch):
    from bokeh.settings import settings

    from dashboard.warmup import skip_document_validation

    try:
        monkeypatch.delenv("BOKEH_VALIDATE_DOC", raising=False)
        assert skip_document_validation() is True and settings.perform_document_validation() is False
        settings.perform_document_validation.unset_value()
        monkeypatch.setenv("BOKEH_VALIDATE_DOC", "true")
        assert skip_document_validation() is False and settings.perform_document_validation() is True
    finally:
        settings.perform_document_validation.unset_value()
