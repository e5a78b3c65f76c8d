"""Authorisation rule, server command line, cookie secret, structured logs (no server started)."""
from __future__ import annotations

import argparse
import json
import logging
import stat

import pytest

from dashboard import access, serve, users
from dashboard.logs import JsonFormatter


@pytest.fixture
def lab(tmp_path):
    uf = tmp_path / "users.json"
    users.add_user(uf, "alice", "alice-password", ["alice", "lab"])
    users.add_user(uf, "bob", "bob-password")
    users.add_user(uf, "boss", "boss-password", ["*"])
    root = tmp_path / "root"
    for name in ("alice", "bob", "lab", ".ssb-server"):
        (root / name).mkdir(parents=True)
    return root, uf


def test_allowed_stores(lab):
    root, uf = lab
    kw = dict(root=root, users_file=uf, auth=True)
    names = lambda user: [p.name for p in access.allowed_stores(user, **kw)]  # noqa: E731
    assert names("alice") == ["alice", "lab"]
    assert names("bob") == ["bob"]
    assert names("boss") == ["alice", "bob", "lab"]  # hidden folders are not stores
    assert names("someone@example.org") == ["someone@example.org"]  # OAuth user: personal store only
    assert names(None) == [] and names("guest") == []
    assert access.allowed_stores(None, root=root, auth=False) == [root.resolve()]


@pytest.mark.parametrize("user, store, ok", [
    ("alice", "alice", True), ("alice", "lab", True), ("alice", "bob", False),
    ("alice", "../bob", False), ("alice", "..", False), ("alice", "/etc", False),
    ("alice", "lab/../bob", False), ("bob", "lab", False), ("bob", "bob", True),
    ("boss", "bob", True), (None, "alice", False), ("alice", "", False),
])
def test_check_store_access(lab, user, store, ok):
    root, uf = lab
    kw = dict(root=root, users_file=uf, auth=True)
    if ok:
        assert access.check_store_access(user, store, **kw) == (root / store).resolve()
    else:
        with pytest.raises(access.AccessDenied):
            access.check_store_access(user, store, **kw)


def test_full_path_of_allowed_store_accepted(lab):
    root, uf = lab
    p = access.check_store_access("alice", root / "lab", root=root, users_file=uf, auth=True)
    assert p == (root / "lab").resolve()


def test_personal_store_name_is_safe():
    assert access.personal_store_name("a.b@x.org") == "a.b@x.org"
    assert access.personal_store_name("../../etc") == "_.._etc"
    assert "/" not in access.personal_store_name("x/y")


def _args(*argv):
    p = argparse.ArgumentParser()
    serve.add_arguments(p)
    return p.parse_args(list(argv))


def test_panel_command_group_server(lab):
    root, uf = lab
    a = _args("--store", str(root), "--auth", str(uf), "--num-procs", "3", "--admin",
              "--unused-session-lifetime", "60000", "--max-upload-mb", "100", "--prefix", "/ssb",
              "--use-xheaders", "--allow-websocket-origin", "lab.example.org")
    cmd = serve.panel_command(a)
    s = " ".join(cmd)
    assert f"--auth-module {serve.AUTH_MODULE}" in s and "--basic-auth" not in s
    assert "--num-procs 3" in s and "--admin" in cmd and "--unused-session-lifetime 60000" in s
    assert "--liveness" in cmd and "--session-ids signed" in s and f"--setup {serve.SETUP}" in s
    assert "--allow-websocket-origin lab.example.org" in s and "--prefix /ssb" in s
    # uploads come in chunks: the incoming message limit holds a few chunks, not the whole upload
    max_msg = int(cmd[cmd.index("--websocket-max-message-size") + 1])
    assert 2 * serve.UPLOAD_CHUNK_BYTES <= max_msg <= 64 * 1024**2
    env = serve.server_environment(a, base={})
    assert env["SSB_AUTH"] == "password" and env["SSB_USERS_FILE"] == str(uf.resolve())
    assert env["SSB_STORE"] == str(root.resolve()) and env["BOKEH_SIGN_SESSIONS"] == "true"
    assert env["PANEL_COOKIE_SECRET"] and env["BOKEH_SECRET_KEY"] != env["PANEL_COOKIE_SECRET"]
    assert env["SSB_MAX_UPLOAD_MB"] == "100.0"


def test_oauth_passthrough(tmp_path):
    a = _args("--store", str(tmp_path), "--oauth-provider", "github", "--oauth-key", "K",
              "--oauth-secret", "S", "--cookie-secret", "x" * 40)
    cmd = serve.panel_command(a)
    assert cmd[cmd.index("--oauth-provider") + 1] == "github"
    assert cmd[cmd.index("--oauth-key") + 1] == "K" and "--auth-module" not in cmd
    env = serve.server_environment(a, base={})
    assert env["SSB_AUTH"] == "oauth" and env["PANEL_COOKIE_SECRET"] == "x" * 40


def test_dask_scheduler_and_no_auth(tmp_path):
    a = _args("--store", str(tmp_path), "--dask-scheduler", "tcp://10.0.0.5:8786")
    env = serve.server_environment(a, base={"SSB_AUTH": "password"})
    assert env["SSB_DASK_SCHEDULER"] == "tcp://10.0.0.5:8786" and "SSB_AUTH" not in env
    assert "--auth-module" not in serve.panel_command(a)


def test_missing_or_empty_users_file(tmp_path):
    with pytest.raises(serve.ServeError, match="file not found"):
        serve.server_environment(_args("--auth", str(tmp_path / "none.json")), base={})
    users.save_users(tmp_path / "empty.json", {})
    with pytest.raises(serve.ServeError, match="no users"):
        serve.server_environment(_args("--auth", str(tmp_path / "empty.json")), base={})


def test_cookie_secret_kept_per_store(tmp_path):
    a = _args("--store", str(tmp_path))
    s1, where = serve.cookie_secret(a, tmp_path)
    s2, _ = serve.cookie_secret(a, tmp_path)
    assert s1 == s2 and len(s1) >= 32 and where.endswith("cookie_secret")
    f = tmp_path / ".ssb-server" / "cookie_secret"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    other, _ = serve.cookie_secret(a, tmp_path / "other")
    assert other != s1
    assert serve.cookie_secret(_args("--cookie-secret", "given"), tmp_path)[0] == "given"


def test_safe_next():
    from dashboard.auth import _safe_next

    assert _safe_next("/app?x=1") == "/app?x=1"
    for bad in ["//evil.org", "https://evil.org", "javascript:alert(1)", "", None, "/\\evil.org"]:
        assert _safe_next(bad) == "/"


def test_json_log_lines():
    rec = logging.LogRecord("ssb.auth", logging.INFO, __file__, 1, "login", (), None)
    rec.ssb = {"user": "alice", "ip": "127.0.0.1"}
    doc = json.loads(JsonFormatter().format(rec))
    assert doc["msg"] == "login" and doc["user"] == "alice" and doc["level"] == "INFO"
    assert doc["ts"].endswith("Z")


def test_login_status_pane(monkeypatch, lab):
    import panel as pn

    monkeypatch.delenv("SSB_AUTH", raising=False)
    assert not access.login_status().visible
    root, uf = lab
    monkeypatch.setenv("SSB_AUTH", "password")
    monkeypatch.setenv("SSB_STORE", str(root))
    monkeypatch.setenv("SSB_USERS_FILE", str(uf))
    monkeypatch.setattr(type(pn.state), "user", property(lambda self: "alice<b>"))
    text = access.login_status().object
    assert "alice&lt;b&gt;" in text and 'href="logout"' in text
