"""Users file of the group server: hashing, atomic 0600 writes, the CLI round trip."""
from __future__ import annotations

import io
import json
import stat
import sys

import pytest

from dashboard import users


def test_hash_is_salted_and_verifies():
    h1, h2 = users.hash_password("correct horse"), users.hash_password("correct horse")
    assert h1 != h2 and h1.startswith("scrypt$")  # per-user random salt
    assert "correct horse" not in h1
    assert users.verify_password("correct horse", h1)
    assert not users.verify_password("correct hors", h1)
    assert not users.verify_password("correct horse", None)  # unknown user
    assert not users.verify_password("x", "garbage$not$a$hash")


def test_short_password_and_bad_names_refused(tmp_path):
    with pytest.raises(users.UsersFileError, match="too short"):
        users.add_user(tmp_path / "u.json", "alice", "short")
    for bad in ["../x", "a/b", ".hidden", "", "x" * 65, "a b", "a\x00"]:
        with pytest.raises(users.UsersFileError, match="invalid user name"):
            users.add_user(tmp_path / "u.json", bad, "longenough1")


def test_add_remove_round_trip_file_mode(tmp_path):
    f = tmp_path / "sub" / "users.json"
    users.add_user(f, "alice", "password-a", ["alice", "lab"])
    users.add_user(f, "bob", "password-b")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    doc = json.loads(f.read_text())
    assert set(doc["users"]) == {"alice", "bob"}
    assert doc["users"]["bob"]["stores"] == ["bob"]
    assert "password-a" not in f.read_text()
    assert users.authenticate(f, "alice", "password-a")
    assert not users.authenticate(f, "alice", "password-b")
    with pytest.raises(users.UsersFileError, match="already exists"):
        users.add_user(f, "alice", "password-c")
    users.add_user(f, "alice", "password-c", replace=True)
    assert users.authenticate(f, "alice", "password-c")
    users.remove_user(f, "alice")
    assert set(users.load_users(f)) == {"bob"}
    assert not users.authenticate(f, "alice", "password-c")
    with pytest.raises(users.UsersFileError, match="not found"):
        users.remove_user(f, "alice")
    assert [p.name for p in f.parent.iterdir()] == ["users.json"]  # no temporary files left


def test_malformed_file_is_a_clear_error(tmp_path):
    f = tmp_path / "u.json"
    f.write_text("{not json")
    with pytest.raises(users.UsersFileError, match="not a readable users file"):
        users.load_users(f)
    f.write_text('{"alice": "plain"}')
    with pytest.raises(users.UsersFileError, match="no 'users' mapping"):
        users.load_users(f)


def test_parse_stores():
    assert users.parse_stores(None, "al") == ["al"]
    assert users.parse_stores("a, b", "al") == ["a", "b"]
    assert users.parse_stores("*", "al") == ["*"]
    with pytest.raises(users.UsersFileError):
        users.parse_stores("../etc", "al")


def test_cli_add_list_remove(tmp_path, monkeypatch, capsys):
    """Through the real ``ssb-explorer`` entry point (in process: importing every command is slow)."""
    from analysis.cli import main

    f = tmp_path / "users.json"
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pass\n"))
    assert main(["users", "add", "carol", "--file", str(f), "--password-stdin", "--stores", "lab,carol"]) == 0
    assert users.authenticate(f, "carol", "s3cret-pass")
    capsys.readouterr()
    assert main(["users", "list", "--file", str(f)]) == 0
    assert capsys.readouterr().out.split() == ["carol", "lab,carol"]
    assert main(["users", "remove", "carol", "--file", str(f)]) == 0 and users.load_users(f) == {}
    assert main(["users", "remove", "carol", "--file", str(f)]) == 1
    assert "not found" in capsys.readouterr().err


def test_run_reads_password_from_stdin(tmp_path, monkeypatch):
    import argparse

    p = argparse.ArgumentParser()
    users.add_arguments(p)
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw-from-stdin\n"))
    args = p.parse_args(["add", "dave", "--file", str(tmp_path / "u.json"), "--password-stdin"])
    assert users.run(args) == 0
    assert users.authenticate(tmp_path / "u.json", "dave", "pw-from-stdin")
