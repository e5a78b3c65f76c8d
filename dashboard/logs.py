"""Structured logs of the group server: one JSON object per line.

``ssb-explorer serve`` (``--log-format json``, the default) installs :class:`JsonFormatter` on the
server's log handlers, so Bokeh, Panel, Tornado and ssb-explorer messages all come out as lines
like ``{"ts": "...", "level": "INFO", "logger": "ssb.auth", "msg": "login", "user": "alice"}``
that journald, Loki or ``jq`` read directly. :func:`event` logs one such record with fields.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os

#: logger names whose handlers get the JSON formatter
LOGGERS = ("", "bokeh", "panel", "tornado", "tornado.access", "tornado.application",
           "tornado.general", "distributed", "ssb")


class JsonFormatter(logging.Formatter):
    """Format a log record as one JSON line (time in UTC ISO 8601, fields from ``extra={"ssb": {...}}``)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "ssb", None)
        if isinstance(fields, dict):
            for k, v in fields.items():
                doc.setdefault(k, v)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def event(logger: logging.Logger | str, name: str, level: int = logging.INFO, **fields) -> None:
    """Log event ``name`` with structured ``fields`` (e.g. ``event("ssb.auth", "login", user="a")``)."""
    lg = logging.getLogger(logger) if isinstance(logger, str) else logger
    lg.log(level, name, extra={"ssb": fields})


def install_json_logging(level: str | None = None) -> None:
    """Put :class:`JsonFormatter` on every handler of the server's loggers (a stderr one if none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    fmt = JsonFormatter()
    for name in LOGGERS:
        for h in logging.getLogger(name).handlers:
            h.setFormatter(fmt)
    lvl = level or os.environ.get("SSB_LOG_LEVEL")
    if lvl:
        root.setLevel(lvl.upper())
    logging.getLogger("ssb").setLevel(logging.INFO)
