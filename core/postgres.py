"""PostgreSQL under the state store: one thin dialect layer, so ``StateStore``'s SQL and its
migrations are written once, in portable SQL, and run on SQLite and PostgreSQL alike.

``PgConnection`` gives the state store the part of ``sqlite3.Connection`` it uses (``execute``,
``executemany``, ``in_transaction``, rows readable by name and by index, ``lastrowid``) over a
psycopg 3 connection in autocommit mode, so the store's explicit ``BEGIN``/``COMMIT`` mean what
they mean on SQLite. Each statement is translated once (and cached):

* ``?`` placeholders become ``%s``;
* ``INTEGER PRIMARY KEY AUTOINCREMENT`` becomes ``BIGSERIAL PRIMARY KEY``;
* ``INSERT OR REPLACE`` becomes ``INSERT … ON CONFLICT (primary key) DO UPDATE``;
* ``BEGIN IMMEDIATE`` becomes ``BEGIN``;
* an ``INSERT`` into a table keyed on ``id`` returns it, for ``lastrowid``.

The schema version lives in the table ``notion_sync_schema`` (SQLite keeps it in
``PRAGMA user_version``). ``AdvisoryLock`` is a mapping's lock: ``pg_try_advisory_lock`` on a
connection of its own, which the server releases when that connection dies.

The URL is a ``Secret``; what is shown of it (``display_url``) has no password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from notion_sync.core.errors import ConfigError, ConfigProblem, StateError
from notion_sync.core.lock import MappingHeld, holder_identity, lock_key
from notion_sync.core.secrets import Secret

if TYPE_CHECKING:
    import psycopg

__all__ = ["AdvisoryLock", "PgConnection", "PgRow", "connect", "display_url", "postgres_error"]

APPLICATION = "notion-sync"
_MIGRATION_LOCK = lock_key("notion-sync schema migration")


def display_url(url: Secret) -> str:
    """The URL as messages show it: user, host, port and database, never the password."""
    parts = urlsplit(url.reveal())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, "", ""))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            [
                ConfigProblem(
                    "state.url",
                    "PostgreSQL state needs the psycopg driver: pip install 'notion-sync[postgres]'",
                )
            ]
        ) from None
    return psycopg


def postgres_error(url: Secret, exc: BaseException) -> StateError:
    """The one message for a PostgreSQL state that cannot be used. A connection that fails or
    breaks is temporary (exit 75: the next run retries); the others exit 4."""
    where = display_url(url)
    psycopg = _psycopg()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.OperationalError):
        return StateError(
            f"the state database {where} cannot be reached ({text}); check that the server is up and the URL "
            "in [state] url_env is right, and run again",
            temporary=True,
        )
    return StateError(f"the state database {where} cannot be used ({text})")


class PgRow(tuple[Any, ...]):
    """A row read by index or by column name, as ``sqlite3.Row`` is."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def _row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    cls = type("PgRow", (PgRow,), {"_names": names})

    def make(values: Sequence[Any]) -> PgRow:
        row: PgRow = cls(values)
        return row

    return make


class _Result:
    """What ``PgConnection.execute`` returns: a cursor's rows, ``rowcount`` and ``lastrowid``."""

    def __init__(self, cursor: Any, lastrowid: int | None) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """The part of ``sqlite3.Connection`` the state store uses, over psycopg 3."""

    def __init__(self, conn: psycopg.Connection[Any], url: Secret) -> None:
        self.raw = conn
        self.url = url
        self._keys: dict[str, tuple[str, ...]] | None = None
        self.round_trips = 0

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.info.transaction_status != _psycopg().pq.TransactionStatus.IDLE)

    def primary_keys(self) -> dict[str, tuple[str, ...]]:
        """Each table's primary key columns (read once per connection, after migrating)."""
        if self._keys is None:
            rows = self.raw.execute(
                "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc"
                " JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name"
                " AND kcu.table_schema = tc.table_schema"
                " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
                " ORDER BY tc.table_name, kcu.ordinal_position"
            ).fetchall()
            keys: dict[str, tuple[str, ...]] = {}
            for table, column in rows:
                keys[table] = (*keys.get(table, ()), column)
            self._keys = keys
        return self._keys

    def forget_keys(self) -> None:
        """After a migration: tables may have changed."""
        self._keys = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> _Result:
        statement, returns_id = self._translate(sql)
        self.round_trips += 1
        cursor = self.raw.cursor(row_factory=_row_factory)
        cursor.execute(statement, tuple(params) if params is not None else None)
        lastrowid = None
        if returns_id:
            row = cursor.fetchone()
            lastrowid = int(row[0]) if row else None
        return _Result(cursor, lastrowid)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> _Result:
        statement, _ = self._translate(sql)
        self.round_trips += 1
        cursor = self.raw.cursor()
        cursor.executemany(statement, [tuple(r) for r in rows])
        return _Result(cursor, None)

    def close(self) -> None:
        self.raw.close()

    def _translate(self, sql: str) -> tuple[str, bool]:
        keys = self.primary_keys() if re.match(r"\s*INSERT\b", sql, re.I) else {}
        return _translate(sql, tuple(sorted(keys.items())))


_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+REPLACE\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", re.I | re.S)


@lru_cache(maxsize=256)
def _translate(sql: str, keys: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, bool]:
    """SQLite-flavoured portable SQL as PostgreSQL takes it; and whether it returns a new id."""
    out = sql.replace("%", "%%").replace("?", "%s")
    out = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", "BIGSERIAL PRIMARY KEY", out, flags=re.I)
    out = re.sub(r"^\s*BEGIN\s+IMMEDIATE\s*$", "BEGIN", out, flags=re.I)
    match = _INSERT.match(out)
    if not match:
        return out, False
    table, columns = match.group(2), [c.strip() for c in match.group(3).split(",")]
    key = dict(keys).get(table, ())
    if match.group(1):
        out = re.sub(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO", "INSERT INTO", out, count=1, flags=re.I)
        rest = [c for c in columns if c not in key]
        update = ", ".join(f"{c} = excluded.{c}" for c in rest)
        out += f" ON CONFLICT ({', '.join(key)}) " + (f"DO UPDATE SET {update}" if update else "DO NOTHING")
    if key == ("id",) and "id" not in columns and not re.search(r"\bRETURNING\b", out, re.I):
        return out + " RETURNING id", True
    return out, False


def connect(url: Secret, *, readonly: bool = False) -> PgConnection:
    """A state connection to the database at ``url``, its schema created or migrated."""
    from notion_sync.core.state import SCHEMA_VERSION, migration_statements

    psycopg = _psycopg()
    try:
        raw = psycopg.connect(url.reveal(), autocommit=True, application_name=APPLICATION, connect_timeout=30)
    except psycopg.Error as exc:
        raise postgres_error(url, exc) from None
    conn = PgConnection(raw, url)
    try:
        version = _schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state database {display_url(url)} was written by a newer notion-sync (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade notion-sync (pip install -U notion-sync)"
            )
        if version < SCHEMA_VERSION:
            _migrate(conn, migration_statements)
        if readonly:
            raw.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        conn.close()
        raise postgres_error(url, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _schema_version(conn: PgConnection) -> int:
    exists = conn.raw.execute("SELECT to_regclass('notion_sync_schema') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return 0
    row = conn.raw.execute("SELECT max(version) FROM notion_sync_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _migrate(conn: PgConnection, statements: Any) -> None:
    """Apply the missing migrations in one transaction, under a lock: processes that start
    together on a new database migrate it once."""
    from notion_sync.core.state import SCHEMA_VERSION

    conn.raw.execute("BEGIN")
    try:
        conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        # Under the lock: CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
        conn.raw.execute("CREATE TABLE IF NOT EXISTS notion_sync_schema (version INTEGER NOT NULL)")
        version = _schema_version(conn)
        for number in range(version, SCHEMA_VERSION):
            for statement in statements(number):
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.raw.execute("DELETE FROM notion_sync_schema")
            conn.raw.execute("INSERT INTO notion_sync_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
        conn.raw.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.raw.execute("ROLLBACK")
        raise
    conn.forget_keys()


class AdvisoryLock:
    """A mapping's lock on PostgreSQL state: ``pg_try_advisory_lock`` on a connection of its own,
    named ``notion-sync pid N@host`` so a refused run can say who holds it."""

    def __init__(self, url: Secret, mapping: str) -> None:
        self.url = url
        self.mapping = mapping
        self.key = lock_key(mapping)
        self._conn: psycopg.Connection[Any] | None = None

    def __enter__(self) -> AdvisoryLock:
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(
                self.url.reveal(),
                autocommit=True,
                application_name=f"{APPLICATION} {holder_identity()}"[:63],
                connect_timeout=30,
            )
        except psycopg.Error as exc:
            raise postgres_error(self.url, exc) from None
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if row and row[0]:
                self._conn = conn
                return self
            holder = self._holder(conn)
        except psycopg.Error as exc:
            conn.close()
            raise postgres_error(self.url, exc) from None
        conn.close()
        raise MappingHeld(self.mapping, holder, display_url(self.url))

    def _holder(self, conn: psycopg.Connection[Any]) -> str:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database()) AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF),
        ).fetchone()
        name = str(row[0]) if row and row[0] else ""
        return name.removeprefix(f"{APPLICATION} ") or "another process"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            finally:
                # Closing releases the lock even if the unlock failed.
                self._conn.close()
                self._conn = None
