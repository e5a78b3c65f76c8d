"""The group server end to end: logins, refusals, store authorisation, websocket (loopback only).

One ``ssb-explorer serve --auth`` subprocess (on a free port, killed at the end) serves a tiny
probe app that prints ``pn.state.user`` and the store :func:`dashboard.access.session_store` opens.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from dashboard import users
from tests.dashboard.serverkit import (
    PROBE_APP, client, cookie_header, fetch, login, page_token, start_server, stop_server, ws_pull_doc,
)

class Running:
    """The module's server: its URL, users file, store root, process and start arguments."""

    def __init__(self, base, uf, root, proc, args):
        self.base, self.uf, self.root, self.proc, self.args = base, uf, root, proc, args

    def __iter__(self):  # base, users file, root, process
        return iter((self.base, self.uf, self.root, self.proc))

    def __getitem__(self, i):
        return tuple(self)[i]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("srv")
    uf = d / "users.json"
    users.add_user(uf, "alice", "alice-password", ["alice", "lab"])
    users.add_user(uf, "bob", "bob-password", ["bob"])
    users.add_user(uf, "carol", "carol-password", ["carol"])
    root = d / "stores"
    app = d / "app.py"  # served at /app like the dashboard
    app.write_text(PROBE_APP.read_text())
    args = ["--store", str(root), "--auth", str(uf), "--app", str(app), "--log-format", "json"]
    proc, base = start_server(args)
    srv = Running(base, uf, root, proc, args)
    try:
        yield srv
    finally:
        stop_server(srv.proc)


PAGES = ["/", "/app", "/app?store=alice", "/app/autoload.js?bokeh-autoload-element=x", "/admin"]


@pytest.mark.parametrize("path", PAGES)
def test_unauthenticated_pages_refused(server, path):
    base = server[0]
    opener, _ = client()
    status, headers, body = fetch(opener, base + path)
    assert status in (302, 401, 403, 404), (status, body[:200])
    assert "SSB-PROBE" not in body and '"token"' not in body
    if status == 302 and path != "/":
        assert headers["Location"].startswith("/login") or "/login" in headers["Location"]


def test_liveness_is_open(server):
    opener, _ = client()
    status, _, body = fetch(opener, server[0] + "/liveness")
    assert status == 200 and json.loads(body) == {"/liveness": True}


def test_websocket_refused_without_login(server):
    from tornado.websocket import WebSocketClosedError  # noqa: F401
    from tornado.httpclient import HTTPClientError

    with pytest.raises((HTTPClientError, OSError, WebSocketClosedError)):
        asyncio.run(ws_pull_doc(server[0], None))


def test_login_form_and_wrong_password(server):
    base = server[0]
    opener, _ = client()
    status, _, body = fetch(opener, base + "/login")
    assert status == 200 and 'name="username"' in body and 'name="password"' in body
    for name, pw in [("alice", "wrong-password"), ("nobody", "alice-password"), ("alice", "")]:
        status, headers, body = login(base, name, pw)[:3]
        assert status == 401 and "Invalid user name or password" in body
        assert "user=" not in headers.get("Set-Cookie", "")


def test_login_gets_in_and_sees_own_store(server):
    base, _, root, _ = server
    status, headers, _, opener, jar = login(base, "alice", "alice-password")
    assert status == 302 and headers["Location"] == "/app"
    assert {c.name for c in jar} >= {"user", "id_token"}
    assert all(c.has_nonstandard_attr("HttpOnly") for c in jar if c.name == "user")
    status, _, html = fetch(opener, base + "/app")
    assert status == 200
    doc = asyncio.run(ws_pull_doc(base, page_token(html), cookie_header(jar)))
    assert "SSB-PROBE user=alice store=alice" in doc
    status, _, html = fetch(opener, base + "/app?store=lab")
    assert status == 200
    doc = asyncio.run(ws_pull_doc(base, page_token(html), cookie_header(jar)))
    assert "SSB-PROBE user=alice store=lab" in doc


@pytest.mark.parametrize("store", ["bob", "carol", "../bob", "%2e%2e%2fbob", "/etc", str(Path("/tmp"))])
def test_other_users_store_refused_by_url(server, store):
    base = server[0]
    _, _, _, opener, jar = login(base, "alice", "alice-password")
    status, _, body = fetch(opener, base + "/app?store=" + urllib.parse.quote(store, safe="%"))
    assert status == 403 and "SSB-PROBE" not in body and '"token"' not in body


def test_bob_cannot_open_lab(server):
    base = server[0]
    _, _, _, opener, _ = login(base, "bob", "bob-password")
    assert fetch(opener, base + "/app?store=lab")[0] == 403
    assert fetch(opener, base + "/app?store=bob")[0] == 200


def test_forged_websocket_session_refused(server):
    """A logged-in user cannot bypass the page check by making up a session token with ?store=bob."""
    base = server[0]
    _, _, _, _, jar = login(base, "alice", "alice-password")
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(ws_pull_doc(base, None, cookie_header(jar)))


def test_forged_cookie_refused(server):
    base = server[0]
    opener, jar = client()
    req = urllib.request.Request(base + "/app", headers={"Cookie": "user=alice"})
    status = fetch(opener, req)[0]
    assert status == 302


def test_logout_and_removed_user(server):
    base, uf, _, _ = server
    _, _, _, opener, jar = login(base, "carol", "carol-password")
    assert fetch(opener, base + "/app")[0] == 200
    status, _, body = fetch(opener, base + "/logout")
    assert status == 200 and "logged out" in body
    assert fetch(opener, base + "/app")[0] == 302
    _, _, _, opener, jar = login(base, "carol", "carol-password")
    assert fetch(opener, base + "/app")[0] == 200
    users.remove_user(uf, "carol")  # takes effect at the next request, no restart
    time.sleep(0.05)
    assert fetch(opener, base + "/app")[0] == 302
    users.add_user(uf, "carol", "carol-password", ["carol"])


def test_open_redirect_refused(server):
    base = server[0]
    opener, _ = client()
    status, headers, _ = fetch(opener, base + "/login", {"username": "bob", "password": "bob-password",
                                                         "next": "//evil.example.org/"})
    assert status == 302 and headers["Location"] == "/"


def test_structured_logs_and_secret_kept(server):
    base, _, root, proc = server
    secret = root / ".ssb-server" / "cookie_secret"
    assert secret.is_file() and (secret.stat().st_mode & 0o077) == 0
    assert len(secret.read_text().strip()) >= 32


def test_load_benchmark_client_moves_sliders_when_logged_in(server):
    """benchmarks/load.py's browser-like client: a logged-in session moves a slider, gets updates."""
    load = pytest.importorskip("benchmarks.load")
    base = server[0]
    _, _, _, _, jar = login(base, "alice", "alice-password")
    first, last, errors = asyncio.run(load.run_session(base, "any", 3, 1, ["probe"], 30, cookie_header(jar)))
    assert errors == [] and len(first) == 3 and all(0 < f <= l for f, l in zip(first, last))
    # without the cookie the same client is refused
    first, last, errors = asyncio.run(load.run_session(base, "any", 1, 1, None, 10, ""))
    assert first == [] and errors and "302" in errors[0]


CSV = b"freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n100,12,3\n10,15,4\n1,20,2\n"


def test_crash_and_restart_keep_login_and_data(server):
    """Last test of the module: kill -9 the server, start it again; the old login cookie still
    works (cookie secret kept in the store) and the imported dataset is still there."""
    import os
    import signal

    from dashboard.uploads import save_upload

    _, _, _, opener, jar = login(server.base, "alice", "alice-password")
    res = save_upload(server.root / "alice", "cell.csv", CSV, user="alice")  # what the data page does
    assert res.ingested.user == "alice"
    status, _, html = fetch(opener, server.base + "/app")
    assert "datasets=1" in asyncio.run(ws_pull_doc(server.base, page_token(html), cookie_header(jar)))
    os.killpg(server.proc.pid, signal.SIGKILL)  # a crash, not a clean shutdown
    server.proc.wait(10)
    server.proc, server.base = start_server(server.args)
    fresh, _ = client()  # no new login: only the cookie from before the crash
    req = urllib.request.Request(server.base + "/app", headers={"Cookie": cookie_header(jar)})
    status, _, html = fetch(fresh, req)
    assert status == 200
    doc = asyncio.run(ws_pull_doc(server.base, page_token(html), cookie_header(jar)))
    assert "SSB-PROBE user=alice store=alice datasets=1" in doc


def test_benchmark_client_indexes_models_added_by_server_patches():
    """A server patch that shows a new panel (e.g. a batch job's progress line after a button press)
    adds models the benchmark client must find, as a browser's document does."""
    from benchmarks._server import BokehWS

    sess = BokehWS("http://127.0.0.1:1")
    sess.doc = {"roots": [{"type": "object", "name": "panel.models.layout.Column", "id": "p1",
                           "attributes": {"children": []}}]}
    assert sess.models(("panel.models.markup.HTML",)) == []
    new = [{"type": "object", "name": "panel.models.markup.HTML", "id": "p2", "attributes": {"text": "running"}}]
    sess._apply_patch(json.dumps({"events": [{"kind": "ModelChanged", "model": {"id": "p1"},
                                              "attr": "children", "new": new}]}))
    [html] = sess.models(("panel.models.markup.HTML",))
    sess._apply_patch(json.dumps({"events": [{"kind": "ModelChanged", "model": {"id": "p2"},
                                              "attr": "text", "new": "finished"}]}))
    assert html["attributes"]["text"] == "finished" and sess._types()["p2"] == "panel.models.markup.HTML"
