"""Setup script of the group server (``panel serve --setup dashboard/server_setup.py``).

Run once in every server process before the first request: installs JSON-lines logging, the
store authorisation rule (:func:`dashboard.access.authorize` as Panel's ``authorize_callback``,
so a page URL naming another user's store gets HTTP 403), session open/close log events, and
the clean-up after a session ends (:mod:`dashboard.sessions`: garbage collection, ``malloc_trim``).
Loaded by Panel from its path, so it uses absolute imports only.
"""
import os

import panel as pn

from dashboard import access, sessions
from dashboard.logs import event, install_json_logging

if os.environ.get("SSB_LOG_FORMAT", "json") == "json":
    install_json_logging()

if access.auth_enabled():  # without logins there is nothing to authorise (and no extra cost)
    pn.config.authorize_callback = access.authorize


def _session_created(session_context):
    sessions.session_opened(session_context)
    req = getattr(session_context, "request", None)
    event("ssb.server", "session_created", session=session_context.id,
          path=getattr(req, "path", None) if req is not None else None)


def _session_destroyed(session_context):
    event("ssb.server", "session_destroyed", session=session_context.id)
    # gc.collect() + malloc_trim(0), debounced; with SSB_SESSION_CHECK=1 also a census of live page objects
    sessions.session_closed(session_context)


pn.state.on_session_created(_session_created)
pn.state.on_session_destroyed(_session_destroyed)
event("ssb.server", "server_process_ready", pid=os.getpid(),
      store=os.environ.get(access.ENV_STORE), auth=os.environ.get(access.ENV_AUTH) or "none",
      dask_scheduler=os.environ.get("SSB_DASK_SCHEDULER") or "local (lazy)")

# Fill the analysis caches of every page's default view before the first session (best effort).
from dashboard import warmup  # noqa: E402

warmup.run()
