"""A PostgreSQL server of the tests' own: Debian's binaries, a cluster made in a temporary
folder, listening on a free loopback port (its socket in that folder), with a database per
test or module, stopped and removed at the end of the session."""
from __future__ import annotations

import dataclasses
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from catalogue.settings import Settings
from support import free_port

USER = "catalogue"


def binaries() -> Path | None:
    """The folder of `initdb` and `postgres`: Debian's newest, else the PATH's."""
    for folder in [*sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
                   *(Path(p).parent for p in [shutil.which("initdb")] if p)]:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


class Cluster:
    def __init__(self, folder: Path, port: int, password: str):
        self.folder, self.port, self.password = folder, port, password
        self._names = itertools.count()

    def url(self, database: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self):
        import psycopg
        return psycopg.connect(self.url("postgres"), autocommit=True)

    @contextmanager
    def database(self) -> Iterator[str]:
        """The URL of a new, empty database, dropped afterwards (with any connection to it)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def started() -> Iterator[Cluster]:
    """A running cluster (initdb + postgres). As root, the server runs as the `postgres`
    user (PostgreSQL refuses to run as root)."""
    import psycopg
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) not found: install Debian's postgresql")
    try:
        owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and there is no `postgres` user to run it as")
    as_owner = {"user": owner.pw_uid, "group": owner.pw_gid} if os.geteuid() == 0 else {}
    folder = Path(tempfile.mkdtemp(prefix="catalogue-postgresql-"))
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    password = secrets.token_urlsafe(16)
    (folder / "password").write_text(password)
    os.chown(folder / "password", owner.pw_uid, owner.pw_gid)
    log = folder / "server.log"
    server = None
    try:
        subprocess.run([bin_dir / "initdb", "-D", folder / "cluster", "--username", USER, "--pwfile",
                        folder / "password", "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C.UTF-8"],
                       check=True, capture_output=True, **as_owner)
        port = free_port()
        with log.open("wb") as out:
            server = subprocess.Popen(
                [bin_dir / "postgres", "-D", folder / "cluster", "-p", str(port), "-k", folder,
                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
                 # a test's database is thrown away: no need to survive a crash
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **as_owner)
        cluster = Cluster(folder, port, password)
        deadline = time.monotonic() + 60
        while True:
            try:
                cluster._admin().close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
        yield cluster
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # a fast shutdown: ends the sessions left
            server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def with_backend(request, settings: Settings) -> Settings:
    """`settings` as they are for the parameter "sqlite", or with a new PostgreSQL database
    of their own (dropped at the end of the requesting fixture's scope) for "postgresql"."""
    if request.param == "sqlite":
        return settings
    held = ExitStack()
    request.addfinalizer(held.close)
    return dataclasses.replace(settings, database_url=held.enter_context(request.getfixturevalue("postgresql").database()))
