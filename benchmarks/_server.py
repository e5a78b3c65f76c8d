"""Helpers of the server benchmarks: start ``ssb-explorer serve`` on 127.0.0.1, talk to it like a browser.

:class:`BokehWS` is a small asynchronous client of the Bokeh websocket protocol (the same
messages a browser exchanges): it loads the page over HTTP (so the server issues the session
token, signed when logins are on), opens ``/app/ws``, pulls the document, announces it rendered
(BokehJS's ``document_ready`` event, see :meth:`BokehWS.open`), changes widget
properties with PATCH-DOC messages and waits for the server's resulting patches. Many of them run
concurrently in one asyncio loop, which is what 16 colleagues moving sliders look like to the
server. Loopback only.
"""
from __future__ import annotations

import asyncio
import itertools
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
from dataclasses import dataclass, field


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running ``ssb-explorer serve`` subprocess."""

    proc: subprocess.Popen
    base: str
    stderr_path: str

    def rss_mb(self) -> float:
        """Resident memory of the server process (MB, from /proc)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def log_lines(self) -> list[dict]:
        """The server's JSON log lines so far."""
        out = []
        with open(self.stderr_path, errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def stop(self) -> None:
        """Terminate the server (its process group) and wait for it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)


def start_server(args: list[str], stderr_path: str, timeout: float = 90, env: dict | None = None) -> Server:
    """Start ``ssb-explorer serve --address 127.0.0.1 --port <free> ARGS``; wait for /liveness.

    ``env`` adds environment variables to the server's (e.g. ``SSB_SESSION_CHECK=1``).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "analysis.cli", "serve", "--address", "127.0.0.1", "--port", str(port), *args]
    err = open(stderr_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                            env={**os.environ, **env} if env else None)
    base = f"http://127.0.0.1:{port}"
    srv = Server(proc, base, stderr_path)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early, see {stderr_path}")
        try:
            with urllib.request.urlopen(base + "/liveness", timeout=2):
                return srv
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    srv.stop()
    raise RuntimeError("server did not answer /liveness in time")


class ProtocolError(RuntimeError):
    """The server answered with an ERROR message or closed the connection."""


@dataclass
class Update:
    """Timing of one property change: first and last server patch (s after sending)."""

    first: float | None
    last: float | None
    n_patches: int


@dataclass
class BokehWS:
    """One browser-like session of a served Panel app."""

    base: str
    path: str = "/app"
    args: dict = field(default_factory=dict)
    cookie: str = ""
    #: send ``document_ready`` after pulling the document, as a browser does (False only in tests)
    ready: bool = True
    conn: object = None
    doc: dict | None = None
    _ids = itertools.count(1)

    #: the event BokehJS sends once the pulled document is rendered. Panel marks the session
    #: connected on it (``state._on_load``); until then HoloViews re-schedules every plot refresh
    #: as a next-tick callback, which without this event loops forever and keeps a core busy per
    #: session (measured: one session that never sent it used ~1 s of server CPU per second).
    DOCUMENT_READY = {"kind": "MessageSent", "msg_type": "bokeh_event",
                      "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}}

    async def open(self, timeout: float = 60) -> "BokehWS":
        """GET the page (session token), open the websocket, wait for ACK, pull the document and
        send ``document_ready`` as a browser does once the document is rendered."""
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        # tornado queues requests beyond 10 at a time: allow every simulated user its own
        AsyncHTTPClient.configure(None, max_clients=256)

        qs = ("?" + urllib.parse.urlencode(self.args)) if self.args else ""
        http = AsyncHTTPClient()
        resp = await http.fetch(HTTPRequest(self.base + self.path + qs, headers={"Cookie": self.cookie},
                                            request_timeout=timeout, follow_redirects=False), raise_error=True)
        m = re.search(r'"token":\s*"([^"]+)"', resp.body.decode("utf-8", "replace"))
        if not m:
            raise ProtocolError("no session token in the page")
        ws_url = self.base.replace("http", "ws", 1) + self.path + "/ws"
        req = HTTPRequest(ws_url, headers={"Cookie": self.cookie, "Origin": self.base})
        self.conn = await asyncio.wait_for(
            websocket_connect(req, subprotocols=["bokeh", m.group(1)], max_message_size=512 * 1024**2), timeout)
        self._queue: asyncio.Queue = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read_loop())
        header, _ = await self.recv(timeout)
        if header["msgtype"] != "ACK":
            raise ProtocolError(f"expected ACK, got {header['msgtype']}")
        await self.send("PULL-DOC-REQ", {})
        while True:
            header, content = await self.recv(timeout)
            if header["msgtype"] == "PULL-DOC-REPLY":
                self.doc = json.loads(content)["doc"]
                self._by_id = self._type_map = None
                if self.ready:
                    await self.send("PATCH-DOC", {"events": [self.DOCUMENT_READY]})
                return self

    async def send(self, msgtype: str, content: dict) -> None:
        """Send one protocol message (header, metadata, content)."""
        header = {"msgid": f"c{next(self._ids)}", "msgtype": msgtype}
        for part in (header, {}, content):
            await self.conn.write_message(json.dumps(part))

    async def _read_loop(self) -> None:
        """Read whole messages (header, metadata, content, buffers) into a queue, never cancelled
        mid-message, so a timeout while waiting can never leave the stream out of step."""
        try:
            while True:
                first = await self.conn.read_message()
                if first is None:
                    raise ProtocolError("the server closed the websocket")
                header = json.loads(first)
                if not isinstance(header, dict) or "msgtype" not in header:
                    raise ProtocolError(f"out of step with the message stream: got {str(first)[:200]!r}")
                await self.conn.read_message()  # metadata
                content = await self.conn.read_message()
                for _ in range(2 * header.get("num_buffers", 0)):
                    await self.conn.read_message()
                await self._queue.put((header, content))
        except Exception as exc:  # handed to the waiting recv()
            await self._queue.put(exc)

    async def recv(self, timeout: float):
        """The next message as (header, content JSON text), waiting at most ``timeout`` s for it to
        begin; binary buffers are skipped."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if isinstance(item, Exception):
            self._queue.put_nowait(item)  # every later recv() fails the same way
            raise item
        header, content = item
        if header["msgtype"] == "ERROR":
            raise ProtocolError(content)
        return header, content

    def drain(self) -> None:
        """Apply the server patches that arrived since the last call (e.g. during a user's think
        time) to the cached model attributes, without waiting, as a browser's document would."""
        while True:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if isinstance(item, Exception):
                self._queue.put_nowait(item)  # the next recv() reports it
                return
            header, content = item
            if header["msgtype"] == "ERROR":
                self._queue.put_nowait(item)
                return
            if header["msgtype"] == "PATCH-DOC":
                self._apply_patch(content)

    def models(self, names: tuple[str, ...] = ("Slider",)) -> list[dict]:
        """Every model of the document whose Bokeh type name is in ``names`` (with its attributes,
        kept current by the server's patches)."""
        return [o for o in self._objects().values() if o.get("name") in names]

    #: models whose changes are the widgets echoing the user's own input, not a recomputed view
    WIDGET_TYPES = frozenset({"Slider", "RangeSlider", "DateSlider", "DateRangeSlider", "Spinner",
                              "NumericInput", "TextInput", "Select", "MultiSelect", "CheckboxGroup",
                              "RadioGroup", "RadioButtonGroup", "Toggle", "Switch", "Button"})
    #: attributes that only show a busy state
    TRIVIAL_ATTRS = frozenset({"loading", "disabled", "css_classes"})

    @staticmethod
    def _walk(o, out: dict) -> None:
        """Add every model object found in the JSON value ``o`` to ``out`` (by id)."""
        if isinstance(o, dict):
            if o.get("type") == "object" and "id" in o:
                out.setdefault(o["id"], o)
            for v in o.values():
                BokehWS._walk(v, out)
        elif isinstance(o, list):
            for v in o:
                BokehWS._walk(v, out)

    def _objects(self) -> dict:
        """Every model object of the document by id (the dicts of ``self.doc``, walked once; models
        that server patches add later are indexed as they arrive, see :meth:`_apply_patch`)."""
        if getattr(self, "_by_id", None) is None:
            out: dict = {}
            self._walk(self.doc, out)
            self._by_id = out
        return self._by_id

    def _types(self) -> dict:
        if getattr(self, "_type_map", None) is None:
            self._type_map = {i: o["name"] for i, o in self._objects().items() if "name" in o}
        return self._type_map

    def _is_view_update(self, content: str, model_id: str) -> bool:
        """True if a server patch changes something other than the input widgets / busy flags."""
        try:
            events = json.loads(content).get("events", [])
        except (json.JSONDecodeError, AttributeError):
            return True
        types = self._types()
        for ev in events:
            mid = (ev.get("model") or {}).get("id") if isinstance(ev.get("model"), dict) else None
            if mid == model_id or ev.get("attr") in self.TRIVIAL_ATTRS:
                continue
            if mid is not None and types.get(mid) in self.WIDGET_TYPES:
                continue
            return True
        return False

    def _apply_patch(self, content: str) -> None:
        """Keep the cached model attributes current (e.g. a slider whose range the server changed,
        like the cycle slider when the cycle range narrows), as a browser's document would."""
        try:
            events = json.loads(content).get("events", [])
        except (json.JSONDecodeError, AttributeError):
            return
        objects = self._objects()
        for ev in events:
            if ev.get("kind") != "ModelChanged" or not isinstance(ev.get("model"), dict):
                continue
            obj = objects.get(ev["model"].get("id"))
            if obj is not None and "attr" in ev:
                obj.setdefault("attributes", {})[ev["attr"]] = ev.get("new")
                n = len(objects)
                self._walk(ev.get("new"), objects)  # new models (e.g. a panel shown by a button)
                if len(objects) != n:
                    self._type_map = None

    async def change(self, model_id: str, attrs: dict, timeout: float = 60, quiet: float = 0.3) -> Update:
        """Set ``attrs`` of model ``model_id`` like a browser and time the server's reaction.

        Only patches that change the view count (plots, read-outs, tables: not the input widgets
        echoing the value or busy flags). Returns when no such patch arrived for ``quiet`` seconds
        after the first one (or after ``timeout`` without any): ``first`` = time to the first view
        patch, ``last`` = time to the last one of the burst (the update complete).
        """
        events = [{"kind": "ModelChanged", "model": {"id": model_id}, "attr": k, "new": v}
                  for k, v in attrs.items()]
        t0 = time.perf_counter()
        await self.send("PATCH-DOC", {"events": events})
        first = last = None
        n = 0
        while True:
            now = time.perf_counter() - t0
            wait = timeout - now if first is None else quiet - (now - last)
            if wait <= 0:
                break
            try:
                header, content = await self.recv(wait)
            except asyncio.TimeoutError:
                break
            if header["msgtype"] == "PATCH-DOC":
                self._apply_patch(content)
            if header["msgtype"] != "PATCH-DOC" or not self._is_view_update(content, model_id):
                continue
            now = time.perf_counter() - t0
            first = now if first is None else first
            last = now
            n += 1
        return Update(first, last, n)

    async def close(self) -> None:
        """Close the websocket."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        reader = getattr(self, "_reader", None)
        if reader is not None and not reader.done():
            reader.cancel()


def percentile(values, q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` (linear interpolation), NaN when empty."""
    import numpy as np

    v = [x for x in values if x is not None]
    return float(np.percentile(v, q)) if v else float("nan")
