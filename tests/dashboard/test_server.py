"""The group server end to end: logins, refusals, store authorisation, websocket (loopback only).

One ``ssb-explorer serve --auth`` subprocess (on a free port, killed at the end) serves a tiny
probe app that prints ``pn.state.user`` and the store :func:`dashboard.access.session_store` opens.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from dashboard import users

HERE = Path(__file__).resolve().parent
PROBE_APP = HERE / "server_probe_app.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: list[str], env: dict | None = None, timeout: float = 60):
    port = free_port()
    cmd = [sys.executable, "-m", "analysis.cli", "serve", "--port", str(port), *args]
    log = open(os.devnull, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/liveness", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("server did not answer /liveness in time")


def stop_server(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def client(jar: CookieJar | None = None):
    jar = jar if jar is not None else CookieJar()
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    return opener, jar


def fetch(opener, url, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=20) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def login(base, name, password):
    opener, jar = client()
    status, headers, body = fetch(opener, base + "/login", {"username": name, "password": password, "next": "/app"})
    return status, headers, body, opener, jar


def cookie_header(jar: CookieJar) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in jar)


async def ws_pull_doc(base: str, token: str | None, cookie: str = "", session_id: str | None = None) -> str:
    """Open the Bokeh websocket like a browser and return the pulled document as JSON text."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    if token is None:  # forge a token client side (what a malicious client would try)
        from bokeh.util.token import generate_jwt_token, generate_session_id

        token = generate_jwt_token(session_id or generate_session_id(signed=False), signed=False,
                                   extra_payload={"arguments": {"store": [b"bob"]}})
    url = base.replace("http", "ws") + "/app/ws"
    req = HTTPRequest(url, headers={"Cookie": cookie, "Origin": base})
    conn = await asyncio.wait_for(websocket_connect(req, subprotocols=["bokeh", token]), 20)
    try:
        async def recv_message():
            first = await asyncio.wait_for(conn.read_message(), 20)
            if first is None:
                raise ConnectionRefusedError("the server closed the websocket")
            header = json.loads(first)
            await conn.read_message()  # metadata
            content = await conn.read_message()
            for _ in range(2 * header.get("num_buffers", 0)):
                await conn.read_message()
            return header, content

        header, _ = await recv_message()
        assert header["msgtype"] == "ACK"
        for part in ({"msgid": "1", "msgtype": "PULL-DOC-REQ"}, {}, {}):
            await conn.write_message(json.dumps(part))
        while True:
            header, content = await recv_message()
            if header["msgtype"] == "PULL-DOC-REPLY":
                return content
            if header["msgtype"] == "ERROR":
                raise RuntimeError(content)
    finally:
        conn.close()


def page_token(html: str) -> str:
    m = re.search(r'"token":\s*"([^"]+)"', html)
    assert m, "no session token in the page"
    return m.group(1)


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
    proc, base = start_server(["--store", str(root), "--auth", str(uf), "--app", str(app),
                               "--log-format", "json"])
    try:
        yield base, uf, root, proc
    finally:
        stop_server(proc)


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
