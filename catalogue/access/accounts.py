"""Accounts of the people and machines that write to the catalogue, their roles, and
their secrets (stored only as hashes).

Roles:
- publisher: publishes and withdraws the metadata of one organisation (a key of the
  configuration's `[publishers]`), and nothing of any other;
- curator: curates vocabularies, code lists, standard variables and mappings;
- admin: manages accounts, reads the audit log, and may do what the others do.

People log in with a password and get a session (a cookie); machines send an API token
(`Authorization: Bearer ...`). Passwords are hashed with scrypt (slow on purpose); tokens
and session ids are long random strings, so one SHA-256 is enough to keep them unreadable
from a copy of the file.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from catalogue.storage.database import Database, database_at

ROLES = ("publisher", "curator", "admin")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
SESSION_HOURS = 8
# Failed logins: after this many within the window, logins are refused (whether or not the
# password is right) until the window has passed. Counted three ways, so that guessing stays
# slow while a locked account is no easy way to keep its owner out: an account from one
# address is locked soon, which stops one attacker without touching the owner elsewhere; one
# address over all accounts stops an attacker trying many names; an account over all
# addresses, set high, stops guessing spread over many addresses, which an attacker needs
# many addresses to turn against the owner.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_ADDRESS, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_ACCOUNT = 5, 20, 50
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
TOKEN_PREFIX = "hv_"  # so a leaked token is recognisable in logs and secret scanners

# The schema as migrations (see catalogue.storage.database); 1 is release 0.1.0's.
_MIGRATIONS = ("""
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, organisation TEXT,
    password TEXT, created TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL REFERENCES accounts(name), label TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL, last_used TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY, account TEXT NOT NULL REFERENCES accounts(name), csrf TEXT NOT NULL,
    expires TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at);
""",
    # 2: a failed login gets an id of its own, by which a right password takes its attempt back
    # (SQLite's hidden rowid has no PostgreSQL twin).
    """
CREATE TABLE failures_numbered (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at TEXT NOT NULL);
INSERT INTO failures_numbered (key, at) SELECT key, at FROM failures;
DROP TABLE failures;
ALTER TABLE failures_numbered RENAME TO failures;
CREATE INDEX failures_key ON failures (key, at);
""")


class AccountError(ValueError):
    """A request to make or change an account that cannot be done; the message says why."""


class TooManyFailures(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    account: str
    role: str
    organisation: str | None
    via: str  # "session" or "token"
    csrf: str | None = None  # a session's token for forms

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles

    def speaks_for(self, organisation: str) -> bool:
        return self.role == "admin" or (self.role == "publisher" and self.organisation == organisation)


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    organisation: str | None
    created: str
    disabled: bool
    has_password: bool


@dataclass(frozen=True)
class Token:
    id: int
    account: str
    label: str
    created: str
    last_used: str | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        # The same work as a real check, so timing does not tell which accounts exist.
        hashlib.scrypt(password.encode(), salt=b"0" * 16, **_SCRYPT)
        return False
    _, n, r, p, salt, key = stored.split("$")
    found = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(found.hex(), key)


class Accounts:
    def __init__(self, where: Database | Path):
        self.database = database_at(where)

    def _db(self):
        return self.database.transaction("accounts", _MIGRATIONS)

    # Accounts

    def add(self, name: str, role: str, organisation: str | None = None,
            password: str | None = None) -> Account:
        if not NAME.match(name):
            raise AccountError(f"account name {name!r}: 2-64 of a-z, 0-9, '.', '_' and '-', "
                               "starting with a letter or digit")
        if role not in ROLES:
            raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
        if (role == "publisher") != bool(organisation):
            raise AccountError("a publisher needs an organisation; other roles have none")
        _check_strength(password)
        with self._db() as db:
            if db.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"account {name!r} exists")
            db.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, 0)",
                       (name, role, organisation, hash_password(password) if password else None,
                        _now().isoformat(timespec="seconds")))
        return self.get(name)

    def get(self, name: str) -> Account | None:
        with self._db() as db:
            row = db.execute("SELECT name, role, organisation, created, disabled, password IS NOT NULL "
                             "FROM accounts WHERE name = ?", (name,)).fetchone()
        return Account(*row[:4], bool(row[4]), bool(row[5])) if row else None

    def all(self) -> list[Account]:
        with self._db() as db:
            rows = db.execute("SELECT name, role, organisation, created, disabled, password IS NOT NULL "
                              "FROM accounts ORDER BY name").fetchall()
        return [Account(*row[:4], bool(row[4]), bool(row[5])) for row in rows]

    def set_disabled(self, name: str, disabled: bool) -> None:
        """A disabled account's sessions end and its tokens stop working (they are kept, so
        enabling it again restores them)."""
        with self._db() as db:
            if not db.execute("UPDATE accounts SET disabled = ? WHERE name = ?", (int(disabled), name)).rowcount:
                raise AccountError(f"no account {name!r}")
            if disabled:
                db.execute("DELETE FROM sessions WHERE account = ?", (name,))

    def set_password(self, name: str, password: str) -> None:
        _check_strength(password)
        with self._db() as db:
            if not db.execute("UPDATE accounts SET password = ? WHERE name = ?",
                              (hash_password(password), name)).rowcount:
                raise AccountError(f"no account {name!r}")
            db.execute("DELETE FROM sessions WHERE account = ?", (name,))

    # Logging in

    def verify(self, name: str, password: str, address: str) -> bool:
        """Whether the password is the active account's. Raises TooManyFailures while the
        account is locked out for this address (see MAX_FAILURES_*).

        The attempt is counted as a failure before the password is checked, in the same
        write transaction that reads the counts, and taken back if the password is right:
        so parallel guesses check at most the limit's number of passwords."""
        limits = {f"account:{name}@{address}": MAX_FAILURES_PER_ACCOUNT_ADDRESS,
                  f"address:{address}": MAX_FAILURES_PER_ADDRESS, f"account:{name}": MAX_FAILURES_PER_ACCOUNT}
        now = _now()
        since = (now - LOGIN_WINDOW).isoformat()
        with self._db() as db:
            db.exclusive()  # one attempt at a time between the counting and the counted
            db.execute("DELETE FROM failures WHERE at < ?", (since,))
            for key, limit in limits.items():
                count, first = db.execute("SELECT COUNT(*), MIN(at) FROM failures WHERE key = ?", (key,)).fetchone()
                if count >= limit:
                    wait = datetime.fromisoformat(first) + LOGIN_WINDOW - now
                    raise TooManyFailures(max(1, int(wait.total_seconds()) + 1))
            attempt = [db.execute("INSERT INTO failures (key, at) VALUES (?, ?) RETURNING id",
                                  (key, now.isoformat())).fetchone()[0] for key in limits]
            row = db.execute("SELECT password, disabled FROM accounts WHERE name = ?", (name,)).fetchone()
        if not check_password(password, row[0] if row else None) or row[1]:
            return False
        with self._db() as db:  # right: this attempt, and this address's earlier failures, no longer count
            db.executemany("DELETE FROM failures WHERE id = ?", [(failure,) for failure in attempt])
            db.execute("DELETE FROM failures WHERE key = ?", (f"account:{name}@{address}",))
        return True

    def login(self, name: str, password: str, address: str) -> tuple[str, Principal] | None:
        """A new session (its secret and who it is for), or None for a wrong name or
        password (see `verify`)."""
        if not self.verify(name, password, address):
            return None
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (_now().isoformat(),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                       (_digest(secret), name, csrf, (_now() + timedelta(hours=SESSION_HOURS)).isoformat()))
        return secret, self.session(secret)

    def session(self, secret: str) -> Principal | None:
        with self._db() as db:
            row = db.execute(
                "SELECT a.name, a.role, a.organisation, s.csrf FROM sessions s JOIN accounts a ON a.name = s.account "
                "WHERE s.hash = ? AND s.expires > ? AND a.disabled = 0", (_digest(secret), _now().isoformat())).fetchone()
        return Principal(*row[:3], via="session", csrf=row[3]) if row else None

    def logout(self, secret: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE hash = ?", (_digest(secret),))

    # API tokens

    def new_token(self, account: str, label: str) -> str:
        """A new token for the account; it is shown this once and only its hash is kept."""
        if not self.get(account):
            raise AccountError(f"no account {account!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("INSERT INTO tokens (account, label, hash, created) VALUES (?, ?, ?, ?)",
                       (account, label.strip()[:100] or "token", _digest(token), _now().isoformat(timespec="seconds")))
        return token

    def tokens(self, account: str) -> list[Token]:
        with self._db() as db:
            rows = db.execute("SELECT id, account, label, created, last_used FROM tokens WHERE account = ? "
                              "ORDER BY id", (account,)).fetchall()
        return [Token(*row) for row in rows]

    def revoke(self, account: str, token_id: int) -> bool:
        with self._db() as db:
            return bool(db.execute("DELETE FROM tokens WHERE id = ? AND account = ?", (token_id, account)).rowcount)

    def bearer(self, token: str) -> Principal | None:
        with self._db() as db:
            row = db.execute(
                "SELECT a.name, a.role, a.organisation, t.id FROM tokens t JOIN accounts a ON a.name = t.account "
                "WHERE t.hash = ? AND a.disabled = 0", (_digest(token),)).fetchone()
            if row:
                db.execute("UPDATE tokens SET last_used = ? WHERE id = ?",
                           (_now().isoformat(timespec="seconds"), row[3]))
        return Principal(*row[:3], via="token") if row else None


def _check_strength(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
