"""Real PostgreSQL and Redis servers for tests, from Debian's packages.

Each starts in a temporary folder on a free loopback port and stops at the end of the test
session (one server per xdist worker); ``PostgresServer.fresh_database()`` gives every test a
database of its own. ``initdb`` and ``postgres`` refuse to run as root, as CI runs: then they
run as the ``postgres`` system user, the folder handed to it. Without the binaries, the tests
that need them skip, naming the Debian package to install.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "RedisServer", "free_port", "postgres_bin"]

PG_VERSIONS = ("15", "16", "17")
PASSWORD = "pg-test-password-7f3a9c"


def free_port() -> int:
    """A loopback port free right now (the OS picks it), for a server a test or benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH), or None."""
    for version in PG_VERSIONS:
        folder = Path(f"/usr/lib/postgresql/{version}/bin")
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_server_user(cmd: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root: the server refuses root."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]


class PostgresServer:
    """A throwaway PostgreSQL cluster: ``initdb`` in ``folder``, ``pg_ctl start`` on a free port.

    ``folder`` must be reachable by the ``postgres`` user when we are root: a new folder under
    /tmp (``tempfile.mkdtemp``), not pytest's private tmp_path."""

    def __init__(self, folder: Path) -> None:
        binaries = postgres_bin()
        if binaries is None:
            pytest.skip("PostgreSQL is not installed: apt-get install postgresql")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres user: apt-get install postgresql")
        self.bin = binaries
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.user = "notion_sync_test"
        self._names = itertools.count(1)

    def start(self) -> PostgresServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        password_file = self.folder / "pwfile"
        password_file.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.folder, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            _as_server_user(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    f"--pwfile={password_file}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.folder / "log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        return self

    def stop(self) -> None:
        subprocess.run(
            _as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new empty database; its URL (with the password)."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class RedisServer:
    """A throwaway Redis on a free loopback port, saving nothing to disk."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("Redis is not installed: apt-get install redis-server")
        self.folder = folder
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        assert self.binary is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
