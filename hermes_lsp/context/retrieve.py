"""Choosing what the model sees: ranked pieces of the repository under a token budget.

One function per purpose (:func:`for_completion`, :func:`for_refactor`, :func:`for_debug`)
assembles, from pure inputs (a :class:`Request`, the index's definitions and the
recently used documents):

- the current file's imports and enclosing scopes, when the prompt's window of the file
  does not already show them;
- definitions of the identifiers used around the cursor, resolved through the file's
  imports first, then by rank (signature plus docstring or short body);
- snippets of recently opened or edited files most similar (Jaccard over identifiers)
  to the code just before the cursor, as Copilot does with open tabs;
- for refactor and debug, a repository map: signatures of the definitions the current
  code leads to, ranked over the whole reference graph.

Pieces are chosen by value and returned stable-first (map, imports, scopes, definitions
sorted by path and line, snippets), so that consecutive prompts share a long prefix.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs

from hermes_lsp.context import neighbourhood
from hermes_lsp.context.index import Def
from hermes_lsp.context.languages import BINDING_FAMILIES, family_of, same_family
from hermes_lsp.context.lookup import get_many
from hermes_lsp.context.modules import import_tokens, module_forms, packages
from hermes_lsp.context.neighbourhood import FileGraph
from hermes_lsp.context.rank import BUILTIN_NAMES
from hermes_lsp.context.values import Piece, Purpose, estimate_tokens

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words that are syntax in the languages we index: never worth a definition lookup.
KEYWORDS = frozenset(
    """
    and as assert async await break case catch class const continue def default defer del do elif else
    enum except export extends false final finally fn for from func function go goto if impl import in
    instanceof interface is lambda let loop match mod module mut namespace new nil none not null or
    package pass private protected pub public raise return self static struct super switch this throw
    throws trait true try type typedef typeof use using var void where while with yield None True False
    local end then elseif begin rescue ensure unless until def echo fi esac done int char float double
    long short unsigned signed bool string auto include define
    """.split()
)
NEAR_BEFORE_CHARS = 12000
NEAR_AFTER_CHARS = 4000
SNIPPET_LINES = 20
SNIPPET_STRIDE = 10
MAX_DEFINITIONS = 48


@attrs.frozen
class Request:
    """Everything retrieval needs to know about the cursor."""

    path: str
    """The current file, relative to the root."""
    text: str
    offset: int
    budget: int
    lines: Sequence[str]
    """``text`` split at newlines."""
    language: str | None = None
    imports: Sequence[tuple[int, int]] = ()
    """1-based inclusive line spans of the file's import statements."""
    scopes: Sequence[tuple[int, int]] = ()
    """(first line, last line of the header) of each enclosing definition, outermost first."""
    prefix_chars: int = 12000
    """How much of the file before the cursor the prompt itself shows."""
    suffix_chars: int = 4000


@attrs.frozen
class Window:
    """A slice of a recently used document, ready for similarity scoring."""

    path: str
    start_line: int
    end_line: int
    text: str
    words: frozenset[str]


def windows_of(path: str, lines: Sequence[str]) -> list[Window]:
    """Overlapping windows of ``SNIPPET_LINES`` lines (computed once per document version)."""
    out = []
    for start in range(0, max(len(lines) - SNIPPET_LINES // 2, 1), SNIPPET_STRIDE):
        chunk = lines[start : start + SNIPPET_LINES]
        text = "\n".join(chunk)
        words = frozenset(IDENTIFIER.findall(text)) - KEYWORDS
        if words:
            out.append(Window(path, start + 1, start + len(chunk), text, words))
    return out


@attrs.frozen
class _Visible:
    """Lines (1-based, inclusive) of the current file the prompt already shows."""

    first: int
    last: int

    def covers(self, start: int, end: int) -> bool:
        return start >= self.first and end <= self.last


def _visible(request: Request) -> _Visible:
    text, offset = request.text, request.offset
    first = text.count("\n", 0, max(0, offset - request.prefix_chars)) + 1
    # The window starts on a whole line; the partial first line is not really shown.
    if offset > request.prefix_chars:
        first += 1
    last = text.count("\n", 0, min(len(text), offset + request.suffix_chars)) + 1
    return _Visible(first, last)


class _Budget:
    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, tokens: int, cap: int | None = None) -> bool:
        if tokens > self.left or (cap is not None and tokens > cap):
            return False
        self.left -= tokens
        return True


def _piece(kind: str, path: str, start: int, end: int, text: str) -> Piece:
    return Piece(kind, path, start, end, text, estimate_tokens(text))


# -- the current file --------------------------------------------------------------------


def _import_pieces(request: Request, visible: _Visible, budget: _Budget, cap: int) -> list[Piece]:
    spans = [span for span in request.imports if span[0] < visible.first]
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, min(end, visible.first - 1)])
    pieces = []
    for start, end in merged:
        piece = _piece("import", request.path, start, end, "\n".join(request.lines[start - 1 : end]))
        if budget.take(piece.tokens, cap):
            cap -= piece.tokens
            pieces.append(piece)
    return pieces


def _scope_pieces(request: Request, visible: _Visible, budget: _Budget, cap: int) -> list[Piece]:
    pieces = []
    for start, header_end in request.scopes:
        if start >= visible.first:
            continue
        end = min(header_end, visible.first - 1)
        piece = _piece("scope", request.path, start, end, "\n".join(request.lines[start - 1 : end]))
        if budget.take(piece.tokens, cap):
            cap -= piece.tokens
            pieces.append(piece)
    return pieces


# -- definitions -------------------------------------------------------------------------


_SKIPPED_IN_PYTHON = KEYWORDS | BUILTIN_NAMES


def _skipped(language: str | None) -> frozenset[str]:
    """The names that say nothing in ``language`` (keywords; in Python, builtins too),
    apart from one-letter ones, which :func:`_skip_name` skips as well."""
    return _SKIPPED_IN_PYTHON if language == "python" else KEYWORDS


def _skip_name(name: str, language: str | None) -> bool:
    return len(name) < 2 or name in _skipped(language)


NEAR_LINES = 24
"""Lines either side of the cursor weighed one by one; further lines count as a whole."""
FAR_BEFORE_WEIGHT = 0.06
FAR_AFTER_WEIGHT = 0.03


@attrs.frozen
class Regions:
    """The text around the cursor in three parts, split at line ends.

    The near lines are weighed one by one and change with every keystroke; the far parts
    (up to :data:`NEAR_BEFORE_CHARS` before, :data:`NEAR_AFTER_CHARS` after, whole lines)
    stay the same while the user types on one line, so what is read from them is kept
    (:func:`_far_words`, :func:`_qualified`, :func:`string_literals`) and costs nothing
    on the next keystroke.
    """

    far_before: str
    before: str
    """From the start of the line :data:`NEAR_LINES` above the cursor's to the cursor."""
    after: str
    """From the cursor to the end of the line half as many lines below."""
    far_after: str

    @classmethod
    def around(cls, text: str, offset: int) -> Regions:
        near_start = offset
        for _ in range(NEAR_LINES):
            near_start = text.rfind("\n", 0, max(0, near_start - 1)) + 1
            if near_start == 0:
                break
        near_end = offset
        for _ in range(NEAR_LINES // 2):
            found = text.find("\n", near_end + 1)
            if found == -1:
                near_end = len(text)
                break
            near_end = found
        far_start = min(near_start, text.rfind("\n", 0, max(0, offset - NEAR_BEFORE_CHARS)) + 1)
        far_end = text.find("\n", offset + NEAR_AFTER_CHARS)
        far_end = len(text) if far_end == -1 else max(far_end, near_end)
        return cls(
            text[far_start:near_start], text[near_start:offset], text[offset:near_end], text[near_end:far_end]
        )


@functools.lru_cache(maxsize=16)
def _far_words(region: str, weight: float, skipped: frozenset[str]) -> dict[str, float]:
    """Identifiers of a far region, each weighted by the square root of its uses."""
    counts = Counter(IDENTIFIER.findall(region))
    return {
        name: weight * math.sqrt(count)
        for name, count in counts.items()
        if len(name) > 1 and name not in skipped
    }


def near_identifiers(request: Request, regions: Regions | None = None) -> dict[str, float]:
    """Identifiers around the cursor, weighted by closeness (before counts more than after)."""
    regions = regions or Regions.around(request.text, request.offset)
    skipped = _skipped(request.language)
    scores = dict(_far_words(regions.far_before, FAR_BEFORE_WEIGHT, skipped))
    for name, weight in _far_words(regions.far_after, FAR_AFTER_WEIGHT, skipped).items():
        scores[name] = scores.get(name, 0.0) + weight
    # Near the cursor each line has its own weight.
    for distance, line in enumerate(reversed(regions.before.split("\n"))):
        weight = 1.0 / (1.0 + distance / 3.0)
        for name in set(IDENTIFIER.findall(line)):
            if len(name) > 1 and name not in skipped:
                scores[name] = scores.get(name, 0.0) + weight
    for distance, line in enumerate(regions.after.split("\n")):
        weight = 0.5 / (1.0 + distance / 3.0)
        for name in set(IDENTIFIER.findall(line)):
            if len(name) > 1 and name not in skipped:
                scores[name] = scores.get(name, 0.0) + weight
    return scores


JUDGED_PATHS = 8192
"""Candidate files whose link to the current file (and import strength) are kept: a
completion weighs up to about a thousand; a few files' worth."""


@functools.lru_cache(maxsize=JUDGED_PATHS)
def _import_strength(path: str, tokens: frozenset[str]) -> float:
    """How many trailing path components of ``path`` an import statement names (0: none),
    one more when it names the whole path from the root (the module itself, not a
    same-named file deeper in the tree); a half when only a package holding it is imported."""
    forms = module_forms(path)
    for index, form in enumerate(forms):
        if form in tokens:
            whole = 1.0 if index < 2 else 0.0  # forms[0] and [1] name the whole path
            return form.count(".") + form.count("/") + 1.0 + whole
    return 0.5 if any(package in tokens for package in packages(path)) else 0.0


def _directory(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


_TEST_PATH = re.compile(r"(^|/)(tests?|spec|__tests__)(/|$)|(^|/)test_[^/]*$|_test\.\w+$")
# An identifier is matched from its first character only (the look-behind), and never
# given back (possessive): tried at every character, the pattern cost a millisecond.
_QUALIFIED = re.compile(
    r"(?<![A-Za-z_])([A-Za-z_][A-Za-z0-9_]*+)\s*+(?:\.|::|->)\s*+([A-Za-z_][A-Za-z0-9_]*)"
)
MIN_SCORE = 0.04
MAX_CANDIDATES = 32


@functools.lru_cache(maxsize=65536)
def _is_test(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


_SHORT_STRING = re.compile(r"""(["'`])([^"'`\s\\]{1,120})\1""")


@attrs.frozen
class Links:
    """What may join the current file to code of another language family.

    Names are matched across languages by spelling alone, so a Python cursor would get a
    Lua ``M.client`` or a shell ``step`` just because a word matches. Code of another
    family is taken only through a real link: a string literal near the cursor that names
    its file (a script or library run by path: ``"install.sh"``), or, for a family other
    languages bind to (C, Rust), an import that names its file (an extension module) or a
    string literal that is the name itself (a foreign function looked up by name).
    """

    path: str
    tokens: frozenset[str]
    """Module-ish tokens of the current file's imports."""
    strings: frozenset[str]
    """Short string literals near the cursor, whole and by their last path component."""

    _verdicts: dict[str, bool | None] = attrs.field(factory=dict, eq=False, repr=False)
    """Per path: linked, not linked, or ``None`` (it depends on the name)."""

    def allows(self, path: str, name: str = "") -> bool:
        verdict = self._verdicts[path] if path in self._verdicts else self._judge(path)
        return verdict if verdict is not None else bool(name) and name in self.strings

    def _judge(self, path: str) -> bool | None:
        verdict = True if path.rsplit("/", 1)[-1] in self.strings else _linked(self.path, self.tokens, path)
        self._verdicts[path] = verdict
        return verdict


@functools.lru_cache(maxsize=JUDGED_PATHS)
def _linked(current: str, tokens: frozenset[str], path: str) -> bool | None:
    """:meth:`Links.allows` apart from string literals, which change with every keystroke;
    the rest changes only with the file's imports, so it is kept across requests."""
    if same_family(current, path):
        return True
    if family_of(path) not in BINDING_FAMILIES:
        return False
    return True if _import_strength(path, tokens) >= 1.0 else None


@functools.lru_cache(maxsize=16)
def string_literals(text: str) -> frozenset[str]:
    """Short one-word string literals of ``text``, whole and by their last path component."""
    found: set[str] = set()
    for _, literal in _SHORT_STRING.findall(text):
        found.add(literal)
        found.add(literal.rstrip("/").rsplit("/", 1)[-1])
    found.discard("")
    return frozenset(found)


@functools.lru_cache(maxsize=16)
def _qualified(text: str) -> tuple[tuple[str, str], ...]:
    """(owner, member) pairs of ``text``: ``owner.member``, ``owner::member``, ``owner->member``."""
    return tuple(_QUALIFIED.findall(text))


@attrs.frozen
class Query:
    """What the code around the cursor asks for, worked out once per request."""

    names: dict[str, float]
    """Identifiers worth a lookup -> weight (closeness, imports, enclosing scopes)."""
    tokens: frozenset[str]
    imported_names: frozenset[str]
    qualifiers: dict[str, set[str]]
    """Member name -> the owners it is reached through near the cursor (``owner.member``)."""
    links: Links


def query_of(request: Request) -> Query:
    regions = Regions.around(request.text, request.offset)
    names = near_identifiers(request, regions)
    imports_text = "\n".join("\n".join(request.lines[s - 1 : e]) for s, e in request.imports)
    tokens = import_tokens(imports_text)
    imported_names = frozenset(IDENTIFIER.findall(imports_text))
    for name in imported_names:
        if not _skip_name(name, request.language):
            # An imported name is likely to be used next even if it is not near the cursor.
            names[name] = names.get(name, 0.0) + 0.3
    for start, end in request.scopes:
        # The enclosing class's bases and the function's parameter types say which members are meant.
        for name in IDENTIFIER.findall("\n".join(request.lines[start - 1 : end])):
            if not _skip_name(name, request.language):
                names[name] = names.get(name, 0.0) + 0.2
    # The far parts are read once while the user types on one line (kept by the caches).
    near = regions.before + regions.after
    qualifiers: dict[str, set[str]] = {}
    for part in (regions.far_before, near, regions.far_after):
        for owner, member in _qualified(part):
            qualifiers.setdefault(member, set()).add(owner)
    strings = string_literals(regions.far_before) | string_literals(near) | string_literals(regions.far_after)
    links = Links(request.path, tokens, strings)
    return Query(names, tokens, imported_names, qualifiers, links)


_shown_memo: list[tuple[Sequence[Def], list[tuple[int, str]]]] = []


def _shown_names(own: Sequence[Def], first: int, last: int) -> set[str]:
    """Names of the current file's definitions that start in lines ``first..last``.

    The file's definitions, by line, are kept for the list they came from (the index's
    cached answer, the same object keystroke after keystroke): a bisection then finds
    the shown ones without looking at the others.
    """
    memo = _shown_memo[-1] if _shown_memo else None  # one read: another thread may replace it
    if memo is not None and memo[0] is own:
        starts = memo[1]
    else:
        starts = sorted((d.start_line, d.name) for d in own)
        _shown_memo[:] = [(own, starts)]
    low = bisect.bisect_left(starts, (first, ""))
    high = bisect.bisect_right(starts, (last, "\U0010ffff"))
    return {name for _, name in starts[low:high]}


LOOK_AHEAD_TOKENS = 2048
"""The budget the look-ahead's walk prepares for."""
LOOK_AHEAD_READS = 4
"""Files whose edges the look-ahead's walk may read (a completion reads a few at most)."""


def prepare(
    current: str,
    tokens: frozenset[str],
    found: Mapping[str, Sequence[Def]],
    graph: FileGraph | None = None,
    imported: Sequence[str] = (),
) -> None:
    """Work out, ahead of the first completion in ``current`` (whose imports name
    ``tokens`` and the files ``imported``), what it will ask for the names ``found`` in it:
    whether each of their files may join the cursor's code and how strongly the imports
    name it (both kept, see :func:`_linked`), and the neighbourhood its personalised walk
    goes through (kept by ``graph``). The look-ahead that opening a document starts calls
    this, off the event loop."""
    for defs in found.values():
        for d in defs[:MAX_CANDIDATES]:
            _linked(current, tokens, d.path)
            if tokens:
                _import_strength(d.path, tokens)
    if graph is None:
        return
    links = Links(current, tokens, frozenset())
    start = neighbourhood.seeds(current, dict.fromkeys(found, 1.0), imported, graph, links.allows)
    neighbourhood.ranked_definitions(current, start, graph, links.allows, LOOK_AHEAD_TOKENS, LOOK_AHEAD_READS)


def choose_definitions(
    request: Request,
    query: Query,
    by_name: Mapping[str, Sequence[Def]],
    visible: _Visible,
    by_path: Mapping[str, Sequence[Def]] | None = None,
    by_module: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple[float, Def]]:
    """Candidate definitions, best first: (score, definition), at most one per name."""
    names, tokens, imported_names, qualifiers = (
        query.names,
        query.tokens,
        query.imported_names,
        query.qualifiers,
    )
    here = _directory(request.path)
    in_tests = _is_test(request.path)
    own = by_path.get(request.path, ()) if by_path is not None else ()
    shown = _shown_names(own, visible.first, visible.last)
    strengths: dict[str, float] = {}
    chosen: list[tuple[float, Def]] = []
    found = get_many(by_name, names)
    allows = query.links.allows
    for name, weight in names.items():
        defs = found.get(name)
        if not defs or name in shown:
            continue  # unknown, or defined in the very lines the model is shown
        owners = qualifiers.get(name)
        best: tuple[float, Def] | None = None
        for d in defs[:MAX_CANDIDATES]:
            path = d.path
            if not allows(path, name):
                continue
            owner = d.owner
            factor = 1.0 + 0.3 * math.log1p(d.rank)
            strength = strengths.get(path)
            if strength is None:
                strength = strengths[path] = _import_strength(path, tokens) if tokens else 0.0
            if path == request.path:
                factor *= 3.0
            elif strength or (owners and (d.stem in owners or owner in owners)):
                factor *= 3.0 + strength
            elif owner and owner in names:
                factor *= 2.5  # its class is used nearby
            elif name in imported_names:
                factor *= 1.5
            else:
                factor /= len(defs)  # ambiguous and unresolved: likely not the one meant
                if d.folder == here:
                    factor *= 1.5
            if not in_tests and _is_test(path):
                factor *= 0.3
            if best is None or factor > best[0]:
                best = (factor, d)
        if best is None:
            continue  # only in files of other languages, with nothing linking them here
        score = weight * best[0]
        if score >= MIN_SCORE:
            chosen.append((score, best[1]))
    if by_path is not None and by_module is not None:
        chosen += _imported_modules(request, query.links, by_path, by_module, {d.name for _, d in chosen})
    chosen.sort(key=lambda item: (-item[0], item[1].path, item[1].start_line))
    return chosen


IMPORTED_MODULE_DEFS = 8


def imported_paths(current: str, links: Links, by_module: Mapping[str, Sequence[str]]) -> list[str]:
    """The files the current file's imports name (an import that may mean many says nothing)."""
    out: dict[str, None] = {}
    for token in sorted(links.tokens):
        paths = by_module.get(token, ())
        whole = [p for p in paths if module_forms(p)[0] == token or module_forms(p)[1:2] == (token,)]
        paths = whole or paths  # the module at that path from the root, if there is one
        if not paths or len(paths) > 3:
            continue
        for path in paths:
            if path != current and links.allows(path):
                out[path] = None
    return list(out)


def _imported_modules(
    request: Request,
    links: Links,
    by_path: Mapping[str, Sequence[Def]],
    by_module: Mapping[str, Sequence[str]],
    taken: set[str],
) -> list[tuple[float, Def]]:
    """The best-ranked top-level definitions of the modules the file imports (what they offer)."""
    out: list[tuple[float, Def]] = []
    for path in imported_paths(request.path, links, by_module):
        top = sorted(
            (d for d in by_path.get(path, ()) if d.qualname == d.name and d.name not in taken),
            key=lambda d: (-d.rank, d.start_line),
        )[:IMPORTED_MODULE_DEFS]
        for d in top:
            out.append((0.1 * (1.0 + 0.3 * math.log1p(d.rank)), d))
    return out


def _definition_pieces(
    chosen: Iterable[tuple[float, Def]],
    budget: _Budget,
    cap: int,
    limit: int = MAX_DEFINITIONS,
    seen: set[tuple[str, int]] | None = None,
) -> list[Piece]:
    """Definitions in order while they fit; ``seen`` holds (path, line) already taken."""
    pieces: list[Piece] = []
    seen = set() if seen is None else seen
    for _, d in chosen:
        if len(pieces) >= limit or budget.left < 16:
            break
        if (d.path, d.start_line) in seen:
            continue
        tokens = estimate_tokens(d.summary)
        if budget.take(tokens, cap):
            cap -= tokens
            seen.add((d.path, d.start_line))
            pieces.append(Piece("definition", d.path, d.start_line, d.end_line, d.summary, tokens))
    return pieces


# -- snippets ----------------------------------------------------------------------------


def _snippet_pieces(
    request: Request, windows: Iterable[Window], budget: _Budget, links: Links
) -> list[Piece]:
    before = request.text[max(0, request.offset - 1600) : request.offset]
    query = frozenset(IDENTIFIER.findall(before)) - KEYWORDS
    if not query:
        return []
    scored = []
    for window in windows:
        if not links.allows(window.path):
            continue  # an open file of another language: like words, unlike code
        common = len(query & window.words)
        if common:
            scored.append((common / (len(query) + len(window.words) - common), window))
    scored.sort(key=lambda item: (-item[0], item[1].path, item[1].start_line))
    pieces: list[Piece] = []
    taken: dict[str, list[tuple[int, int]]] = {}
    for score, window in scored:
        if score < 0.05 or budget.left < 32:
            break
        spans = taken.setdefault(window.path, [])
        if any(window.start_line <= end and start <= window.end_line for start, end in spans):
            continue
        piece = _piece("snippet", window.path, window.start_line, window.end_line, window.text)
        if budget.take(piece.tokens):
            spans.append((window.start_line, window.end_line))
            pieces.append(piece)
    return pieces


# -- repository map ----------------------------------------------------------------------


def _map_pieces(
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    budget: _Budget,
    cap: int,
    links: Links,
) -> list[Piece]:
    """Signatures of what the current file's references lead to, by rank, grouped by file."""
    used = set(IDENTIFIER.findall(request.text)) - KEYWORDS
    scores: dict[tuple[str, int], tuple[float, Def]] = {}
    files: dict[str, float] = {}
    for name in used:
        if _skip_name(name, request.language):
            continue
        defs = by_name.get(name, ())
        if not defs or len(defs) > 12:
            continue
        for d in defs:
            if d.path == request.path or not links.allows(d.path, name):
                continue
            score = (1.0 + d.rank) / len(defs)
            scores[(d.path, d.start_line)] = (score, d)
            files[d.path] = files.get(d.path, 0.0) + score
    # One hop further: the best definitions of the files the current code leads to.
    for path, weight in sorted(files.items(), key=lambda item: -item[1])[:12]:
        for d in by_path.get(path, ()):
            key = (d.path, d.start_line)
            if key not in scores:
                scores[key] = (0.1 * weight * (1.0 + d.rank) / 10.0, d)
    ranked = sorted(scores.values(), key=lambda item: (-item[0], item[1].path, item[1].start_line))
    picked: dict[str, list[Def]] = {}
    spent = 0
    for _, d in ranked:
        line = d.summary.split("\n", 1)[0]
        cost = estimate_tokens(line) + 1
        if spent + cost > cap:
            break
        spent += cost
        picked.setdefault(d.path, []).append(d)
    pieces = []
    for path in sorted(picked):
        defs = sorted(picked[path], key=lambda d: d.start_line)
        text = f"{path}:\n" + "\n".join(d.summary.split("\n", 1)[0] for d in defs)
        piece = _piece("map", path, defs[0].start_line, defs[-1].end_line, text)
        if budget.take(piece.tokens):
            pieces.append(piece)
    return pieces


# -- purposes ----------------------------------------------------------------------------

_ORDER = {"map": 0, "import": 1, "scope": 2, "definition": 3, "snippet": 4}


def _ordered(pieces: Iterable[Piece]) -> list[Piece]:
    return sorted(pieces, key=lambda p: (_ORDER.get(p.kind, 5), p.path, p.start_line, p.end_line))


def _max_definitions(budget: int) -> int:
    """More definitions for a larger budget (one per 24 tokens), never fewer than 48."""
    return max(MAX_DEFINITIONS, budget // 24)


NEIGHBOURHOOD_MIN_TOKENS = 96
"""Budget left after the names at the cursor below which the walk is not worth its cost."""


def _neighbourhood_candidates(
    request: Request,
    query: Query,
    taken: set[str],
    by_module: Mapping[str, Sequence[str]] | None,
    graph: FileGraph,
    tokens: int,
) -> list[tuple[float, Def]]:
    """The personalised walk's definitions, best first, for names not yet covered, enough
    to fill about ``tokens``."""
    graph.sync()
    imported = imported_paths(request.path, query.links, by_module if by_module is not None else {})
    start = neighbourhood.seeds(request.path, query.names, imported, graph, query.links.allows)
    extra = []
    ranked = neighbourhood.ranked_definitions(request.path, start, graph, query.links.allows, tokens)
    for score, d in ranked:
        if d.name not in taken:
            taken.add(d.name)
            extra.append((score, d))
    return extra


def _assemble(
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    windows: Sequence[Window],
    shares: Mapping[str, float],
    by_module: Mapping[str, Sequence[str]] | None = None,
    graph: FileGraph | None = None,
) -> list[Piece]:
    if request.budget <= 0:
        return []
    budget = _Budget(request.budget)
    visible = _visible(request)
    query = query_of(request)
    total = request.budget
    pieces: list[Piece] = []
    if shares.get("map"):
        pieces += _map_pieces(request, by_name, by_path, budget, int(total * shares["map"]), query.links)
    pieces += _import_pieces(request, visible, budget, int(total * shares["import"]))
    pieces += _scope_pieces(request, visible, budget, int(total * shares["scope"]))
    reserve = int(total * shares["snippet"]) if windows else 0
    chosen = choose_definitions(request, query, by_name, visible, by_path, by_module)
    limit = _max_definitions(total)
    seen: set[tuple[str, int]] = set()
    definitions = _definition_pieces(chosen, budget, max(0, budget.left - reserve), limit, seen)
    # Budget the names at the cursor left unused goes to the cursor's neighbourhood.
    if graph is not None and budget.left - reserve >= NEIGHBOURHOOD_MIN_TOKENS and len(definitions) < limit:
        cap = max(0, budget.left - reserve)
        taken = {d.name for _, d in chosen}
        extra = _neighbourhood_candidates(request, query, taken, by_module, graph, cap)
        definitions += _definition_pieces(extra, budget, cap, limit - len(definitions), seen)
    pieces += definitions
    pieces += _snippet_pieces(request, windows, budget, query.links)
    return _ordered(pieces)


def for_completion(
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    windows: Sequence[Window] = (),
    by_module: Mapping[str, Sequence[str]] | None = None,
    graph: FileGraph | None = None,
) -> list[Piece]:
    return _assemble(
        request, by_name, by_path, windows, {"import": 0.1, "scope": 0.05, "snippet": 0.2}, by_module, graph
    )


def for_refactor(
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    windows: Sequence[Window] = (),
    by_module: Mapping[str, Sequence[str]] | None = None,
    graph: FileGraph | None = None,
) -> list[Piece]:
    return _assemble(
        request,
        by_name,
        by_path,
        windows,
        {"map": 0.3, "import": 0.1, "scope": 0.05, "snippet": 0.1},
        by_module,
        graph,
    )


def for_debug(
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    windows: Sequence[Window] = (),
    by_module: Mapping[str, Sequence[str]] | None = None,
    graph: FileGraph | None = None,
) -> list[Piece]:
    return _assemble(
        request,
        by_name,
        by_path,
        windows,
        {"map": 0.2, "import": 0.1, "scope": 0.1, "snippet": 0.1},
        by_module,
        graph,
    )


RETRIEVERS = {"completion": for_completion, "refactor": for_refactor, "debug": for_debug}


def retrieve(
    purpose: Purpose,
    request: Request,
    by_name: Mapping[str, Sequence[Def]],
    by_path: Mapping[str, Sequence[Def]],
    windows: Sequence[Window] = (),
    by_module: Mapping[str, Sequence[str]] | None = None,
    graph: FileGraph | None = None,
) -> list[Piece]:
    return RETRIEVERS[purpose](request, by_name, by_path, windows, by_module, graph)
