"""Who may write: accounts, password hashing, sign-in, sessions, roles — the single write gate.

Every write path (CLI or app) calls :meth:`Gate.authorize` on the server, with
whatever the session holds; it returns the :class:`Principal` to record as the
event's author, or raises :class:`PermissionDenied` with a one-line reason.
Nothing here imports Streamlit (:mod:`zqmap.app_auth` is the sign-in form).

Three modes (docs/auth.md):

- **laptop** (no ``--auth``; the default of ``scripts/zq run``): one user, no
  password. The editor types a name once per session (:meth:`Gate.laptop_sign_in`);
  every event carries it. The one user owns the store, so may revert any event.
- **server** (``zqmap serve --auth PATH``): :meth:`Gate.sign_in` with a name and a
  password from the accounts file; a session token; roles ``editor``/``admin``.
  If the file is missing or malformed the gate is **read-only**: :attr:`Gate.problem`
  says why in one line, and every sign-in and write is refused with that line.
- OpenID Connect through Streamlit's ``st.login``: documented in docs/auth.md.

The accounts file (JSON, mode 0600, written atomically)::

    {"format": "zqmap-accounts", "version": 1,
     "accounts": [{"name": "王芳", "role": "admin", "hash": "$argon2id$v=19$...",
                   "created": "2026-06-01T08:00:00Z", "disabled": false}]}

Failed attempts, lockouts and sessions live in a SQLite file beside it
(``PATH.state.db``), shared by every session and process of the server; its
write lock also serialises changes to the accounts file.

>>> gate = Gate.laptop()
>>> p = gate.laptop_sign_in("  王芳 ")
>>> p.name, p.role, gate.authorize(p, EDIT, project="p-1").name
('王芳', 'admin', '王芳')
>>> gate.authorize(VIEWER, EDIT)
Traceback (most recent call last):
...
zqmap.auth.PermissionDenied: type your name before the first edit
>>> validate_name("a\\u202eb")
Traceback (most recent call last):
...
zqmap.auth.InvalidName: name: must not contain control or bidi characters (U+202E)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import stat
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from zqmap.atomic import write_with
from zqmap.register import BAD_CHARS_RE

AUTH_ENV = "ZQMAP_AUTH"
FORMAT = "zqmap-accounts"
VERSION = 1
ROLES = ("editor", "admin")  # roles an account can have; "viewer" is everyone who has not signed in
NAME_MAX = 40
PASSWORD_MIN, PASSWORD_MAX = 8, 256

MAX_FAILURES = 5
LOCK_SECONDS = 5 * 60
FORGET_FAILURES_SECONDS = 60 * 60  # a streak of failures older than this is forgotten
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 60 * 60
TOUCH_SECONDS = 30  # a session's last-seen time is written at most this often

EDIT, REVERT, MANAGE_ACCOUNTS = "edit", "revert", "manage_accounts"
ACTIONS = (EDIT, REVERT, MANAGE_ACCOUNTS)

WRONG = "wrong name or password"  # one message for an unknown name and a wrong password

Clock = Callable[[], float]


class AuthError(Exception):
    """Base class: ``str(exc)`` is one line, fit to show a user; ``code`` and ``params`` let the app
    say it in the user's language (``zqmap.i18n`` key ``auth_<code>``)."""

    def __init__(self, message: str, code: str = "", **params: object):
        super().__init__(message)
        self.code = code
        self.params = params


class PermissionDenied(AuthError):
    """A write that the principal may not make; nothing was written."""


class SignInRefused(AuthError):
    """A sign-in that did not succeed (wrong name or password, locked, disabled, read-only)."""


class InvalidName(AuthError, ValueError):
    """A user name that is not acceptable (empty, too long, control or bidi characters)."""


class AccountsFileError(AuthError):
    """The accounts file is missing, unreadable, too open or malformed."""


@dataclass(frozen=True)
class Principal:
    """Who acts. ``token`` (server mode) is the only part :meth:`Gate.authorize` trusts."""

    name: str
    role: str  # "viewer" | "editor" | "admin"
    mode: str  # "viewer" | "laptop" | "server"
    token: str = field(default="", repr=False)

    @property
    def can_write(self) -> bool:
        return self.role in ROLES


VIEWER = Principal("", "viewer", "viewer")


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    hash: str = field(repr=False)
    created: str
    disabled: bool = False

    @property
    def key(self) -> str:
        return name_key(self.name)

    def to_json(self) -> dict:
        return {"name": self.name, "role": self.role, "hash": self.hash, "created": self.created,
                "disabled": self.disabled}


# -- names and passwords ------------------------------------------------------------------------

def validate_name(name: object) -> str:
    """The name as it is recorded (NFC, outer spaces removed); :class:`InvalidName` if unacceptable."""
    if not isinstance(name, str):
        raise InvalidName("name: must be text")
    text = unicodedata.normalize("NFC", name).strip()
    if not text:
        raise InvalidName("name: must not be empty")
    if len(text) > NAME_MAX:
        raise InvalidName(f"name: at most {NAME_MAX} characters (got {len(text)})")
    bad = BAD_CHARS_RE.search(text) or next((c for c in text if not c.isprintable()), None)
    if bad is not None:
        ch = bad.group(0) if not isinstance(bad, str) else bad
        raise InvalidName(f"name: must not contain control or bidi characters (U+{ord(ch):04X})")
    if "  " in text:
        raise InvalidName("name: must not contain runs of spaces")
    return text


def name_key(name: str) -> str:
    """Accounts are told apart by this key: ``Alice`` and ``alice`` are one account."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def check_password(password: object) -> str:
    if not isinstance(password, str) or not password:
        raise AuthError("password: must not be empty")
    if len(password) < PASSWORD_MIN:
        raise AuthError(f"password: at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise AuthError(f"password: at most {PASSWORD_MAX} characters")
    return password


def default_hasher() -> argon2.PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)."""
    return argon2.PasswordHasher()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the accounts file ----------------------------------------------------------------------------

def _fail(path: Path, what: str) -> AccountsFileError:
    return AccountsFileError(f"accounts file {path}: {what}")


def read_accounts(path: str | os.PathLike) -> list[Account]:
    """Read and validate the accounts file; :class:`AccountsFileError` names the file and what is wrong."""
    path = Path(path)
    try:
        st_ = path.stat()
    except FileNotFoundError:
        raise _fail(path, f"not found (create it with `zqmap users add NAME --role admin --auth {path}`)") from None
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(st_.st_mode):
        raise _fail(path, "not a regular file")
    if sys.platform != "win32" and st_.st_mode & 0o077:
        raise _fail(path, f"readable or writable by others (mode {stat.S_IMODE(st_.st_mode):04o}): "
                          f"run `chmod 600 {path}`")
    if st_.st_size > 5 * 1024 * 1024:
        raise _fail(path, "larger than 5 MB")
    try:
        raw = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise _fail(path, "not UTF-8 text") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"line {exc.lineno}: not valid JSON: {exc.msg}") from None
    return _parse(path, data)


def _parse(path: Path, data: object) -> list[Account]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _fail(path, f'not a zqmap accounts file (expected an object with "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise _fail(path, f"version: {data.get('version')!r} is not supported (expected {VERSION})")
    extra = set(data) - {"format", "version", "accounts"}
    if extra:
        raise _fail(path, f"unknown key {sorted(extra)[0]!r}")
    items = data.get("accounts")
    if not isinstance(items, list):
        raise _fail(path, "accounts: must be a list")
    accounts, seen = [], set()
    for i, item in enumerate(items, 1):
        where = f"account {i}"
        if not isinstance(item, dict):
            raise _fail(path, f"{where}: must be an object")
        extra = set(item) - {"name", "role", "hash", "created", "disabled"}
        if extra:
            raise _fail(path, f"{where}: unknown key {sorted(extra)[0]!r}")
        try:
            name = validate_name(item.get("name"))
        except InvalidName as exc:
            raise _fail(path, f"{where}: {exc}") from None
        where = f"account {i} ({name!r})"
        role, pw_hash, created, disabled = (item.get(k) for k in ("role", "hash", "created", "disabled"))
        if role not in ROLES:
            raise _fail(path, f"{where}: role: {role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(pw_hash, str) or not pw_hash.startswith("$argon2id$"):
            raise _fail(path, f"{where}: hash: not an argon2id hash (set one with `zqmap users passwd`)")
        if not isinstance(created, str):
            raise _fail(path, f"{where}: created: must be a UTC time such as 2026-06-01T08:00:00Z")
        if not isinstance(disabled, bool):
            raise _fail(path, f"{where}: disabled: must be true or false")
        if name_key(name) in seen:
            raise _fail(path, f"{where}: name: appears twice")
        seen.add(name_key(name))
        accounts.append(Account(name, role, pw_hash, created, disabled))
    return accounts


def _write_accounts(path: Path, accounts: list[Account]) -> None:
    data = {"format": FORMAT, "version": VERSION, "accounts": [a.to_json() for a in accounts]}
    payload = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def writer(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)

    write_with(path, writer, force=True)


# -- shared state: failed attempts, locks, sessions ---------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    who TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_at REAL NOT NULL, locked_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY, who TEXT NOT NULL, created_at REAL NOT NULL, seen_at REAL NOT NULL);
"""


def state_path(accounts_path: str | os.PathLike) -> Path:
    """The SQLite file beside the accounts file that holds attempts, locks and sessions."""
    p = Path(accounts_path)
    return p.with_name(p.name + ".state.db")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Lock:
    failures: int
    locked_until: float


class Accounts:
    """The accounts file and its state file: reading, changing (under one lock), sign-in bookkeeping."""

    def __init__(self, path: str | os.PathLike, *, hasher: argon2.PasswordHasher | None = None,
                 clock: Clock = time.time):
        self.path = Path(path)
        self.hasher = hasher or default_hasher()
        self.clock = clock

    @contextlib.contextmanager
    def state(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on the state file; ``write`` takes its write lock at once (``BEGIN IMMEDIATE``)."""
        db = state_path(self.path)
        try:
            if not db.exists():
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            con = sqlite3.connect(db, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise AccountsFileError(f"state file {db}: cannot open: {exc}") from None
        try:
            try:
                con.executescript(_SCHEMA)
                con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise AccountsFileError(f"state file {db}: {exc}") from None
            try:
                yield con
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def read(self) -> list[Account]:
        return read_accounts(self.path)

    def find(self, name: str, accounts: list[Account] | None = None) -> Account | None:
        key = name_key(name)
        return next((a for a in (self.read() if accounts is None else accounts) if a.key == key), None)

    def _change(self, fn: Callable[[list[Account]], list[Account]], *, create: bool = False,
                forget: str | None = None) -> None:
        """Read, change and write the accounts file while holding the state file's write lock;
        ``forget``: also end that account's sessions and clear its failed attempts, in the same lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.state() as con:
            accounts = [] if create and not self.path.exists() else self.read()
            _write_accounts(self.path, fn(accounts))
            if forget is not None:
                con.execute("DELETE FROM sessions WHERE who = ?", (name_key(forget),))
                con.execute("DELETE FROM attempts WHERE who = ?", (name_key(forget),))

    # -- admin operations (zqmap users ...) --

    def add(self, name: str, role: str, password: str) -> Account:
        name = validate_name(name)
        if role not in ROLES:
            raise AuthError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        account = Account(name, role, self.hasher.hash(check_password(password)), _iso(self.clock()))

        def fn(accounts: list[Account]) -> list[Account]:
            if self.find(name, accounts):
                raise AuthError(f"{name!r} exists (names are compared ignoring case)")
            return [*accounts, account]

        self._change(fn, create=True)
        return account

    def _update(self, name: str, change: Callable[[Account, list[Account]], Account | None],
                forget: bool = False) -> None:
        def fn(accounts: list[Account]) -> list[Account]:
            found = self.find(name, accounts)
            if found is None:
                raise AuthError(f"no account {name!r} in {self.path}")
            new = change(found, accounts)
            return [new if a is found else a for a in accounts if a is not found or new is not None]

        self._change(fn, forget=name if forget else None)

    def set_password(self, name: str, password: str) -> None:
        new_hash = self.hasher.hash(check_password(password))
        self._update(name, lambda a, _: replace(a, hash=new_hash), forget=True)

    def set_disabled(self, name: str, disabled: bool) -> None:
        def change(a: Account, accounts: list[Account]) -> Account:
            if disabled:
                self._refuse_last_admin(a, accounts, "disable")
            return replace(a, disabled=disabled)

        self._update(name, change, forget=disabled)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise AuthError(f"role: {role!r} is not one of {', '.join(ROLES)}")

        def change(a: Account, accounts: list[Account]) -> Account:
            if role != "admin":
                self._refuse_last_admin(a, accounts, "demote")
            return replace(a, role=role)

        self._update(name, change)

    def remove(self, name: str) -> None:
        def change(a: Account, accounts: list[Account]) -> None:
            self._refuse_last_admin(a, accounts, "remove")

        self._update(name, change, forget=True)

    def unlock(self, name: str) -> None:
        if self.find(name) is None:
            raise AuthError(f"no account {name!r} in {self.path}")
        with self.state() as con:
            con.execute("DELETE FROM attempts WHERE who = ?", (name_key(name),))

    @staticmethod
    def _refuse_last_admin(account: Account, accounts: list[Account], verb: str) -> None:
        admins = [a for a in accounts if a.role == "admin" and not a.disabled]
        if admins == [account]:
            raise AuthError(f"refusing to {verb} {account.name!r}: the last enabled admin (add another admin first)")

    def lock_of(self, name: str) -> Lock:
        with self.state(write=False) as con:
            row = con.execute("SELECT failures, locked_until FROM attempts WHERE who = ?", (name_key(name),)).fetchone()
        return Lock(*row) if row else Lock(0, 0.0)

    def session_counts(self) -> dict[str, int]:
        with self.state(write=False) as con:
            return dict(con.execute("SELECT who, count(*) FROM sessions GROUP BY who").fetchall())


# -- the gate ---------------------------------------------------------------------------------------

class Gate:
    """The single write gate. Build it with :meth:`laptop`, :meth:`server` or :meth:`from_env`."""

    def __init__(self, mode: str, accounts: Accounts | None = None, *, idle_seconds: float = IDLE_SECONDS,
                 absolute_seconds: float = ABSOLUTE_SECONDS):
        self.mode = mode
        self.accounts = accounts
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self._dummy: str | None = None

    @classmethod
    def laptop(cls) -> Gate:
        return cls("laptop")

    @classmethod
    def server(cls, path: str | os.PathLike, *, hasher: argon2.PasswordHasher | None = None,
               clock: Clock = time.time, **timeouts: float) -> Gate:
        return cls("server", Accounts(path, hasher=hasher, clock=clock), **timeouts)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Gate:
        """Server mode on ``$ZQMAP_AUTH`` if it is set (``zqmap serve --auth PATH``), else laptop mode."""
        path = (os.environ if environ is None else environ).get(AUTH_ENV)
        return cls.server(path) if path else cls.laptop()

    @property
    def problem(self) -> str | None:
        """Why this server-mode gate is read-only (one line), or ``None``."""
        if self.accounts is None:
            return None
        try:
            self.accounts.read()
        except AccountsFileError as exc:
            return str(exc)
        return None

    def _clock(self) -> float:
        return self.accounts.clock() if self.accounts else time.time()

    # -- laptop mode --

    def laptop_sign_in(self, name: str) -> Principal:
        """The one user of a laptop names themselves; every event they write carries the name."""
        if self.mode != "laptop":
            raise SignInRefused("this server needs a name and a password")
        return Principal(validate_name(name), "admin", "laptop")

    # -- server mode --

    def sign_in(self, name: str, password: str) -> Principal:
        """A session for ``name``; :class:`SignInRefused` (one message for unknown names and wrong passwords)."""
        with self._read_only_on(SignInRefused):
            return self._sign_in(name, password)

    def _sign_in(self, name: str, password: str) -> Principal:
        if self.accounts is None:
            raise SignInRefused("laptop mode has no passwords: type your name")
        accounts = self.accounts.read()
        try:
            key = name_key(validate_name(name))
        except InvalidName:
            key = None
        if key is None or not isinstance(password, str) or len(password) > PASSWORD_MAX:
            self._verify(self._dummy_hash(), "")  # the same work as for a real name
            raise SignInRefused(WRONG, "wrong")
        self._reserve_attempt(key)
        account = self.accounts.find(key, accounts)
        ok = self._verify(account.hash if account else self._dummy_hash(), password)
        if not (ok and account):
            raise SignInRefused(WRONG, "wrong")
        if account.disabled:
            raise SignInRefused("this account is disabled; ask an admin", "disabled")
        self._maybe_rehash(account, password)
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self.accounts.state() as con:
            con.execute("DELETE FROM attempts WHERE who = ? OR (last_at < ? AND locked_until < ?)",
                        (key, now - FORGET_FAILURES_SECONDS, now))  # and stale rows of unknown names
            con.execute("DELETE FROM sessions WHERE seen_at < ? OR created_at < ?",
                        (now - self.idle_seconds, now - self.absolute_seconds))
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (_token_hash(token), key, now, now))
        return Principal(account.name, account.role, "server", token)

    @staticmethod
    @contextlib.contextmanager
    def _read_only_on(exc_type: type[AuthError]) -> Iterator[None]:
        """An unusable accounts or state file refuses the sign-in or the write, naming the file."""
        try:
            yield
        except AccountsFileError as exc:
            raise exc_type(f"read-only: {exc}", "read_only", problem=str(exc)) from None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.accounts.hasher.hash(secrets.token_hex(16))
        return self._dummy

    def _verify(self, pw_hash: str, password: str) -> bool:
        try:
            return self.accounts.hasher.verify(pw_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _reserve_attempt(self, key: str) -> None:
        """Count this attempt as a failure *before* checking the password (a success clears it), so that
        parallel guesses from many sessions or processes still get at most :data:`MAX_FAILURES` tries."""
        now = self._clock()
        with self.accounts.state() as con:
            row = con.execute("SELECT failures, last_at, locked_until FROM attempts WHERE who = ?", (key,)).fetchone()
            failures, last_at, locked_until = row or (0, now, 0.0)
            if locked_until > now:
                minutes = max(1, round((locked_until - now) / 60))
                raise SignInRefused(f"too many failed attempts: locked, try again in {minutes} min", "locked",
                                    minutes=minutes)
            if locked_until or now - last_at > FORGET_FAILURES_SECONDS:
                failures = 0  # the lock has run out, or the last failure is long ago: a fresh start
            failures += 1
            locked_until = now + LOCK_SECONDS if failures >= MAX_FAILURES else 0.0
            con.execute("INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?)", (key, failures, now, locked_until))

    def _maybe_rehash(self, account: Account, password: str) -> None:
        """After a successful sign-in, re-hash a password whose hash has other parameters than the hasher's."""
        if not self.accounts.hasher.check_needs_rehash(account.hash):
            return
        new_hash = self.accounts.hasher.hash(password)

        def change(a: Account, _: list[Account]) -> Account:
            return replace(a, hash=new_hash) if a.hash == account.hash else a  # changed meanwhile: keep it

        with contextlib.suppress(OSError, AuthError):  # a read-only accounts file still lets people sign in
            self.accounts._update(account.name, change)

    def sign_out(self, principal: Principal) -> None:
        if self.accounts is not None and principal.token:
            with contextlib.suppress(AccountsFileError), self.accounts.state() as con:
                con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_token_hash(principal.token),))

    def current(self, principal: Principal | None) -> Principal:
        """What the session really is now: its principal if still valid, else :data:`VIEWER`."""
        try:
            return self.check(principal)
        except PermissionDenied:
            return VIEWER

    def check(self, principal: Principal | None) -> Principal:
        """The principal as the server knows it now (name and role from its records), or :class:`PermissionDenied`."""
        with self._read_only_on(PermissionDenied):
            return self._check(principal)

    def _check(self, principal: Principal | None) -> Principal:
        accounts = self.accounts.read() if self.accounts is not None else []
        if not isinstance(principal, Principal) or not principal.can_write:
            if self.mode == "server":
                raise PermissionDenied("sign in to edit", "sign_in_first")
            raise PermissionDenied("type your name before the first edit", "name_first")
        if self.mode == "laptop":
            if principal.mode != "laptop":
                raise PermissionDenied("not signed in on this laptop")
            try:
                return Principal(validate_name(principal.name), "admin", "laptop")
            except InvalidName as exc:
                raise PermissionDenied(str(exc)) from None
        if principal.mode != "server" or not principal.token:
            raise PermissionDenied("sign in to edit")
        now = self._clock()
        with self.accounts.state() as con:
            row = con.execute("SELECT who, created_at, seen_at FROM sessions WHERE token_sha256 = ?",
                              (_token_hash(principal.token),)).fetchone()
            if row is None:
                raise PermissionDenied("session ended: sign in again")
            who, created_at, seen_at = row
            expired = now - seen_at > self.idle_seconds or now - created_at > self.absolute_seconds
            if expired:
                con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_token_hash(principal.token),))
            elif now - seen_at >= TOUCH_SECONDS:
                con.execute("UPDATE sessions SET seen_at = ? WHERE token_sha256 = ?",
                            (now, _token_hash(principal.token)))
        if expired:
            raise PermissionDenied("session expired: sign in again", "expired")
        account = self.accounts.find(who, accounts)
        if account is None or account.disabled:
            raise PermissionDenied("account removed or disabled: sign in again")
        return Principal(account.name, account.role, "server", principal.token)

    def authorize(self, principal: Principal | None, action: str, *, project: str | None = None,
                  event_author: str | None = None) -> Principal:
        """The principal to record as author of ``action``, or :class:`PermissionDenied` (one line).

        Only the server's own records count: in server mode the name and role are
        looked up from the session token, never taken from ``principal``.
        ``event_author`` is the author of the event a ``revert`` undoes.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        who = self.check(principal)
        where = f" of {project}" if project else ""
        if action == REVERT and who.role != "admin":
            if event_author is None or name_key(event_author) != name_key(who.name):
                raise PermissionDenied(f"only an admin may revert another person's event{where}")
        if action == MANAGE_ACCOUNTS:
            if self.mode != "server":
                raise PermissionDenied("laptop mode has no accounts (use `zqmap serve --auth PATH`)")
            if who.role != "admin":
                raise PermissionDenied("only an admin may manage accounts")
        return who
