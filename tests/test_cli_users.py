"""``zqmap users`` and ``zqmap serve --auth``: passwords never from the command line, clear one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import argon2
import pytest
from conftest import REPO

from zqmap import auth, cli_users
from zqmap.cli import build_parser, main

PW = "correct horse"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(auth, "default_hasher", lambda: argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.delenv(auth.AUTH_ENV, raising=False)


def stdin(monkeypatch, text: str, tty: bool = False) -> None:
    fake = io.StringIO(text)
    fake.isatty = lambda: tty
    monkeypatch.setattr(sys, "stdin", fake)


def users(monkeypatch, *argv: str, input: str = "") -> int:
    stdin(monkeypatch, input)
    return main(["users", *argv])


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    path = tmp_path / "accounts.json"
    assert users(monkeypatch, "add", "王芳", "--role", "admin", "--password-stdin", "--auth", str(path),
                 input=PW + "\n") == 0
    assert users(monkeypatch, "add", "li", "--role", "editor", "--password-stdin", "--auth", str(path),
                 input=PW + "\r\n") == 0
    return path


def test_add_with_password_stdin(accounts):
    assert oct(accounts.stat().st_mode & 0o777) == "0o600"
    gate = auth.Gate.server(accounts)
    assert gate.sign_in("王芳", PW).role == "admin"
    assert gate.sign_in("li", PW).role == "editor"  # the line end (\r\n too) is not part of the password
    assert PW not in accounts.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [
    ["--password", PW], [f"--password={PW}"], ["--pass", PW], ["-p", PW], [PW],
])
def test_password_is_never_accepted_on_the_command_line(tmp_path, monkeypatch, argv):
    path = tmp_path / "a.json"
    with pytest.raises(SystemExit) as exc:
        users(monkeypatch, "add", "bob", "--role", "editor", "--auth", str(path), *argv, input=PW + "\n")
    assert exc.value.code == 2
    assert not path.exists()


def test_no_option_takes_a_password_value():
    parser = build_parser()
    users_parser = parser._subparsers._group_actions[0].choices["users"]
    for action_parser in users_parser._subparsers._group_actions[0].choices.values():
        for action in action_parser._actions:
            if any("pass" in opt for opt in action.option_strings):
                assert action.nargs == 0, action.option_strings  # a flag (--password-stdin), never a value


def test_no_terminal_and_no_password_stdin_is_refused(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.json"
    assert users(monkeypatch, "add", "bob", "--role", "editor", "--auth", str(path), input=PW + "\n") == 1
    assert "use --password-stdin" in capsys.readouterr().err
    assert not path.exists()


def test_empty_password_stdin_is_refused(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.json"
    assert users(monkeypatch, "add", "bob", "--role", "editor", "--password-stdin", "--auth", str(path)) == 1
    assert "no password on standard input" in capsys.readouterr().err
    assert users(monkeypatch, "add", "bob", "--role", "editor", "--password-stdin", "--auth", str(path),
                 input="short\n") == 1
    assert "at least 8" in capsys.readouterr().err
    assert not path.exists()


def test_prompt_asks_twice(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.json"
    answers = iter([PW, PW + "x", PW, PW])
    prompts = []
    monkeypatch.setattr(cli_users.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(answers))
    stdin(monkeypatch, "", tty=True)
    assert main(["users", "add", "bob", "--role", "admin", "--auth", str(path)]) == 1
    assert "the two passwords differ" in capsys.readouterr().err and not path.exists()
    assert main(["users", "add", "bob", "--role", "admin", "--auth", str(path)]) == 0
    assert capsys.readouterr().out == f"added bob (admin) to {path}\n"
    assert len(prompts) == 4 and "bob" in prompts[0]
    assert auth.Gate.server(path).sign_in("bob", PW).name == "bob"


@pytest.mark.parametrize("name", ["evil\x1b[2J", "a\u202eb", "x\ny", "", "z" * 41])
def test_names_with_control_characters_are_refused(accounts, monkeypatch, capsys, name):
    before = accounts.read_bytes()
    assert users(monkeypatch, "add", name, "--role", "editor", "--password-stdin", "--auth", str(accounts),
                 input=PW + "\n") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: name: ") and err.count("\n") == 1 and "\x1b" not in err
    assert accounts.read_bytes() == before


def test_duplicate_is_refused_before_the_prompt(accounts, monkeypatch, capsys):
    monkeypatch.setattr(cli_users.getpass, "getpass", lambda prompt: pytest.fail("asked for a password"))
    stdin(monkeypatch, "", tty=True)
    assert main(["users", "add", "LI", "--role", "editor", "--auth", str(accounts)]) == 1
    assert "exists" in capsys.readouterr().err


def test_list(accounts, monkeypatch, capsys):
    gate = auth.Gate.server(accounts)
    gate.sign_in("li", PW)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.SignInRefused):
            gate.sign_in("王芳", "wrong password")
    capsys.readouterr()
    assert users(monkeypatch, "list", "--auth", str(accounts)) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "STATUS", "SESSIONS", "CREATED"]
    assert lines[1].split()[:4] == ["王芳", "admin", "locked", "until"]
    assert lines[2].split()[:4] == ["li", "editor", "active", "1"]
    # names padded to 20 terminal columns (a CJK character takes two), so the columns line up
    assert lines[1].startswith("王芳" + " " * 16 + " admin") and lines[2].startswith("li" + " " * 18 + " editor")
    assert "2 account(s)" in out.err
    assert users(monkeypatch, "unlock", "王芳", "--auth", str(accounts)) == 0
    assert gate.sign_in("王芳", PW).name == "王芳"


def test_passwd_disable_enable_role_remove(accounts, monkeypatch, capsys):
    gate = auth.Gate.server(accounts)
    assert users(monkeypatch, "passwd", "li", "--password-stdin", "--auth", str(accounts), input="new password 2\n") == 0
    assert gate.sign_in("li", "new password 2").name == "li"
    assert users(monkeypatch, "disable", "li", "--auth", str(accounts)) == 0
    with pytest.raises(auth.SignInRefused, match="disabled"):
        gate.sign_in("li", "new password 2")
    assert users(monkeypatch, "enable", "li", "--auth", str(accounts)) == 0
    assert users(monkeypatch, "role", "li", "admin", "--auth", str(accounts)) == 0
    assert gate.sign_in("li", "new password 2").role == "admin"
    assert users(monkeypatch, "remove", "王芳", "--auth", str(accounts)) == 0
    assert [a["name"] for a in json.loads(accounts.read_text(encoding="utf-8"))["accounts"]] == ["li"]
    capsys.readouterr()
    assert users(monkeypatch, "remove", "li", "--auth", str(accounts)) == 1
    assert "last enabled admin" in capsys.readouterr().err
    assert users(monkeypatch, "disable", "nobody", "--auth", str(accounts)) == 1
    assert "no account 'nobody'" in capsys.readouterr().err


def test_malformed_file_one_line(accounts, monkeypatch, capsys):
    accounts.write_text('{"format": "zqmap-accounts", "version": 1, "accounts": [}', encoding="utf-8")
    assert users(monkeypatch, "list", "--auth", str(accounts)) == 1
    err = capsys.readouterr().err
    assert err == f"error: accounts file {accounts}: line 1: not valid JSON: Expecting value\n"


def test_auth_defaults_to_env(accounts, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        users(monkeypatch, "list")  # no --auth and no $ZQMAP_AUTH: a usage error
    monkeypatch.setenv(auth.AUTH_ENV, str(accounts))
    assert users(monkeypatch, "list") == 0
    assert "王芳" in capsys.readouterr().out


def test_serve_env(accounts, tmp_path, capsys):
    assert cli_users.serve_env(str(accounts), "0.0.0.0") == {auth.AUTH_ENV: str(accounts)}
    assert "sign-in required to write" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert cli_users.serve_env(str(missing), "localhost") == {auth.AUTH_ENV: str(missing)}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err and "not found" in err and "read-only" in err
    assert cli_users.serve_env(None, "localhost") == {}
    assert capsys.readouterr().err == ""
    assert cli_users.serve_env(None, "0.0.0.0") == {}
    assert "laptop mode on 0.0.0.0: anyone who can reach it can edit" in capsys.readouterr().err


def test_serve_accepts_auth():
    args = build_parser().parse_args(["serve", "--auth", "x.json"])
    assert args.auth == "x.json"


def test_console_end_to_end(tmp_path):
    path = tmp_path / "a.json"
    run = [sys.executable, "-m", "zqmap", "users", "add", "王芳", "--role", "admin", "--password-stdin",
           "--auth", str(path)]
    proc = subprocess.run(run, input=PW + "\n", capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert auth.Gate.server(path).sign_in("王芳", PW).name == "王芳"
