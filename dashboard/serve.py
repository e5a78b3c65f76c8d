"""``ssb-explorer serve``: run the dashboard with ``panel serve``, alone or as the lab's group server.

The dashboard app is ``dashboard/app.py``; options chosen here reach it through environment
variables (``SSB_STORE``, ``SSB_AUTH``, ``SSB_USERS_FILE``, ``SSB_MAX_UPLOAD_MB``,
``SSB_QUOTA_MB``, ``SSB_DASK_SCHEDULER``, ``SSB_LOG_FORMAT``), so the same app file works with
``panel serve`` directly and every process of ``--num-procs`` sees the same configuration.

Group server::

    ssb-explorer users add alice --file users.json --password-stdin --stores alice,lab
    ssb-explorer serve --store /data/lab --auth users.json --num-procs 2 \\
        --dask-scheduler tcp://cluster:8786 --allow-websocket-origin lab.example.org

* ``--auth FILE``: logins checked against the hashed users file (``dashboard/auth.py`` as Bokeh's
  ``--auth-module``; pages at ``/login`` and ``/logout``); ``--oauth-provider NAME`` instead hands
  logins to Panel's OAuth providers (``--oauth-key/--oauth-secret`` or ``PANEL_OAUTH_*``); then
  ``--auth FILE``, if given too, only maps users to stores.
* The cookie secret is ``--cookie-secret``, else ``PANEL_COOKIE_SECRET``, else one generated once and
  kept (mode 0600) in ``STORE/.ssb-server/cookie_secret`` so logins survive restarts. With logins,
  Bokeh session ids are signed with a key derived from it (no forged websocket sessions).
* ``/liveness`` answers ``{"/liveness": true}`` without login (for load balancers and systemd).
* Logs are JSON lines on stderr (``--log-format text`` for the classic format).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import stat
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE / "app.py"
AUTH_MODULE = HERE / "auth.py"
SETUP = HERE / "server_setup.py"
SECRET_DIR = ".ssb-server"
#: size of the pieces the Data page's drop zone sends a file in (bytes)
UPLOAD_CHUNK_BYTES = 4 * 1024**2
#: largest websocket message the server accepts from a browser (bytes): a few upload chunks
WEBSOCKET_MAX_MESSAGE_BYTES = 8 * UPLOAD_CHUNK_BYTES


class ServeError(Exception):
    """Invalid ``serve`` options (reported as one sentence by the CLI)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to ``parser``."""
    parser.add_argument("--store", default=None,
                        help="project store folder (default: the built-in sample data); with "
                             "logins, the root folder whose sub-folders are the stores")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.add_argument("--allow-websocket-origin", action="append", default=None,
                        help="extra host[:port] allowed to open the websocket (repeatable)")
    parser.add_argument("--app", default=str(APP),
                        help="Panel app file to serve (default: the ssb-explorer dashboard)")
    g = parser.add_argument_group("group server")
    g.add_argument("--auth", metavar="USERS_JSON", default=None,
                   help="require logins checked against this users file (see 'ssb-explorer users')")
    g.add_argument("--oauth-provider", default=None,
                   help="log in through a Panel OAuth provider (github, gitlab, azure, okta, generic...)")
    g.add_argument("--oauth-key", default=None, help="OAuth client id (or PANEL_OAUTH_KEY)")
    g.add_argument("--oauth-secret", default=None, help="OAuth client secret (or PANEL_OAUTH_SECRET)")
    g.add_argument("--oauth-redirect-uri", default=None, help="OAuth redirect URI")
    g.add_argument("--oauth-extra-params", default=None, help="OAuth extra parameters (Python dict literal)")
    g.add_argument("--oauth-encryption-key", default=None, help="key encrypting OAuth tokens in cookies")
    g.add_argument("--cookie-secret", default=None,
                   help="secret signing login cookies (default: generated once and kept in the store)")
    g.add_argument("--num-procs", type=int, default=1, help="number of server processes (0 = one per CPU)")
    g.add_argument("--admin", action="store_true", help="add Panel's admin page at /admin")
    g.add_argument("--admin-users", default=None, help="comma-separated users allowed on /admin")
    g.add_argument("--unused-session-lifetime", type=int, default=None, metavar="MS",
                   help="milliseconds after which an unused (closed tab) session is cleaned up")
    g.add_argument("--check-unused-sessions", type=int, default=None, metavar="MS",
                   help="how often to look for unused sessions (milliseconds)")
    g.add_argument("--max-upload-mb", type=float, default=500.0,
                   help="largest file accepted by an upload, MB (default 500)")
    g.add_argument("--quota-mb", type=float, default=5000.0,
                   help="upload quota per user and store, MB (default 5000)")
    g.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="dask.distributed scheduler for batch jobs, e.g. tcp://host:8786 "
                        "(default: a LocalCluster started on first use)")
    g.add_argument("--prefix", default=None, help="URL prefix when served under a sub-path by a proxy")
    g.add_argument("--use-xheaders", action="store_true",
                   help="trust X-Real-Ip / X-Forwarded-* headers (behind nginx)")
    g.add_argument("--log-format", choices=("json", "text"), default="json",
                   help="log lines as JSON objects (default) or plain text")
    g.add_argument("--log-level", default="info", help="log level (default info)")


def _secret_file(store: Path) -> Path:
    return store / SECRET_DIR / "cookie_secret"


def cookie_secret(args: argparse.Namespace, store: Path | None) -> tuple[str, str]:
    """Return ``(secret, origin)``: the login-cookie secret and where it came from.

    Order: ``--cookie-secret``, ``PANEL_COOKIE_SECRET``, the secret kept in the store (created with
    :func:`secrets.token_urlsafe` and mode 0600 on first use), else a fresh one for this run.
    """
    if args.cookie_secret:
        return args.cookie_secret, "--cookie-secret"
    if os.environ.get("PANEL_COOKIE_SECRET"):
        return os.environ["PANEL_COOKIE_SECRET"], "PANEL_COOKIE_SECRET"
    if store is None:
        return secrets.token_urlsafe(48), "generated for this run (logins end at restart)"
    f = _secret_file(store)
    f.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not f.exists():
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return f.read_text().strip(), str(f)


def server_environment(args: argparse.Namespace, base: dict | None = None) -> dict[str, str]:
    """Return the environment of the ``panel serve`` process for the parsed ``args``.

    Raises
    ------
    ServeError
        On inconsistent options (e.g. a missing or empty users file).
    """
    env = dict(os.environ if base is None else base)
    for k in ("SSB_STORE", "SSB_AUTH", "SSB_USERS_FILE", "SSB_DASK_SCHEDULER"):
        env.pop(k, None)
    store = None
    if args.store:
        store = Path(args.store).expanduser().resolve()
        store.mkdir(parents=True, exist_ok=True)
        env["SSB_STORE"] = str(store)
    if args.auth:
        from dashboard.users import load_users

        users_file = Path(args.auth).expanduser().resolve()
        if not users_file.is_file():
            raise ServeError(f"--auth {args.auth}: file not found (create it with "
                             "'ssb-explorer users add NAME --file FILE')")
        if not load_users(users_file) and not args.oauth_provider:
            raise ServeError(f"--auth {args.auth}: no users in the file (add one with "
                             "'ssb-explorer users add NAME --file FILE')")
        if users_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            print(f"ssb-explorer serve: warning: {users_file} is readable by other users; "
                  "run 'chmod 600' on it", file=sys.stderr)
        env["SSB_USERS_FILE"] = str(users_file)
    if args.oauth_provider:
        env["SSB_AUTH"] = "oauth"
    elif args.auth:
        env["SSB_AUTH"] = "password"
    if env.get("SSB_AUTH"):
        secret, _ = cookie_secret(args, store)
        env["PANEL_COOKIE_SECRET"] = secret
        # sign Bokeh session ids so a websocket session can only come from an authorised page load
        env["BOKEH_SECRET_KEY"] = hmac.new(secret.encode(), b"bokeh-session-ids",
                                           hashlib.sha256).hexdigest()
        env["BOKEH_SIGN_SESSIONS"] = "true"
    env["SSB_MAX_UPLOAD_MB"] = str(args.max_upload_mb)
    env["SSB_QUOTA_MB"] = str(args.quota_mb)
    env["SSB_LOG_FORMAT"] = args.log_format
    if args.dask_scheduler:
        env["SSB_DASK_SCHEDULER"] = args.dask_scheduler
    return env


def panel_command(args: argparse.Namespace) -> list[str]:
    """Return the ``panel serve`` command line for the parsed ``args``."""
    cmd = [sys.executable, "-m", "panel", "serve", str(getattr(args, "app", None) or APP), "--address", args.address,
           "--port", str(args.port)]
    origins = list(args.allow_websocket_origin or [])
    origins += [f"{args.address}:{args.port}", f"localhost:{args.port}", f"127.0.0.1:{args.port}"]
    for o in dict.fromkeys(origins):
        cmd += ["--allow-websocket-origin", o]
    if args.show:
        cmd.append("--show")
    cmd += ["--setup", str(SETUP), "--liveness", "--liveness-endpoint", "liveness",
            "--num-procs", str(args.num_procs), "--log-level", args.log_level]
    if args.oauth_provider:
        cmd += ["--oauth-provider", args.oauth_provider]
        for opt in ("oauth_key", "oauth_secret", "oauth_redirect_uri", "oauth_extra_params",
                    "oauth_encryption_key"):
            if getattr(args, opt):
                cmd += ["--" + opt.replace("_", "-"), getattr(args, opt)]
    elif args.auth:
        cmd += ["--auth-module", str(AUTH_MODULE)]
    if args.oauth_provider or args.auth:
        cmd += ["--session-ids", "signed"]
    if args.admin:
        cmd.append("--admin")
        if args.admin_users:
            cmd += ["--admin-users", args.admin_users]
    if args.unused_session_lifetime is not None:
        cmd += ["--unused-session-lifetime", str(args.unused_session_lifetime)]
    if args.check_unused_sessions is not None:
        cmd += ["--check-unused-sessions", str(args.check_unused_sessions)]
    # uploads travel over the websocket in chunks (the Data page's drop zone, UPLOAD_CHUNK_BYTES):
    # no incoming message needs to be larger than a chunk and its framing, whatever the upload limit
    cmd += ["--websocket-max-message-size", str(WEBSOCKET_MAX_MESSAGE_BYTES)]
    if args.prefix:
        cmd += ["--prefix", args.prefix]
    if args.use_xheaders:
        cmd.append("--use-xheaders")
    return cmd


def run(args: argparse.Namespace) -> int:
    """Replace this process with ``panel serve`` (so signals reach the server directly)."""
    try:
        env = server_environment(args)
    except ServeError as exc:
        print(f"ssb-explorer serve: {exc}", file=sys.stderr)
        return 2
    cmd = panel_command(args)
    mode = {"password": f"logins from {args.auth}", "oauth": f"OAuth via {args.oauth_provider}"}.get(
        env.get("SSB_AUTH", ""), "no logins")
    print(f"ssb-explorer: serving the dashboard at http://{args.address}:{args.port} ({mode})",
          file=sys.stderr)
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover
