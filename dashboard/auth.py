"""Login for the group server: a Bokeh/Panel auth module backed by a hashed users file.

``ssb-explorer serve --auth users.json`` runs ``panel serve --auth-module dashboard/auth.py`` with
``SSB_USERS_FILE=users.json``. Bokeh then calls :func:`get_user` on every page and websocket
request; requests without a valid login cookie are redirected to :data:`login_url` (pages) or
refused (the websocket). Panel's plain-text ``--basic-auth`` is deliberately not used: the users
file holds only salted scrypt hashes (see :mod:`dashboard.users`).

The login cookie ``user`` is a Tornado secure (HMAC-signed) cookie made with the server's
``--cookie-secret``, the same cookie Panel's own providers set, so ``pn.state.user`` and
``pn.state.user_info`` work in the pages. A user removed from the users file loses access at their
next request. Repeated wrong passwords from one address for one name are slowed down
(:data:`MAX_FAILURES` per :data:`FAILURE_WINDOW` seconds, then HTTP 429).

This file is loaded by Bokeh from its path (not imported as ``dashboard.auth``), so it uses only
absolute imports.
"""
from __future__ import annotations

import html
import json
import logging
import os
import time
from collections import defaultdict, deque
from urllib.parse import quote

from tornado.web import RequestHandler

from dashboard import users as _users
from dashboard.logs import event

log = logging.getLogger("ssb.auth")

#: endpoints (Bokeh reads these module attributes)
login_url = "/login"
logout_url = "/logout"
#: login lifetime (days)
COOKIE_DAYS = float(os.environ.get("SSB_LOGIN_DAYS", "7"))
MAX_FAILURES, FAILURE_WINDOW = 5, 300.0

_failures: dict[tuple[str, str], deque] = defaultdict(deque)
_cache: dict[str, tuple[float, dict]] = {}


def _users_file() -> str:
    path = os.environ.get("SSB_USERS_FILE")
    if not path:
        raise RuntimeError("SSB_USERS_FILE is not set: start the server with 'ssb-explorer serve --auth FILE'")
    return path


def _load() -> dict:
    """The users mapping, re-read only when the file changes (mtime)."""
    path = _users_file()
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return {}
    hit = _cache.get(path)
    if hit and hit[0] == mtime:
        return hit[1]
    users = _users.load_users(path)
    _cache[path] = (mtime, users)
    return users


def get_user(request_handler):
    """Return the logged-in user of a request (signed ``user`` cookie of a still-existing user)."""
    raw = request_handler.get_secure_cookie("user", max_age_days=COOKIE_DAYS)
    if not raw:
        return None
    user = raw.decode("utf-8", "replace")
    if user not in _load():
        return None
    return user


def _safe_next(url: str | None) -> str:
    """Only same-site relative paths are accepted as the post-login target (no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ssb-explorer: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f4f6f8;display:flex;justify-content:center;
align-items:center;height:100vh;margin:0}}
form{{background:#fff;padding:2em 2.5em;border-radius:8px;box-shadow:0 2px 12px #0002;min-width:18em}}
h1{{font-size:1.3em;margin-top:0}} label{{display:block;margin-top:1em}}
input{{width:100%;padding:.5em;box-sizing:border-box;margin-top:.3em}}
button{{margin-top:1.5em;width:100%;padding:.6em;background:#0072B2;color:#fff;border:0;border-radius:4px}}
.error{{color:#b00020;margin-top:1em}}
</style></head><body>
<form method="post" action="{action}">
<h1>ssb-explorer</h1>
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
<div class="error">{error}</div>
</form></body></html>
"""

LOGOUT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ssb-explorer: logged out</title></head>
<body style="font-family:system-ui,sans-serif;text-align:center;margin-top:20vh">
<p>You are logged out.</p><p><a href="{login}">Log in again</a></p></body></html>
"""


class LoginHandler(RequestHandler):
    """``GET /login``: the form; ``POST /login``: check ``username``/``password`` and set the cookie."""

    def _render(self, error: str = "", status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        nxt = _safe_next(self.get_argument("next", "/"))
        self.write(LOGIN_PAGE.format(action=html.escape(self.request.path), next=html.escape(nxt),
                                     error=html.escape(error)))

    def get(self):
        self._render(self.get_argument("error", ""))

    def post(self):
        username = self.get_argument("username", "")[:200]
        password = self.get_argument("password", "")[:1024]
        key = (self.request.remote_ip or "", username)
        now = time.monotonic()
        fails = _failures[key]
        while fails and now - fails[0] > FAILURE_WINDOW:
            fails.popleft()
        if len(fails) >= MAX_FAILURES:
            event(log, "login_throttled", logging.WARNING, user=username, ip=key[0])
            self._render("Too many failed attempts; try again in a few minutes.", status=429)
            return
        entry = _load().get(username)
        if not _users.verify_password(password, entry.get("hash") if entry else None):
            fails.append(now)
            event(log, "login_failed", logging.WARNING, user=username, ip=key[0])
            self._render("Invalid user name or password.", status=401)
            return
        _failures.pop(key, None)
        self.set_current_user(username)
        event(log, "login", user=username, ip=key[0])
        self.redirect(_safe_next(self.get_argument("next", "/")))

    def set_current_user(self, user: str) -> None:
        """Set the signed ``user`` and ``id_token`` cookies Panel reads (``pn.state.user``)."""
        from panel.util import base64url_encode

        opts = dict(expires_days=COOKIE_DAYS, httponly=True, samesite="Lax",
                    secure=self.request.protocol == "https")
        self.clear_cookie("is_guest")
        self.set_secure_cookie("user", user, **opts)
        self.set_secure_cookie("id_token", base64url_encode(json.dumps({"user": user})), **opts)


class LogoutHandler(RequestHandler):
    """``GET /logout``: clear the login cookies and show a link back to the login page."""

    def get(self):
        user = self.get_secure_cookie("user", max_age_days=COOKIE_DAYS)
        for name in ("user", "id_token", "access_token", "refresh_token", "is_guest"):
            self.clear_cookie(name)
        if user:
            event(log, "logout", user=user.decode("utf-8", "replace"))
        self.set_header("Cache-Control", "no-store")
        # relative link: right under a --prefix too (/prefix/logout -> /prefix/login)
        self.write(LOGOUT_PAGE.format(login=quote(login_url.lstrip("/"))))
