"""Read-only views of the index database that retrieval uses as plain mappings.

``by_name[name]``, ``by_path[path]`` and ``by_module[form]`` look like the dictionaries
retrieval was written against, but each lookup is an indexed SQLite query whose answer
is kept in a bounded most-recently-used cache: memory holds what is hot (the open
files, what they import, the names near recent cursors), not the whole repository, and
nothing has to be loaded before the first lookup. The index forgets what it rewrites
itself; commits by anyone else (another server sharing the cache) are noticed by asking
SQLite at most every :data:`CHECK_EVERY_S`. A name defined in thousands of files is
fetched a page at a time (:class:`Defs`): retrieval looks at the first few dozen.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

import attrs

from hermes_lsp.context.store import DefRow, Store


@attrs.frozen(slots=True)
class Def:
    """A definition as retrieval sees it."""

    id: int
    name: str
    qualname: str
    kind: str
    path: str
    start_line: int
    end_line: int
    summary: str
    rank: float
    # Derived once here rather than for every request that weighs the definition.
    owner: str = attrs.field(init=False, eq=False, repr=False)
    """The qualified name without its last part (``Class`` of ``Class.method``; empty at top level)."""
    folder: str = attrs.field(init=False, eq=False, repr=False)
    """The folder of ``path`` (empty at the root)."""
    stem: str = attrs.field(init=False, eq=False, repr=False)
    """The file name of ``path`` up to its first dot."""

    def __attrs_post_init__(self) -> None:
        folder, _, file = self.path.rpartition("/")
        # Interned: thousands of definitions share a few hundred folders, stems and owners.
        object.__setattr__(self, "owner", sys.intern(self.qualname.rpartition(".")[0]))
        object.__setattr__(self, "folder", sys.intern(folder))
        object.__setattr__(self, "stem", sys.intern(file.split(".", 1)[0]))


K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A most-recently-used cache bounded by the total weight of what it holds (how many
    definitions, not how many names: one name can hold dozens), safe from two threads."""

    def __init__(self, size: int, weigh: Callable[[V], int] = lambda value: 1) -> None:
        self.size = size
        self._weigh = weigh
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        weight = max(1, self._weigh(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while self._weight > self.size and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped

    def get_many(self, keys: Iterable[K]) -> list[V | None]:
        """:meth:`get` of many keys under one hold of the lock."""
        with self._lock:
            items = self._items
            out: list[V | None] = []
            for key in keys:
                found = items.get(key)
                if found is None:
                    out.append(None)
                else:
                    items.move_to_end(key)
                    out.append(found[0])
            return out

    def forget(self, key: K) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


CHECK_EVERY_S = 0.25
"""How stale a lookup may be after another process commits to the shared database."""
FIRST_PAGE = 64
"""Definitions of one name fetched up front; the rest only when someone reads that far."""
NAMES_KEPT = 100_000
"""Definitions (an absent name counts one) kept in memory by name: a cursor looks up a
few hundred names; a few hundred bytes each."""
PATHS_KEPT = 50_000
"""Definitions kept in memory by file."""
FORMS_KEPT = 16_384
"""Files kept in memory by module name."""


@attrs.frozen
class Source(Generic[V]):
    """Where a view's answers come from."""

    fetch: Callable[[str], Sequence[V]]
    """One key's values (empty: absent)."""
    keys: Callable[[], list[str]]
    count: Callable[[], int]
    """How many keys (a whole-table count: asked rarely)."""
    exists: Callable[[], bool]
    """Whether there is any key (cheap: asked by every truth test)."""
    fetch_many: Callable[[Sequence[str]], Mapping[str, Sequence[V]]] | None = None
    """Many keys' values at once (absent keys may be left out)."""


class _View(Mapping[str, Sequence[V]]):
    """A mapping answered by its :class:`Source`, cached by recency."""

    def __init__(self, source: Source[V], size: int, check: Callable[[], None]) -> None:
        self._check = check
        self.cache: Recent[str, Sequence[V]] = Recent(size, _held)
        self._fetch = source.fetch
        self._keys = source.keys
        self._count = source.count
        self._exists = source.exists
        self._fetch_many = source.fetch_many
        self._len: int | None = None
        self._any: bool | None = None

    def get(self, key: str, default: object = None) -> Sequence[V] | None:  # type: ignore[override]
        self._check()
        found = self.cache.get(key)
        if found is None:
            found = self._fetch(key)
            self.cache.put(key, found)  # absent names are remembered too: most words are
        return found if found else default  # type: ignore[return-value]

    def in_memory(self, key: str) -> bool:
        """Whether ``key``'s answer is held, so that asking for it costs no query."""
        return key in self.cache

    def get_many(self, keys: Iterable[str]) -> dict[str, Sequence[V]]:
        """The values of those of ``keys`` that are present: what is not in memory is read
        in one go, which costs a query for the lot rather than one per key."""
        self._check()
        keys = list(keys)
        out: dict[str, Sequence[V]] = {}
        missing = []
        for key, found in zip(keys, self.cache.get_many(keys), strict=True):
            if found is None:
                missing.append(key)
            elif found:
                out[key] = found
        if missing:
            fetched = (
                self._fetch_many(missing)
                if self._fetch_many is not None
                else {key: self._fetch(key) for key in missing}
            )
            for key in missing:
                values = fetched.get(key, ())
                self.cache.put(key, values)
                if values:
                    out[key] = values
        return out

    def __getitem__(self, key: str) -> Sequence[V]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        self._check()
        return iter(self._keys())

    def __len__(self) -> int:
        self._check()
        if self._len is None:
            self._len = self._count()
        return self._len

    def __bool__(self) -> bool:
        self._check()
        if self._len is not None:
            return self._len > 0
        if self._any is None:
            self._any = self._exists()
        return self._any

    def forget(self) -> None:
        self._len = None
        self._any = None
        self.cache.clear()


def _defs(rows: list[DefRow]) -> tuple[Def, ...]:
    return tuple(Def(*row) for row in rows)


class Defs(Sequence[Def]):
    """The definitions of one name, by path and line: the first page in memory, the whole
    list fetched on first access past it. ``len`` is the true count."""

    def __init__(self, first: tuple[Def, ...], count: int, fetch_all: Callable[[], tuple[Def, ...]]) -> None:
        self._items = first
        self._count = count
        self._fetch_all = fetch_all

    def _whole(self) -> tuple[Def, ...]:
        if len(self._items) < self._count:
            self._items = self._fetch_all()
            self._count = len(self._items)
        return self._items

    def __len__(self) -> int:
        return self._count

    @property
    def held(self) -> int:
        """How many of them are in memory."""
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Def: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Def, ...]: ...
    def __getitem__(self, index: int | slice) -> Def | tuple[Def, ...]:
        if isinstance(index, slice):
            stop = index.stop
            if index.step is None and stop is not None and 0 <= stop <= len(self._items):
                return self._items[index]
            return self._whole()[index]
        if 0 <= index < len(self._items):
            return self._items[index]
        return self._whole()[index]

    def __iter__(self) -> Iterator[Def]:
        return iter(self._whole())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(self._whole())

    def __repr__(self) -> str:
        return f"Defs({self._count} definitions)"


def _held(values: Sequence[object]) -> int:
    return values.held if isinstance(values, Defs) else len(values)


def _page(store: Store, name: str, rows: list[DefRow], count: int) -> tuple[Def, ...] | Defs:
    if count <= len(rows):
        return _defs(rows)
    return Defs(_defs(rows), count, lambda: _defs(store.definitions_named(name)[0]))


def _named(store: Store, name: str) -> tuple[Def, ...] | Defs:
    return _page(store, name, *store.definitions_named(name, FIRST_PAGE))


def _named_many(store: Store, names: Sequence[str]) -> dict[str, tuple[Def, ...] | Defs]:
    found = store.definitions_named_many(names, FIRST_PAGE)
    return {name: _page(store, name, rows, count) for name, (rows, count) in found.items()}


def get_many(mapping: Mapping[str, Sequence[V]], keys: Iterable[str]) -> dict[str, Sequence[V]]:
    """The values of those of ``keys`` that ``mapping`` holds, read together where it is a
    view of the index."""
    if isinstance(mapping, _View):
        return mapping.get_many(keys)
    return {key: found for key in keys if (found := mapping.get(key))}


class Views:
    """The three mappings over one store, and when to forget what they hold.

    Forgetting swaps in new mapping objects (and empties the old ones): a reader that
    keeps its own cache keyed on ``by_name``'s identity, as the neighbourhood's file graph
    does, sees the index change as it did when the index swapped in whole dictionaries.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: int | None = None
        self._checked = 0.0
        self._make()

    def _make(self) -> None:
        store = self.store
        self.by_name: _View[Def] = _View(
            Source(
                lambda name: _named(store, name),
                store.names,
                store.name_count,
                store.has_definitions,
                lambda names: _named_many(store, names),
            ),
            NAMES_KEPT,
            self.sync,
        )
        self.by_path: _View[Def] = _View(
            Source(
                lambda path: _defs(store.definitions_in(path)),
                store.defining_paths,
                store.defining_count,
                store.has_definitions,
            ),
            PATHS_KEPT,
            self.sync,
        )
        self.by_module: _View[str] = _View(
            Source(
                lambda form: tuple(store.module_paths(form)),
                store.module_forms,
                store.module_form_count,
                store.has_modules,
            ),
            FORMS_KEPT,
            self.sync,
        )

    def forget_all(self, seen: int | None = None) -> None:
        """Forget everything. ``seen`` is the store's data version read after the change
        that calls for this: commits up to it are accounted for, so the next check does
        not forget again what has been read since."""
        old = (self.by_name, self.by_path, self.by_module)
        self._make()
        for view in old:
            view.forget()  # a lookup already running on an old one reads afresh too
        if seen is not None:
            self._version = seen

    def sync(self) -> None:
        """Forget everything when another connection has committed since the last check."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_S:
            return
        self._checked = now
        version = self.store.data_version()
        if version != self._version:
            if self._version is not None:
                self.forget_all()
            self._version = version
