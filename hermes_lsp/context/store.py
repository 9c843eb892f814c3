"""The on-disk index: one SQLite database per workspace under the user's cache directory.

It remembers, per file, its size, modification time and content hash (to tell what
changed since the last run), its definitions with their summaries and ranks, which
names it uses on which lines, and the names an import may give it. Lookups are indexed
queries, so nothing has to be loaded to answer them: a warm start only opens the file.

Several processes may share one database (two editor windows on one repository, and the
index's own worker processes): it runs in WAL mode, so readers never wait for the
writer; writers take the write lock up front (``BEGIN IMMEDIATE``) and wait their turn
for up to :data:`WRITE_WAIT_S`; and a lock file beside the database lets one process at
a time run a full refresh (:class:`RefreshLock`). A database that is corrupt or from
another version is deleted and rebuilt; one that stays locked is replaced by an
in-memory database for this run. Either way the server keeps working.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import platformdirs

from hermes_lsp.context.rank import RankingInput
from hermes_lsp.context.walk import Scanned

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own locking still keeps the data safe
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SCHEMA_VERSION = "8"
CACHE_ENV = "HERMES_LSP_CACHE_DIR"
OPEN_WAIT_S = 2.0
"""How long opening waits for a lock held elsewhere before falling back to memory."""
WRITE_WAIT_S = 60.0
"""How long a write waits for another process's write to finish (each one is short)."""
PAGE_BYTES = 8192
"""SQLite's page size for a new database (see :func:`connect`)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER, mtime_ns INTEGER,
    digest TEXT, language TEXT, skipped TEXT, rank REAL DEFAULT 0, defs INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS defs (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, path TEXT, name TEXT, qualname TEXT, kind TEXT,
    start_line INTEGER, end_line INTEGER, summary TEXT, rank REAL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refs (file_id INTEGER NOT NULL, name TEXT, count INTEGER, lines TEXT);
CREATE TABLE IF NOT EXISTS modules (form TEXT NOT NULL, file_id INTEGER NOT NULL);
"""
_FILE_INDEXES = {
    "defs_file": "defs(file_id)",
    "refs_file": "refs(file_id)",
    "modules_file": "modules(file_id)",
}
"""Indexes by file, kept from the start: rows arrive file by file with growing ids, so
these grow at their end and cost little to keep, and a first build's lookups of a file's
definitions and uses need them as much as any later lookup."""
# Indexes by name put each row somewhere in the middle, rewriting pages all over the index
# at every commit. A first build therefore makes them once at the end (sorting costs less):
# ``refs_name`` always (it serves find_references), and the two that lookups by name need
# when nothing in the building process looks names up meanwhile (the command line): see
# :meth:`Store.start_bulk`.
_NAME_INDEXES = {
    "defs_name": "defs(name, path, start_line)",
    "modules_form": "modules(form)",
    "refs_name": "refs(name)",
}
_LOOKUP_INDEXES = ("defs_name", "modules_form")
"""The name indexes completions and actions look names and imports up with."""

DefRow = tuple[int, str, str, str, str, int, int, str, float]
"""(id, name, qualname, kind, path, start, end, summary, rank)."""
RANK_FLOOR = 0.05
"""What every definition counts in its file's share of rank, whatever its own rank."""
_DEF_COLUMNS = "d.id, d.name, d.qualname, d.kind, f.path, d.start_line, d.end_line, d.summary, d.rank"

ModuleForms = Callable[[str], Sequence[str]]
"""How imports may name a file (``a/b/c.py`` -> ``a.b.c``, ``b.c``, ``c``...)."""


def cache_dir() -> str:
    """``$HERMES_LSP_CACHE_DIR``, else the platform's user cache directory for hermes-lsp."""
    return os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("hermes-lsp")


def database_path(root: str, directory: str | None = None) -> str:
    key = hashlib.sha1(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = os.path.basename(os.path.normpath(root)) or "root"
    return os.path.join(directory or cache_dir(), "index", f"{name}-{key}.sqlite3")


STALE_DAYS = 30
ROOT_SUFFIX = ".root"
"""Beside each database, the workspace folder it indexes (for pruning)."""


def prune_stale(directory: str, keep: str, days: float = STALE_DAYS) -> None:
    """Delete indexes of workspaces that are gone (temporary folders, removed clones) or
    that nobody opened for ``days``."""
    cutoff = time.time() - days * 86400
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not entry.name.endswith(".sqlite3") or entry.path == keep:
            continue
        try:
            if entry.stat().st_mtime < cutoff or not _root_exists(entry.path):
                Store._delete(entry.path)
        except OSError:
            continue


def _root_exists(path: str) -> bool:
    try:
        with open(path + ROOT_SUFFIX, encoding="utf-8", errors="surrogateescape") as fh:
            return os.path.isdir(fh.read())
    except FileNotFoundError:
        return True  # written by an older version: let age decide
    except OSError:
        return True


class RefreshLock:
    """One process at a time refreshes a database; the others read it meanwhile.

    An advisory lock on a file beside the database: the operating system drops it when
    its holder exits, so a crashed server never leaves the cache locked.
    """

    def __init__(self, database: str | None) -> None:
        self.path = None if database is None else database + ".lock"
        self._fh: int | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free (never waits); True when this process holds it."""
        if self._fh is not None:
            return True
        if self.path is None or fcntl is None:
            return True
        try:
            fh = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return True  # no lock file, no sharing to protect: SQLite still serialises writes
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fh)
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                os.close(self._fh)  # closing drops the lock
            self._fh = None


def connect(path: str, wait: float = OPEN_WAIT_S) -> sqlite3.Connection:
    """Open (creating if needed) an index database in WAL mode."""
    db = sqlite3.connect(path, timeout=wait, check_same_thread=False, isolation_level=None)
    try:
        if path != ":memory:":
            # Set before the file's first write (later it changes nothing): a defs row with
            # its summary is often over 1 KB, and 8 KB pages take a first build's rows and
            # name indexes with fewer page splits (lib/: 0.25 s of 4 s).
            db.execute(f"PRAGMA page_size={PAGE_BYTES}")
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a cache: losing the last write only costs a rescan
        row = None
        with contextlib.suppress(sqlite3.OperationalError):
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            try:
                for table in ("files", "defs", "refs", "modules"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                db.execute("DELETE FROM meta")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                for name, target in {**_FILE_INDEXES, **_NAME_INDEXES}.items():
                    db.execute(f"CREATE INDEX {name} ON {target}")
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        db.execute("SELECT count(*) FROM files").fetchone()
    except sqlite3.Error:
        db.close()
        raise
    db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
    return db


def write_scanned(
    db: sqlite3.Connection,
    scanned: Iterable[Scanned],
    removed: Iterable[str] = (),
    dirty: bool = False,
    forms: ModuleForms | None = None,
) -> None:
    """Store scan results in one transaction. ``dirty`` marks content that is not on disk.

    A file written again keeps the ranks of the definitions it still has: they stay
    about right until the next ranking, where zero would drop them from every context.
    Rows go in one statement per table for the whole batch.
    """
    latest = {item.path: item for item in scanned}  # a path given twice: its last scan
    db.execute("BEGIN IMMEDIATE")
    try:
        for fid in _ids(db, list(removed)).values():
            _remove(db, fid)
        db.executemany(
            "UPDATE files SET size=?, mtime_ns=? WHERE path=?",
            [
                (item.size, item.mtime_ns, item.path)
                for item in latest.values()
                if item.skipped == "unchanged"
            ],
        )
        changed = [item for item in latest.values() if item.skipped != "unchanged"]
        # Files stored before (one query for the batch: in a first build there are none).
        stored = _ids(db, [item.path for item in changed])
        old = {path: _remove(db, fid) for path, fid in stored.items()}
        kept = [item for item in changed if item.skipped not in ("vanished", "unreadable")]
        # The write lock is held: the ids after the largest are free.
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM files").fetchone()[0]
        numbered = list(zip(range(first, first + len(kept)), kept, strict=True))
        db.executemany(
            "INSERT INTO files(id, path, size, mtime_ns, digest, language, skipped, defs)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    fid,
                    item.path,
                    -1 if dirty else item.size,
                    item.mtime_ns,
                    item.digest,
                    item.language,
                    item.skipped,
                    len(item.tags.definitions) if item.tags is not None else 0,
                )
                for fid, item in numbered
            ],
        )
        tagged = [(fid, item.path, item.tags) for fid, item in numbered if item.tags is not None]
        db.executemany(
            "INSERT INTO defs(file_id, path, name, qualname, kind, start_line, end_line, summary, rank)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    fid,
                    path,
                    d.name,
                    d.qualname,
                    d.kind,
                    d.start_line,
                    d.end_line,
                    d.summary,
                    old.get(path, _NO_RANKS).get(d.name, 0),
                )
                for fid, path, tags in tagged
                for d in tags.definitions
            ],
        )
        db.executemany(
            # The count of lines is the count of commas and one, taken by SQLite.
            "INSERT INTO refs VALUES (?1, ?2, length(?3) - length(replace(?3, ',', '')) + 1, ?3)",
            [(fid, name, lines) for fid, _, tags in tagged for name, lines in tags.references.items()],
        )
        if forms is not None:
            db.executemany(
                "INSERT INTO modules VALUES (?,?)",
                [(form, fid) for fid, path, tags in tagged if tags.definitions for form in forms(path)],
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


_NO_RANKS: dict[str, float] = {}


def _columns(rows: Sequence[Sequence[object]], *columns: int) -> list[Iterator[Any]]:
    """These columns of ``rows``, each read in C."""
    return [map(operator.itemgetter(column), rows) for column in columns]


def _ids(db: sqlite3.Connection, paths: list[str]) -> dict[str, int]:
    """The ids of those of ``paths`` that are stored."""
    if not paths:
        return {}
    rows = db.execute(
        "SELECT path, id FROM files WHERE path IN (SELECT value FROM json_each(?))", (json.dumps(paths),)
    )
    return dict(rows.fetchall())


def _remove(db: sqlite3.Connection, fid: int) -> dict[str, float]:
    """Delete one file's rows; its definitions' ranks by name."""
    ranks = dict(db.execute("SELECT name, rank FROM defs WHERE file_id=?", (fid,)).fetchall())
    for table, column in (("defs", "file_id"), ("refs", "file_id"), ("modules", "file_id"), ("files", "id")):
        db.execute(f"DELETE FROM {table} WHERE {column}=?", (fid,))
    return ranks


class Store:
    """Access to one index database: a connection for writes (one thread at a time) and
    one for lookups per reading thread (the event loop, the look-ahead), which WAL lets
    read during a write and which never wait for each other."""

    def __init__(self, path: str | None, root: str | None = None) -> None:
        self.path = path
        self.root = root
        self.problem: str | None = None
        """Something the user should hear about once (a rebuilt or unusable cache)."""
        self.lock = threading.RLock()
        self.db = self._open(path)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._version_lock = threading.Lock()
        self._version_db: sqlite3.Connection | None = None

    def _open(self, path: str | None) -> sqlite3.Connection:
        if path is None:
            return connect(":memory:")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            prune_stale(os.path.dirname(path), keep=path)
            db = connect(path)
            os.utime(path)  # "last used", for pruning
            if self.root is not None:
                with open(path + ROOT_SUFFIX, "w", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write(os.path.realpath(self.root))
            return db
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self.problem = f"the index cache {path} is locked by another process; indexing in memory"
            else:
                self.problem = f"the index cache {path} cannot be used ({exc}); indexing in memory"
        except sqlite3.DatabaseError as exc:
            self.problem = f"the index cache {path} was unreadable ({exc}); rebuilt it"
            self._delete(path)
            try:
                return connect(path)
            except sqlite3.Error as again:
                self.problem = f"the index cache {path} cannot be used ({again}); indexing in memory"
        except OSError as exc:
            self.problem = f"the index cache folder cannot be created ({exc.strerror}); indexing in memory"
        log.warning("%s", self.problem)
        self.path = None
        return connect(":memory:")

    @staticmethod
    def _delete(path: str) -> None:
        for suffix in ("", "-wal", "-shm", ROOT_SUFFIX, ".lock"):
            try:
                os.remove(path + suffix)
            except OSError:
                pass

    def close(self) -> None:
        with self.lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self.db.close()

    # -- reads on the event loop (a connection per reading thread) -------------------------

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read-only connection (None for an in-memory database, which only
        its one connection can see)."""
        if self.path is None:
            return None
        reader: sqlite3.Connection | None = getattr(self._local, "db", None)
        if reader is None:
            reader = connect(self.path)
            reader.execute("PRAGMA query_only=1")
            self._local.db = reader
            with self.lock:
                self._readers.append(reader)
        return reader

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:  # type: ignore[type-arg]
        reader = self._reader()
        try:
            if reader is None:
                with self.lock:
                    return self.db.execute(sql, args).fetchall()
            return reader.execute(sql, args).fetchall()
        except UnicodeEncodeError:
            return []  # a key that is not UTF-8 (a file name in a legacy encoding): never stored

    def data_version(self) -> int:
        """Changes whenever another connection (this process's writer, another process)
        commits: tells a cache of lookups when to forget. Always asked on one connection,
        since each counts on its own."""
        if self.path is None:
            return 0  # one connection: the index forgets its own writes itself
        with self._version_lock:
            if self._version_db is None:
                self._version_db = connect(self.path)
                with self.lock:
                    self._readers.append(self._version_db)
            return int(self._version_db.execute("PRAGMA data_version").fetchone()[0])

    def _lookups_ready(self) -> bool:
        """Whether lookups by name have their indexes: not while another process's first
        build makes them at the end, when each lookup would read every row (a tenth of a
        second at 20,000 files, on the event loop). Checked again after each commit."""
        reader = self._reader()
        if reader is None:
            return True  # one connection, this process's own: it never defers them
        version = reader.execute("PRAGMA data_version").fetchone()[0]
        memo: tuple[int, bool] | None = getattr(self._local, "lookups", None)
        if memo is not None and memo[0] == version:
            return memo[1]
        found = reader.execute(
            "SELECT count(*) FROM sqlite_master"
            " WHERE type = 'index' AND name IN (SELECT value FROM json_each(?))",
            (json.dumps(_LOOKUP_INDEXES),),
        ).fetchone()[0]
        ready = found == len(_LOOKUP_INDEXES)
        self._local.lookups = (version, ready)
        return ready

    def definitions_named(self, name: str, limit: int = -1) -> tuple[list[DefRow], int]:
        """The first ``limit`` definitions named ``name`` (by path and line; -1: all) and how
        many there are. Each definition carries its file's path, so the name index hands
        them out in order: the first page costs the same for ``__init__`` as for a name
        defined once."""
        if not self._lookups_ready():
            return [], 0
        rows = self._read(
            "SELECT id, name, qualname, kind, path, start_line, end_line, summary, rank FROM defs"
            " WHERE name = ? ORDER BY path, start_line, id LIMIT ?",
            (name, limit + 1 if limit >= 0 else -1),
        )
        if limit < 0 or len(rows) <= limit:
            return rows, len(rows)
        count = self._read("SELECT count(*) FROM defs WHERE name = ?", (name,))[0][0]
        return rows[:limit], int(count)

    def definitions_named_many(self, names: Sequence[str], limit: int) -> dict[str, tuple[list[DefRow], int]]:
        """:meth:`definitions_named` of many names in a few queries: which exist (and how
        many definitions each has, counted up to ``limit`` + 1) over the name index alone,
        then the definitions of those that have at most ``limit`` in one query; a name
        with more is read on its own, a page at a time."""
        if not names or not self._lookups_ready():
            return {}
        counts = self._read(
            "SELECT j.value, (SELECT count(*) FROM (SELECT 1 FROM defs WHERE name = j.value LIMIT ?))"
            " FROM json_each(?) j",
            (limit + 1, json.dumps(list(names))),
        )
        out: dict[str, tuple[list[DefRow], int]] = {}
        few = []
        for name, count in counts:
            if count == 0:
                out[name] = ([], 0)
            elif count <= limit:
                few.append(name)
            else:
                out[name] = self.definitions_named(name, limit)
        if few:
            grouped: dict[str, list[DefRow]] = {name: [] for name in few}
            for row in self._read(
                "SELECT id, name, qualname, kind, path, start_line, end_line, summary, rank FROM defs"
                " WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name, path, start_line, id",
                (json.dumps(few),),
            ):
                grouped[row[1]].append(row)
            for name, rows in grouped.items():
                out[name] = (rows, len(rows))
        return out

    def definitions_in(self, path: str) -> list[DefRow]:
        return self._read(
            f"SELECT {_DEF_COLUMNS} FROM defs d JOIN files f ON f.id = d.file_id WHERE f.path = ?"
            " ORDER BY d.start_line, d.id",
            (path,),
        )

    def definitions(self) -> Iterator[DefRow]:
        """Every definition, by path and line (for whole-index reports)."""
        return iter(
            self._read(
                f"SELECT {_DEF_COLUMNS} FROM defs d JOIN files f ON f.id = d.file_id"
                " ORDER BY f.path, d.start_line, d.id"
            )
        )

    def has_definitions(self) -> bool:
        return bool(self._read("SELECT 1 FROM defs LIMIT 1"))

    def has_modules(self) -> bool:
        return bool(self._read("SELECT 1 FROM modules LIMIT 1"))

    def names(self) -> list[str]:
        return [row[0] for row in self._read("SELECT DISTINCT name FROM defs ORDER BY name")]

    def name_count(self) -> int:
        return int(self._read("SELECT count(*) FROM (SELECT DISTINCT name FROM defs)")[0][0])

    def defining_paths(self) -> list[str]:
        """Files with at least one definition, by path."""
        return [row[0] for row in self._read("SELECT path FROM files WHERE defs > 0 ORDER BY path")]

    def defining_count(self) -> int:
        return int(self._read("SELECT count(*) FROM files WHERE defs > 0")[0][0])

    def definition_count(self) -> int:
        return int(self._read("SELECT coalesce(sum(defs), 0) FROM files")[0][0])

    def module_paths(self, form: str) -> list[str]:
        """Files an import of ``form`` may mean."""
        if not self._lookups_ready():
            return []
        return [
            row[0]
            for row in self._read(
                "SELECT f.path FROM modules m JOIN files f ON f.id = m.file_id WHERE m.form = ?"
                " ORDER BY f.path",
                (form,),
            )
        ]

    def module_forms(self) -> list[str]:
        return [row[0] for row in self._read("SELECT DISTINCT form FROM modules ORDER BY form")]

    def module_form_count(self) -> int:
        return int(self._read("SELECT count(*) FROM (SELECT DISTINCT form FROM modules)")[0][0])

    def references(self, name: str) -> list[tuple[str, str]]:
        """(path, comma-separated lines) of every file that uses ``name``."""
        return self._read(
            "SELECT f.path, r.lines FROM refs r JOIN files f ON f.id = r.file_id WHERE r.name = ?"
            " ORDER BY f.path",
            (name,),
        )

    def references_in(self, path: str) -> list[tuple[str, str]]:
        """(name, comma-separated lines) of every name ``path`` uses."""
        return self._read(
            "SELECT r.name, r.lines FROM refs r JOIN files f ON f.id = r.file_id WHERE f.path = ?"
            " ORDER BY r.name",
            (path,),
        )

    # -- lean reads for the personalised walk (no summaries, no line lists) ---------------

    def most_used(self, path: str, limit: int) -> dict[str, int]:
        """The ``limit`` names ``path`` uses on most lines -> on how many lines."""
        rows = self._read(
            "SELECT r.name, r.count FROM refs r JOIN files f ON f.id = r.file_id WHERE f.path = ?"
            " ORDER BY r.count DESC, r.name DESC LIMIT ?",
            (path, limit),
        )
        return dict(rows)

    def definers_of(self, names: Sequence[str], limit: int) -> dict[str, tuple[str, ...]]:
        """For each name, the files defining it, by path, at most ``limit`` of them: one
        query over the name index alone, which stops at ``limit`` files for a name defined
        in thousands."""
        if not names or not self._lookups_ready():
            return {}
        rows = self._read(
            "SELECT j.value, (SELECT json_group_array(path) FROM"
            " (SELECT DISTINCT path FROM defs WHERE name = j.value ORDER BY path LIMIT ?))"
            " FROM json_each(?) j",
            (limit, json.dumps(list(names))),
        )
        # A JSON list: a file's name may hold any character, a line break included.
        return {name: tuple(sorted(json.loads(paths))) for name, paths in rows}

    def ranked_in(self, path: str, limit: int) -> tuple[list[DefRow], float]:
        """The ``limit`` definitions of ``path`` with the highest rank (then by line), and
        the sum over all of them of ``RANK_FLOOR`` + rank (for each one's share)."""
        rows = self._read(
            f"SELECT {_DEF_COLUMNS} FROM defs d JOIN files f ON f.id = d.file_id WHERE f.path = ?"
            " ORDER BY d.rank DESC, d.start_line, d.id LIMIT ?",
            (path, limit),
        )
        if not rows:
            return [], 0.0
        # Apart: a window sum over the same rows would carry every summary through the sort.
        total = self._read(
            f"SELECT sum({RANK_FLOOR} + d.rank) FROM defs d JOIN files f ON f.id = d.file_id"
            " WHERE f.path = ?",
            (path,),
        )[0][0]
        return rows, float(total or 0.0)

    def is_empty(self) -> bool:
        return not self._read("SELECT 1 FROM files LIMIT 1")

    # -- reads and writes of the refresh (the writer connection) --------------------------

    def file_states(self) -> dict[str, tuple[int, int, int, str, str | None]]:
        """path -> (id, size, mtime_ns, digest, skipped)."""
        with self.lock:
            rows = self.db.execute("SELECT path, id, size, mtime_ns, digest, skipped FROM files").fetchall()
        return {path: (fid, size, mtime, digest, skipped) for path, fid, size, mtime, digest, skipped in rows}

    def write(
        self,
        scanned: Iterable[Scanned],
        removed: Iterable[str] = (),
        dirty: bool = False,
        forms: ModuleForms | None = None,
    ) -> None:
        """Store scan results (one transaction). ``dirty`` marks content that is not on disk."""
        with self.lock:
            write_scanned(self.db, scanned, removed, dirty, forms)

    def ranking_input(self) -> RankingInput:
        """What ranking needs, read from the store: every file, every definition's name
        and file, every use (plain table scans: grouping is left to the ranking's arrays)."""
        given = RankingInput()
        with self.lock:
            given.files = [row[0] for row in self.db.execute("SELECT id FROM files ORDER BY id")]
            for query, add in (
                ("SELECT name, file_id FROM defs", given.add_definitions),
                ("SELECT file_id, name, count FROM refs", given.add_uses),
            ):
                rows = self.db.execute(query)
                while chunk := rows.fetchmany(65536):
                    add(*_columns(chunk, *range(len(chunk[0]))))
        return given

    def write_ranks(self, file_ranks: dict[int, float], def_ranks: dict[tuple[int, str], float]) -> None:
        with self.lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                # One pass over each table, joined with the new ranks, rather than an
                # indexed UPDATE per definition.
                db.execute("CREATE TEMP TABLE IF NOT EXISTS ranked_files (id INTEGER PRIMARY KEY, rank REAL)")
                db.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS ranked_defs"
                    " (file_id INTEGER, name TEXT, rank REAL, PRIMARY KEY (file_id, name)) WITHOUT ROWID"
                )
                db.execute("DELETE FROM temp.ranked_files")
                db.execute("DELETE FROM temp.ranked_defs")
                db.executemany("INSERT INTO temp.ranked_files VALUES (?,?)", file_ranks.items())
                db.executemany(
                    "INSERT INTO temp.ranked_defs VALUES (?,?,?)",
                    [(fid, name, r) for (fid, name), r in def_ranks.items()],
                )
                db.execute(
                    "UPDATE files SET rank = coalesce((SELECT r.rank FROM temp.ranked_files r"
                    " WHERE r.id = files.id), 0)"
                )
                db.execute(
                    "UPDATE defs SET rank = coalesce((SELECT r.rank FROM temp.ranked_defs r"
                    " WHERE r.file_id = defs.file_id AND r.name = defs.name), 0)"
                )
                db.execute("INSERT OR REPLACE INTO meta VALUES ('ranked', '1')")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # -- first builds ----------------------------------------------------------------------

    def start_bulk(self, lookups: bool = True) -> bool:
        """Before a first build into an empty database: drop the name indexes it can do
        without until :meth:`finish_bulk`. ``lookups``: whether this process looks names up
        while it builds (a server does, for completions; the command line does not); if
        not, lookups by name wait for the end of the build, in every process (they answer
        nothing meanwhile, rather than read every row). True when it dropped any."""
        with self.lock:
            if self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone():
                return False
            for name in _NAME_INDEXES:
                if not (lookups and name in _LOOKUP_INDEXES):
                    self.db.execute(f"DROP INDEX IF EXISTS {name}")
            return True

    def finish_bulk(self) -> None:
        """Make sure every index exists (also repairs a first build that was interrupted,
        by this version or an earlier one that made other indexes late)."""
        with self.lock:
            for name, target in {**_FILE_INDEXES, **_NAME_INDEXES}.items():
                self.db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    def ranked(self) -> bool:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='ranked'").fetchone()
        return bool(row and row[0] == "1")

    def mark_unranked(self) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ranked', '0')")
