"""Authorisation: which project stores a user of the group server may open.

Rule
----
* Without authentication (``ssb-explorer serve --store DIR`` on a laptop) there is one user and
  one store: ``DIR`` itself.
* With authentication (``--auth users.json`` or ``--oauth-provider``) ``DIR`` is the lab's store
  *root*: each store is a sub-folder ``DIR/<name>``. A user may open exactly the store names listed
  for them in the users file (``"*"`` = every store under the root); a user without an entry (an
  OAuth login not listed in the file) gets only a personal store named like the user.
* A store is chosen with the URL parameter ``?store=NAME``; the server refuses (HTTP 403) a page
  request naming a store the user may not open (:func:`authorize`, installed as Panel's
  ``authorize_callback``), and :func:`session_store` applies the same rule inside a session.

The server passes its configuration through environment variables so that every process of
``--num-procs`` sees the same: ``SSB_STORE`` (root), ``SSB_AUTH`` (``password``, ``oauth`` or
empty) and ``SSB_USERS_FILE``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from analysis.errors import SSBError

ENV_STORE, ENV_AUTH, ENV_USERS = "SSB_STORE", "SSB_AUTH", "SSB_USERS_FILE"


class AccessDenied(SSBError, PermissionError):
    """A user asked for a store they are not allowed to open (the message names both)."""


def store_root() -> Path | None:
    """The server's ``--store`` folder (``SSB_STORE``), or None when serving the sample data."""
    root = os.environ.get(ENV_STORE)
    return Path(root).expanduser().resolve() if root else None


def auth_enabled() -> bool:
    """True when the server runs with logins (``SSB_AUTH`` is ``password`` or ``oauth``)."""
    return os.environ.get(ENV_AUTH, "") in ("password", "oauth")


def personal_store_name(user: str) -> str:
    """The store name of ``user``'s personal store (characters outside ``[A-Za-z0-9_.@-]`` -> ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_.@-]", "_", user)[:64].lstrip(".") or "_"
    return name


def _entry(user: str, users_file) -> dict | None:
    from dashboard.users import load_users

    path = users_file or os.environ.get(ENV_USERS)
    if not path:
        return None
    return load_users(path).get(user)


def _store_path(root: Path, name: str) -> Path:
    from dashboard.users import check_name

    check_name(name, "store name")
    p = (root / name).resolve()
    if p.parent != root:
        raise AccessDenied(f"store name {name!r} does not name a folder of the store root")
    return p


def allowed_stores(user: str | None, root: str | os.PathLike | None = None,
                   users_file: str | os.PathLike | None = None,
                   auth: bool | None = None) -> list[Path]:
    """Return the store folders ``user`` may open, personal/first store first.

    Parameters
    ----------
    user : str or None
        The logged-in user (``pn.state.user``); None without authentication.
    root : path, optional
        The store root (default: ``SSB_STORE``).
    users_file : path, optional
        The users file with each user's ``stores`` (default: ``SSB_USERS_FILE``).
    auth : bool, optional
        Whether logins are enabled (default: :func:`auth_enabled`).

    Returns
    -------
    list of Path
        Absolute store folders (they need not exist yet); empty when nothing is allowed.
    """
    root_p = Path(root).expanduser().resolve() if root is not None else store_root()
    auth = auth_enabled() if auth is None else auth
    if root_p is None:
        return []
    if not auth:
        return [root_p]
    if not user or user == "guest":
        return []
    entry = _entry(user, users_file)
    names = list(entry.get("stores", [])) if entry else [personal_store_name(user)]
    out: list[Path] = []
    if "*" in names:
        extra = sorted(p.name for p in root_p.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root_p.is_dir() else []
        names = [n for n in names if n != "*"] + extra
    for n in dict.fromkeys(names):
        try:
            out.append(_store_path(root_p, n))
        except SSBError:
            continue
    return out


def check_store_access(user: str | None, store: str | os.PathLike, root=None, users_file=None,
                       auth: bool | None = None) -> Path:
    """Return the folder of ``store`` (a name under the root, or a path) if ``user`` may open it.

    Parameters are those of :func:`allowed_stores`, plus ``store``: a store name (with logins)
    or a folder path.

    Raises
    ------
    AccessDenied
        When the store is not among :func:`allowed_stores` of ``user`` (also for names with
        ``..``, absolute paths outside the root, or anything that does not resolve to an
        allowed folder).
    """
    auth = auth_enabled() if auth is None else auth
    root_p = Path(root).expanduser().resolve() if root is not None else store_root()
    allowed = allowed_stores(user, root=root_p, users_file=users_file, auth=auth)
    s = str(store)
    cand = None
    if root_p is not None and auth and "/" not in s and os.sep not in s:
        try:
            cand = _store_path(root_p, s)
        except SSBError:
            cand = None
    elif s:
        cand = Path(s).expanduser().resolve()
    if cand is not None and cand in allowed:
        return cand
    raise AccessDenied(f"user {user!r} may not open store {s!r}")


# ------------------------------------------------------------------------- inside a session
def session_user() -> str | None:
    """The user of the current Panel session (``pn.state.user``), None without logins."""
    if not auth_enabled():
        return None
    import panel as pn

    return pn.state.user


def requested_store() -> str | None:
    """The ``store`` URL parameter of the current session, if any."""
    import panel as pn

    args = pn.state.session_args or {}
    vals = args.get("store")
    if not vals:
        return None
    v = vals[0]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def session_store() -> Path | None:
    """The store folder the current session shows: ``?store=NAME`` if allowed, else the first allowed.

    Without logins the single ``--store`` folder is returned and ``?store=`` is ignored.

    Returns None when serving the sample data (no ``--store``) or when the user has no store.
    Pages call this (instead of reading ``SSB_STORE``) to open their store.

    Raises
    ------
    AccessDenied
        When the URL names a store the user may not open.
    """
    user = session_user()
    req = requested_store() if auth_enabled() else None  # one store without logins
    if req:
        return check_store_access(user, req)
    allowed = allowed_stores(user)
    return allowed[0] if allowed else None


def session_store_names() -> dict[str, Path]:
    """``{name: folder}`` of the stores the session's user may open (for a store selector)."""
    return {p.name: p for p in allowed_stores(session_user())}


def authorize(user_info, path: str) -> bool:
    """Panel ``authorize_callback``: refuse a page request whose ``?store=`` the user may not open.

    Without logins it allows everything; with logins it requires a user and, when the URL names a
    store, access to it (otherwise Panel answers 403 with an explanation).
    """
    if not auth_enabled():
        return True
    import panel as pn

    user = pn.state.user
    if not user:
        return False
    req = requested_store()
    if req is None:
        return True
    try:
        check_store_access(user, req)
    except (AccessDenied, SSBError):
        return False
    return True


def login_status():
    """A small Panel pane for the page header: "alice · store lab · Log out" (empty without logins).

    Returns
    -------
    panel.pane.HTML
    """
    import html

    import panel as pn

    if not auth_enabled():
        return pn.pane.HTML("", width=0, height=0, visible=False)
    user = pn.state.user or "?"
    try:
        store = session_store()
        where = f" &middot; store <b>{html.escape(store.name)}</b>" if store is not None else ""
    except AccessDenied:
        where = ""
    return pn.pane.HTML(f'<span class="ssb-login">{html.escape(user)}{where} &middot; '
                        f'<a href="logout">Log out</a></span>', margin=(0, 10))
