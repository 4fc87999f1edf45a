"""The write gate: accounts file, sign-in, lockout, sessions, roles (fake clock, cheap argon2 parameters)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import argon2
import pytest
from conftest import REPO

from zqmap import auth
from zqmap.auth import EDIT, MANAGE_ACCOUNTS, REVERT, VIEWER, Gate, PermissionDenied, Principal, SignInRefused

CHEAP = dict(time_cost=1, memory_cost=8, parallelism=1)
PW = "correct horse"


class Clock:
    def __init__(self, now: float = 1_780_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def path(tmp_path, clock):
    p = tmp_path / "accounts.json"
    accounts = auth.Accounts(p, hasher=argon2.PasswordHasher(**CHEAP), clock=clock)
    accounts.add("王芳", "admin", PW)
    accounts.add("Li Wei", "editor", PW)
    return p


@pytest.fixture
def gate(path, clock):
    return Gate.server(path, hasher=argon2.PasswordHasher(**CHEAP), clock=clock)


def test_file_is_private_and_documented_format(path):
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(auth.state_path(path).stat().st_mode & 0o777) == "0o600"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "zqmap-accounts" and data["version"] == 1
    assert [(a["name"], a["role"], a["disabled"]) for a in data["accounts"]] == [
        ("王芳", "admin", False), ("Li Wei", "editor", False)]
    assert all(a["hash"].startswith("$argon2id$") and PW not in a["hash"] for a in data["accounts"])


def test_sign_in_and_authorize(gate):
    p = gate.sign_in("li wei", PW)  # names are matched ignoring case; the recorded name is the account's
    assert (p.name, p.role, p.mode) == ("Li Wei", "editor", "server")
    assert len(p.token) >= 40 and p.token not in repr(p)
    assert gate.authorize(p, EDIT, project="p-1") == p


def test_wrong_password_and_unknown_user_say_the_same(gate):
    with pytest.raises(SignInRefused) as wrong:
        gate.sign_in("Li Wei", "not the password")
    with pytest.raises(SignInRefused) as unknown:
        gate.sign_in("nobody", "not the password")
    assert str(wrong.value) == str(unknown.value) == auth.WRONG


def test_unknown_user_is_verified_against_a_dummy_hash(path, clock):
    seen = []

    class Spy(argon2.PasswordHasher):
        def verify(self, hash, password):
            seen.append(hash)
            return super().verify(hash, password)

    gate = Gate.server(path, hasher=Spy(**CHEAP), clock=clock)
    with pytest.raises(SignInRefused):
        gate.sign_in("nobody", PW)
    with pytest.raises(SignInRefused):
        gate.sign_in("Li Wei", "wrong password")
    # the same work for an unknown name as for a real account: one argon2id verify with the same parameters
    assert len(seen) == 2 and seen[0] != seen[1]
    assert seen[0].split("$")[:4] == seen[1].split("$")[:4]


def test_lockout_after_five_failures_and_unlock_after_five_minutes(gate, clock):
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(SignInRefused, match="wrong name or password"):
            gate.sign_in("Li Wei", "wrong password")
    with pytest.raises(SignInRefused, match="locked, try again in 5 min"):
        gate.sign_in("Li Wei", PW)  # the right password does not help while locked
    clock.now += auth.LOCK_SECONDS - 1
    with pytest.raises(SignInRefused, match="locked"):
        gate.sign_in("Li Wei", PW)
    assert gate.sign_in("王芳", PW).name == "王芳"  # only that account is locked
    clock.now += 2
    assert gate.sign_in("Li Wei", PW).name == "Li Wei"
    assert gate.accounts.lock_of("Li Wei").failures == 0  # a success clears the count


def test_unknown_names_lock_the_same_way(gate):
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(SignInRefused, match="wrong"):
            gate.sign_in("nobody", "x" * 10)
    with pytest.raises(SignInRefused, match="locked"):
        gate.sign_in("nobody", "x" * 10)  # locking says nothing about whether the name exists


def test_old_failures_are_forgotten(gate, clock):
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(SignInRefused):
            gate.sign_in("Li Wei", "wrong password")
    clock.now += auth.FORGET_FAILURES_SECONDS + 1
    with pytest.raises(SignInRefused, match="wrong"):
        gate.sign_in("Li Wei", "wrong password")  # a fresh count: 1, not 5
    assert gate.accounts.lock_of("Li Wei").failures == 1


def test_two_processes_share_the_failure_count(path, clock):
    script = textwrap.dedent(f"""
        import argon2, sys
        from zqmap import auth
        gate = auth.Gate.server(sys.argv[1], hasher=argon2.PasswordHasher(**{CHEAP!r}), clock=lambda: {clock.now!r})
        for _ in range(3):
            try:
                gate.sign_in("Li Wei", "wrong password")
            except auth.SignInRefused as exc:
                print(exc)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    lines = [line for proc in procs for line in proc.communicate(timeout=120)[0].splitlines()]
    assert all(proc.returncode == 0 for proc in procs)
    assert len(lines) == 6
    assert sum("wrong name or password" in line for line in lines) == auth.MAX_FAILURES
    assert sum("locked" in line for line in lines) == 1
    gate = Gate.server(path, hasher=argon2.PasswordHasher(**CHEAP), clock=clock)
    with pytest.raises(SignInRefused, match="locked"):
        gate.sign_in("Li Wei", PW)


def test_rehash_on_sign_in_when_parameters_change(path, clock):
    before = auth.read_accounts(path)[1].hash
    stronger = argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    gate = Gate.server(path, hasher=stronger, clock=clock)
    gate.sign_in("Li Wei", PW)
    after = auth.read_accounts(path)[1].hash
    assert after != before and "m=16,t=2,p=1" in after and not stronger.check_needs_rehash(after)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert gate.sign_in("Li Wei", PW).name == "Li Wei"
    assert auth.read_accounts(path)[1].hash == after  # no rehash when the parameters match


def test_session_idle_timeout(gate, clock):
    p = gate.sign_in("Li Wei", PW)
    clock.now += auth.IDLE_SECONDS - 60
    gate.authorize(p, EDIT)  # activity keeps the session alive
    clock.now += auth.IDLE_SECONDS - 60
    gate.authorize(p, EDIT)
    clock.now += auth.IDLE_SECONDS + 1
    with pytest.raises(PermissionDenied, match="session expired"):
        gate.authorize(p, EDIT)
    assert gate.current(p) == VIEWER
    with pytest.raises(PermissionDenied, match="session ended"):
        gate.authorize(p, EDIT)  # an expired session is gone


def test_session_absolute_timeout(gate, clock):
    p = gate.sign_in("Li Wei", PW)
    while clock.now + 20 * 60 < 1_780_000_000.0 + auth.ABSOLUTE_SECONDS:
        clock.now += 20 * 60
        gate.authorize(p, EDIT)
    clock.now += 20 * 60 + 1
    with pytest.raises(PermissionDenied, match="session expired"):
        gate.authorize(p, EDIT)


def test_sign_out_ends_the_session(gate):
    p = gate.sign_in("Li Wei", PW)
    gate.sign_out(p)
    with pytest.raises(PermissionDenied, match="session ended"):
        gate.authorize(p, EDIT)


def test_role_and_name_come_from_the_server_not_the_principal(gate):
    p = gate.sign_in("Li Wei", PW)
    forged = Principal("王芳", "admin", "server", p.token)
    assert gate.authorize(forged, EDIT) == p  # the token's account, with its own role
    with pytest.raises(PermissionDenied):
        gate.authorize(forged, MANAGE_ACCOUNTS)
    for fake in (Principal("王芳", "admin", "server"), Principal("王芳", "admin", "server", "guessed-token"),
                 Principal("王芳", "admin", "laptop"), {"name": "王芳", "role": "admin"}, None):
        with pytest.raises(PermissionDenied):
            gate.authorize(fake, EDIT)


@pytest.mark.parametrize("change", [
    lambda a: a.set_disabled("Li Wei", True),
    lambda a: a.set_password("Li Wei", "new password 1"),
    lambda a: a.remove("Li Wei"),
])
def test_disable_passwd_remove_end_sessions(gate, change):
    p = gate.sign_in("Li Wei", PW)
    change(gate.accounts)
    assert gate.accounts.session_counts().get("li wei", 0) == 0
    with pytest.raises(PermissionDenied):
        gate.authorize(p, EDIT)


def test_new_password_replaces_the_old(gate):
    gate.accounts.set_password("Li Wei", "new password 1")
    with pytest.raises(SignInRefused, match="wrong"):
        gate.sign_in("Li Wei", PW)
    assert gate.sign_in("Li Wei", "new password 1").name == "Li Wei"


def test_disabled_account_cannot_sign_in(gate):
    gate.accounts.set_disabled("Li Wei", True)
    with pytest.raises(SignInRefused, match="wrong"):
        gate.sign_in("Li Wei", "wrong password")
    with pytest.raises(SignInRefused, match="disabled"):
        gate.sign_in("Li Wei", PW)


def test_role_change_takes_effect_in_running_sessions(gate):
    p = gate.sign_in("Li Wei", PW)
    with pytest.raises(PermissionDenied):
        gate.authorize(p, REVERT, event_author="王芳")
    gate.accounts.set_role("Li Wei", "admin")
    assert gate.authorize(p, REVERT, event_author="王芳").role == "admin"


@pytest.mark.parametrize("who, action, event_author, allowed", [
    ("viewer", EDIT, None, False),
    ("viewer", REVERT, "Li Wei", False),
    ("viewer", MANAGE_ACCOUNTS, None, False),
    ("editor", EDIT, None, True),
    ("editor", REVERT, "li wei", True),      # their own event
    ("editor", REVERT, "王芳", False),        # another person's
    ("editor", REVERT, None, False),         # an event of nobody known
    ("editor", MANAGE_ACCOUNTS, None, False),
    ("admin", EDIT, None, True),
    ("admin", REVERT, "Li Wei", True),
    ("admin", MANAGE_ACCOUNTS, None, True),
])
def test_authorize_matrix(gate, who, action, event_author, allowed):
    principal = {"viewer": VIEWER, "editor": gate.sign_in("Li Wei", PW), "admin": gate.sign_in("王芳", PW)}[who]
    if allowed:
        assert gate.authorize(principal, action, project="p-1", event_author=event_author).role == who
    else:
        with pytest.raises(PermissionDenied) as exc:
            gate.authorize(principal, action, project="p-1", event_author=event_author)
        assert "\n" not in str(exc.value) and str(exc.value)


def test_editor_revert_reason_names_the_rule(gate):
    with pytest.raises(PermissionDenied, match="only an admin may revert another person's event of p-1"):
        gate.authorize(gate.sign_in("Li Wei", PW), REVERT, project="p-1", event_author="王芳")


def test_unknown_action_is_a_programming_error(gate):
    with pytest.raises(ValueError, match="unknown action"):
        gate.authorize(gate.sign_in("王芳", PW), "delete_everything")


def test_laptop_mode():
    gate = Gate.laptop()
    with pytest.raises(PermissionDenied, match="type your name"):
        gate.authorize(VIEWER, EDIT)
    p = gate.laptop_sign_in("张三")
    assert gate.authorize(p, REVERT, event_author="someone else").name == "张三"
    with pytest.raises(PermissionDenied, match="laptop mode has no accounts"):
        gate.authorize(p, MANAGE_ACCOUNTS)
    with pytest.raises(PermissionDenied, match="control or bidi"):
        gate.authorize(Principal("张\u202e三", "admin", "laptop"), EDIT)  # a principal built around the check
    with pytest.raises(SignInRefused):
        gate.sign_in("张三", PW)


def test_from_env():
    assert Gate.from_env({}).mode == "laptop"
    gate = Gate.from_env({auth.AUTH_ENV: "/nonexistent/accounts.json"})
    assert gate.mode == "server" and "not found" in gate.problem


@pytest.mark.parametrize("name, message", [
    ("", "empty"), ("   ", "empty"), ("x" * 41, "at most 40"), ("bad\x1b[31mname", "U+001B"),
    ("a\nb", "U+000A"), ("a\tb", "U+0009"), ("ab\u202e", "U+202E"), ("a\u2066b", "U+2066"), ("a\u200bb", "U+200B"),
    ("a\x85b", "U+0085"), ("a  b", "runs of spaces"), (None, "must be text"),
])
def test_bad_names_refused(name, message):
    with pytest.raises(auth.InvalidName, match=re.escape(message)):
        auth.validate_name(name)


def test_good_names():
    assert auth.validate_name(" 王芳 ") == "王芳"
    assert auth.validate_name("Li Wei") == "Li Wei"
    assert auth.validate_name("e\u0301") == "\u00e9"  # NFC


def test_add_refuses_bad_names_and_duplicates(path, clock):
    accounts = auth.Accounts(path, hasher=argon2.PasswordHasher(**CHEAP), clock=clock)
    with pytest.raises(auth.InvalidName):
        accounts.add("evil\u202e", "editor", PW)
    with pytest.raises(auth.AuthError, match="exists"):
        accounts.add("LI WEI", "editor", PW)
    with pytest.raises(auth.AuthError, match="at least 8"):
        accounts.add("short", "editor", "1234567")
    with pytest.raises(auth.AuthError, match="role"):
        accounts.add("root", "root", PW)
    assert [a.name for a in accounts.read()] == ["王芳", "Li Wei"]


def test_last_admin_is_kept(gate):
    for change in (lambda: gate.accounts.remove("王芳"), lambda: gate.accounts.set_disabled("王芳", True),
                   lambda: gate.accounts.set_role("王芳", "editor")):
        with pytest.raises(auth.AuthError, match="last enabled admin"):
            change()
    gate.accounts.set_role("Li Wei", "admin")
    gate.accounts.remove("王芳")
    assert [a.name for a in gate.accounts.read()] == ["Li Wei"]


# -- the accounts file: missing, malformed, too open -> read-only, one line naming the file --

def _rewrite(path, text):
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _good(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("mangle, message", [
    (lambda d: "{not json", "line 1: not valid JSON"),
    (lambda d: json.dumps([1, 2]), "not a zqmap accounts file"),
    (lambda d: json.dumps({**d, "version": 2}), "version: 2 is not supported"),
    (lambda d: json.dumps({**d, "extra": 1}), "unknown key 'extra'"),
    (lambda d: json.dumps({**d, "accounts": {}}), "accounts: must be a list"),
    (lambda d: json.dumps({**d, "accounts": [{**d["accounts"][0], "role": "root"}]}), "account 1 ('王芳'): role: 'root'"),
    (lambda d: json.dumps({**d, "accounts": [{**d["accounts"][0], "hash": "hunter2"}]}), "hash: not an argon2id hash"),
    (lambda d: json.dumps({**d, "accounts": [{**d["accounts"][0], "name": "x\u202e"}]}), "account 1: name: must not"),
    (lambda d: json.dumps({**d, "accounts": [{**d["accounts"][0], "disabled": "no"}]}), "disabled: must be true or false"),
    (lambda d: json.dumps({**d, "accounts": [d["accounts"][0], {**d["accounts"][1], "name": "王芳"}]}), "appears twice"),
])
def test_malformed_file_makes_the_gate_read_only(path, clock, mangle, message):
    _rewrite(path, mangle(_good(path)))
    gate = Gate.server(path, hasher=argon2.PasswordHasher(**CHEAP), clock=clock)
    assert message in gate.problem and str(path) in gate.problem and "\n" not in gate.problem
    with pytest.raises(SignInRefused, match="read-only"):
        gate.sign_in("王芳", PW)


def test_file_broken_after_sign_in_refuses_writes(path, gate):
    p = gate.sign_in("王芳", PW)
    _rewrite(path, "{")
    with pytest.raises(PermissionDenied, match=r"read-only: accounts file .*not valid JSON"):
        gate.authorize(p, EDIT)


def test_missing_file(tmp_path):
    gate = Gate.server(tmp_path / "none.json")
    assert gate.problem == (f"accounts file {tmp_path / 'none.json'}: not found (create it with "
                            f"`zqmap users add NAME --role admin --auth {tmp_path / 'none.json'}`)")
    with pytest.raises(PermissionDenied, match="read-only"):
        gate.authorize(VIEWER, EDIT)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_file_readable_by_others_is_refused(path, gate):
    path.chmod(0o644)
    assert "readable or writable by others (mode 0644): run `chmod 600" in gate.problem
    with pytest.raises(SignInRefused, match="read-only"):
        gate.sign_in("王芳", PW)


def test_state_file_that_is_not_sqlite_refuses(path, gate):
    auth.state_path(path).write_bytes(b"this is not a database" * 100)
    with pytest.raises(SignInRefused, match=r"read-only: state file .*state\.db"):
        gate.sign_in("王芳", PW)
    with pytest.raises(PermissionDenied, match="read-only: state file"):
        gate.authorize(Principal("王芳", "admin", "server", "x" * 43), EDIT)


def test_stale_attempts_of_unknown_names_are_pruned(gate, clock):
    for name in ("nobody", "ghost"):
        with pytest.raises(SignInRefused):
            gate.sign_in(name, "wrong password")
    clock.now += auth.FORGET_FAILURES_SECONDS + 1
    with pytest.raises(SignInRefused):
        gate.sign_in("spectre", "wrong password")  # recent: kept
    gate.sign_in("王芳", PW)
    with gate.accounts.state(write=False) as con:
        assert [r[0] for r in con.execute("SELECT who FROM attempts")] == ["spectre"]
