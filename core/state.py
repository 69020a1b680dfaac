"""The state file: one SQLite database with a versioned schema.

It holds what notion-sync must remember between runs:

* ``links``: (mapping, page id) -> external id, what was last written and its hash;
* ``intents``: creates that were started but not yet recorded (crash recovery);
* ``cursors``: per-mapping incremental watermark, last full scan, resolved data source;
* ``runs`` and ``history``: what each run did to each item, and its errors;
* ``failures``: items that failed, with their attempt count.

Every external write is committed on its own as soon as it succeeds (WAL mode), so a
killed run loses at most the write in flight, which the intent lets the next run find.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from notion_sync.core.adapter import ExternalRef, Link
from notion_sync.core.errors import StateError
from notion_sync.core.links import Failure, StoredBody, StoredLink, WriteBackIntent, payload_hash
from notion_sync.core.secrets import Secret

__all__ = ["Cursor", "Failure", "StateStore", "StoredBody", "StoredLink", "payload_hash", "SCHEMA_VERSION"]

_MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE links (
        mapping TEXT NOT NULL, page_id TEXT NOT NULL, external_id TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}', payload TEXT, hash TEXT, archived INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL, PRIMARY KEY (mapping, page_id)
    );
    CREATE TABLE intents (
        mapping TEXT NOT NULL, page_id TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (mapping, page_id)
    );
    CREATE TABLE cursors (
        mapping TEXT PRIMARY KEY, data_source_id TEXT, watermark TEXT, last_full_scan TEXT, config_hash TEXT
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
        status TEXT, summary TEXT, token_fingerprint TEXT
    );
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, mapping TEXT NOT NULL, page_id TEXT NOT NULL,
        action TEXT NOT NULL, external_id TEXT, at TEXT NOT NULL, error TEXT
    );
    CREATE INDEX history_mapping_at ON history (mapping, at);
    CREATE TABLE failures (
        mapping TEXT NOT NULL, page_id TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT,
        last_at TEXT NOT NULL, PRIMARY KEY (mapping, page_id)
    );
    """,
    # 2: failures back off and park; token fingerprints for age and rotation
    """
    ALTER TABLE failures ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE tokens (
        name TEXT NOT NULL, fingerprint TEXT NOT NULL, first_seen TEXT NOT NULL, retired_at TEXT,
        identity TEXT, PRIMARY KEY (name, fingerprint)
    );
    ALTER TABLE history ADD COLUMN token_fingerprint TEXT;
    ALTER TABLE cursors ADD COLUMN schema TEXT;
    ALTER TABLE cursors ADD COLUMN schema_at TEXT;
    """,
    # 3: rows named by title as well as page id in failures and history
    """
    ALTER TABLE history ADD COLUMN title TEXT;
    ALTER TABLE failures ADD COLUMN title TEXT;
    """,
    # 4: 14 webhook events already handled (serve dedupes redeliveries); the size of the last full scan
    """
    CREATE TABLE webhook_events (
        event_id TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (event_id)
    );
    ALTER TABLE cursors ADD COLUMN full_scan_pages INTEGER;
    """,
    # 5: 17 page bodies as last read, with the page's last_edited_time then and when they were read
    """
    CREATE TABLE page_bodies (
        mapping TEXT NOT NULL, page_id TEXT NOT NULL, last_edited TEXT NOT NULL, read_at TEXT NOT NULL,
        blocks TEXT NOT NULL, PRIMARY KEY (mapping, page_id)
    );
    """,
    # 6: 16 which process synced each mapping in each run, and when (one mapping, one writer)
    """
    CREATE TABLE mapping_runs (
        run_id INTEGER NOT NULL, mapping TEXT NOT NULL, holder TEXT NOT NULL, started_at TEXT NOT NULL,
        finished_at TEXT, status TEXT, PRIMARY KEY (run_id, mapping)
    );
    CREATE INDEX mapping_runs_mapping ON mapping_runs (mapping, started_at);
    """,
    # 7: 15 two-way write-back: intents of Notion writes, target change tokens, history details
    """
    CREATE TABLE write_back_intents (
        mapping TEXT NOT NULL, page_id TEXT NOT NULL, properties TEXT NOT NULL, target_values TEXT NOT NULL,
        detail TEXT, created_at TEXT NOT NULL, PRIMARY KEY (mapping, page_id)
    );
    CREATE TABLE change_tokens (
        mapping TEXT NOT NULL PRIMARY KEY, token TEXT, updated_at TEXT NOT NULL
    );
    ALTER TABLE history ADD COLUMN detail TEXT;
    """,
    # 8: 18 the render memo: the key and page edit time under which a link's item was last found current
    """
    ALTER TABLE links ADD COLUMN render_mark TEXT;
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)


def migration_statements(number: int) -> list[str]:
    """The statements of migration ``number`` (from 0), one by one: the same on every backend."""
    return [statement for statement in _MIGRATIONS[number].split(";") if statement.strip()]


_OUR_TABLES = {"links", "intents", "cursors", "runs", "history", "failures"}
_SIDE_FILES = ("", "-wal", "-shm")
log = logging.getLogger(__name__)

_MOVE_ASIDE = (
    "move it aside (mv {path} {path}.broken) and run again: a new state file is made, and the next "
    "run finds the items it wrote before (their markers) instead of writing them twice"
)
_ELSEWHERE = "or set [state] path (or NOTION_SYNC_STATE__PATH) to another file"


def state_error(path: str | Path, exc: BaseException) -> StateError:
    """The one message for a state file that cannot be used: the file, the cause, the fix."""
    path = str(path)
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    number = exc.errno if isinstance(exc, OSError) else None
    if name.startswith("SQLITE_FULL") or number in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return StateError(
            f"the state file {path} cannot be written: the disk is full ({text}); free some space there, "
            "and the next run resumes where this one stopped",
            temporary=True,
        )
    if Path(path).is_dir():
        return StateError(
            f"the state file {path} is a directory; set [state] path (or NOTION_SYNC_STATE__PATH) to a file "
            f"in it, e.g. {Path(path) / 'notion-sync.sqlite3'}"
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return StateError(
            f"the state file {path} is damaged or not a database ({text}); " + _MOVE_ASIDE.format(path=path)
        )
    if (
        name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"))
        or number in (errno.EROFS, errno.EACCES, errno.EPERM)
        or "readonly" in text
    ):
        return StateError(
            f"the state file {path} cannot be written ({text}): the file or its folder is read-only "
            f"(a read-only filesystem, or another user's file); make it writable by this user, {_ELSEWHERE}"
        )
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return StateError(
            f"the state file {path} cannot be created ({exc.strerror}): a part of its folder path is a file; "
            + _ELSEWHERE
        )
    if name.startswith("SQLITE_IOERR"):
        return StateError(
            f"the state file {path} cannot be read or written ({text}): check the disk (and free space), "
            "then run again",
            temporary=True,
        )
    return StateError(f"the state file {path} cannot be used ({text}); {_ELSEWHERE}")


@contextmanager
def _state_errors(path: str | Path | Secret) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        if isinstance(path, Secret):
            raise
        raise state_error(path, exc) from exc
    except Exception as exc:
        if isinstance(path, Secret) and type(exc).__module__.startswith("psycopg"):
            from notion_sync.core.postgres import postgres_error

            raise postgres_error(path, exc) from exc
        raise


def _tighten(path: Path) -> None:
    """Make an existing state file (and its -wal and -shm) private: it holds rendered titles,
    descriptions and notes. A new one is created mode 600, and SQLite gives -wal and -shm
    the mode of the database."""
    if os.name != "posix":
        return
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            mode = stat.S_IMODE(side.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            side.chmod(mode & 0o700)
            log.warning(
                "the state file %s could be read by other users (mode %o); made it private (mode %o)",
                side,
                mode,
                mode & 0o700,
            )


def _display(url: Secret) -> str:
    from notion_sync.core.postgres import display_url

    return display_url(url)


def _precise_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Cursor:
    """Where a mapping's incremental reads stand."""

    data_source_id: str | None = None
    watermark: datetime | None = None
    last_full_scan: datetime | None = None
    config_hash: str | None = None
    schema: dict[str, Any] | None = None
    """The data source's properties as last read, and when."""
    schema_at: datetime | None = None
    full_scan_pages: int | None = None
    """How many query pages (of up to 100 rows) the last full scan read: decides ``"auto"``."""


def _stored_link(row: sqlite3.Row) -> StoredLink:
    def load(_page_id: str) -> Link:
        payload = json.loads(row["payload"]) if row["payload"] else None
        return Link(
            row["page_id"], ExternalRef(row["external_id"], json.loads(row["extra"])), payload, bool(row["archived"])
        )

    return StoredLink(row["page_id"], row["hash"], bool(row["archived"]), load)


LOCK_WAIT = 30.0
"""Seconds to wait for another process's lock on the state file (``sqlite3.connect``'s timeout)."""


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. The switch needs the file to itself and SQLite answers "locked" at
    once, without its busy wait, while another process opens or migrates a new file: wait here."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class StateStore:
    """The state: a SQLite file, or a PostgreSQL database (``notion_sync.core.postgres``: the
    same SQL and migrations through a thin dialect layer). ``StateStore.open(path or url)``;
    ``readonly=True`` for dry runs and checks."""

    def __init__(self, conn: sqlite3.Connection, path: str | Secret, readonly: bool) -> None:
        self.conn = conn
        self.where = path
        """What ``_state_errors`` reports on: the file's path, or the URL (shown without its password)."""
        self.path = str(path) if not isinstance(path, Secret) else _display(path)
        self.readonly = readonly
        self.run_id: int | None = None
        self.token_fingerprint: str | None = None
        # A read-only open (a dry run) does not migrate an older SQLite file: it may lack the column.
        self._link_columns = "page_id, hash, archived, " + (
            "render_mark" if isinstance(path, Secret) or self._has_column("links", "render_mark") else "NULL"
        )

    @classmethod
    def open(cls, path: str | Path | Secret, *, readonly: bool = False) -> StateStore:
        """Open (and create or migrate) the state; ``StateError`` says why it cannot be used.
        ``path`` is the SQLite file, or a ``Secret`` holding a PostgreSQL URL."""
        if isinstance(path, Secret):
            from notion_sync.core.postgres import connect

            # PgConnection offers the part of sqlite3.Connection the store uses.
            return cls(cast(sqlite3.Connection, connect(path, readonly=readonly)), path, readonly)
        with _state_errors(path):
            return cls._open(str(path), readonly)

    @property
    def on_postgres(self) -> bool:
        """Whether this state is a PostgreSQL database."""
        return isinstance(self.where, Secret)

    @classmethod
    def _open(cls, path: str, readonly: bool) -> StateStore:
        if path != ":memory:" and Path(path).is_dir():
            raise state_error(path, IsADirectoryError(errno.EISDIR, "is a directory", path))
        if readonly:
            if path != ":memory:" and Path(path).exists():
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(":memory:", isolation_level=None)
                cls._migrate(conn)
        else:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                if not Path(path).exists():
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, timeout=LOCK_WAIT)
            cls._check_ours(conn, path)
            if path != ":memory:":
                _tighten(Path(path))
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            cls._migrate(conn)
        conn.row_factory = sqlite3.Row
        store = cls(conn, path, readonly)
        if readonly:
            cls._check_ours(conn, path)
        return store

    @staticmethod
    def _check_ours(conn: sqlite3.Connection, path: str) -> None:
        """Refuse another program's SQLite database, and one from a newer notion-sync."""
        # One read transaction, one snapshot: read apart, another process's first migration could
        # commit in between, and its new tables under the version read before would look foreign.
        conn.execute("BEGIN")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.execute("COMMIT")
        tables.discard("sqlite_sequence")
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state file {path} was written by a newer notion-sync (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade notion-sync (pip install -U notion-sync)"
            )
        if (version == 0 and tables) or (version > 0 and not _OUR_TABLES <= tables):
            shown = ", ".join(sorted(tables)[:5]) + (" …" if len(tables) > 5 else "")
            raise StateError(
                f"the state file {path} is another program's SQLite database (tables: {shown}), not a "
                f"notion-sync state file; set [state] path (or NOTION_SYNC_STATE__PATH) to a new file, "
                "and leave this one alone"
            )

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Read again under the write lock: another process may have migrated meanwhile.
                number = conn.execute("PRAGMA user_version").fetchone()[0]
                if number >= SCHEMA_VERSION:
                    conn.execute("COMMIT")
                    return
                # executescript would COMMIT first; statement by statement keeps one transaction.
                for statement in migration_statements(number):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite already rolled back on a full disk or I/O error
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise RuntimeError("the state was opened read-only")
        with _state_errors(self.where):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # On a full disk or an I/O error SQLite has rolled back already: a second
                # ROLLBACK would raise "no transaction is active" and hide the real cause.
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- links ----------------------------------------------------------------

    def _rows_for(self, table: str, mapping: str, page_ids: Iterable[str], columns: str = "*") -> Iterator[sqlite3.Row]:
        ids = list(page_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.conn.execute(
                f"SELECT {columns} FROM {table} WHERE mapping = ? AND page_id IN ({marks})", [mapping, *chunk]
            )

    def _tuples(self, sql: str, params: Sequence[Any]) -> Iterable[tuple[Any, ...]]:
        """Rows as plain tuples: planning reads one link per row read, and sqlite3.Row costs more
        (PostgreSQL's rows are tuples already)."""
        if self.on_postgres:
            return self.conn.execute(sql, params)
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params)

    def get_links(self, mapping: str, page_ids: Iterable[str]) -> dict[str, StoredLink]:
        """The links recorded for these pages. Only the hash, archived flag and render mark are
        read at once (all an unchanged row needs); the payload is read when a link is used."""
        ids = list(page_ids)
        load = partial(self._load_link, mapping)
        found: dict[str, StoredLink] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for page_id, digest, archived, mark in self._tuples(
                f"SELECT {self._link_columns} FROM links WHERE mapping = ? AND page_id IN ({marks})",
                [mapping, *chunk],
            ):
                found[page_id] = StoredLink(page_id, digest, bool(archived), load, mark)
        return found

    def _load_link(self, mapping: str, page_id: str) -> Link:
        row = self.conn.execute("SELECT * FROM links WHERE mapping = ? AND page_id = ?", (mapping, page_id)).fetchone()
        return _stored_link(row).link

    def iter_links(self, mapping: str) -> Iterator[StoredLink]:
        """Every link of the mapping; as in ``get_links``, a link's payload is read when used
        (a full scan goes over every link to find the few whose row left)."""
        load = partial(self._load_link, mapping)
        sql = "SELECT page_id, hash, archived FROM links WHERE mapping = ? ORDER BY page_id"
        for page_id, digest, archived in self._tuples(sql, (mapping,)):
            yield StoredLink(page_id, digest, bool(archived), load)

    def unseen_live_links(self, mapping: str, seen: Collection[str]) -> Iterator[StoredLink]:
        """The live links whose page is not in ``seen``: after a full scan, the rows that left.
        Only those are made into ``StoredLink``s (a full scan of N rows has N links to look at)."""
        load = partial(self._load_link, mapping)
        sql = "SELECT page_id, hash FROM links WHERE mapping = ? AND archived = 0 ORDER BY page_id"
        for page_id, digest in self._tuples(sql, (mapping,)):
            if page_id not in seen:
                yield StoredLink(page_id, digest, False, load)

    def count_links(self, mapping: str, *, live_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM links WHERE mapping = ?" + (" AND archived = 0" if live_only else "")
        return int(self.conn.execute(sql, (mapping,)).fetchone()[0])

    def save_link(
        self,
        mapping: str,
        page_id: str,
        ref: ExternalRef,
        payload: dict[str, Any] | None,
        *,
        archived: bool = False,
        action: str,
        title: str = "",
        mark: str | None = None,
    ) -> None:
        """Record a successful write, its history line, and clear the intent and failure, in one
        commit. ``mark`` is the render mark of the row version written (``render_mark``), or None:
        any other write forgets the link's mark, so its row is rendered again next time."""
        digest = payload_hash(payload) if payload is not None else None
        with self.transaction() as db:
            db.execute(
                "INSERT INTO links (mapping, page_id, external_id, extra, payload, hash, archived, updated_at,"
                " render_mark) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mapping, page_id) DO UPDATE SET"
                " external_id = excluded.external_id, extra = excluded.extra, payload = excluded.payload,"
                " hash = excluded.hash, archived = excluded.archived, updated_at = excluded.updated_at,"
                " render_mark = excluded.render_mark",
                (
                    mapping,
                    page_id,
                    ref.id,
                    json.dumps(ref.extra, sort_keys=True),
                    json.dumps(payload, sort_keys=True, default=str) if payload is not None else None,
                    digest,
                    int(archived),
                    _now(),
                    mark,
                ),
            )
            self._clear(db, mapping, page_id)
            self._history(db, mapping, page_id, action, ref.id, None, title)

    def mark_links(self, mapping: str, marks: dict[str, str]) -> None:
        """Record that these links' items are current for the row versions their marks name
        (page id -> ``render_mark``), in one commit: the rows were rendered and found unchanged."""
        if not marks:
            return
        with self.transaction() as db:
            db.executemany(
                "UPDATE links SET render_mark = ? WHERE mapping = ? AND page_id = ?",
                [(mark, mapping, page_id) for page_id, mark in marks.items()],
            )

    def remove_link(
        self, mapping: str, page_id: str, external_id: str | None, *, action: str = "deleted", title: str = ""
    ) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM links WHERE mapping = ? AND page_id = ?", (mapping, page_id))
            self._clear(db, mapping, page_id)
            self._history(db, mapping, page_id, action, external_id, None, title)

    def forget_mapping(self, mapping: str) -> None:
        """Drop every link and cursor of a mapping (the items in the target are left alone)."""
        with self.transaction() as db:
            for table in (
                "links",
                "intents",
                "cursors",
                "failures",
                "page_bodies",
                "write_back_intents",
                "change_tokens",
            ):
                db.execute(f"DELETE FROM {table} WHERE mapping = ?", (mapping,))

    # -- page bodies ----------------------------------------------------------
    def get_bodies(self, mapping: str, page_ids: Iterable[str]) -> dict[str, StoredBody]:
        """The page bodies stored for these pages."""
        return {
            row["page_id"]: StoredBody(
                _parse_time(row["last_edited"]) or datetime.min.replace(tzinfo=UTC),
                _parse_time(row["read_at"]) or datetime.min.replace(tzinfo=UTC),
                row["blocks"],
            )
            for row in self._rows_for("page_bodies", mapping, page_ids)
        }

    def save_bodies(self, mapping: str, bodies: dict[str, StoredBody]) -> None:
        """Store page bodies just read (page id -> body), replacing what was stored."""
        if not bodies:
            return
        with self.transaction() as db:
            for page_id, body in bodies.items():
                db.execute("DELETE FROM page_bodies WHERE mapping = ? AND page_id = ?", (mapping, page_id))
                db.execute(
                    "INSERT INTO page_bodies (mapping, page_id, last_edited, read_at, blocks) VALUES (?, ?, ?, ?, ?)",
                    (mapping, page_id, body.last_edited.isoformat(), body.read_at.isoformat(), body.blocks),
                )

    # -- intents and failures -------------------------------------------------
    def record_intent(self, mapping: str, page_ids: Iterable[str]) -> None:
        """Remember that creates are about to be sent, before sending them."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO intents (mapping, page_id, created_at) VALUES (?, ?, ?)",
                [(mapping, pid, _now()) for pid in page_ids],
            )

    def pending_intents(self, mapping: str) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT page_id FROM intents WHERE mapping = ?", (mapping,))}

    def clear_intent(self, mapping: str, page_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM intents WHERE mapping = ? AND page_id = ?", (mapping, page_id))

    def record_failure(self, mapping: str, page_id: str, error: str, *, max_attempts: int = 5, title: str = "") -> int:
        """Record a failed item; returns how many times in a row it has failed.

        At ``max_attempts`` the item is parked: no longer retried until ``notion-sync retry``
        or until its row is edited again."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO failures (mapping, page_id, attempts, last_error, last_at, parked, title)"
                " VALUES (?, ?, 1, ?, ?, ?, ?)"
                " ON CONFLICT (mapping, page_id) DO UPDATE SET attempts = failures.attempts + 1,"
                " last_error = excluded.last_error, last_at = excluded.last_at,"
                " parked = CASE WHEN failures.attempts + 1 >= ? THEN 1 ELSE 0 END, title = excluded.title",
                (mapping, page_id, error, _now(), int(max_attempts <= 1), title, max_attempts),
            )
            self._history(db, mapping, page_id, "failed", None, error, title)
            row = db.execute(
                "SELECT attempts FROM failures WHERE mapping = ? AND page_id = ?", (mapping, page_id)
            ).fetchone()
        return int(row[0])

    def failures(self, mapping: str | None = None) -> list[sqlite3.Row]:
        if mapping is None:
            return list(self.conn.execute("SELECT * FROM failures ORDER BY mapping, page_id"))
        return list(self.conn.execute("SELECT * FROM failures WHERE mapping = ? ORDER BY page_id", (mapping,)))

    def failure_map(self, mapping: str, page_ids: Iterable[str]) -> dict[str, Failure]:
        """The failures recorded for these pages."""
        return {
            row["page_id"]: Failure(
                int(row["attempts"]),
                datetime.fromisoformat(row["last_at"]),
                bool(row["parked"]),
                row["last_error"] or "",
            )
            for row in self._rows_for("failures", mapping, page_ids)
        }

    def requeue(self, mapping: str | None = None) -> int:
        """Un-park parked items so the next run tries them again; returns how many.

        Their failure records go (no backoff wait), and their mappings' next run is a full
        scan: a parked row does not hold the watermark back, so an incremental read would
        not see it again until it is edited."""
        where = "WHERE parked = 1" + (" AND mapping = ?" if mapping else "")
        args = (mapping,) if mapping else ()
        with self.transaction() as db:
            mappings = [r[0] for r in db.execute(f"SELECT DISTINCT mapping FROM failures {where}", args)]
            cur = db.execute(f"DELETE FROM failures {where}", args)
            db.executemany("UPDATE cursors SET last_full_scan = NULL WHERE mapping = ?", [(m,) for m in mappings])
            return cur.rowcount

    @staticmethod
    def _clear(db: sqlite3.Connection, mapping: str, page_id: str) -> None:
        db.execute("DELETE FROM intents WHERE mapping = ? AND page_id = ?", (mapping, page_id))
        db.execute("DELETE FROM failures WHERE mapping = ? AND page_id = ?", (mapping, page_id))

    def _history(
        self,
        db: sqlite3.Connection,
        mapping: str,
        page_id: str,
        action: str,
        external_id: str | None,
        error: str | None,
        title: str = "",
        detail: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO history (run_id, mapping, page_id, action, external_id, at, error, token_fingerprint, title,"
            " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                mapping,
                page_id,
                action,
                external_id,
                _now(),
                error,
                self.token_fingerprint,
                title or None,
                detail,
            ),
        )

    def history(
        self, mapping: str | None = None, limit: int = 100, *, since: datetime | None = None, failed_only: bool = False
    ) -> list[sqlite3.Row]:
        clauses, args = [], []
        if mapping:
            clauses.append("mapping = ?")
            args.append(mapping)
        if since:
            clauses.append("at >= ?")
            args.append(since.astimezone(UTC).isoformat(timespec="seconds"))
        if failed_only:
            clauses.append("action = 'failed'")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return list(self.conn.execute(f"SELECT * FROM history{where} ORDER BY id DESC LIMIT ?", [*args, limit]))

    # -- write-back ------------------------------------------------------------
    def record_write_back_intent(self, mapping: str, intent: WriteBackIntent) -> None:
        """Remember a Notion write that is about to be sent (its properties and the target values
        it carries), before sending it."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO write_back_intents (mapping, page_id, properties, target_values, detail,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    mapping,
                    intent.page_id,
                    json.dumps(intent.properties, sort_keys=True),
                    json.dumps(intent.values, sort_keys=True, default=str),
                    intent.detail,
                    _now(),
                ),
            )

    def _has_column(self, table: str, column: str) -> bool:
        """Whether the SQLite file's ``table`` has ``column`` (see ``_has``)."""
        return any(row[1] == column for row in self.conn.execute(f"PRAGMA table_info({table})"))

    def _has(self, table: str) -> bool:
        """Whether the file has ``table``: a read-only open (a dry run) does not migrate an older file."""
        found = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return found.fetchone() is not None

    def write_back_intents(self, mapping: str) -> dict[str, WriteBackIntent]:
        """The Notion writes that were sent and never recorded, by page id."""
        if not self._has("write_back_intents"):
            return {}
        return {
            r["page_id"]: WriteBackIntent(
                r["page_id"], json.loads(r["properties"]), json.loads(r["target_values"]), r["detail"] or ""
            )
            for r in self.conn.execute("SELECT * FROM write_back_intents WHERE mapping = ?", (mapping,))
        }

    def clear_write_back_intent(self, mapping: str, page_id: str) -> None:
        """Forget a write-back intent: Notion refused it, so nothing was written."""
        with self.transaction() as db:
            db.execute("DELETE FROM write_back_intents WHERE mapping = ? AND page_id = ?", (mapping, page_id))

    def record_write_back(
        self,
        mapping: str,
        page_id: str,
        ref: ExternalRef,
        payload: dict[str, Any],
        *,
        action: str,
        detail: str,
        title: str = "",
    ) -> None:
        """Record what the target holds now that Notion agrees with it (after a write-back, an
        adopted change or a conflict): the link's payload, the history line with both values, and
        the write-back intent cleared, in one commit."""
        with self.transaction() as db:
            db.execute(
                "UPDATE links SET payload = ?, hash = ?, updated_at = ?, render_mark = NULL"
                " WHERE mapping = ? AND page_id = ?",
                (json.dumps(payload, sort_keys=True, default=str), payload_hash(payload), _now(), mapping, page_id),
            )
            db.execute("DELETE FROM write_back_intents WHERE mapping = ? AND page_id = ?", (mapping, page_id))
            self._history(db, mapping, page_id, action, ref.id, None, title, detail)

    def record_conflict(self, mapping: str, page_id: str, external_id: str, *, detail: str, title: str = "") -> None:
        """A history line for a conflict, with both values and the winner."""
        with self.transaction() as db:
            self._history(db, mapping, page_id, "conflict", external_id, None, title, detail)

    def change_token(self, mapping: str) -> str | None:
        """The token a connector gave for listing only the target's changes since the last run."""
        if not self._has("change_tokens"):
            return None
        row = self.conn.execute("SELECT token FROM change_tokens WHERE mapping = ?", (mapping,)).fetchone()
        return str(row[0]) if row and row[0] else None

    def set_change_token(self, mapping: str, token: str | None) -> None:
        """Remember the connector's change token for the next run."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO change_tokens (mapping, token, updated_at) VALUES (?, ?, ?)",
                (mapping, token, _now()),
            )

    # -- tokens ---------------------------------------------------------------
    def token_first_seen(self, name: str, fingerprint: str, *, record: bool = True) -> datetime:
        """When this token was first seen (recording it now if new and ``record``)."""
        row = self.conn.execute(
            "SELECT first_seen FROM tokens WHERE name = ? AND fingerprint = ?", (name, fingerprint)
        ).fetchone()
        if row is not None:
            return datetime.fromisoformat(row[0])
        now = _now()
        if record and not self.readonly:
            with self.transaction() as db:
                # Two workers may see a new token at once: the first insert wins, the other keeps it.
                db.execute(
                    "INSERT INTO tokens (name, fingerprint, first_seen) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, fingerprint) DO NOTHING",
                    (name, fingerprint, now),
                )
            return self.token_first_seen(name, fingerprint, record=False)
        return datetime.fromisoformat(now)

    def set_token_identity(self, name: str, fingerprint: str, identity: str) -> None:
        """Remember whose token this is (bot and workspace ids), so a rotation can be checked."""
        self.token_first_seen(name, fingerprint)
        with self.transaction() as db:
            db.execute(
                "UPDATE tokens SET identity = ? WHERE name = ? AND fingerprint = ?", (identity, name, fingerprint)
            )

    def token_identity(self, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT identity FROM tokens WHERE name = ? AND identity IS NOT NULL ORDER BY first_seen DESC LIMIT 1",
            (name,),
        ).fetchone()
        return row[0] if row else None

    def retire_token(self, name: str, fingerprint: str) -> None:
        self.token_first_seen(name, fingerprint)
        with self.transaction() as db:
            db.execute(
                "UPDATE tokens SET retired_at = ? WHERE name = ? AND fingerprint = ?", (_now(), name, fingerprint)
            )

    def tokens(self) -> list[sqlite3.Row]:
        return list(self.conn.execute("SELECT * FROM tokens ORDER BY first_seen"))

    # -- cursors --------------------------------------------------------------
    def get_cursor(self, mapping: str) -> Cursor:
        row = self.conn.execute("SELECT * FROM cursors WHERE mapping = ?", (mapping,)).fetchone()
        if row is None:
            return Cursor()
        return Cursor(
            row["data_source_id"],
            _parse_time(row["watermark"]),
            _parse_time(row["last_full_scan"]),
            row["config_hash"],
            json.loads(row["schema"]) if row["schema"] else None,
            _parse_time(row["schema_at"]),
            row["full_scan_pages"],
        )

    def set_cursor(self, mapping: str, cursor: Cursor) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO cursors (mapping, data_source_id, watermark, last_full_scan, config_hash,"
                " schema, schema_at, full_scan_pages) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mapping,
                    cursor.data_source_id,
                    cursor.watermark.isoformat() if cursor.watermark else None,
                    cursor.last_full_scan.isoformat() if cursor.last_full_scan else None,
                    cursor.config_hash,
                    json.dumps(cursor.schema, sort_keys=True) if cursor.schema is not None else None,
                    cursor.schema_at.isoformat() if cursor.schema_at else None,
                    cursor.full_scan_pages,
                ),
            )

    # -- webhook events ---------------------------------------------------------
    def seen_events(self, event_ids: Iterable[str]) -> set[str]:
        """Those of these webhook event ids already handled (``serve`` drops their redeliveries)."""
        ids = list(event_ids)
        seen: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.conn.execute(f"SELECT event_id FROM webhook_events WHERE event_id IN ({marks})", chunk)
            seen.update(r[0] for r in rows)
        return seen

    def record_events(self, event_ids: Iterable[str], *, keep_days: float = 3.0) -> None:
        """Remember handled webhook event ids; forget those older than ``keep_days`` (Notion
        stops redelivering after about a day)."""
        now = datetime.now(UTC)
        with self.transaction() as db:
            for event_id in event_ids:
                db.execute(
                    "INSERT INTO webhook_events (event_id, received_at) VALUES (?, ?)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (event_id, now.isoformat(timespec="seconds")),
                )
            cutoff = (now - timedelta(days=keep_days)).isoformat(timespec="seconds")
            db.execute("DELETE FROM webhook_events WHERE received_at < ?", (cutoff,))

    # -- runs -----------------------------------------------------------------
    def has_runs(self) -> bool:
        """Whether any run was recorded."""
        return self.conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None

    def drop_everything(self) -> None:
        """Drop every table (tests and the sandbox lose the state this way on PostgreSQL)."""
        listing = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            if self.on_postgres
            else "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'"
        )
        with self.transaction() as db:
            for (table,) in list(db.execute(listing)):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            if not self.on_postgres:
                db.execute("PRAGMA user_version = 0")

    def start_run(self, token_fingerprint: str | None) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (started_at, token_fingerprint) VALUES (?, ?)", (_now(), token_fingerprint)
            )
            self.token_fingerprint = token_fingerprint
            self.run_id = int(cur.lastrowid or 0)
        return self.run_id

    def start_mapping_run(self, mapping: str, holder: str) -> None:
        """Record that ``holder`` (``pid N@host``) holds ``mapping``'s lock and syncs it in this run."""
        if self.run_id is None:
            return
        with self.transaction() as db:
            db.execute(
                "INSERT INTO mapping_runs (run_id, mapping, holder, started_at) VALUES (?, ?, ?, ?)",
                (self.run_id, mapping, holder, _precise_now()),
            )

    def finish_mapping_run(self, mapping: str, status: str) -> None:
        """Record the end of this run's sync of ``mapping`` (before its lock is released)."""
        if self.run_id is None:
            return
        with self.transaction() as db:
            db.execute(
                "UPDATE mapping_runs SET finished_at = ?, status = ? WHERE run_id = ? AND mapping = ?",
                (_precise_now(), status, self.run_id, mapping),
            )

    def mapping_runs(self, mapping: str | None = None) -> list[sqlite3.Row]:
        """Who synced which mapping when, oldest first."""
        if mapping is None:
            return list(self.conn.execute("SELECT * FROM mapping_runs ORDER BY started_at"))
        return list(self.conn.execute("SELECT * FROM mapping_runs WHERE mapping = ? ORDER BY started_at", (mapping,)))

    def finish_run(self, status: str, summary: dict[str, Any]) -> None:
        if self.run_id is None:
            return
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (_now(), status, json.dumps(summary, sort_keys=True), self.run_id),
            )
