"""The on-disk index: one SQLite database per workspace under the user's cache directory.

It remembers, per file, its size, modification time and content hash (to tell what
changed since the last run), its definitions with their summaries and ranks, and which
names it uses on which lines. A database that is corrupt or from another version is
deleted and rebuilt; one that stays locked by another process is replaced by an
in-memory database for this run. Either way the server keeps working.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator

import platformdirs

from hermes_lsp.context.walk import Scanned

log = logging.getLogger(__name__)

SCHEMA_VERSION = "5"
CACHE_ENV = "HERMES_LSP_CACHE_DIR"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER, mtime_ns INTEGER,
    digest TEXT, language TEXT, skipped TEXT, rank REAL DEFAULT 0);
CREATE TABLE IF NOT EXISTS defs (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, name TEXT, qualname TEXT, kind TEXT,
    start_line INTEGER, end_line INTEGER, summary TEXT, rank REAL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refs (file_id INTEGER NOT NULL, name TEXT, count INTEGER, lines TEXT);
CREATE INDEX IF NOT EXISTS defs_file ON defs(file_id);
CREATE INDEX IF NOT EXISTS refs_file ON refs(file_id);
CREATE INDEX IF NOT EXISTS refs_name ON refs(name);
"""


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


class Store:
    """Thread-safe access to one index database (one connection behind a lock)."""

    def __init__(self, path: str | None, root: str | None = None) -> None:
        self.path = path
        self.root = root
        self.problem: str | None = None
        """Something the user should hear about once (a rebuilt or unusable cache)."""
        self.lock = threading.RLock()
        self.db = self._open(path)

    def _open(self, path: str | None) -> sqlite3.Connection:
        if path is None:
            return self._connect(":memory:")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            prune_stale(os.path.dirname(path), keep=path)
            db = self._connect(path)
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
                return self._connect(path)
            except sqlite3.Error as again:
                self.problem = f"the index cache {path} cannot be used ({again}); indexing in memory"
        except OSError as exc:
            self.problem = f"the index cache folder cannot be created ({exc.strerror}); indexing in memory"
        log.warning("%s", self.problem)
        self.path = None
        return self._connect(":memory:")

    @staticmethod
    def _delete(path: str) -> None:
        for suffix in ("", "-wal", "-shm", ROOT_SUFFIX):
            try:
                os.remove(path + suffix)
            except OSError:
                pass

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=2.0, check_same_thread=False, isolation_level=None)
        try:
            if path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a cache: losing the last write only costs a rescan
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                db.executescript("DELETE FROM files; DELETE FROM defs; DELETE FROM refs;")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("SELECT count(*) FROM files").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- reads ---------------------------------------------------------------------------

    def file_states(self) -> dict[str, tuple[int, int, int, str, str | None]]:
        """path -> (id, size, mtime_ns, digest, skipped)."""
        with self.lock:
            rows = self.db.execute("SELECT path, id, size, mtime_ns, digest, skipped FROM files").fetchall()
        return {path: (fid, size, mtime, digest, skipped) for path, fid, size, mtime, digest, skipped in rows}

    def definitions(self) -> list[tuple[int, str, str, str, str, int, int, str, float]]:
        """Every definition: (id, name, qualname, kind, path, start, end, summary, rank)."""
        with self.lock:
            return self.db.execute(
                "SELECT d.id, d.name, d.qualname, d.kind, f.path, d.start_line, d.end_line, d.summary, d.rank"
                " FROM defs d JOIN files f ON f.id = d.file_id ORDER BY f.path, d.start_line, d.id"
            ).fetchall()

    def definitions_in(self, path: str) -> list[tuple[int, str, str, str, str, int, int, str, float]]:
        with self.lock:
            return self.db.execute(
                "SELECT d.id, d.name, d.qualname, d.kind, f.path, d.start_line, d.end_line, d.summary, d.rank"
                " FROM defs d JOIN files f ON f.id = d.file_id WHERE f.path = ? ORDER BY d.start_line, d.id",
                (path,),
            ).fetchall()

    def reference_counts(self) -> Iterator[tuple[int, str, int]]:
        with self.lock:
            rows = self.db.execute("SELECT file_id, name, count FROM refs").fetchall()
        return iter(rows)

    def references(self, name: str) -> list[tuple[str, str]]:
        """(path, comma-separated lines) of every file that uses ``name``."""
        with self.lock:
            return self.db.execute(
                "SELECT f.path, r.lines FROM refs r JOIN files f ON f.id = r.file_id"
                " WHERE r.name = ? ORDER BY f.path",
                (name,),
            ).fetchall()

    def references_in(self, path: str) -> list[tuple[str, str]]:
        """(name, comma-separated lines) of every name ``path`` uses."""
        with self.lock:
            return self.db.execute(
                "SELECT r.name, r.lines FROM refs r JOIN files f ON f.id = r.file_id WHERE f.path = ?"
                " ORDER BY r.name",
                (path,),
            ).fetchall()

    def file_paths(self) -> dict[int, str]:
        with self.lock:
            return dict(self.db.execute("SELECT id, path FROM files").fetchall())

    # -- writes --------------------------------------------------------------------------

    def write(self, scanned: Iterable[Scanned], removed: Iterable[str] = (), dirty: bool = False) -> None:
        """Store scan results (one transaction). ``dirty`` marks content that is not on disk."""
        with self.lock:
            db = self.db
            db.execute("BEGIN")
            try:
                for path in removed:
                    self._remove(path)
                for item in scanned:
                    if item.skipped == "unchanged":
                        db.execute(
                            "UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                            (item.size, item.mtime_ns, item.path),
                        )
                        continue
                    self._remove(item.path)
                    if item.skipped in ("vanished", "unreadable"):
                        continue
                    cur = db.execute(
                        "INSERT INTO files(path, size, mtime_ns, digest, language, skipped)"
                        " VALUES (?,?,?,?,?,?)",
                        (
                            item.path,
                            -1 if dirty else item.size,
                            item.mtime_ns,
                            item.digest,
                            item.language,
                            item.skipped,
                        ),
                    )
                    if item.tags is None:
                        continue
                    fid = cur.lastrowid
                    db.executemany(
                        "INSERT INTO defs(file_id, name, qualname, kind, start_line, end_line, summary)"
                        " VALUES (?,?,?,?,?,?,?)",
                        [
                            (fid, d.name, d.qualname, d.kind, d.start_line, d.end_line, d.summary)
                            for d in item.tags.definitions
                        ],
                    )
                    db.executemany(
                        "INSERT INTO refs VALUES (?,?,?,?)",
                        [
                            (fid, name, len(lines), ",".join(map(str, lines)))
                            for name, lines in item.tags.references.items()
                        ],
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _remove(self, path: str) -> None:
        row = self.db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
        if row is None:
            return
        for table, column in (("defs", "file_id"), ("refs", "file_id"), ("files", "id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column}=?", (row[0],))

    def write_ranks(self, file_ranks: dict[int, float], def_ranks: dict[tuple[int, str], float]) -> None:
        with self.lock:
            db = self.db
            db.execute("BEGIN")
            db.execute("UPDATE files SET rank=0")
            db.execute("UPDATE defs SET rank=0")
            db.executemany("UPDATE files SET rank=? WHERE id=?", [(r, f) for f, r in file_ranks.items()])
            db.executemany(
                "UPDATE defs SET rank=? WHERE file_id=? AND name=?",
                [(r, fid, name) for (fid, name), r in def_ranks.items()],
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('ranked', '1')")
            db.execute("COMMIT")

    def ranked(self) -> bool:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='ranked'").fetchone()
        return bool(row and row[0] == "1")

    def mark_unranked(self) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ranked', '0')")
