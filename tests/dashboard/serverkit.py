"""Helpers of the server tests: start ``ssb-explorer serve`` on a free loopback port, log in,
talk to the Bokeh websocket like a browser. Servers run in their own process group and are killed
by :func:`stop_server`."""
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
