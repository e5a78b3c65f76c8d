"""Setup script of the group server (``panel serve --setup dashboard/server_setup.py``).

Run once in every server process before the first request: installs JSON-lines logging, the
store authorisation rule (:func:`dashboard.access.authorize` as Panel's ``authorize_callback``,
so a page URL naming another user's store gets HTTP 403), and session open/close log events.
Loaded by Panel from its path, so it uses absolute imports only.
"""
import os

import panel as pn

from dashboard import access
from dashboard.logs import event, install_json_logging

if os.environ.get("SSB_LOG_FORMAT", "json") == "json":
    install_json_logging()

if access.auth_enabled():  # without logins there is nothing to authorise (and no extra cost)
    pn.config.authorize_callback = access.authorize


def _session_created(session_context):
    req = getattr(session_context, "request", None)
    event("ssb.server", "session_created", session=session_context.id,
          path=getattr(req, "path", None) if req is not None else None)


_last_trim = [0.0]
_trim_pending = [False]


def _release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``), at most
    every 5 s: without it a server's RSS stays at its peak after busy sessions have closed."""
    import ctypes
    import gc
    import time

    now = time.monotonic()
    if now - _last_trim[0] < 5.0:
        if not _trim_pending[0]:  # one trailing run after the burst of closing sessions
            from tornado.ioloop import IOLoop

            _trim_pending[0] = True
            IOLoop.current().call_later(5.5, _release_memory)
        return
    _trim_pending[0] = False
    _last_trim[0] = now
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _session_destroyed(session_context):
    event("ssb.server", "session_destroyed", session=session_context.id)
    _release_memory()


pn.state.on_session_created(_session_created)
pn.state.on_session_destroyed(_session_destroyed)
event("ssb.server", "server_process_ready", pid=os.getpid(),
      store=os.environ.get(access.ENV_STORE), auth=os.environ.get(access.ENV_AUTH) or "none",
      dask_scheduler=os.environ.get("SSB_DASK_SCHEDULER") or "local (lazy)")

# Fill the analysis caches of every page's default view before the first session (best effort).
import dashboard.warmup  # noqa: E402,F401
