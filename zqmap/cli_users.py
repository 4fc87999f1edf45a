"""``zqmap users``: the accounts of a server (``zqmap serve --auth PATH``).

Examples::

    zqmap users add 王芳 --role admin --auth /srv/zqmap/accounts.json      # asks for the password twice
    printf '%s\\n' "$PW" | zqmap users add li.wei --role editor --password-stdin --auth accounts.json
    zqmap users list --auth accounts.json
    zqmap users passwd li.wei --auth accounts.json
    zqmap users disable li.wei --auth accounts.json       # ends their sessions at once
    zqmap users enable | role NAME editor|admin | unlock | remove ...

A password is never taken from the command line (it would be in the shell's
history and in ``ps``): from a prompt, or one line on standard input.
``--auth`` defaults to ``$ZQMAP_AUTH``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
import unicodedata

from zqmap import auth


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``users`` to the ``zqmap`` command line (called from :func:`zqmap.cli.build_parser`)."""
    p = sub.add_parser("users", help="accounts for server mode (zqmap serve --auth PATH)", allow_abbrev=False,
                       description="Manage the accounts file of zqmap serve --auth PATH. Passwords are read from a "
                                   "prompt or with --password-stdin, never from the command line.")
    actions = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def action(name: str, help_: str, func, *, with_name: bool = True) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help_, allow_abbrev=False)
        if with_name:
            a.add_argument("name", metavar="NAME")
        env = os.environ.get(auth.AUTH_ENV)
        a.add_argument("--auth", metavar="PATH", default=env, required=env is None,
                       help=f"the accounts file (default: ${auth.AUTH_ENV})")
        a.set_defaults(func=lambda args: _run(func, args))
        return a

    a = action("add", "add an account (creates the file if needed)", cmd_add)
    a.add_argument("--role", required=True, choices=auth.ROLES)
    _password_stdin(a)
    action("list", "list accounts: role, status, sessions", cmd_list, with_name=False)
    _password_stdin(action("passwd", "set a new password (ends the account's sessions)", cmd_passwd))
    action("disable", "disable an account (ends its sessions)", cmd_disable)
    action("enable", "enable a disabled account", cmd_enable)
    action("role", "change an account's role", cmd_role).add_argument("role", choices=auth.ROLES)
    action("unlock", "clear failed sign-in attempts and a lock", cmd_unlock)
    action("remove", "remove an account (its past events keep its name)", cmd_remove)


def _password_stdin(a: argparse.ArgumentParser) -> None:
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input instead of a prompt")


def _run(func, args: argparse.Namespace) -> int:
    try:
        return func(args, auth.Accounts(args.auth))
    except auth.AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def read_password(args: argparse.Namespace) -> str:
    """One line of standard input (``--password-stdin``), or asked twice at the terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise auth.AuthError("no password on standard input")
        return auth.check_password(password)
    if not sys.stdin.isatty():
        raise auth.AuthError("no terminal to ask for the password: use --password-stdin")
    password = getpass.getpass(f"new password for {args.name} (at least {auth.PASSWORD_MIN} characters): ")
    auth.check_password(password)
    if getpass.getpass("the same again: ") != password:
        raise auth.AuthError("the two passwords differ; nothing was changed")
    return password


def cmd_add(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    name = auth.validate_name(args.name)
    if accounts.path.exists() and accounts.find(name):  # before asking for a password
        raise auth.AuthError(f"{name!r} exists (names are compared ignoring case)")
    account = accounts.add(name, args.role, read_password(args))
    print(f"added {account.name} ({account.role}) to {accounts.path}")
    return 0


def cmd_list(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    rows = accounts.read()
    sessions = accounts.session_counts()
    now = time.time()
    print(f"{_pad('NAME', 20)} {'ROLE':<7} {'STATUS':<24} {'SESSIONS':>8}  CREATED")
    for a in rows:
        lock = accounts.lock_of(a.name)
        if a.disabled:
            status = "disabled"
        elif lock.locked_until > now:
            status = f"locked until {time.strftime('%H:%M:%SZ', time.gmtime(lock.locked_until))}"
        elif lock.failures:
            status = f"active, {lock.failures} failed"
        else:
            status = "active"
        print(f"{_pad(a.name, 20)} {a.role:<7} {status:<24} {sessions.get(a.key, 0):>8}  {a.created}")
    print(f"{len(rows)} account(s) in {accounts.path}", file=sys.stderr)
    return 0


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _existing(accounts: auth.Accounts, name: str) -> auth.Account:
    found = accounts.find(name)
    if found is None:
        raise auth.AuthError(f"no account {name!r} in {accounts.path}")
    return found


def cmd_passwd(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    account = _existing(accounts, args.name)
    accounts.set_password(account.name, read_password(args))
    print(f"new password for {account.name}; their sessions have ended")
    return 0


def cmd_disable(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    accounts.set_disabled(args.name, True)
    print(f"disabled {_existing(accounts, args.name).name}; their sessions have ended")
    return 0


def cmd_enable(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    accounts.set_disabled(args.name, False)
    print(f"enabled {_existing(accounts, args.name).name}")
    return 0


def cmd_role(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    accounts.set_role(args.name, args.role)
    print(f"{_existing(accounts, args.name).name} is now {args.role}")
    return 0


def cmd_unlock(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    accounts.unlock(args.name)
    print(f"unlocked {_existing(accounts, args.name).name}")
    return 0


def cmd_remove(args: argparse.Namespace, accounts: auth.Accounts) -> int:
    account = _existing(accounts, args.name)
    accounts.remove(account.name)
    print(f"removed {account.name} from {accounts.path}")
    return 0


def serve_env(auth_path: str | None, host: str) -> dict[str, str]:
    """The environment ``zqmap serve`` gives the app for ``--auth`` (or ``$ZQMAP_AUTH``), and one line saying
    who may write: a missing or malformed accounts file leaves the app read-only and is named here."""
    path = auth_path or os.environ.get(auth.AUTH_ENV)
    if not path:
        if host not in ("localhost", "127.0.0.1", "::1"):
            print(f"warning: laptop mode on {host}: anyone who can reach it can edit; use --auth PATH",
                  file=sys.stderr)
        return {}
    path = os.path.abspath(os.path.expanduser(path))
    problem = auth.Gate.server(path).problem
    if problem:
        print(f"warning: {problem}; the app stays read-only", file=sys.stderr)
    else:
        print(f"zqmap: sign-in required to write (accounts: {path})", file=sys.stderr)
    return {auth.AUTH_ENV: path}
