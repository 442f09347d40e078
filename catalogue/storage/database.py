"""Where the small stores that every server of a catalogue must share keep their state: SQLite
files in the data directory (the embedded default), or one PostgreSQL database
(`CATALOGUE_DATABASE_URL`) that several `catalogue serve` processes share.

An owner (accounts, audit, lists, history, curation, quality) names itself, declares its
schema as migrations (see catalogue.storage.sqlite) and writes SQL with `?` parameters; the
same SQL and migrations run on both. In SQLite an owner has the file `<owner>.sqlite` and its
version is the file's `user_version`. In PostgreSQL an owner has a schema of its own, named
after it and first on the search path in its transactions, so its SQL names its tables as in
SQLite and an operator can grant, dump or drop one owner's state alone; `catalogue.versions`
records the version of each owner's schema.

Where the dialects differ, PostgreSQL reads SQLite's meaning into the migrations' statements:
`INTEGER PRIMARY KEY` is a key the database numbers (an identity column), `REAL` is eight
bytes (`DOUBLE PRECISION`; PostgreSQL's `REAL` has four), and `TEXT` compares byte by byte
(`COLLATE "C"`), so ISO timestamps compare as time whatever the database's locale. A
migration that SQL cannot express is a function of a `Connection`, which tells its `dialect`
and runs statements in its words (`script`); so is one whose words differ (curation's index
of a pair of variables either way round)."""
from __future__ import annotations

import os
import re
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from catalogue.settings import Settings
from catalogue.storage import sqlite
from catalogue.storage.sqlite import SchemaTooNew

# A migration: SQL statements, or a function for what SQL alone cannot do (e.g. rewriting rows).
Migration = str | Callable[["Connection"], None]


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refuses the login; the message names it without its password."""


class Connection:
    """One transaction in one owner's database: SQL with `?` parameters, as in SQLite."""

    def __init__(self, raw: Any, dialect: str, lock: int = 0):
        self._raw, self.dialect, self._lock = raw, dialect, lock

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else _postgresql(sql)

    def execute(self, sql: str, params: Sequence[Any] = ()):
        """A cursor of the statement's rows (fetchone, fetchall, iteration, rowcount)."""
        return self._raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.dialect == "sqlite":
            self._raw.executemany(sql, rows)
        else:
            with self._raw.cursor() as cursor:
                cursor.executemany(self._sql(sql), [tuple(row) for row in rows])

    def script(self, sql: str) -> None:
        """Run a migration's statements, in the dialect's words (see the module's text)."""
        for statement in sqlite._statements(sql):
            self._raw.execute(statement if self.dialect == "sqlite" else _postgresql(_definitions(statement)), ())

    def exclusive(self) -> None:
        """Run the rest of this transaction alone among the owner's exclusive transactions
        (e.g. counting failed logins and counting this one); call it first."""
        if self.dialect == "sqlite":
            self._raw.execute("BEGIN IMMEDIATE")  # the file's one writer
        else:
            self._raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))


class Database(ABC):
    """The owners' state: SQLite files in a data directory, or a PostgreSQL database."""

    dialect: str

    @abstractmethod
    def transaction(self, owner: str, migrations: Sequence[Migration]):
        """A Connection to the owner's tables, brought up to len(migrations), in one
        transaction: what is written in it is stored whole or not at all."""

    def lead(self, role: str) -> bool:
        """Whether this process has `role` (e.g. the one scheduler among several servers),
        taking it if no process of the catalogue has it; kept until the process ends or loses
        its database. In the data directory every process may: its writers take turns by the
        data directory's own locks."""
        return True


class SqliteFiles(Database):
    dialect = "sqlite"

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)

    def __str__(self) -> str:
        return str(self.data_dir)

    @contextmanager
    def transaction(self, owner: str, migrations: Sequence[Migration]) -> Iterator[Connection]:
        steps = [m if isinstance(m, str) else (lambda raw, m=m: m(Connection(raw, self.dialect))) for m in migrations]
        with sqlite.transaction(self.data_dir / f"{owner}.sqlite", steps) as raw:
            yield Connection(raw, self.dialect)


class PostgreSQL(Database):
    """One database for every process of a catalogue. Each thread keeps one connection (a
    server's worker threads, up to 40, so up to 40 connections per server)."""

    dialect = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise DatabaseUnavailable("CATALOGUE_DATABASE_URL needs psycopg: pip install 'helsevariabler[postgresql]'") from None
        self._psycopg, self.url = psycopg, url
        self._local = threading.local()
        self._leading: dict[str, Any] = {}  # role -> the connection holding its lock
        self._versions_table = False  # made (if missing) by this object's first transaction

    def __reduce__(self):
        """A process started from this one (the SPARQL workers) gets the URL and connects itself."""
        return PostgreSQL, (self.url,)

    def __str__(self) -> str:
        """The database without its password, for messages."""
        parts = urlsplit(self.url)
        return f"postgresql://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def lead(self, role: str) -> bool:
        """A session's advisory lock, on a connection of its own: the server releases it
        when the holder's process ends or its connection breaks."""
        held = self._leading.pop(role, None)
        if held is not None:
            try:
                held.execute("SELECT 1")  # still holding it
                self._leading[role] = held
                return True
            except self._psycopg.OperationalError:
                held.close()
        try:
            connection = self._psycopg.connect(self.url, autocommit=True)
        except self._psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"{self}: {exc}") from None
        if connection.execute("SELECT pg_try_advisory_lock(%s)", (_lock(role),)).fetchone()[0]:
            self._leading[role] = connection
            return True
        connection.close()
        return False

    def _connection(self):
        held = self._local
        if getattr(held, "pid", None) != os.getpid() or held.connection.closed:
            # a process forked from this one opens its own: a socket shared with the parent would mix both
            try:
                held.connection, held.pid = self._psycopg.connect(self.url), os.getpid()
            except self._psycopg.OperationalError as exc:
                raise DatabaseUnavailable(f"{self}: {exc}") from None
        elif held.connection.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
            raise RuntimeError("a transaction of the catalogue's database began inside another one in the same "
                               "thread: the inner one would commit the outer one's writes")
        return held.connection

    @contextmanager
    def _transaction(self, owner: str):
        """The thread's connection in a transaction on the owner's schema. A connection the
        server ended since its last use is replaced, before anything of the transaction ran."""
        for last in (False, True):
            raw = self._connection()
            try:
                raw.execute("SELECT set_config('search_path', %s, false)", (owner,))
                break
            except self._psycopg.OperationalError:
                raw.close()
                if last:
                    raise
        try:
            yield raw
        except BaseException:
            if not raw.closed:
                raw.rollback()
            raise
        raw.commit()

    @contextmanager
    def transaction(self, owner: str, migrations: Sequence[Migration]) -> Iterator[Connection]:
        if not self._versions_table:
            with self._transaction("catalogue") as raw:
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (_lock("catalogue"),))
                raw.execute("CREATE SCHEMA IF NOT EXISTS catalogue")
                raw.execute("CREATE TABLE IF NOT EXISTS versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            self._versions_table = True
        with self._transaction(owner) as raw:
            if _version(raw, owner) != len(migrations):
                self._migrate(raw, owner, migrations)
                raw.commit()  # the migration stands whatever the rest of the transaction does
            yield Connection(raw, self.dialect, _lock(owner))

    def _migrate(self, raw, owner: str, migrations: Sequence[Migration]) -> None:
        """Bring the owner's schema to len(migrations), one process at a time (the others
        wait, then find it done), or raise SchemaTooNew."""
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_lock(owner),))
        found, known = _version(raw, owner), len(migrations)
        if found > known:
            raise SchemaTooNew(f"{self} schema {owner}", found, known)
        raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{owner}"')
        db = Connection(raw, self.dialect, _lock(owner))
        for migration in migrations[found:]:
            if callable(migration):
                migration(db)
            else:
                db.script(migration)
        raw.execute("INSERT INTO catalogue.versions VALUES (%s, %s) "
                    "ON CONFLICT (owner) DO UPDATE SET version = EXCLUDED.version", (owner, known))


def _lock(name: str) -> int:
    """The advisory lock of an owner (PostgreSQL's locks are numbers)."""
    return zlib.crc32(f"catalogue:{name}".encode())


def _version(raw, owner: str) -> int:
    row = raw.execute("SELECT version FROM catalogue.versions WHERE owner = %s", (owner,)).fetchone()
    return row[0] if row else 0


# The parts of a statement that are not quoted strings or names, where `?` is a parameter.
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


def _outside_quotes(sql: str, change: Callable[[str], str]) -> str:
    return "".join(part if n % 2 else change(part) for n, part in enumerate(_QUOTED.split(sql)))


@lru_cache(maxsize=512)
def _postgresql(sql: str) -> str:
    """SQLite's `?` parameters as psycopg's `%s`, and `%` (psycopg's mark, in quotes too) as `%%`."""
    return _outside_quotes(sql.replace("%", "%%"), lambda code: code.replace("?", "%s"))


def _definitions(statement: str) -> str:
    """A migration's statement with SQLite's meaning in PostgreSQL's words (see the module's text)."""
    return _outside_quotes(statement, lambda code: re.sub(
        r"\bTEXT\b", 'TEXT COLLATE "C"', re.sub(r"\bREAL\b", "DOUBLE PRECISION",
        re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code))))


def open_database(settings: Settings) -> Database:
    """The database `settings` name: PostgreSQL with a database URL, else the data directory's files."""
    return _postgresql_at(settings.database_url) if settings.database_url else SqliteFiles(settings.data_dir)


@lru_cache(maxsize=None)
def _postgresql_at(url: str) -> PostgreSQL:
    """One PostgreSQL per URL in a process, so that each write that opens the database (every
    harvested source settles its run) reuses its thread's connection instead of opening another."""
    return PostgreSQL(url)


def database_at(where: Database | Path) -> Database:
    """A database, or a data directory's SQLite files."""
    return where if isinstance(where, Database) else SqliteFiles(Path(where))
