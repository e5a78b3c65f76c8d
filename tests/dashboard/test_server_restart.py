"""A crash and restart of the group server keeps logins and every imported dataset."""
from __future__ import annotations

import asyncio
import os
import signal

from dashboard import users
from dashboard.uploads import save_upload

from test_server import PROBE_APP, client, cookie_header, fetch, login, page_token, start_server, stop_server, ws_pull_doc

CSV = b"freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n100,12,3\n10,15,4\n1,20,2\n"


def test_restart_keeps_login_and_data(tmp_path):
    uf = tmp_path / "users.json"
    users.add_user(uf, "alice", "alice-password", ["alice"])
    app = tmp_path / "app.py"
    app.write_text(PROBE_APP.read_text())
    root = tmp_path / "stores"
    args = ["--store", str(root), "--auth", str(uf), "--app", str(app)]
    proc, base = start_server(args)
    try:
        _, _, _, opener, jar = login(base, "alice", "alice-password")
        res = save_upload(root / "alice", "cell.csv", CSV, user="alice")  # what the data page does
        assert res.ingested.user == "alice"
        status, _, html = fetch(opener, base + "/app")
        assert "datasets=1" in asyncio.run(ws_pull_doc(base, page_token(html), cookie_header(jar)))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a crash, not a clean shutdown
        proc.wait(10)
    proc, base = start_server(args)
    try:
        import urllib.request

        opener2, _ = client()  # no new login: only the cookie from before the crash

        req = urllib.request.Request(base + "/app", headers={"Cookie": cookie_header(jar)})
        status, _, html = fetch(opener2, req)
        assert status == 200  # the kept cookie secret still validates the old login
        doc = asyncio.run(ws_pull_doc(base, page_token(html), cookie_header(jar)))
        assert "SSB-PROBE user=alice store=alice datasets=1" in doc
    finally:
        stop_server(proc)
