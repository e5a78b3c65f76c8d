"""Server set-up script (``panel serve --setup dashboard/warmup.py``; the group server's
``dashboard/server_setup.py`` calls :func:`run`).

Runs once per server process before it accepts sessions: builds every page once on its
default dataset and evaluates its views, so the analysis caches (circuit fits, DRT maps,
dQ/dV of every cycle, pressure alignment, structure-property models) are filled before the
first visitor arrives. Then it renders every page section once into a throw-away Bokeh document,
as a session would (:func:`render_once`): the first session to show a section otherwise paid for
first-use work in HoloViews, Bokeh and Panel (plot classes, option trees, templates), measured
~0.3-0.4 s more than the next session for the impedance spectrum. Best effort: an error only
leaves a cache cold.

Then it collects the warm-up's garbage and freezes what is left (:func:`freeze_startup_heap`):
the imported libraries and the filled caches stay alive for the life of the process, so the
cycle collector need not scan them again. A full collection (Python's own, or the one Panel
runs after a session closes) then walks the sessions' objects only; measured in a served app,
full collections that landed on a slider move took 0.2-0.4 s before and 0.05-0.18 s after.
"""
from __future__ import annotations

import gc
import importlib
import os
import time


def warm(budget_s: float = 60.0) -> list[str]:
    """Build each page and call its views; returns the names of the pages warmed."""
    from dashboard.shell import available_pages

    t0 = time.monotonic()
    done = []
    for key, _title, module, cls in available_pages():
        if time.monotonic() - t0 > budget_s:
            break
        try:
            page = getattr(importlib.import_module(module), cls)()
            for name in dir(page):
                if name.startswith("_"):
                    continue
                meth = getattr(page, name, None)
                if callable(meth) and hasattr(meth, "_dinfo"):
                    try:
                        meth()
                    except Exception:
                        pass
            done.append(key)
        except Exception:  # pragma: no cover - never block the server start
            continue
    return done


def render_once(budget_s: float = 60.0) -> list[str]:
    """Render each page section (``page`` or ``page@section``) once into a throw-away document,
    in the served template; returns what was rendered."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from dashboard.shell import App, available_pages, one_model_walk

    t0 = time.monotonic()
    done = []
    for key, _title, module, cls in available_pages():
        try:
            page_cls = getattr(importlib.import_module(module), cls)
            sections = list(page_cls.param["section"].objects) if "section" in page_cls.param else [None]
        except Exception:  # pragma: no cover - never block the server start
            continue
        for section in sections:
            if time.monotonic() - t0 > budget_s:
                return done
            doc = Document()
            try:
                with set_curdoc(doc):
                    app = App(page=key)
                    if section is not None:
                        app.page_object(key).section = section
                    with one_model_walk(doc):
                        app.template().server_doc(doc)
                done.append(key if section is None else f"{key}@{section}")
            except Exception:  # pragma: no cover - never block the server start
                continue
            finally:
                _discard(doc)
    return done


def _discard(doc) -> None:
    """Run the document's session-end callbacks (as when a session closes) so Panel forgets it."""
    from types import SimpleNamespace

    ctx = SimpleNamespace(_document=doc, id="ssb-warmup", request=None)
    for cb in list(getattr(doc, "session_destroyed_callbacks", ())):
        try:
            cb(ctx)
        except Exception:  # pragma: no cover - best effort
            pass
    try:
        doc.clear()
    except Exception:  # pragma: no cover - best effort
        pass


def freeze_startup_heap() -> int:
    """Collect garbage, then move every object still alive into the permanent generation
    (:func:`gc.freeze`) so later collections skip it; returns the number of objects frozen.

    Frozen objects are still freed by reference counting; only reference cycles among them are
    never collected, which is why the warm-up's own garbage is collected first.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def skip_document_validation() -> bool:
    """Stop Bokeh from validating every new session's document (``BOKEH_VALIDATE_DOC``), unless
    that variable is set. The check walks every model of the page (~70 ms per session on the
    synthesis trends page, about 5 % of building it) and only logs warnings; the pages are the
    same in every session, so the test suite validates each section once instead
    (``tests/dashboard/test_shell.py``). Returns True when validation is off."""
    from bokeh.settings import settings

    if "BOKEH_VALIDATE_DOC" not in os.environ:
        settings.perform_document_validation.set_value(False)
    return not settings.perform_document_validation()


def run() -> None:
    """The whole warm-up: caches, one render of every section, then the heap frozen; sessions'
    documents are not re-validated (:func:`skip_document_validation`)."""
    warm()
    render_once()
    skip_document_validation()
    freeze_startup_heap()


if __name__ != "dashboard.warmup":  # run as a setup script (panel serve --setup); importing it does nothing
    run()
