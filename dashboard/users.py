"""The users file of the group server, and the ``ssb-explorer users`` command.

The file is JSON, written atomically with permissions 0600::

    {"version": 1,
     "users": {"alice": {"hash": "scrypt$16384$8$1$<salt b64>$<key b64>",
                         "stores": ["alice", "lab"],
                         "created": "2026-01-01T00:00:00Z"}}}

Passwords are never stored: only a salted scrypt hash (:func:`hashlib.scrypt`, n=2**14, r=8,
p=1, 16-byte random salt per user, 32-byte key), verified in constant time. ``stores`` lists
the store names (sub-folders of the server's ``--store`` folder) the user may open; ``"*"``
means all of them. A user added without ``--stores`` gets a personal store named like the user.

Command line::

    ssb-explorer users add NAME --file users.json --password-stdin [--stores a,b | --stores '*']
    ssb-explorer users remove NAME --file users.json
    ssb-explorer users list --file users.json
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

from analysis.errors import SSBError

#: scrypt cost parameters (n=2**14, r=8: ~16 MiB and ~50 ms per hash)
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LEN, SALT_LEN = 2**14, 8, 1, 32, 16
#: user and store names: letters, digits, ``_ . @ -``; 1-64 characters; not starting with ``.``
NAME_RE = re.compile(r"^[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8


class UsersFileError(SSBError, ValueError):
    """The users file or a user entry is invalid (the message names the file and the reason)."""


def check_name(name: str, what: str = "user name") -> str:
    """Return ``name`` if it is a valid user or store name, else raise :class:`UsersFileError`."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsersFileError(
            f"invalid {what} {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-', "
            "not starting with '.'"
        )
    return name


def hash_password(password: str) -> str:
    """Return the salted scrypt hash string of ``password`` (never the password itself).

    Parameters
    ----------
    password : str
        The plain-text password (at least :data:`MIN_PASSWORD` characters).

    Returns
    -------
    str
        ``"scrypt$n$r$p$<salt>$<key>"`` with base64 salt and key.
    """
    if len(password) < MIN_PASSWORD:
        raise UsersFileError(f"password too short: use at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(SALT_LEN)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                         p=SCRYPT_P, dklen=KEY_LEN)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(key)}"


#: hash checked for unknown users so that timing does not reveal which names exist
_DUMMY_HASH = (f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
               + base64.b64encode(b"\0" * SALT_LEN).decode() + "$"
               + base64.b64encode(b"\0" * KEY_LEN).decode())


def verify_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches the hash string ``stored`` (constant-time comparison).

    ``stored=None`` (unknown user) still spends the time of one hash and returns False.
    """
    target = stored or _DUMMY_HASH
    try:
        algo, n, r, p, salt, key = target.split("$")
        if algo != "scrypt":
            return False
        salt_b, key_b = base64.b64decode(salt), base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt_b, n=int(n), r=int(r),
                             p=int(p), dklen=len(key_b), maxmem=64 * 1024**2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, key_b) and stored is not None


def load_users(path: str | os.PathLike) -> dict[str, dict]:
    """Read the users file; return ``{name: {"hash": ..., "stores": [...], ...}}``.

    A missing file gives an empty mapping; a malformed one raises :class:`UsersFileError`.
    """
    p = Path(path)
    if not p.exists():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsersFileError(f"{p}: not a readable users file ({exc})") from None
    users = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise UsersFileError(f"{p}: no 'users' mapping (expected the format written by "
                             "'ssb-explorer users add')")
    for name, entry in users.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("stores", []), list):
            raise UsersFileError(f"{p}: entry of user {name!r} is malformed")
    return users


def save_users(path: str | os.PathLike, users: dict[str, dict]) -> None:
    """Write the users file atomically (temporary file in the same folder, then rename), mode 0600."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "users": users}, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def parse_stores(spec: str | None, user: str) -> list[str]:
    """Turn ``--stores a,b`` (or ``*``) into a list of store names; default ``[user]``."""
    if spec is None or not spec.strip():
        return [user]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if "*" in names:
        return ["*"]
    return [check_name(s, "store name") for s in names]


def add_user(path, name: str, password: str, stores: list[str] | None = None,
             replace: bool = False) -> dict:
    """Add (or with ``replace=True`` update) user ``name`` in the users file; return its entry."""
    check_name(name)
    users = load_users(path)
    if name in users and not replace:
        raise UsersFileError(f"user {name!r} already exists in {path} (use --replace to change "
                             "the password or stores)")
    entry = {
        "hash": hash_password(password),
        "stores": list(stores) if stores else [name],
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    users[name] = entry
    save_users(path, users)
    return entry


def remove_user(path, name: str) -> None:
    """Remove user ``name`` from the users file (error if absent)."""
    users = load_users(path)
    if name not in users:
        raise UsersFileError(f"user {name!r} not found in {path}")
    del users[name]
    save_users(path, users)


def authenticate(path, name: str, password: str) -> bool:
    """True if ``name``/``password`` match an entry of the users file at ``path``."""
    users = load_users(path)
    entry = users.get(name)
    return verify_password(password, entry.get("hash") if entry else None)


# --------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``users`` sub-commands (add, remove, list) to ``parser``."""
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a user (password hashed with scrypt)")
    a.add_argument("name")
    a.add_argument("--file", required=True, help="users file (JSON, created if missing)")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    a.add_argument("--stores", default=None,
                   help="comma-separated store names the user may open, or '*' for all "
                        "(default: a personal store named like the user)")
    a.add_argument("--replace", action="store_true", help="replace an existing user")
    r = sub.add_parser("remove", help="remove a user")
    r.add_argument("name")
    r.add_argument("--file", required=True)
    ls = sub.add_parser("list", help="list users and their stores")
    ls.add_argument("--file", required=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise UsersFileError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    """Run ``ssb-explorer users ACTION``; returns the exit status."""
    if args.users_command == "add":
        password = _read_password(args.password_stdin)
        entry = add_user(args.file, args.name, password, parse_stores(args.stores, args.name),
                         replace=args.replace)
        print(f"user {args.name!r} saved in {args.file} (stores: {', '.join(entry['stores'])})",
              file=sys.stderr)
    elif args.users_command == "remove":
        remove_user(args.file, args.name)
        print(f"user {args.name!r} removed from {args.file}", file=sys.stderr)
    else:
        for name, entry in sorted(load_users(args.file).items()):
            print(f"{name}\t{','.join(entry.get('stores', []))}")
    return 0
